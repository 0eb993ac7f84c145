package bucketpolicy

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/guardrail"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// state is what one reconcile of a BucketPolicy learns, phase by phase.
// Phases fill it; report turns it into conditions, once.
type state struct {
	// inputs: the Bucket (once read and readable) and its Provider, whose
	// lookup error waits until the Bucket is known to be in sync.
	b    *pailv1.Bucket
	p    pailv1.ProviderObject
	pErr error
	conn *connect.Connection
	// rules are the Guardrails of the namespace: required packs, forced
	// Enforce.
	rules guardrail.Rules
	// target names the backend the document goes to (refusalTarget).
	target string

	// validity is the packs' verdict on the document: PolicyValid.
	validity *validity
	// governs: no other policy governs the bucket (Conflict is False).
	governs bool

	// observe and plan: the document the bucket holds, and the decision.
	have string
	// doc is spec.policy, parsed once (by validate) for the packs, the diff and the hash.
	doc  *policydoc.Document
	plan plan

	// outcome: a verdict, or synced.
	verdict *managed.Verdict
	synced  bool
	// released: the delete rule is done and the finalizer may go.
	released bool
}

// validity is the PolicyValid condition the packs' evaluation gives.
type validity struct {
	status      metav1.ConditionStatus
	reason, msg string
}

// current is bp as the governing rule must see it in this reconcile: with the packs' verdict of this reconcile
// in its PolicyValid condition, so a document the packs allow now governs
// even if they refused it before.
func (s *state) current(bp *pailv1.BucketPolicy) *pailv1.BucketPolicy {
	cur := bp.DeepCopy()
	reportValidity(cur, s)
	return cur
}
