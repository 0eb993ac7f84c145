// Package bucket reconciles Buckets: it creates the bucket when absent,
// observes it, and on delete honours deletionPolicy without ever deleting a
// bucket that holds data.
package bucket

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/sdk/abi"
)

const indexProvider = "pail.dev/bucket-provider"

// Reconciler manages Buckets.
type Reconciler struct {
	Client client.Client
	// Reader reads MFA Secrets uncached.
	Reader    client.Reader
	Connector *connect.Connector
	Recorder  events.EventRecorder
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
}

// +kubebuilder:rbac:groups=pail.dev,resources=buckets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=buckets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=buckets/finalizers,verbs=update
// +kubebuilder:rbac:groups=pail.dev,resources=providers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.ResyncPeriod == 0 {
		r.ResyncPeriod = 10 * time.Minute
	}
	if r.NotEmptyRetry == 0 {
		r.NotEmptyRetry = 30 * time.Second
	}
	if r.RetryBase == 0 {
		r.RetryBase = 500 * time.Millisecond
	}
	if r.RetryMax == 0 {
		r.RetryMax = 2 * time.Minute
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pailv1.Bucket{}, indexProvider, func(o client.Object) []string {
		return []string{o.(*pailv1.Bucket).Spec.ProviderRef.Name}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pailv1.Bucket{}, indexLocation, func(o client.Object) []string {
		return indexByLocation(o.(*pailv1.Bucket))
	}); err != nil {
		return err
	}
	if err := indexInputs(mgr); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&pailv1.Bucket{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, status.Deleting()))).
		Watches(&pailv1.Provider{}, handler.EnqueueRequestsFromMapFunc(r.bucketsForProvider), builder.WithPredicates(connect.ReadinessChanged())).
		WatchesMetadata(connect.SecretMeta(), handler.EnqueueRequestsFromMapFunc(r.bucketsForSecret)).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: r.MaxConcurrentReconciles,
			// Per-item backoff only: the default adds a global 10 qps bucket
			// that throttles a thousand healthy Buckets for nothing.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](r.RetryBase, r.RetryMax),
		}).
		Complete(r)
}

func (r *Reconciler) bucketsForProvider(ctx context.Context, o client.Object) []reconcile.Request {
	var list pailv1.BucketList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexProvider: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, b := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: b.Name}})
	}
	return out
}

// Reconcile drives one Bucket.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var b pailv1.Bucket
	if err := r.Client.Get(ctx, req.NamespacedName, &b); err != nil {
		if apierrors.IsNotFound(err) {
			r.DriftLoop.Forget(req.NamespacedName)
			// A Bucket deleted while paused must not report a pause forever.
			r.Metrics.SetDriftLoop(req.Namespace, req.Name, false)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if msg := b.DecodeError(); msg != "" {
		// Its spec is empty in memory: neither sync nor finalize may act.
		return ctrl.Result{}, status.Unreadable(ctx, r.Client, r.Recorder, &b, &b.Status.Conditions, &b.Status.ObservedGeneration, "Bucket", msg)
	}
	if !b.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &b)
	}
	// The finalizer is added only once Pail owns a bucket (with the create
	// intent, or on adoption): a Bucket that never owned one has nothing to
	// clean up, and creating a bucket costs one metadata write, not two.
	before := b.DeepCopy()
	res, err := r.sync(ctx, &b)
	if after, wait := connect.Waiting(err); wait {
		// The Provider's driver is loading (after a restart): the Bucket
		// keeps the state it had rather than flipping to not Ready and back.
		return ctrl.Result{RequeueAfter: after}, nil
	}
	if perr := status.Patch(ctx, r.Client, before, &b, before.Status, b.Status); perr != nil {
		if res, stale := status.Stale(perr); stale {
			return res, nil
		}
		return ctrl.Result{}, errors.Join(err, fmt.Errorf("write Bucket status: %w", perr))
	}
	return res, err
}

// provider returns the Bucket's Provider once it is Ready, or sets the
// ProviderReady condition saying why not.
func (r *Reconciler) provider(ctx context.Context, b *pailv1.Bucket) (*pailv1.Provider, *connect.Connection, error) {
	gen := b.Generation
	conds := &b.Status.Conditions
	p, conn, nr, err := r.Connector.Ready(ctx, r.Client, b.Namespace, b.Spec.ProviderRef.Name, "Bucket")
	if nr != nil {
		status.False(conds, gen, pailv1.ConditionProviderReady, nr.Reason, nr.Message)
		status.False(conds, gen, pailv1.ConditionReady, nr.Reason, nr.Message)
	}
	if err != nil || nr != nil {
		return nil, nil, err
	}
	status.True(conds, gen, pailv1.ConditionProviderReady, pailv1.ReasonProviderReady, fmt.Sprintf("Provider %s is Ready.", p.Name))
	return p, conn, nil
}

// backendError records a failed driver call and returns the error for the
// workqueue's per-item backoff, or a terminal error for one a retry cannot fix.
func (r *Reconciler) backendError(b *pailv1.Bucket, what string, err error) error {
	gen := b.Generation
	msg := status.Sentence(fmt.Sprintf("Could not %s bucket %s: %v", what, b.Spec.BucketName, err))
	if prev := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionReady); abi.CodeOf(err) != abi.CodeUnimplemented &&
		(prev == nil || prev.Reason != pailv1.ReasonBackendError) {
		// Once per transition: the retries that follow only back off.
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonBackendError, backendAction(what), "%s", msg)
	}
	status.False(&b.Status.Conditions, gen, pailv1.ConditionSynced, pailv1.ReasonBackendError, msg)
	status.False(&b.Status.Conditions, gen, pailv1.ConditionReady, pailv1.ReasonBackendError, msg)
	switch abi.CodeOf(err) {
	case abi.CodeUnimplemented:
		// The driver refused part of the spec it cannot honour faithfully;
		// retrying cannot help until the spec changes.
		umsg := fmt.Sprintf("Not applied, because the provider cannot do it: %s. Remove it from the spec.", abi.MessageOf(err))
		status.True(&b.Status.Conditions, gen, pailv1.ConditionUnsupported, pailv1.ReasonUnsupported, umsg)
		status.False(&b.Status.Conditions, gen, pailv1.ConditionReady, pailv1.ReasonUnsupported, umsg)
		return reconcile.TerminalError(err)
	case abi.CodeInvalidArgument, abi.CodeAccessDenied:
		return reconcile.TerminalError(err)
	}
	return fmt.Errorf("%s bucket %s: %w", what, b.Spec.BucketName, err)
}

// backendAction names the event action for a failed driver call.
func backendAction(what string) string {
	switch what {
	case "create":
		return "Create"
	case "delete":
		return "Delete"
	case "observe":
		return "Observe"
	}
	return "Update"
}

func (r *Reconciler) finalize(ctx context.Context, b *pailv1.Bucket) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(b, pailv1.BucketFinalizer) {
		return ctrl.Result{}, nil
	}
	before := b.DeepCopy()
	res, done, err := r.deleteExternal(ctx, b)
	if after, wait := connect.Waiting(err); wait {
		return ctrl.Result{RequeueAfter: after}, nil
	}
	if done {
		controllerutil.RemoveFinalizer(b, pailv1.BucketFinalizer)
		if perr := r.Client.Patch(ctx, b, client.MergeFrom(before)); perr != nil && !apierrors.IsNotFound(perr) {
			return ctrl.Result{}, fmt.Errorf("remove finalizer: %w", perr)
		}
		return ctrl.Result{}, nil
	}
	if perr := status.Patch(ctx, r.Client, before, b, before.Status, b.Status); perr != nil && !apierrors.IsNotFound(perr) {
		if res, stale := status.Stale(perr); stale {
			return res, nil
		}
		return ctrl.Result{}, errors.Join(err, fmt.Errorf("write Bucket status: %w", perr))
	}
	return res, err
}

// deleteExternal honours deletionPolicy; done means the finalizer may go.
func (r *Reconciler) deleteExternal(ctx context.Context, b *pailv1.Bucket) (ctrl.Result, bool, error) {
	gen := b.Generation
	conds := &b.Status.Conditions
	if b.Spec.DeletionPolicy != pailv1.DeletionDelete {
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "Retained", "Delete", "Left bucket %s and its data in place (deletionPolicy Retain)", b.Spec.BucketName)
		return ctrl.Result{}, true, nil
	}
	if !owned(b) {
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "Retained", "Delete", "Left bucket %s in place: Pail neither created nor adopted it", b.Spec.BucketName)
		return ctrl.Result{}, true, nil
	}
	p, conn, err := r.provider(ctx, b)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	if p == nil {
		if done, err := r.releaseIfNamespaceDeleted(ctx, b, providerBlocker(*conds)); done || err != nil {
			return ctrl.Result{}, done, err
		}
		msg := status.Sentence("Cannot delete the bucket while its Provider is not Ready; "+
			meta.FindStatusCondition(*conds, pailv1.ConditionProviderReady).Message) +
			" Restore the Provider, or set spec.deletionPolicy to Retain to release the bucket."
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonDeleting, msg)
		return ctrl.Result{RequeueAfter: r.NotEmptyRetry}, false, nil
	}
	if res, done, stop, err := r.guardDelete(ctx, b, p); stop {
		return res, done, err
	}
	cctx := conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
	force := b.Spec.ForceDelete
	if force && !conn.Driver.Describe().Supports(abi.CapForceDelete) {
		if done, err := r.releaseIfNamespaceDeleted(ctx, b, blockedCannotEmpty); done || err != nil {
			return ctrl.Result{}, done, err
		}
		msg := fmt.Sprintf("spec.forceDelete is set but driver %s cannot empty a bucket; empty bucket %s yourself, or set spec.deletionPolicy to Retain.", p.Spec.Driver, b.Spec.BucketName)
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonUnsupported, msg)
		return ctrl.Result{RequeueAfter: r.NotEmptyRetry}, false, nil
	}
	if force {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonEmptying, "Delete", "Emptying bucket %s (spec.forceDelete): deleting every object version and delete marker", b.Spec.BucketName)
	}
	err = conn.Driver.DeleteBucket(cctx, conn.Config, abi.BucketArgs{Name: b.Spec.BucketName, Region: p.Spec.Region, Force: force})
	switch code := abi.CodeOf(err); {
	case err == nil:
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted bucket %s (deletionPolicy Delete)", b.Spec.BucketName)
		return ctrl.Result{}, true, nil
	case code == abi.CodeNotFound:
		return ctrl.Result{}, true, nil
	case code == abi.CodeConflict:
		if done, err := r.releaseIfNamespaceDeleted(ctx, b, blockedNotEmpty); done || err != nil {
			return ctrl.Result{}, done, err
		}
		msg := fmt.Sprintf("Bucket %s still holds objects, so Pail will not delete it: deletionPolicy Delete never deletes data by itself. Empty the bucket and Pail deletes it on its next try, set spec.forceDelete: true to have Pail empty it, or set spec.deletionPolicy to Retain to release it.", b.Spec.BucketName)
		if prev := meta.FindStatusCondition(*conds, pailv1.ConditionReady); prev == nil || prev.Reason != pailv1.ReasonBucketNotEmpty {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonBucketNotEmpty, "Delete", "%s", msg)
		}
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonBucketNotEmpty, msg)
		return ctrl.Result{RequeueAfter: r.NotEmptyRetry}, false, nil
	default:
		return ctrl.Result{}, false, r.backendError(b, "delete", err)
	}
}
