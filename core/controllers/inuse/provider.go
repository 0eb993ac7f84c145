package inuse

import (
	"context"
	"fmt"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/managed"
)

// ProviderReconciler keeps the Finalizer on Providers that a referrer needs.
type ProviderReconciler struct {
	Client client.Client
}

// +kubebuilder:rbac:groups=pail.dev,resources=providers,verbs=get;list;watch;update;patch

// SetupWithManager registers the controller.
func (r *ProviderReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("provider-in-use").
		For(&pailv1.Provider{}, builder.WithPredicates(protectionChanged()))
	for _, ref := range referrers {
		b = b.Watches(ref.object(), ref.providerHandler(), builder.WithPredicates(predicate.Or(protectionChanged(), ref.providerChanged())))
	}
	return b.Complete(r)
}

// Reconcile adds or removes the Finalizer of one Provider.
func (r *ProviderReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var p pailv1.Provider
	if err := r.Client.Get(ctx, req.NamespacedName, &p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	users, err := r.users(ctx, req.Namespace, req.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	a := decide(len(users) > 0, hasFinalizer(&p), !p.DeletionTimestamp.IsZero())
	if a == keep && len(users) > 0 && !p.DeletionTimestamp.IsZero() {
		ctrl.LoggerFrom(ctx).V(1).Info("provider is being deleted and still in use; kept until they are gone", "users", users)
	}
	return result(apply(ctx, r.Client, &p, a))
}

// users names the referrers in ns that need Provider name, as "Kind name".
func (r *ProviderReconciler) users(ctx context.Context, ns, name string) ([]string, error) {
	var out []string
	for _, ref := range referrers {
		list := ref.list()
		if err := r.Client.List(ctx, list, client.InNamespace(ns), client.MatchingFields{managed.IndexProvider: name}); err != nil {
			return nil, fmt.Errorf("list %ss of Provider %s: %w", ref.kind, name, err)
		}
		if err := apimeta.EachListItem(list, func(o runtime.Object) error {
			if obj, ok := o.(client.Object); ok && ref.needs(obj) { // list items are objects
				out = append(out, ref.kind+" "+obj.GetName())
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hasFinalizer(o client.Object) bool { return controllerutil.ContainsFinalizer(o, Finalizer) }

// providerChanged passes updates that point a referrer at another Provider.
func (ref referrer) providerChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return ref.provider(e.ObjectOld) != ref.provider(e.ObjectNew)
	}}
}

// providerHandler queues the Provider a referrer names, before and after
// an update, so a Provider it stopped naming loses the Finalizer too.
func (ref referrer) providerHandler() handler.EventHandler {
	return oldAndNew(func(o client.Object) []types.NamespacedName {
		return []types.NamespacedName{{Namespace: o.GetNamespace(), Name: ref.provider(o)}}
	})
}
