package inuse

import (
	"context"
	"fmt"
	"strings"

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
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
)

// ProviderReconciler keeps the Finalizer on the Providers, or the
// ClusterProviders, that a referrer needs. The operator runs one per kind.
type ProviderReconciler struct {
	Client client.Client
	// Kind is pailv1.KindProvider ("" means it) or pailv1.KindClusterProvider.
	Kind string
}

// +kubebuilder:rbac:groups=pail.dev,resources=providers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=clusterproviders,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=clusterproviders/finalizers,verbs=update

// kind is the kind r protects.
func (r *ProviderReconciler) kind() string {
	if r.Kind == "" {
		return pailv1.KindProvider
	}
	return r.Kind
}

// SetupWithManager registers the controller.
func (r *ProviderReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(r.kind())+"-in-use").
		For(connect.NewObject(r.kind()), builder.WithPredicates(protectionChanged()))
	for _, ref := range referrers {
		b = b.Watches(ref.object(), r.providerHandler(ref), builder.WithPredicates(predicate.Or(protectionChanged(), ref.providerChanged())))
	}
	return b.Complete(r)
}

// Reconcile adds or removes the Finalizer of one Provider or ClusterProvider.
func (r *ProviderReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := connect.NewObject(r.kind())
	if err := r.Client.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	users, err := r.users(ctx, connect.ProviderKey(p))
	if err != nil {
		return ctrl.Result{}, err
	}
	deleting := !p.GetDeletionTimestamp().IsZero()
	a := decide(len(users) > 0, hasFinalizer(p), deleting)
	if a == keep && len(users) > 0 && deleting {
		ctrl.LoggerFrom(ctx).V(1).Info("provider is being deleted and still in use; kept until they are gone", "users", users)
	}
	return result(apply(ctx, r.Client, p, a))
}

// users names the referrers, in any namespace, that need the Provider or
// ClusterProvider with key (connect.RefKey), as "Kind namespace/name".
func (r *ProviderReconciler) users(ctx context.Context, key string) ([]string, error) {
	var out []string
	for _, ref := range referrers {
		list := ref.list()
		if err := r.Client.List(ctx, list, client.MatchingFields{managed.IndexProvider: key}); err != nil {
			return nil, fmt.Errorf("list %ss of %s: %w", ref.kind, key, err)
		}
		if err := apimeta.EachListItem(list, func(o runtime.Object) error {
			if obj, ok := o.(client.Object); ok && ref.needs(obj) { // list items are objects
				out = append(out, ref.kind+" "+client.ObjectKeyFromObject(obj).String())
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

// providerHandler queues the Provider or ClusterProvider (of r's kind) a
// referrer names, before and after an update, so one it stopped naming
// loses the Finalizer too.
func (r *ProviderReconciler) providerHandler(ref referrer) handler.EventHandler {
	return oldAndNew(func(o client.Object) []types.NamespacedName { return r.named(ref, o) })
}

// named is the object of r's kind that o, a referrer of kind ref, names:
// none when it names the other kind.
func (r *ProviderReconciler) named(ref referrer, o client.Object) []types.NamespacedName {
	pr := ref.ref(o)
	if connect.KindOf(pr) != r.kind() {
		return nil
	}
	return []types.NamespacedName{connect.ObjectKey(o.GetNamespace(), pr)}
}
