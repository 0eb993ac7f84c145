package bucket

import (
	"context"
	"slices"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/managed"
)

// indexMFASecret indexes Buckets by the MFA Secret their spec names.
const indexMFASecret = "pail.dev/bucket-mfa-secret" //nolint:gosec // an index name, not a credential

// mfaSecret is the Secret spec.versioning.mfaDelete.secretRef names, or "".
func mfaSecret(b *pailv1.Bucket) string {
	if v := b.Spec.Versioning; v != nil && v.MFADelete != nil {
		return v.MFADelete.SecretRef.Name
	}
	return ""
}

// indexInputs registers the indexes bucketsForSecret reads.
func indexInputs(mgr ctrl.Manager) error {
	return managed.Index(mgr, &pailv1.Bucket{}, indexMFASecret, func(b *pailv1.Bucket) []string {
		if s := mfaSecret(b); s != "" {
			return []string{s}
		}
		return nil
	})
}

// bucketsForSecret queues the Buckets that read Secret o, directly (their
// MFA Secret) or through their Provider or ClusterProvider (its
// credentials or CA), so a
// Secret created or fixed later recovers them at once, even from a
// terminal error (AccessDenied, MFAUnavailable). The watch sees metadata
// only: Secret data is never cached.
func (r *Reconciler) bucketsForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	out := managed.SecretReferrers(ctx, r.Client, r.Connector.Namespace, &pailv1.BucketList{}, o)
	for _, req := range managed.Requests(ctx, r.Client, &pailv1.BucketList{}, o.GetNamespace(), indexMFASecret, o.GetName()) {
		if !slices.Contains(out, req) {
			out = append(out, req)
		}
	}
	return out
}
