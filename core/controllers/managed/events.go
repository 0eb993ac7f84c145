package managed

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Transition reports whether the condition typ does not yet say reason (and,
// when msg is not empty, msg): a phase emits its event only then, so an event
// marks a transition and the retries that follow stay quiet. Phases see the
// conditions the last reconcile wrote, since Report runs after them.
func Transition(conds []metav1.Condition, typ, reason, msg string) bool {
	c := meta.FindStatusCondition(conds, typ)
	return c == nil || c.Reason != reason || (msg != "" && c.Message != msg)
}
