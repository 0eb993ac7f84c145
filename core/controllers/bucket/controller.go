// Package bucket reconciles Buckets: it creates the bucket when absent,
// observes it, and on delete honours deletionPolicy without ever deleting a
// bucket that holds data.
package bucket

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
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

// Reconciler manages Buckets.
type Reconciler struct {
	Client client.Client
	// Reader reads MFA Secrets uncached.
	Reader    client.Reader
	Connector *connect.Connector
	// Engine holds the policy packs that judge an inline spec.policy (the
	// operator's one engine, shared with BucketPolicies); nil is an engine
	// with no packs.
	Engine   *policy.Engine
	Recorder events.EventRecorder
	// Repack receives an event per Bucket with an inline policy when the
	// packs change, so each is judged again.
	Repack chan event.GenericEvent
	// ResyncPeriod re-observes a Ready bucket.
	ResyncPeriod time.Duration
	// NotEmptyRetry is how often a blocked delete looks again.
	NotEmptyRetry           time.Duration
	MaxConcurrentReconciles int
	// RetryBase and RetryMax bound the per-Bucket backoff after errors.
	RetryBase, RetryMax time.Duration
	// Metrics counts drift corrections; nil records nothing.
	Metrics *metrics.Metrics
	// DriftLoop pauses writes to a Bucket that another writer keeps
	// changing; nil never pauses.
	DriftLoop *DriftLoop
	// ClusterID names this cluster in the ownership mark Pail writes on
	// every bucket it creates or adopts (bucketdiff.Owner); an error is
	// retried like any other. Nil writes and reads no mark.
	ClusterID func(context.Context) (string, error)
	// SlowRetry schedules the retries of errors in the backend's state
	// (AccessDenied); nil uses the skeleton's defaults.
	SlowRetry *managed.SlowRetry

	// The skeleton runs the kind (and serves Reconcile).
	*managed.Reconciler[*pailv1.Bucket, state]
	// patchMeta patches the Bucket's metadata, keeping the status being
	// built; decision tests replace it to run without an apiserver.
	patchMeta func(ctx context.Context, b *pailv1.Bucket, mutate func(*pailv1.Bucket)) error
}

// setup fills the defaults and builds the skeleton; SetupWithManager and
// the decision tests call it.
func (r *Reconciler) setup() {
	managed.Default(&r.ResyncPeriod, 10*time.Minute)
	managed.Default(&r.NotEmptyRetry, 30*time.Second)
	managed.Default(&r.RetryBase, 500*time.Millisecond)
	managed.Default(&r.RetryMax, 2*time.Minute)
	if r.Engine == nil {
		r.Engine = policy.NewEngine()
	}
	if r.patchMeta == nil {
		r.patchMeta = func(ctx context.Context, b *pailv1.Bucket, mutate func(*pailv1.Bucket)) error {
			return status.PatchMetadata(ctx, r.Client, b, mutate)
		}
	}
	r.Reconciler = managed.New(r.Client, r.Recorder, r.kind(), r.SlowRetry)
}

// +kubebuilder:rbac:groups=pail.dev,resources=buckets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=buckets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=buckets/finalizers,verbs=update
// +kubebuilder:rbac:groups=pail.dev,resources=providers,verbs=get;list;watch
// +kubebuilder:rbac:groups=pail.dev,resources=clusterproviders,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.setup()
	if err := managed.Index(mgr, &pailv1.Bucket{}, indexLocation, indexByLocation); err != nil {
		return err
	}
	if err := indexInputs(mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&pailv1.Bucket{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, status.Deleting())))
	b = managed.WatchProviders(b, r.Client, &pailv1.BucketList{}).
		WatchesMetadata(connect.SecretMeta(), handler.EnqueueRequestsFromMapFunc(r.bucketsForSecret))
	if r.Repack != nil {
		b = b.WatchesRawSource(source.Channel(r.Repack, &handler.EnqueueRequestForObject{}))
	}
	newList := func() client.ObjectList { return &pailv1.BucketList{} }
	b = guardrails.WatchDeletes(guardrails.Watch(b, r.Client, newList), r.Client, &pailv1.Bucket{}, newList)
	return b.WithOptions(controller.Options{
		MaxConcurrentReconciles: r.MaxConcurrentReconciles,
		// Per-item backoff only: the default adds a global 10 qps bucket
		// that throttles a thousand healthy Buckets for nothing.
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](r.RetryBase, r.RetryMax),
	}).
		Complete(r)
}

// kind describes Buckets to the managed skeleton.
func (r *Reconciler) kind() managed.Kind[*pailv1.Bucket, state] {
	return managed.Kind[*pailv1.Bucket, state]{
		Name:      "Bucket",
		Finalizer: pailv1.BucketFinalizer,
		New:       func() *pailv1.Bucket { return &pailv1.Bucket{} },
		Start:     func(b *pailv1.Bucket) *state { return &state{deleting: !b.DeletionTimestamp.IsZero()} },
		Sync:      r.syncPhases(),
		Delete:    r.deletePhases(),
		Report:    report,
		Released:  func(s *state) bool { return s.released },
		Forget: func(key types.NamespacedName) {
			r.DriftLoop.Forget(key)
			// A Bucket deleted while paused must not report a pause forever.
			r.Metrics.SetDriftLoop(key.Namespace, key.Name, false)
		},
	}
}
