package bucket

import (
	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
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
