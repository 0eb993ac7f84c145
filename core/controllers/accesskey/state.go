package accesskey

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/guardrail"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// state is what one reconcile of an AccessKey learns, phase by phase.
// Phases fill it; report turns it into conditions, once.
type state struct {
	deleting bool
	user     string
	now      time.Time

	// inputs
	p        pailv1.ProviderObject
	conn     *connect.Connection
	notReady *connect.NotReady
	// rules are the Guardrails of the namespace (required packs).
	rules   guardrail.Rules
	loc     pailv1.Location
	ud      driver.UserDriver
	info    abi.DriverInfo
	buckets []string
	doc     string
	// parsed is doc, parsed once for the packs, the diff and the hash; nil: no policy.
	parsed  *policydoc.Document
	content secretContent

	// What the phases found for the conditions besides Ready and Synced;
	// nil leaves a condition as it is. ownerChecked: no other AccessKey
	// holds the user, so Conflict goes.
	ownerChecked                  bool
	policy, unsupported, rotating *cond

	// the user and its keys
	obs    abi.UserObservation
	secret secretState
	rec    keyRecord
	// at holds the user's keys at the provider, as the phases change them.
	at   map[string]abi.AccessKeyInfo
	plan keyPlan
	// waiting: a rotation is due but waits for the previous key to retire.
	waiting bool
	// wait is how soon the next key step (a retirement, a rotation) is due.
	wait time.Duration

	// outcome: a verdict (a refusal or a failed backend call), or synced.
	verdict *managed.Verdict
	synced  bool
	// released: the delete rule is done and the finalizer may go.
	released bool
}

// cond is one condition's value, as a phase found it.
type cond struct {
	status      metav1.ConditionStatus
	reason, msg string
}

func yes(reason, msg string) *cond { return &cond{metav1.ConditionTrue, reason, msg} }
func no(reason, msg string) *cond  { return &cond{metav1.ConditionFalse, reason, msg} }
