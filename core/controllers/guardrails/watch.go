package guardrails

import (
	"context"
	"maps"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/guardrail"
)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// Watch adds to a kind's controller the watches that bring its objects
// back when what the Guardrails say of them may have changed: a Guardrail
// created, changed or deleted (the objects of the namespaces it selects,
// before or after), and a namespace's labels changed (its objects).
// newList returns an empty list of the kind.
func Watch(b *builder.Builder, c client.Reader, newList func() client.ObjectList) *builder.Builder {
	enqueueNS := func(ctx context.Context, q queue, namespaces map[string]bool) {
		for ns := range namespaces {
			enqueueNamespace(ctx, c, q, newList(), ns)
		}
	}
	onGuardrail := handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
			enqueueNS(ctx, q, selected(ctx, c, e.Object))
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
			ns := selected(ctx, c, e.ObjectOld)
			maps.Copy(ns, selected(ctx, c, e.ObjectNew))
			enqueueNS(ctx, q, ns)
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
			enqueueNS(ctx, q, selected(ctx, c, e.Object))
		},
	}
	onNamespace := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		return requests(ctx, c, newList(), o.GetName())
	})
	return b.
		Watches(&pailv1.Guardrail{}, onGuardrail, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(namespaceMeta(), onNamespace, builder.WithPredicates(predicate.LabelChangedPredicate{}))
}

// selected is the set of namespaces the Guardrail o selects.
func selected(ctx context.Context, c client.Reader, o client.Object) map[string]bool {
	out := map[string]bool{}
	g, ok := o.(*pailv1.Guardrail)
	if !ok {
		return out
	}
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(namespaceMeta().GroupVersionKind())
	if err := c.List(ctx, &list); err != nil {
		log.FromContext(ctx).Error(err, "list namespaces for a Guardrail", "guardrail", g.Name)
		return out
	}
	for _, ns := range list.Items {
		if guardrail.Selects(g, guardrail.Namespace{Name: ns.Name, Labels: ns.Labels}) {
			out[ns.Name] = true
		}
	}
	return out
}

func enqueueNamespace(ctx context.Context, c client.Reader, q queue, list client.ObjectList, ns string) {
	for _, r := range requests(ctx, c, list, ns) {
		q.Add(r)
	}
}

// requests are the objects of list's kind in namespace ns.
func requests(ctx context.Context, c client.Reader, list client.ObjectList, ns string) []reconcile.Request {
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		log.FromContext(ctx).Error(err, "list objects for a Guardrail change", "namespace", ns)
		return nil
	}
	var out []reconcile.Request
	_ = meta.EachListItem(list, func(o runtimeObject) error {
		if m, err := meta.Accessor(o); err == nil {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}})
		}
		return nil
	})
	return out
}

// WatchDeletes brings back, when an object of kind obj is deleted, the
// others of its namespace: one past a Guardrail's maximum may now fit.
func WatchDeletes(b *builder.Builder, c client.Reader, obj client.Object, newList func() client.ObjectList) *builder.Builder {
	onDelete := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		return requests(ctx, c, newList(), o.GetNamespace())
	})
	deletes := predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	return b.Watches(obj, onDelete, builder.WithPredicates(deletes))
}
