package bucket

import (
	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/bucketpolicy"

	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
)

// state is what one reconcile of a Bucket learns, phase by phase. Phases
// fill it; report turns it into conditions, once.
type state struct {
	deleting bool

	// inputs
	p        pailv1.ProviderObject
	conn     *connect.Connection
	notReady *connect.NotReady
	region   string
	cur, rec pailv1.Location
	// desired is the whole spec as a config; apply what may be written.
	desired, apply abi.BucketConfig
	managed        []string
	unsupported    map[string]string
	observeOnly    bool
	// policy is the packs' finding on the inline spec.policy (nil: none, or
	// not checked); policyChecked: the check ran, so PolicyValid may go
	// when there is no inline policy.
	policy        *bucketpolicy.Finding
	policyChecked bool

	// owner is this Bucket as the ownership mark names it; markable says
	// the backend holds marks (the driver declares tagging and the observe
	// did not refuse it), so they are read and checked; else ownership
	// rests on status alone.
	owner    bucketdiff.Owner
	markable bool
	// claim is how the observed mark relates to this Bucket, and holder
	// the owner it names (readMark).
	claim  bucketdiff.Claim
	holder bucketdiff.Owner
	// other is the Bucket the location index says manages the bucket
	// instead, left for the mark to confirm (readMark).
	other *pailv1.Bucket

	// observe and plan
	obs  abi.BucketObservation
	plan plan

	// outcome: at most one of verdict and backend, or synced.
	verdict *managed.Verdict
	backend *backendFailure
	synced  bool
	// released: the delete rule is done and the finalizer may go.
	released bool
}

// backendFailure is a failed driver call: msg for Synced and Ready, and
// for an Unimplemented refusal the Unsupported message.
type backendFailure struct {
	msg, unsupported string
}
