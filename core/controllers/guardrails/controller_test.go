package guardrails

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func TestReport(t *testing.T) {
	bad := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}}
	for _, tc := range []struct {
		name     string
		sel      metav1.LabelSelector
		selected int32
		ready    metav1.ConditionStatus
		reason   string
		says     string
	}{
		{name: "selects", selected: 3, ready: metav1.ConditionTrue, reason: pailv1.ReasonAvailable, says: "3 namespaces"},
		{name: "selects none", selected: 0, ready: metav1.ConditionTrue, reason: pailv1.ReasonAvailable, says: "0 namespaces"},
		{name: "bad selector", sel: bad, ready: metav1.ConditionFalse, reason: pailv1.ReasonInvalidSpec, says: "spec.namespaceSelector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &pailv1.Guardrail{ObjectMeta: metav1.ObjectMeta{Name: "g", Generation: 4}, Spec: pailv1.GuardrailSpec{NamespaceSelector: tc.sel}}
			report(g, tc.selected)
			if g.Status.ObservedGeneration != 4 || g.Status.Namespaces != tc.selected {
				t.Errorf("status = %+v", g.Status)
			}
			c := g.Status.Conditions
			if len(c) != 1 || c[0].Type != pailv1.ConditionReady || c[0].Status != tc.ready || c[0].Reason != tc.reason || !strings.Contains(c[0].Message, tc.says) {
				t.Errorf("conditions = %+v", c)
			}
		})
	}
}

func TestBefore(t *testing.T) {
	t0 := metav1.Unix(100, 0)
	t1 := metav1.Unix(200, 0)
	obj := func(name string, ts metav1.Time) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{Name: name, CreationTimestamp: ts}
	}
	for _, tc := range []struct {
		a, b *metav1.ObjectMeta
		want bool
	}{
		{obj("z", t0), obj("a", t1), true},
		{obj("a", t1), obj("z", t0), false},
		{obj("a", t0), obj("b", t0), true},
		{obj("b", t0), obj("a", t0), false},
	} {
		if got := before(tc.a, tc.b); got != tc.want {
			t.Errorf("before(%s@%v, %s@%v) = %v", tc.a.Name, tc.a.CreationTimestamp, tc.b.Name, tc.b.CreationTimestamp, got)
		}
	}
}
