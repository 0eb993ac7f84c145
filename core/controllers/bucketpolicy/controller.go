// Package bucketpolicy reconciles BucketPolicies: it checks the document
// against the policy packs, resolves conflicts with other policies on the
// same bucket, and writes the policy only when its canonical form differs
// from what the bucket holds.
package bucketpolicy

import (
	"context"
	"time"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/policy"
)

const indexBucket = "pail.dev/bucketpolicy-bucket"

// Reconciler manages BucketPolicies.
type Reconciler struct {
	Client    client.Client
	Connector *connect.Connector
	Engine    *policy.Engine
	Recorder  events.EventRecorder
	Metrics   *metrics.Metrics
	// ResyncPeriod re-observes the bucket's policy.
	ResyncPeriod time.Duration
	// Repack receives an event per BucketPolicy when the packs change.
	Repack chan event.GenericEvent
	// SlowRetry schedules the retries of errors in the backend's state
	// (AccessDenied); nil uses the skeleton's defaults.
	SlowRetry *managed.SlowRetry

	refusals refusals
	// The skeleton runs the kind (and serves Reconcile).
	*managed.Reconciler[*pailv1.BucketPolicy, state]
}

// setup fills the defaults and builds the skeleton; SetupWithManager and
// the decision tests call it.
func (r *Reconciler) setup() {
	managed.Default(&r.ResyncPeriod, 10*time.Minute)
	r.Reconciler = managed.New(r.Client, r.Recorder, r.kind(), r.SlowRetry)
}

// +kubebuilder:rbac:groups=pail.dev,resources=bucketpolicies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=bucketpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=bucketpolicies/finalizers,verbs=update
// +kubebuilder:rbac:groups=pail.dev,resources=buckets,verbs=get;list;watch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.setup()
	if err := managed.Index(mgr, &pailv1.BucketPolicy{}, indexBucket, bucketOf); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&pailv1.BucketPolicy{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, status.Deleting()))).
		// Any change to a policy of the same bucket can change who wins.
		Watches(&pailv1.BucketPolicy{}, handler.EnqueueRequestsFromMapFunc(r.siblings)).
		Watches(&pailv1.Bucket{}, handler.EnqueueRequestsFromMapFunc(r.forBucket))
	b = guardrails.Watch(b, r.Client, func() client.ObjectList { return &pailv1.BucketPolicyList{} })
	if r.Repack != nil {
		b = b.WatchesRawSource(source.Channel(r.Repack, &handler.EnqueueRequestForObject{}))
	}
	return b.Complete(r)
}

// bucketOf indexes a BucketPolicy by the Bucket it names.
func bucketOf(bp *pailv1.BucketPolicy) []string {
	return []string{bp.Spec.BucketRef.Name}
}

func (r *Reconciler) policiesFor(ctx context.Context, ns, bucket string) []reconcile.Request {
	return managed.Requests(ctx, r.Client, &pailv1.BucketPolicyList{}, ns, indexBucket, bucket)
}

func (r *Reconciler) siblings(ctx context.Context, o client.Object) []reconcile.Request {
	bp, ok := o.(*pailv1.BucketPolicy)
	if !ok {
		return nil
	}
	return r.policiesFor(ctx, bp.Namespace, bp.Spec.BucketRef.Name)
}

func (r *Reconciler) forBucket(ctx context.Context, o client.Object) []reconcile.Request {
	return r.policiesFor(ctx, o.GetNamespace(), o.GetName())
}

// kind describes BucketPolicies to the managed skeleton.
func (r *Reconciler) kind() managed.Kind[*pailv1.BucketPolicy, state] {
	return managed.Kind[*pailv1.BucketPolicy, state]{
		Name:      "BucketPolicy",
		Finalizer: pailv1.BucketPolicyFinalizer,
		New:       func() *pailv1.BucketPolicy { return &pailv1.BucketPolicy{} },
		Start:     func(*pailv1.BucketPolicy) *state { return &state{} },
		Sync:      r.syncPhases(),
		Delete:    r.deletePhases(),
		Report:    report,
		Released:  func(s *state) bool { return s.released },
		// What the backend refused is remembered per object (refusals).
		Forget: r.refusals.forget,
	}
}
