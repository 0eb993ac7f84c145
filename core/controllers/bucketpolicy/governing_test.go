package bucketpolicy

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// policyState builds a BucketPolicy at generation 2, created at minute
// created, with the given finalizer, applied hash and conditions.
type policyState struct {
	name      string
	created   int
	finalizer bool
	applied   bool
	deleting  bool
	conds     []metav1.Condition
}

func (s policyState) object() pailv1.BucketPolicy {
	bp := pailv1.BucketPolicy{ObjectMeta: metav1.ObjectMeta{
		Name:              s.name,
		Generation:        2,
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, s.created, 0, 0, time.UTC)),
	}}
	if s.finalizer {
		bp.Finalizers = []string{pailv1.BucketPolicyFinalizer}
	}
	if s.applied {
		bp.Status.AppliedHash = "abc"
	}
	if s.deleting {
		now := metav1.Now()
		bp.DeletionTimestamp = &now
	}
	bp.Status.Conditions = s.conds
	return bp
}

func cond(typ string, st metav1.ConditionStatus, reason string, gen int64) metav1.Condition {
	return metav1.Condition{Type: typ, Status: st, Reason: reason, ObservedGeneration: gen}
}

var (
	denied      = cond(pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied, 2)
	deniedOld   = cond(pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied, 1)
	notJSON     = cond(pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyNotJSON, 2)
	packsDown   = cond(pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPacksUnavailable, 2)
	allowed     = cond(pailv1.ConditionPolicyValid, metav1.ConditionTrue, pailv1.ReasonPolicyAllowed, 2)
	backendNo   = cond(pailv1.ConditionSynced, metav1.ConditionFalse, pailv1.ReasonBackendRefusedPolicy, 2)
	backendDown = cond(pailv1.ConditionSynced, metav1.ConditionFalse, pailv1.ReasonBackendError, 2)
)

func TestGoverning(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states []policyState
		want   string
	}{
		{"none", nil, ""},
		{"alone", []policyState{{name: "a"}}, "a"},
		{"oldest wins", []policyState{{name: "b", created: 2}, {name: "a", created: 1}}, "a"},
		{"same time: by name", []policyState{{name: "b", created: 1}, {name: "a", created: 1}}, "a"},
		{"finalizer first", []policyState{{name: "a", created: 1}, {name: "b", created: 2, finalizer: true}}, "b"},
		{"holder before a finalizer only", []policyState{{name: "a", created: 1, finalizer: true}, {name: "b", created: 2, finalizer: true, applied: true}}, "b"},
		{"deleted and let go", []policyState{{name: "a", created: 1, deleting: true}, {name: "b", created: 2}}, "b"},
		{"deleting, still holding", []policyState{{name: "a", created: 1, deleting: true, finalizer: true, applied: true}, {name: "b", created: 2}}, "a"},
		// The defect: a refused policy governed and blocked a valid one.
		{"denied governs nothing", []policyState{{name: "a", created: 1, conds: []metav1.Condition{denied}}, {name: "b", created: 2, conds: []metav1.Condition{allowed}}}, "b"},
		{"not JSON governs nothing", []policyState{{name: "a", created: 1, conds: []metav1.Condition{notJSON}}, {name: "b", created: 2}}, "b"},
		{"backend refusal governs nothing", []policyState{{name: "a", created: 1, finalizer: true, conds: []metav1.Condition{allowed, backendNo}}, {name: "b", created: 2}}, "b"},
		{"only refused ones", []policyState{{name: "a", conds: []metav1.Condition{denied}}, {name: "b", conds: []metav1.Condition{backendNo}}}, ""},
		// Not refusals: stale, transient or unknown.
		{"denied at an older generation", []policyState{{name: "a", created: 1, conds: []metav1.Condition{deniedOld}}, {name: "b", created: 2}}, "a"},
		{"packs unavailable", []policyState{{name: "a", created: 1, conds: []metav1.Condition{packsDown}}, {name: "b", created: 2}}, "a"},
		{"backend unavailable", []policyState{{name: "a", created: 1, finalizer: true, conds: []metav1.Condition{backendDown}}, {name: "b", created: 2}}, "a"},
		// An earlier version is still on the bucket: it keeps governing.
		{"denied but holding", []policyState{{name: "a", created: 1, finalizer: true, applied: true, conds: []metav1.Condition{denied}}, {name: "b", created: 2}}, "a"},
		{"refused, fixed, finds a holder", []policyState{{name: "a", created: 1, finalizer: true, conds: []metav1.Condition{allowed}}, {name: "b", created: 2, finalizer: true, applied: true}}, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var items []pailv1.BucketPolicy
			for _, s := range tc.states {
				items = append(items, s.object())
			}
			if got := governing(items); got != tc.want {
				t.Errorf("governing = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSendAgain(t *testing.T) {
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Name: "minio", Generation: 1}}
	moved := p.DeepCopy()
	moved.Generation = 2
	here := refusalTarget(p, "b")
	for _, tc := range []struct {
		name   string
		prev   int64
		gen    int64
		target string
		want   bool
	}{
		{"same generation, same backend: refused again", 3, 3, here, false},
		{"spec changed", 3, 4, here, true},
		{"provider changed (endpoint, driver)", 3, 3, refusalTarget(moved, "b"), true},
		{"another bucket", 3, 3, refusalTarget(p, "c"), true},
	} {
		if got := sendAgain(refusal{generation: tc.prev, target: here}, tc.gen, tc.target); got != tc.want {
			t.Errorf("%s: sendAgain = %v, want %v", tc.name, got, tc.want)
		}
	}
	var f refusals
	key := types.NamespacedName{Namespace: "ns", Name: "p"}
	if _, ok := f.get(key); ok {
		t.Fatal("an empty record knows a refusal")
	}
	f.set(key, refusal{generation: 2, message: "m"})
	if r, ok := f.get(key); !ok || r.generation != 2 || r.message != "m" {
		t.Fatalf("get = %+v, %v", r, ok)
	}
	f.forget(key)
	if _, ok := f.get(key); ok {
		t.Fatal("forget kept the refusal")
	}
}
