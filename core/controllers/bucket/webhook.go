package bucket

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/bucketpolicy"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// WebhookPath is where the operator serves the Bucket validating webhook
// (controller-runtime's generated path for the kind).
const WebhookPath = "/validate-pail-dev-v1alpha1-bucket"

// The webhook configuration is generated into charts/pail/files/manifests.yaml.
// +kubebuilder:webhook:path=/validate-pail-dev-v1alpha1-bucket,mutating=false,failurePolicy=ignore,sideEffects=None,groups=pail.dev,resources=buckets,verbs=create;update,versions=v1alpha1,name=vbucket.pail.dev,admissionReviewVersions=v1,timeoutSeconds=5

// Validator runs the policy packs on an inline spec.policy at admission,
// with the BucketPolicy webhook's messages (bucketpolicy.Admit), so `kubectl
// apply` shows a denial before anything is stored. The controller checks
// again before every apply (checkPolicy): the webhook only moves the error
// earlier, and its failurePolicy is Ignore.
type Validator struct {
	Reader client.Reader
	Engine *policy.Engine
}

// SetupWebhookWithManager registers the validating webhook.
func (v *Validator) SetupWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &pailv1.Bucket{}).WithValidator(v).Complete()
}

var _ admission.Validator[*pailv1.Bucket] = (*Validator)(nil)

// ValidateCreate implements admission.Validator.
func (v *Validator) ValidateCreate(ctx context.Context, b *pailv1.Bucket) (admission.Warnings, error) {
	return v.validate(ctx, b)
}

// ValidateUpdate implements admission.Validator. Only an update that
// changes the inline policy (semantically, as the controller compares it)
// is judged: the controller's own metadata writes (finalizer, create
// intent) and a tenant's unrelated edits must go through on a Bucket whose
// stored policy a pack loaded since denies; its PolicyValid condition says
// so, and the policy is not applied.
func (v *Validator) ValidateUpdate(ctx context.Context, old, b *pailv1.Bucket) (admission.Warnings, error) {
	if !b.DeletionTimestamp.IsZero() || !policyChanged(old, b) {
		return nil, nil
	}
	return v.validate(ctx, b)
}

// ValidateDelete implements admission.Validator; deletes are always allowed.
func (v *Validator) ValidateDelete(context.Context, *pailv1.Bucket) (admission.Warnings, error) {
	return nil, nil
}

// policyChanged reports whether an update changes the inline policy: added,
// or another document than the one stored (canonically: key order and the
// string-or-list forms do not count). Removing it changes nothing the packs
// could deny.
func policyChanged(old, b *pailv1.Bucket) bool {
	if !hasInlinePolicy(b) {
		return false
	}
	return !hasInlinePolicy(old) || !policydoc.Same(string(old.Spec.Policy.Raw), string(b.Spec.Policy.Raw))
}

func (v *Validator) validate(ctx context.Context, b *pailv1.Bucket) (admission.Warnings, error) {
	if !hasInlinePolicy(b) {
		return nil, nil
	}
	prov, err := connect.Lookup(ctx, v.Reader, b.Namespace, b.Spec.ProviderRef)
	if err != nil {
		prov = nil // the packs judge it with an unknown Provider; the controller judges it again with the Provider
	}
	_, res, err := bucketpolicy.CheckDocument(ctx, v.Engine, b.Spec.Policy.Raw, inlinePacks, b, prov)
	return bucketpolicy.Admit(pailv1.GroupVersion.WithKind("Bucket").GroupKind(), b.Name, res, err, true)
}
