package inuse

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
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

// SecretReconciler keeps the Finalizer on the Secrets Providers read. It
// sees Secrets' metadata only: the operator never caches Secret data.
type SecretReconciler struct {
	Client client.Client
}

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;update;patch

// SetupWithManager registers the controller.
func (r *SecretReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("secret-in-use").
		WatchesMetadata(connect.SecretMeta(), handler.EnqueueRequestsFromMapFunc(r.relevant)).
		Watches(&pailv1.Provider{}, secretsHandler(), builder.WithPredicates(predicate.Or(protectionChanged(), secretsChanged()))).
		Complete(r)
}

// relevant queues a Secret only when it carries the Finalizer or a Provider
// reads it: most Secrets in a cluster are neither.
func (r *SecretReconciler) relevant(ctx context.Context, o client.Object) []reconcile.Request {
	req := []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}}
	if hasFinalizer(o) {
		return req
	}
	if readers, err := connect.SecretReaders(ctx, r.Client, o.GetNamespace(), o.GetName()); err != nil || len(readers) > 0 {
		return req
	}
	return nil
}

// Reconcile adds or removes the Finalizer of one Secret.
func (r *SecretReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sec := connect.SecretMeta()
	if err := r.Client.Get(ctx, req.NamespacedName, sec); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	readers, err := connect.SecretReaders(ctx, r.Client, req.Namespace, req.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	return result(apply(ctx, r.Client, sec, decide(len(readers) > 0, hasFinalizer(sec), !sec.DeletionTimestamp.IsZero())))
}

// secretsChanged passes Provider updates that change which Secrets it reads.
func secretsChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !slices.Equal(secretsOf(e.ObjectOld), secretsOf(e.ObjectNew))
	}}
}

func secretsOf(o client.Object) []string {
	if p, ok := o.(*pailv1.Provider); ok {
		return connect.SecretNames(p)
	}
	return nil
}

// secretsHandler queues the Secrets a Provider reads, before and after an
// update, so a Secret it stopped reading loses the Finalizer too.
func secretsHandler() handler.EventHandler {
	return oldAndNew(func(o client.Object) []types.NamespacedName {
		names := secretsOf(o)
		out := make([]types.NamespacedName, 0, len(names))
		for _, name := range names {
			out = append(out, types.NamespacedName{Namespace: o.GetNamespace(), Name: name})
		}
		return out
	})
}
