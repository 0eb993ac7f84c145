// Package inuse keeps what a resource needs to finish deleting from going
// away first, the way PVC protection keeps a volume a pod uses: a Provider
// or ClusterProvider carries the Finalizer while a Bucket or AccessKey that
// holds its own finalizer names it, and each Secret one reads (a
// ClusterProvider's in its secret namespace) carries it while it exists.
// Deleting a namespace then deletes the referrers first
// (each honouring its deletionPolicy through the Provider) and the Provider
// and its Secrets last. The Finalizer goes as soon as nobody needs it, so it
// never holds anything nobody uses.
package inuse

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/status"
)

// Finalizer marks a Provider or Secret that something still needs.
const Finalizer = "pail.dev/in-use"

// action is what to do with the Finalizer.
type action int

const (
	keep action = iota
	add
	remove
)

// decide says what to do with the Finalizer of an object that is (or is
// not) needed, has (or has not) the Finalizer, and is (or is not) being
// deleted. It never adds to an object being deleted (the apiserver refuses
// new finalizers then, and a deletion that started unprotected has nothing
// left to protect), and removes as soon as nothing needs the object.
func decide(needed, has, deleting bool) action {
	switch {
	case needed && !has && !deleting:
		return add
	case !needed && has:
		return remove
	}
	return keep
}

// apply adds or removes the Finalizer on obj with an optimistic lock, so a
// concurrent change of another finalizer is never overwritten.
func apply(ctx context.Context, c client.Client, obj client.Object, a action) error {
	if a == keep {
		return nil
	}
	before, ok := obj.DeepCopyObject().(client.Object)
	if !ok { // a client.Object's deep copy is one of its kind
		return fmt.Errorf("update finalizer %s of %s: copy of %T is no client.Object", Finalizer, obj.GetName(), obj)
	}
	if a == add {
		controllerutil.AddFinalizer(obj, Finalizer)
	} else {
		controllerutil.RemoveFinalizer(obj, Finalizer)
	}
	err := c.Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("update finalizer %s of %s: %w", Finalizer, obj.GetName(), err)
	}
	return nil
}

// result is the reconcile result for err from apply: a write refused
// because the object changed since the cache saw it is retried at once,
// without an error.
func result(err error) (ctrl.Result, error) {
	if res, stale := status.Stale(err); stale {
		return res, nil
	}
	return ctrl.Result{}, err
}

// referrer is a kind that needs its Provider to finish deleting: what it is,
// the finalizer it holds while it has something to delete, and the
// Provider or ClusterProvider it names.
type referrer struct {
	kind      string
	object    func() client.Object
	list      func() client.ObjectList
	finalizer string
	ref       func(client.Object) pailv1.ProviderReference
}

// referrers lists every kind that needs a Provider.
var referrers = []referrer{
	{
		kind:      "Bucket",
		object:    func() client.Object { return &pailv1.Bucket{} },
		list:      func() client.ObjectList { return &pailv1.BucketList{} },
		finalizer: pailv1.BucketFinalizer,
		ref: func(o client.Object) pailv1.ProviderReference {
			if b, ok := o.(*pailv1.Bucket); ok {
				return b.Spec.ProviderRef
			}
			return pailv1.ProviderReference{}
		},
	},
	{
		kind:      "AccessKey",
		object:    func() client.Object { return &pailv1.AccessKey{} },
		list:      func() client.ObjectList { return &pailv1.AccessKeyList{} },
		finalizer: pailv1.AccessKeyFinalizer,
		ref: func(o client.Object) pailv1.ProviderReference {
			if ak, ok := o.(*pailv1.AccessKey); ok {
				return ak.Spec.ProviderRef
			}
			return pailv1.ProviderReference{}
		},
	},
}

// provider is the key (connect.RefKey) of the Provider or ClusterProvider
// o, a referrer of kind ref, names.
func (ref referrer) provider(o client.Object) string {
	return connect.RefKey(o.GetNamespace(), ref.ref(o))
}

// needs reports whether o, a referrer of kind ref, needs its Provider.
func (ref referrer) needs(o client.Object) bool {
	return controllerutil.ContainsFinalizer(o, ref.finalizer)
}

// protectionChanged passes the events that can change whether an object
// needs, or is, protected: creation, deletion, the start of a deletion, and
// a change of finalizers. Status writes, the bulk of updates, pass only
// when they carry one of those.
func protectionChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld, e.ObjectNew
			return o.GetDeletionTimestamp().IsZero() != n.GetDeletionTimestamp().IsZero() ||
				fmt.Sprint(o.GetFinalizers()) != fmt.Sprint(n.GetFinalizers())
		},
	}
}

// oldAndNew queues keys(o) for every event, of both objects of an update.
func oldAndNew(keys func(client.Object) []types.NamespacedName) handler.EventHandler {
	q := func(w workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		for _, o := range objs {
			for _, k := range keys(o) {
				w.Add(reconcile.Request{NamespacedName: k})
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, w workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q(w, e.Object)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, w workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q(w, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, w workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q(w, e.Object)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, w workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q(w, e.Object)
		},
	}
}
