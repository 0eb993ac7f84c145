// Package managed is the one reconcile skeleton every managed kind (Bucket,
// BucketPolicy, AccessKey, and those added later) runs on. It owns the
// protocol: read the object, refuse an unreadable one, run the kind's named
// phases for sync or for delete, compute the conditions once from the kind's
// rule chain, write the status only when it changed, drop the finalizer when
// the delete rule is done, and classify errors as retryable, terminal in the
// spec, or terminal in the backend's state (retried on a slow schedule).
//
// A kind supplies small functions: phases that gather inputs, observe, plan
// (a pure decision), apply and delete, and one Report that turns what the
// phases found into conditions. Phases never set conditions themselves, so
// two reconciles of the same state give the same conditions.
package managed

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/status"
)

// Object is a managed resource's API object.
type Object interface {
	client.Object
	// DecodeError is non-empty when the stored spec could not be decoded.
	DecodeError() string
	// ManagedStatus returns the conditions and observedGeneration the
	// skeleton writes; StatusValue a copy of the whole status, compared to
	// tell whether it changed.
	ManagedStatus() (*[]metav1.Condition, *int64)
	StatusValue() any
}

// Step is what a phase tells the skeleton: go on to the next phase, or stop
// here with a result (a requeue, or none).
type Step struct {
	stop   bool
	Result ctrl.Result
}

// Next goes on to the next phase.
var Next = Step{}

// Stop ends the phases; after is the requeue delay (0: none).
func Stop(after time.Duration) Step {
	return Step{stop: true, Result: ctrl.Result{RequeueAfter: after}}
}

// Stopped reports whether the step ends the phases.
func (s Step) Stopped() bool { return s.stop }

// Phase is one named step of a kind's sync or delete. S is the kind's
// per-reconcile state, where phases leave what they found for the next
// phase and for Report.
type Phase[T Object, S any] struct {
	Name string
	Run  func(ctx context.Context, obj T, s *S) (Step, error)
}

// Kind describes one managed kind to the skeleton.
type Kind[T Object, S any] struct {
	// Name is the kind's name, for messages ("Bucket").
	Name string
	// Finalizer is the kind's finalizer. The skeleton removes it when the
	// delete phases end with Released true; the kind adds it (when it owns
	// something to clean up).
	Finalizer string
	// New returns an empty object to read into.
	New func() T
	// Start returns the fresh state of one reconcile.
	Start func(T) *S
	// Sync and Delete are the phases run, in order, until one stops.
	Sync, Delete []Phase[T, S]
	// Report sets the conditions from what the phases found, from one
	// ordered rule chain; err is the error a phase returned, if any.
	Report func(obj T, s *S, err error)
	// Released reports, after the delete phases, that the finalizer may go.
	Released func(s *S) bool
	// Forget drops in-memory state kept for an object that is gone; may be nil.
	Forget func(types.NamespacedName)
}

// Reconciler runs a Kind.
type Reconciler[T Object, S any] struct {
	Client   client.Client
	Recorder events.EventRecorder
	Kind     Kind[T, S]
	// Retry schedules the slow retries of backend-state errors.
	Retry *SlowRetry
}

// Reconcile is the protocol every managed kind shares.
func (r *Reconciler[T, S]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.Kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	conds, observed := obj.ManagedStatus()
	if msg := obj.DecodeError(); msg != "" {
		// Its spec is empty in memory: no phase may act on it.
		return ctrl.Result{}, status.Unreadable(ctx, r.Client, r.Recorder, obj, conds, observed, r.Kind.Name, msg)
	}
	deleting := !obj.GetDeletionTimestamp().IsZero()
	if deleting && !controllerutil.ContainsFinalizer(obj, r.Kind.Finalizer) {
		return ctrl.Result{}, nil
	}
	before, ok := obj.DeepCopyObject().(T)
	if !ok {
		return ctrl.Result{}, fmt.Errorf("copy %T", obj)
	}
	phases := r.Kind.Sync
	if deleting {
		phases = r.Kind.Delete
	} else {
		*observed = obj.GetGeneration()
	}
	s := r.Kind.Start(obj)
	step, err := Run(ctx, obj, s, phases)
	if after, wait := connect.Waiting(err); wait {
		// The Provider's driver is loading (after a restart): the object
		// keeps the state it had rather than flipping to not Ready and back.
		return ctrl.Result{RequeueAfter: after}, nil
	}
	r.Kind.Report(obj, s, err)
	if deleting && err == nil && r.Kind.Released(s) {
		return ctrl.Result{}, r.release(ctx, obj)
	}
	if perr := status.Patch(ctx, r.Client, before, obj, before.StatusValue(), obj.StatusValue()); perr != nil && (!deleting || !apierrors.IsNotFound(perr)) {
		if res, stale := status.Stale(perr); stale {
			return res, nil
		}
		return ctrl.Result{}, fmt.Errorf("write %s status: %w (after: %w)", r.Kind.Name, perr, err)
	}
	return r.result(ctx, req.NamespacedName, step, err)
}

func (r *Reconciler[T, S]) forget(key types.NamespacedName) {
	r.Retry.Forget(key)
	if r.Kind.Forget != nil {
		r.Kind.Forget(key)
	}
}

// Run runs phases in order until one stops or fails. Decision tests call
// it to run a kind's phases without an apiserver.
func Run[T Object, S any](ctx context.Context, obj T, s *S, phases []Phase[T, S]) (Step, error) {
	for _, p := range phases {
		step, err := p.Run(ctx, obj, s)
		if err != nil {
			return step, fmt.Errorf("%s: %w", p.Name, err)
		}
		if step.stop {
			return step, nil
		}
	}
	return Next, nil
}

// release removes the finalizer: the delete rule is done.
func (r *Reconciler[T, S]) release(ctx context.Context, obj T) error {
	err := status.PatchMetadata(ctx, r.Client, obj, func(o T) { controllerutil.RemoveFinalizer(o, r.Kind.Finalizer) })
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	return nil
}

// result turns the last step and error into what the workqueue acts on.
func (r *Reconciler[T, S]) result(ctx context.Context, key types.NamespacedName, step Step, err error) (ctrl.Result, error) {
	switch ClassOf(err) {
	case Retryable:
		return ctrl.Result{}, err // the per-item backoff
	case SpecError:
		// Only a change of the spec or of an input (watched) can fix it.
		r.Retry.Forget(key)
		return ctrl.Result{}, reconcileTerminal(err)
	case StateError:
		// The backend's state may change without any event Pail can see
		// (a permission granted): look again, slowly.
		after := r.Retry.Next(key)
		log.FromContext(ctx).Info("terminal error, retrying on the slow schedule", "after", after, "error", err.Error())
		return ctrl.Result{RequeueAfter: after}, nil
	}
	r.Retry.Forget(key)
	return step.Result, nil
}

// New builds the skeleton that runs kind; a nil retry gets the default
// slow schedule.
func New[T Object, S any](c client.Client, rec events.EventRecorder, kind Kind[T, S], retry *SlowRetry) *Reconciler[T, S] {
	if retry == nil {
		retry = &SlowRetry{}
	}
	return &Reconciler[T, S]{Client: c, Recorder: rec, Kind: kind, Retry: retry}
}

// Default sets *p to v when it holds the zero value: how every controller
// fills the options left unset.
func Default[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
