package managed

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
)

// Verdict is why a phase stopped: Ready's reason and message, and which
// other conditions say the same. A kind's Report sets it with Set, so every
// kind reports a refusal alike.
type Verdict struct {
	Reason, Message string
	// Synced: Synced is False with the reason, and SyncedMessage if set
	// (else Message).
	Synced        bool
	SyncedMessage string
	// Conflict: Conflict is True. Unsupported: Unsupported is True.
	Conflict, Unsupported bool
}

// NotReady speaks to Ready alone.
func NotReady(reason, msg string) *Verdict { return &Verdict{Reason: reason, Message: msg} }

// NotSynced is a verdict that Synced and Ready both say.
func NotSynced(reason, msg string) *Verdict {
	return &Verdict{Reason: reason, Message: msg, Synced: true}
}

// Conflict is a verdict that Conflict (True) and Ready say.
func Conflict(reason, msg string) *Verdict {
	return &Verdict{Reason: reason, Message: msg, Conflict: true}
}

// Refusal is a verdict that Conflict, Synced and Ready all say: another
// owner, or a location that moved, and nothing is written.
func Refusal(reason, msg string) *Verdict {
	return &Verdict{Reason: reason, Message: msg, Synced: true, Conflict: true}
}

// Set writes the verdict into conds, Ready last.
func (v *Verdict) Set(conds *[]metav1.Condition, gen int64) {
	if v.Conflict {
		status.True(conds, gen, pailv1.ConditionConflict, v.Reason, v.Message)
	}
	if v.Synced || v.SyncedMessage != "" {
		msg := v.Message
		if v.SyncedMessage != "" {
			msg = v.SyncedMessage
		}
		status.False(conds, gen, pailv1.ConditionSynced, v.Reason, msg)
	}
	if v.Unsupported {
		status.True(conds, gen, pailv1.ConditionUnsupported, v.Reason, v.Message)
	}
	status.False(conds, gen, pailv1.ConditionReady, v.Reason, v.Message)
}
