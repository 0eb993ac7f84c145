package guardrails

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/guardrail"
)

// Reconciler reports each Guardrail's status: how many namespaces it
// selects, and Ready (False when its selector cannot select anything).
type Reconciler struct {
	Client client.Client
}

// SetupWithManager registers the controller: a Guardrail's spec, and a
// namespace created, deleted or relabelled (every Guardrail's count).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list pailv1.GuardrailList
		if err := r.Client.List(ctx, &list); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for _, g := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: g.Name}})
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("guardrail").
		For(&pailv1.Guardrail{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(namespaceMeta(), all, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Complete(r)
}

// Reconcile counts the namespaces the Guardrail selects and writes the
// status when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var g pailv1.Guardrail
	if err := r.Client.Get(ctx, req.NamespacedName, &g); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := g.DeepCopy()
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(namespaceMeta().GroupVersionKind())
	if err := r.Client.List(ctx, &list); err != nil {
		return ctrl.Result{}, fmt.Errorf("list namespaces: %w", err)
	}
	n := int32(0)
	for _, ns := range list.Items {
		if guardrail.Selects(&g, guardrail.Namespace{Name: ns.Name, Labels: ns.Labels}) {
			n++
		}
	}
	report(&g, n)
	if err := status.Patch(ctx, r.Client, before, &g, before.Status, g.Status); err != nil {
		if res, stale := status.Stale(err); stale {
			return res, nil
		}
		return ctrl.Result{}, fmt.Errorf("write Guardrail status: %w", err)
	}
	return ctrl.Result{}, nil
}

// report sets the status: the count, and Ready.
func report(g *pailv1.Guardrail, selected int32) {
	st, gen := &g.Status, g.Generation
	st.ObservedGeneration, st.Namespaces = gen, selected
	if _, err := metav1.LabelSelectorAsSelector(&g.Spec.NamespaceSelector); err != nil {
		status.False(&st.Conditions, gen, pailv1.ConditionReady, pailv1.ReasonInvalidSpec,
			fmt.Sprintf("spec.namespaceSelector cannot be read, so the Guardrail selects no namespace: %v. Fix the selector.", err))
		return
	}
	status.True(&st.Conditions, gen, pailv1.ConditionReady, pailv1.ReasonAvailable,
		fmt.Sprintf("Enforced in the %d namespaces spec.namespaceSelector selects.", selected))
}
