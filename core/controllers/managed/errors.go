package managed

import (
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/sdk/abi"
)

// Class is how an error is retried.
type Class int

const (
	// None is the class of no error.
	None Class = iota
	// Retryable errors go back to the workqueue's per-item backoff.
	Retryable
	// SpecError is terminal until the spec or a watched input changes:
	// retrying the same request cannot succeed.
	SpecError
	// StateError is terminal for now but caused by state Pail cannot watch
	// (a permission at the backend): retried on the slow schedule.
	StateError
)

type classified struct {
	class Class
	err   error
}

func (c *classified) Error() string { return c.err.Error() }
func (c *classified) Unwrap() error { return c.err }

// Spec marks err as fixed only by a change of the spec or of an input.
func Spec(err error) error { return &classified{SpecError, err} }

// State marks err as terminal now, but worth a slow retry.
func State(err error) error { return &classified{StateError, err} }

// Backend classifies a driver error by its ABI code: an argument or an
// operation the backend refuses is the spec's problem, a denied access the
// backend's state; everything else is retried.
func Backend(err error) error {
	switch abi.CodeOf(err) {
	case abi.CodeInvalidArgument, abi.CodeUnimplemented:
		return Spec(err)
	case abi.CodeAccessDenied:
		return State(err)
	}
	return err
}

// ClassOf tells how err is retried. A reconcile.TerminalError not marked
// otherwise counts as a SpecError.
func ClassOf(err error) Class {
	if err == nil {
		return None
	}
	if c, ok := errors.AsType[*classified](err); ok {
		return c.class
	}
	if errors.Is(err, reconcile.TerminalError(nil)) {
		return SpecError
	}
	return Retryable
}

func reconcileTerminal(err error) error { return reconcile.TerminalError(err) }

// SlowRetry is the per-object schedule of StateError retries: Base doubling
// up to Max, reset by a reconcile that ends without one.
type SlowRetry struct {
	Base, Max time.Duration

	mu       sync.Mutex
	attempts map[types.NamespacedName]int32
}

// Next counts an attempt for key and returns the delay before the next.
func (s *SlowRetry) Next(key types.NamespacedName) time.Duration {
	if s == nil {
		return time.Minute
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts == nil {
		s.attempts = map[types.NamespacedName]int32{}
	}
	s.attempts[key]++
	base, most := s.Base, s.Max
	if base == 0 {
		base = 30 * time.Second
	}
	if most == 0 {
		most = 30 * time.Minute
	}
	return status.Backoff(s.attempts[key], base, most)
}

// Forget resets key's schedule.
func (s *SlowRetry) Forget(key types.NamespacedName) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.attempts, key)
}
