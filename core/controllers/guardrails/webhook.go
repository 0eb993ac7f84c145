package guardrails

import (
	"context"
	"errors"
	"reflect"
	"slices"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/guardrail"
)

// The Guardrail webhooks, one per kind, apart from the policy-pack
// webhooks of the same kinds: each answers only what the Guardrails say.
// The controllers check the same rules again before any write, so an
// object admitted while the webhook was unavailable, or before a Guardrail
// changed, gets GuardrailDenied rather than a write.
//
// +kubebuilder:webhook:path=/guardrail-pail-dev-v1alpha1-provider,mutating=false,failurePolicy=ignore,sideEffects=None,groups=pail.dev,resources=providers,verbs=create;update,versions=v1alpha1,name=gprovider.guardrail.pail.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/guardrail-pail-dev-v1alpha1-bucket,mutating=false,failurePolicy=ignore,sideEffects=None,groups=pail.dev,resources=buckets,verbs=create;update,versions=v1alpha1,name=gbucket.guardrail.pail.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/guardrail-pail-dev-v1alpha1-accesskey,mutating=false,failurePolicy=ignore,sideEffects=None,groups=pail.dev,resources=accesskeys,verbs=create;update,versions=v1alpha1,name=gaccesskey.guardrail.pail.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/guardrail-pail-dev-v1alpha1-bucketpolicy,mutating=false,failurePolicy=ignore,sideEffects=None,groups=pail.dev,resources=bucketpolicies,verbs=create;update,versions=v1alpha1,name=gbucketpolicy.guardrail.pail.dev,admissionReviewVersions=v1,timeoutSeconds=5

// PathPrefix starts the path of each kind's Guardrail webhook.
const PathPrefix = "/guardrail-pail-dev-v1alpha1-"

// validator is one kind's Guardrail webhook.
type validator[T client.Object] struct {
	resource string
	spec     func(T) any
	check    func(ctx context.Context, r guardrail.Rules, obj T, creating bool) ([]guardrail.Violation, error)
	// ref, when set, is the Provider obj names: a ClusterProvider that does
	// not admit the namespace is a warning (the sync refuses it).
	ref func(T) pailv1.ProviderReference
	c   client.Reader
}

// SetupWebhooks registers the Guardrail webhook of every kind, reading
// through c (the manager's cache, on every replica).
func SetupWebhooks(mgr ctrl.Manager, c client.Reader) error {
	srv, scheme := mgr.GetWebhookServer(), mgr.GetScheme()
	register := func(kind string, h *admission.Webhook) { srv.Register(PathPrefix+kind, h) }
	register("provider", admission.WithValidator(scheme, &validator[*pailv1.Provider]{
		c: c, resource: "providers", spec: func(p *pailv1.Provider) any { return p.Spec },
		check: func(_ context.Context, r guardrail.Rules, p *pailv1.Provider, _ bool) ([]guardrail.Violation, error) {
			return r.CheckProvider(p.Name, &p.Spec), nil
		},
	}))
	register("bucket", admission.WithValidator(scheme, &validator[*pailv1.Bucket]{
		c: c, resource: "buckets", spec: func(b *pailv1.Bucket) any { return b.Spec },
		ref: func(b *pailv1.Bucket) pailv1.ProviderReference { return b.Spec.ProviderRef },
		check: func(ctx context.Context, r guardrail.Rules, b *pailv1.Bucket, creating bool) ([]guardrail.Violation, error) {
			return Bucket(ctx, c, r, b, creating)
		},
	}))
	register("accesskey", admission.WithValidator(scheme, &validator[*pailv1.AccessKey]{
		c: c, resource: "accesskeys", spec: func(ak *pailv1.AccessKey) any { return ak.Spec },
		ref: func(ak *pailv1.AccessKey) pailv1.ProviderReference { return ak.Spec.ProviderRef },
		check: func(ctx context.Context, r guardrail.Rules, ak *pailv1.AccessKey, creating bool) ([]guardrail.Violation, error) {
			return AccessKey(ctx, c, r, ak, creating)
		},
	}))
	register("bucketpolicy", admission.WithValidator(scheme, &validator[*pailv1.BucketPolicy]{
		c: c, resource: "bucketpolicies", spec: func(bp *pailv1.BucketPolicy) any { return bp.Spec },
		check: func(_ context.Context, r guardrail.Rules, bp *pailv1.BucketPolicy, _ bool) ([]guardrail.Violation, error) {
			return r.CheckBucketPolicy(&bp.Spec), nil
		},
	}))
	return nil
}

// ValidateCreate implements admission.Validator.
func (v *validator[T]) ValidateCreate(ctx context.Context, obj T) (admission.Warnings, error) {
	return v.validate(ctx, obj, true)
}

// ValidateUpdate implements admission.Validator. Only a spec change is
// checked, and only for what it newly breaks: the operator's own metadata
// writes (finalizers, annotations) and deletion always pass, and an object
// stored before a Guardrail changed may still be edited (its sync keeps
// refusing it with GuardrailDenied until the field the message names is
// fixed) and cleaned up. (reflect, not equality.Semantic, which panics on
// the unexported field of a Duration.)
func (v *validator[T]) ValidateUpdate(ctx context.Context, old, obj T) (admission.Warnings, error) {
	if !obj.GetDeletionTimestamp().IsZero() || reflect.DeepEqual(v.spec(old), v.spec(obj)) {
		return nil, nil
	}
	return v.validate(ctx, obj, false, old)
}

// ValidateDelete implements admission.Validator; deletes are always allowed.
func (v *validator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

// validate refuses what the Guardrails forbid in obj, but for what they
// already forbade in old (an update's stored object, if any).
func (v *validator[T]) validate(ctx context.Context, obj T, creating bool, old ...T) (admission.Warnings, error) {
	r, err := Rules(ctx, v.c, obj.GetNamespace())
	var vs, before []guardrail.Violation
	if err == nil {
		vs, err = v.check(ctx, r, obj, creating)
	}
	for _, o := range old {
		if err == nil {
			before, err = v.check(ctx, r, o, false)
		}
	}
	vs = slices.DeleteFunc(vs, func(x guardrail.Violation) bool {
		return slices.ContainsFunc(before, func(b guardrail.Violation) bool { return b.Message == x.Message })
	})
	if err != nil {
		// The cache cannot answer: admit, the controller checks again.
		warning := "The Guardrails could not be checked at admission: " + err.Error() + ". The controller checks them again."
		return admission.Warnings{warning}, nil //nolint:nilerr // admitted on purpose: the sync refuses what this misses
	}
	warnings := v.warnings(ctx, r, obj)
	if len(vs) == 0 {
		return warnings, nil
	}
	gr := schema.GroupResource{Group: pailv1.GroupVersion.Group, Resource: v.resource}
	return warnings, kerrors.NewForbidden(gr, obj.GetName(), errors.New(guardrail.Message(vs)))
}

// warnings say that the ClusterProvider obj names does not admit its
// namespace. The cache may not have seen a new grant yet, so this is a
// warning, never a refusal; the sync refuses with ProviderNotAllowed.
func (v *validator[T]) warnings(ctx context.Context, r guardrail.Rules, obj T) admission.Warnings {
	if v.ref == nil {
		return nil
	}
	cp, err := clusterProvider(ctx, v.c, v.ref(obj))
	if err != nil || cp == nil {
		return nil
	}
	var out admission.Warnings
	for _, w := range r.ClusterProviderAdmits(cp) {
		out = append(out, w.Message+" Until it does, this object waits with ProviderNotAllowed.")
	}
	return out
}
