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

// SecretReconciler keeps the Finalizer on the Secrets Providers and
// ClusterProviders read. It sees Secrets' metadata only: the operator never
// caches Secret data.
type SecretReconciler struct {
	Client client.Client
	// Namespace is the operator's namespace, where a ClusterProvider's
	// Secrets live when it names no spec.secretNamespace.
	Namespace string
}

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;update;patch

// SetupWithManager registers the controller.
func (r *SecretReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("secret-in-use").
		WatchesMetadata(connect.SecretMeta(), handler.EnqueueRequestsFromMapFunc(r.relevant))
	for _, kind := range connect.Kinds {
		b = b.Watches(connect.NewObject(kind), r.secretsHandler(), builder.WithPredicates(predicate.Or(protectionChanged(), r.secretsChanged())))
	}
	return b.Complete(r)
}

// relevant queues a Secret only when it carries the Finalizer or a Provider
// or ClusterProvider reads it: most Secrets in a cluster are neither.
func (r *SecretReconciler) relevant(ctx context.Context, o client.Object) []reconcile.Request {
	req := []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}}
	if hasFinalizer(o) {
		return req
	}
	if readers, err := connect.SecretReaders(ctx, r.Client, r.Namespace, o.GetNamespace(), o.GetName()); err != nil || len(readers) > 0 {
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
	readers, err := connect.SecretReaders(ctx, r.Client, r.Namespace, req.Namespace, req.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	return result(apply(ctx, r.Client, sec, decide(len(readers) > 0, hasFinalizer(sec), !sec.DeletionTimestamp.IsZero())))
}

// secretsChanged passes Provider and ClusterProvider updates that change
// which Secrets it reads.
func (r *SecretReconciler) secretsChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !slices.Equal(r.secretsOf(e.ObjectOld), r.secretsOf(e.ObjectNew))
	}}
}

// secretsOf are the Secrets Provider or ClusterProvider o reads.
func (r *SecretReconciler) secretsOf(o client.Object) []types.NamespacedName {
	if p, ok := o.(pailv1.ProviderObject); ok {
		return connect.Secrets(p, r.Namespace)
	}
	return nil
}

// secretsHandler queues the Secrets a Provider or ClusterProvider reads,
// before and after an update, so a Secret it stopped reading loses the
// Finalizer too.
func (r *SecretReconciler) secretsHandler() handler.EventHandler {
	return oldAndNew(r.secretsOf)
}
