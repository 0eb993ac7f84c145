package managed

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
)

// Referrers maps a changed input (a Provider, a Secret, a Bucket) to the
// objects in its namespace that use it: those of list's kind whose field
// index idx holds the input's name. Every "requeue what depends on this"
// watch is one call of it, so fixing an input recovers its users at once.
func Referrers(c client.Reader, list client.ObjectList, idx string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return Requests(ctx, c, list, o.GetNamespace(), idx, o.GetName())
	}
}

// Requests lists, in namespace ns, the objects of list's kind whose field
// index idx holds value, as requests. A failed list requeues nothing: the
// cache read fails only while the manager stops.
func Requests(ctx context.Context, c client.Reader, list client.ObjectList, ns, idx, value string) []reconcile.Request {
	l, ok := list.DeepCopyObject().(client.ObjectList)
	if !ok {
		return nil
	}
	if err := c.List(ctx, l, client.InNamespace(ns), client.MatchingFields{idx: value}); err != nil {
		return nil
	}
	items, err := meta.ExtractList(l)
	if err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(items))
	for _, it := range items {
		if obj, ok := it.(client.Object); ok {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
		}
	}
	return out
}

// Index registers the field index name on obj's kind, from a typed
// function: every index a controller reads is declared with it.
func Index[T client.Object](mgr ctrl.Manager, obj T, name string, fn func(T) []string) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), obj, name, IndexFunc(fn))
}

// IndexFunc adapts a typed index function to the untyped one the cache
// (and controller-runtime's fake client, in decision tests) takes.
func IndexFunc[T client.Object](fn func(T) []string) client.IndexerFunc {
	return func(o client.Object) []string {
		t, ok := o.(T)
		if !ok {
			return nil
		}
		return fn(t)
	}
}

// IndexProvider indexes Buckets and AccessKeys by the Provider or
// ClusterProvider they name, as connect.RefKey: "Provider/<ns>/<name>" or
// "ClusterProvider/<name>". It is registered once (IndexProviderRefs) and
// read by their controllers and by in-use protection: one index, not one
// per reader. Listed without a namespace, it finds a ClusterProvider's
// referrers in every namespace.
const IndexProvider = "pail.dev/provider"

// IndexProviderRefs registers IndexProvider; the operator calls it once,
// before the controllers that read it are set up.
func IndexProviderRefs(mgr ctrl.Manager) error {
	if err := Index(mgr, &pailv1.Bucket{}, IndexProvider, bucketProviderKey); err != nil {
		return err
	}
	return Index(mgr, &pailv1.AccessKey{}, IndexProvider, accessKeyProviderKey)
}

// bucketProviderKey and accessKeyProviderKey are IndexProvider's values.
func bucketProviderKey(b *pailv1.Bucket) []string {
	return []string{connect.RefKey(b.Namespace, b.Spec.ProviderRef)}
}

func accessKeyProviderKey(ak *pailv1.AccessKey) []string {
	return []string{connect.RefKey(ak.Namespace, ak.Spec.ProviderRef)}
}

// ProviderReferrers maps a changed Provider or ClusterProvider to the
// objects of list's kind that name it: in its namespace, or for a
// ClusterProvider (which has none) in every namespace.
func ProviderReferrers(c client.Reader, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		p, ok := o.(pailv1.ProviderObject)
		if !ok {
			return nil
		}
		return Requests(ctx, c, list, p.GetNamespace(), IndexProvider, connect.ProviderKey(p))
	}
}

// NamespaceReferrers maps a Namespace whose labels changed to the objects
// of list's kind in it that name a ClusterProvider admitting namespaces by
// label: the selector may now match, or no longer, and so what they may use.
func NamespaceReferrers(c client.Reader, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var cps pailv1.ClusterProviderList
		if err := c.List(ctx, &cps); err != nil {
			return nil
		}
		var out []reconcile.Request
		for i := range cps.Items {
			if cp := &cps.Items[i]; cp.Spec.AllowedNamespaces.From == pailv1.NamespacesFromSelector {
				out = append(out, Requests(ctx, c, list, o.GetName(), IndexProvider, connect.ProviderKey(cp))...)
			}
		}
		return out
	}
}

// labelsChanged passes the updates that change an object's labels.
func labelsChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
	}
}

// WatchProviders adds the watches of a kind that names a Provider (list is
// its list kind): Providers and ClusterProviders (readiness, spec and
// account: connect.ReadinessChanged) and Namespaces (their labels, which a
// ClusterProvider's selector reads), each requeuing the referrers it
// concerns. Namespaces are read whole, as connect.Admitted reads them, so
// the manager keeps one Namespace informer, not two.
func WatchProviders(b *builder.Builder, c client.Reader, list client.ObjectList) *builder.Builder {
	for _, kind := range connect.Kinds {
		b = b.Watches(connect.NewObject(kind), handler.EnqueueRequestsFromMapFunc(ProviderReferrers(c, list)), builder.WithPredicates(connect.ReadinessChanged()))
	}
	return b.Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(NamespaceReferrers(c, list)), builder.WithPredicates(labelsChanged()))
}

// SecretReferrers lists the objects of list's kind whose Provider or
// ClusterProvider reads Secret secret (metadata is enough); operatorNS is
// the operator's namespace (connect.SecretNamespace).
func SecretReferrers(ctx context.Context, c client.Reader, operatorNS string, list client.ObjectList, secret client.Object) []reconcile.Request {
	providers, err := connect.SecretReaders(ctx, c, operatorNS, secret.GetNamespace(), secret.GetName())
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, p := range providers {
		out = append(out, Requests(ctx, c, list, p.GetNamespace(), IndexProvider, connect.ProviderKey(p))...)
	}
	return out
}
