package bucket

import (
	"context"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
)

// indexMFASecret indexes Buckets by the MFA Secret their spec names.
const indexMFASecret = "pail.dev/bucket-mfa-secret"

// mfaSecret is the Secret spec.versioning.mfaDelete.secretRef names, or "".
func mfaSecret(b *pailv1.Bucket) string {
	if v := b.Spec.Versioning; v != nil && v.MFADelete != nil {
		return v.MFADelete.SecretRef.Name
	}
	return ""
}

// indexInputs registers the indexes bucketsForSecret reads.
func indexInputs(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &pailv1.Bucket{}, indexMFASecret, func(o client.Object) []string {
		if s := mfaSecret(o.(*pailv1.Bucket)); s != "" {
			return []string{s}
		}
		return nil
	})
}

// bucketsForSecret queues the Buckets that read Secret o, directly (their
// MFA Secret) or through their Provider (its credentials or CA), so a
// Secret created or fixed later recovers them at once, even from a
// terminal error (AccessDenied, MFAUnavailable). The watch sees metadata
// only: Secret data is never cached.
func (r *Reconciler) bucketsForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	providers, err := connect.SecretReaders(ctx, r.Client, o.GetNamespace(), o.GetName())
	if err != nil {
		return nil
	}
	for _, p := range providers {
		out = append(out, r.bucketsForProvider(ctx, &metav1.PartialObjectMetadata{ObjectMeta: p.ObjectMeta})...)
	}
	var list pailv1.BucketList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexMFASecret: o.GetName()}); err != nil {
		return out
	}
	for _, b := range list.Items {
		req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: b.Name}}
		if !slices.Contains(out, req) {
			out = append(out, req)
		}
	}
	return out
}
