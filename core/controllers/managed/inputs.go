package managed

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
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

// IndexProvider indexes Buckets and AccessKeys by the Provider they name.
// It is registered once (IndexProviderRefs) and read by their controllers
// and by in-use protection: one index, not one per reader.
const IndexProvider = "pail.dev/provider"

// IndexProviderRefs registers IndexProvider; the operator calls it once,
// before the controllers that read it are set up.
func IndexProviderRefs(mgr ctrl.Manager) error {
	if err := Index(mgr, &pailv1.Bucket{}, IndexProvider, func(b *pailv1.Bucket) []string { return []string{b.Spec.ProviderRef.Name} }); err != nil {
		return err
	}
	return Index(mgr, &pailv1.AccessKey{}, IndexProvider, func(ak *pailv1.AccessKey) []string { return []string{ak.Spec.ProviderRef.Name} })
}
