package accesskey

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/controllers/status"
)

// indexBucket indexes AccessKeys by the Buckets spec.buckets names.
const indexBucket = "pail.dev/accesskey-bucket"

// indexInputs registers the index forBucket reads.
func indexInputs(mgr ctrl.Manager) error {
	return managed.Index(mgr, &pailv1.AccessKey{}, indexBucket, func(ak *pailv1.AccessKey) []string {
		out := make([]string, 0, len(ak.Spec.Buckets))
		for _, ba := range ak.Spec.Buckets {
			out = append(out, ba.BucketRef.Name)
		}
		return out
	})
}

// watchInputs adds the watches on what an AccessKey reads besides its
// Provider: the Provider's Secrets (metadata only), the Buckets in
// spec.buckets (created later, or renamed at the provider), and, through
// Repack, the policy packs its identity policy is checked with.
func (r *Reconciler) watchInputs(b *builder.Builder) *builder.Builder {
	b = b.WatchesMetadata(connect.SecretMeta(), handler.EnqueueRequestsFromMapFunc(r.forSecret)).
		Watches(&pailv1.Bucket{}, handler.EnqueueRequestsFromMapFunc(managed.Referrers(r.Client, &pailv1.AccessKeyList{}, indexBucket)),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, status.Deleting())))
	if r.Repack != nil {
		b = b.WatchesRawSource(source.Channel(r.Repack, &handler.EnqueueRequestForObject{}))
	}
	return b
}

// forSecret queues the AccessKeys of the Providers and ClusterProviders
// that read Secret o.
func (r *Reconciler) forSecret(ctx context.Context, o client.Object) []reconcile.Request {
	return managed.SecretReferrers(ctx, r.Client, r.Connector.Namespace, &pailv1.AccessKeyList{}, o)
}
