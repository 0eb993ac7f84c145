package bucketpolicy

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/policy"
)

// WebhookPath is where the operator serves the BucketPolicy validating
// webhook (controller-runtime's generated path for the kind).
const WebhookPath = "/validate-pail-dev-v1alpha1-bucketpolicy"

// The webhook configuration is generated into charts/pail/files/manifests.yaml.
// +kubebuilder:webhook:path=/validate-pail-dev-v1alpha1-bucketpolicy,mutating=false,failurePolicy=ignore,sideEffects=None,groups=pail.dev,resources=bucketpolicies,verbs=create;update,versions=v1alpha1,name=vbucketpolicy.pail.dev,admissionReviewVersions=v1,timeoutSeconds=5

// Validator runs the policy packs at admission, so `kubectl apply` (and
// --dry-run=server) shows the packs' deny messages before anything is stored.
// The controller checks again before every apply: the webhook only moves the
// error earlier, and its failurePolicy is Ignore.
//
// +kubebuilder:webhook:path=/validate-pail-dev-v1alpha1-bucketpolicy,mutating=false,failurePolicy=ignore,sideEffects=None,groups=pail.dev,resources=bucketpolicies,verbs=create;update,versions=v1alpha1,name=vbucketpolicy.pail.dev,admissionReviewVersions=v1,timeoutSeconds=5
type Validator struct {
	Reader client.Reader
	Engine *policy.Engine
}

// SetupWebhookWithManager registers the validating webhook.
func (v *Validator) SetupWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &pailv1.BucketPolicy{}).WithValidator(v).Complete()
}

var _ admission.Validator[*pailv1.BucketPolicy] = (*Validator)(nil)

// ValidateCreate implements admission.Validator.
func (v *Validator) ValidateCreate(ctx context.Context, bp *pailv1.BucketPolicy) (admission.Warnings, error) {
	return v.validate(ctx, bp)
}

// ValidateUpdate implements admission.Validator.
func (v *Validator) ValidateUpdate(ctx context.Context, _, bp *pailv1.BucketPolicy) (admission.Warnings, error) {
	if !bp.DeletionTimestamp.IsZero() {
		return nil, nil // never block finalizer removal
	}
	return v.validate(ctx, bp)
}

// ValidateDelete implements admission.Validator; deletes are always allowed.
func (v *Validator) ValidateDelete(context.Context, *pailv1.BucketPolicy) (admission.Warnings, error) {
	return nil, nil
}

func (v *Validator) validate(ctx context.Context, bp *pailv1.BucketPolicy) (admission.Warnings, error) {
	var b pailv1.Bucket
	if err := v.Reader.Get(ctx, types.NamespacedName{Namespace: bp.Namespace, Name: bp.Spec.BucketRef.Name}, &b); err != nil {
		if apierrors.IsNotFound(err) {
			// The bucket-scoped rules need the Bucket; the controller checks
			// the document once it exists.
			return admission.Warnings{fmt.Sprintf("Bucket %s does not exist yet in namespace %s; the policy packs check this policy when it does.", bp.Spec.BucketRef.Name, bp.Namespace)}, nil
		}
		return nil, fmt.Errorf("read Bucket %s: %w", bp.Spec.BucketRef.Name, err)
	}
	prov, err := connect.Lookup(ctx, v.Reader, b.Namespace, b.Spec.ProviderRef)
	if err != nil {
		prov = nil // unknown: the packs judge the document without it
	}
	// The packs the namespace's Guardrails require run too; a failed read
	// of the Guardrails leaves them to the controller.
	withRequired := *bp
	if rules, err := guardrails.Rules(ctx, v.Reader, bp.Namespace); err == nil {
		withRequired.Spec.Packs = rules.Packs(bp.Spec.Packs)
	}
	res, err := Check(ctx, v.Engine, &withRequired, &b, prov)
	return Admit(pailv1.GroupVersion.WithKind("BucketPolicy").GroupKind(), bp.Name, res, err, bp.Spec.EnforcementMode != pailv1.EnforcementWarn)
}

// Admit is the admission answer to an evaluation of spec.policy (Check's,
// or CheckDocument's for a Bucket's inline policy): a document that is not
// JSON is invalid; packs that cannot be evaluated admit it with a warning
// (the controller checks again and reports it); a denial refuses it in
// Enforce mode, each message a Forbidden on spec.policy, and is a warning in
// Warn mode. The packs' warnings are admission warnings.
func Admit(gk schema.GroupKind, name string, res policy.Result, err error, enforce bool) (admission.Warnings, error) {
	path := field.NewPath("spec", "policy")
	var notJSON *NotJSONError
	switch {
	case errors.As(err, &notJSON):
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(path, "", notJSON.Error())})
	case err != nil:
		// Packs unavailable: admit, the controller reports it as a condition.
		return admission.Warnings{fmt.Sprintf("The policy packs could not check this policy at admission: %v. The controller checks it again.", err)}, nil
	}
	warnings := admission.Warnings(res.Warn)
	if len(res.Deny) == 0 {
		return warnings, nil
	}
	if !enforce {
		return append(warnings, res.Deny...), nil
	}
	errs := make(field.ErrorList, 0, len(res.Deny))
	for _, d := range res.Deny {
		errs = append(errs, field.Forbidden(path, d))
	}
	return warnings, apierrors.NewInvalid(gk, name, errs)
}
