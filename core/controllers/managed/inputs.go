package managed

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
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

// Index turns f, which reads the fields of one kind, into a field index
// function. The indexer registered for T passes only T; an object of
// another kind indexes nothing rather than panicking the cache.
func Index[T client.Object](f func(T) []string) client.IndexerFunc {
	return func(o client.Object) []string {
		t, ok := o.(T)
		if !ok {
			return nil
		}
		return f(t)
	}
}
