package accesskey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
)

// WebhookPath is where the operator serves the AccessKey validating webhook
// (controller-runtime's generated path for the kind).
const WebhookPath = "/validate-pail-dev-v1alpha1-accesskey"

// The webhook configuration is generated into charts/pail/files/manifests.yaml.
// +kubebuilder:webhook:path=/validate-pail-dev-v1alpha1-accesskey,mutating=false,failurePolicy=ignore,sideEffects=None,groups=pail.dev,resources=accesskeys,verbs=create;update,versions=v1alpha1,name=vaccesskey.pail.dev,admissionReviewVersions=v1,timeoutSeconds=5

// Validator refuses, at admission, the grants the controller would refuse
// (refusedGrants), so `kubectl apply` shows them before anything is stored.
// The controller checks again before every write: the webhook only moves
// the error earlier, and its failurePolicy is Ignore.
type Validator struct {
	Reader client.Reader
}

// SetupWebhookWithManager registers the validating webhook.
func (v *Validator) SetupWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &pailv1.AccessKey{}).WithValidator(v).Complete()
}

var _ admission.Validator[*pailv1.AccessKey] = (*Validator)(nil)

// ValidateCreate implements admission.Validator.
func (v *Validator) ValidateCreate(ctx context.Context, ak *pailv1.AccessKey) (admission.Warnings, error) {
	return v.validate(ctx, ak)
}

// ValidateUpdate implements admission.Validator. Only a spec change is
// judged: the controller's metadata writes must go through on an AccessKey
// whose grant became cross-tenant since (its condition says so).
func (v *Validator) ValidateUpdate(ctx context.Context, old, ak *pailv1.AccessKey) (admission.Warnings, error) {
	if !ak.DeletionTimestamp.IsZero() || !specChanged(old, ak) {
		return nil, nil
	}
	return v.validate(ctx, ak)
}

// ValidateDelete implements admission.Validator; deletes are always allowed.
func (v *Validator) ValidateDelete(context.Context, *pailv1.AccessKey) (admission.Warnings, error) {
	return nil, nil
}

func (v *Validator) validate(ctx context.Context, ak *pailv1.AccessKey) (admission.Warnings, error) {
	refs, err := bucketRefs(ctx, v.Reader, ak)
	if refErr, ok := errors.AsType[*BucketRefError](err); ok {
		// The controller waits for it, and checks the grant then.
		return admission.Warnings{refErr.Error() + "; the grants are checked when it does."}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the Buckets of spec.buckets: %w", err)
	}
	var warnings admission.Warnings
	loc, ok := v.location(ctx, ak)
	var refused []string
	if ok {
		refused, err = grantsRefused(ctx, v.Reader, ak, loc, refs)
	} else {
		warnings = append(warnings, fmt.Sprintf("Provider %s cannot be read; the grants of spec.policy are checked once it can.", ak.Spec.ProviderRef.Name))
		refused = refusedGrants(grantInput{ak: ak, refs: refs, shared: sharedProvider(ak.Spec.ProviderRef)})
	}
	if err != nil {
		return warnings, fmt.Errorf("check the grants: %w", err)
	}
	if len(refused) == 0 {
		return warnings, nil
	}
	errs := field.ErrorList{field.Forbidden(field.NewPath("spec"), grantRefusedMessage(refused))}
	return warnings, apierrors.NewInvalid(pailv1.GroupVersion.WithKind("AccessKey").GroupKind(), ak.Name, errs)
}

// location is where ak's user lives, or would: the recorded location, else
// where the Provider points now. ok is false when the Provider cannot be
// read: then no bucket can be told to be owned there.
func (v *Validator) location(ctx context.Context, ak *pailv1.AccessKey) (pailv1.Location, bool) {
	if ak.Status.Location != nil {
		return *ak.Status.Location, true
	}
	var p pailv1.Provider
	if err := v.Reader.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: ak.Spec.ProviderRef.Name}, &p); err != nil {
		return pailv1.Location{}, false
	}
	return connect.LocationOf(&p), true
}

// specChanged reports whether an update changes the spec, as it is stored
// (its JSON: Durations hold unexported fields a deep comparison cannot
// read). A spec that cannot be encoded counts as changed, and is judged.
func specChanged(old, ak *pailv1.AccessKey) bool {
	a, errA := json.Marshal(old.Spec)
	b, errB := json.Marshal(ak.Spec)
	return errA != nil || errB != nil || !bytes.Equal(a, b)
}
