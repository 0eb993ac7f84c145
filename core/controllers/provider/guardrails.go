package provider

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/guardrail"
)

// refuseDenied reports a Provider the Guardrails of its namespace forbid
// (one stored before a Guardrail or the namespace's labels changed):
// Ready and EndpointReachable False with GuardrailDenied, and no request
// to its endpoint, not even the check. Its referrers see it not Ready.
// The Guardrail and namespace watches bring it back; denied is false when
// the Guardrails allow it.
func (r *Reconciler) refuseDenied(ctx context.Context, p *pailv1.Provider) (denied bool, err error) {
	rules, err := guardrails.Rules(ctx, r.Client, p.Namespace)
	if err != nil {
		return false, err
	}
	vs := rules.CheckProvider(p.Name, &p.Spec)
	if len(vs) == 0 {
		return false, nil
	}
	before := p.DeepCopy()
	st := &p.Status
	msg := guardrail.Message(vs)
	st.ObservedGeneration = p.Generation
	status.False(&st.Conditions, p.Generation, pailv1.ConditionEndpointReachable, pailv1.ReasonGuardrailDenied, msg)
	status.False(&st.Conditions, p.Generation, pailv1.ConditionReady, pailv1.ReasonGuardrailDenied, msg)
	if status.Changed(before.Status.Conditions, st.Conditions, pailv1.ConditionReady) {
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, pailv1.ReasonGuardrailDenied, "Check", "%s", msg)
	}
	// A later allowance checks it afresh, not from a status kept at start.
	r.forget(types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
	if err := status.Patch(ctx, r.Client, before, p, before.Status, p.Status); err != nil {
		return true, fmt.Errorf("write Provider status: %w", err)
	}
	return true, nil
}
