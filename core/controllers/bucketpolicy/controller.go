// Package bucketpolicy reconciles BucketPolicies: it checks the document
// against the policy packs, resolves conflicts with other policies on the
// same bucket, and writes the policy only when its canonical form differs
// from what the bucket holds.
package bucketpolicy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/policydoc"
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

	refusals refusals
}

// +kubebuilder:rbac:groups=pail.dev,resources=bucketpolicies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=bucketpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=bucketpolicies/finalizers,verbs=update
// +kubebuilder:rbac:groups=pail.dev,resources=buckets,verbs=get;list;watch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.ResyncPeriod == 0 {
		r.ResyncPeriod = 10 * time.Minute
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pailv1.BucketPolicy{}, indexBucket, func(o client.Object) []string {
		return []string{o.(*pailv1.BucketPolicy).Spec.BucketRef.Name}
	}); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&pailv1.BucketPolicy{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, status.Deleting()))).
		// Any change to a policy of the same bucket can change who wins.
		Watches(&pailv1.BucketPolicy{}, handler.EnqueueRequestsFromMapFunc(r.siblings)).
		Watches(&pailv1.Bucket{}, handler.EnqueueRequestsFromMapFunc(r.forBucket))
	if r.Repack != nil {
		b = b.WatchesRawSource(source.Channel(r.Repack, &handler.EnqueueRequestForObject{}))
	}
	return b.Complete(r)
}

func (r *Reconciler) policiesFor(ctx context.Context, ns, bucket string) []reconcile.Request {
	var list pailv1.BucketPolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{indexBucket: bucket}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, p := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}})
	}
	return out
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

// Reconcile drives one BucketPolicy.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var bp pailv1.BucketPolicy
	if err := r.Client.Get(ctx, req.NamespacedName, &bp); err != nil {
		if apierrors.IsNotFound(err) {
			r.refusals.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if msg := bp.DecodeError(); msg != "" {
		return ctrl.Result{}, status.Unreadable(ctx, r.Client, r.Recorder, &bp, &bp.Status.Conditions, &bp.Status.ObservedGeneration, "BucketPolicy", msg)
	}
	before := bp.DeepCopy()
	var res ctrl.Result
	var err error
	if !bp.DeletionTimestamp.IsZero() {
		res, err = r.finalize(ctx, &bp)
		if controllerutil.ContainsFinalizer(&bp, pailv1.BucketPolicyFinalizer) {
			if perr := status.Patch(ctx, r.Client, before, &bp, before.Status, bp.Status); perr != nil && !apierrors.IsNotFound(perr) {
				if res, stale := status.Stale(perr); stale {
					return res, nil
				}
				err = errors.Join(err, perr)
			}
		}
		return res, err
	}
	bp.Status.ObservedGeneration = bp.Generation
	res, err = r.sync(ctx, &bp)
	if after, wait := connect.Waiting(err); wait {
		// The Provider's driver is loading (after a restart): keep the
		// state the BucketPolicy had.
		return ctrl.Result{RequeueAfter: after}, nil
	}
	if perr := status.Patch(ctx, r.Client, before, &bp, before.Status, bp.Status); perr != nil {
		if res, stale := status.Stale(perr); stale {
			return res, nil
		}
		return ctrl.Result{}, errors.Join(err, fmt.Errorf("write BucketPolicy status: %w", perr))
	}
	return res, err
}

func (r *Reconciler) notReady(bp *pailv1.BucketPolicy, reason, msg string) {
	status.False(&bp.Status.Conditions, bp.Generation, pailv1.ConditionReady, reason, msg)
}

// winner is the BucketPolicy that governs bp's bucket (governing), with bp
// as it is now: its own refusal, if any, was just reconsidered.
func (r *Reconciler) winner(ctx context.Context, bp *pailv1.BucketPolicy) (string, error) {
	var list pailv1.BucketPolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(bp.Namespace), client.MatchingFields{indexBucket: bp.Spec.BucketRef.Name}); err != nil {
		return "", err
	}
	items := list.Items[:0]
	for _, p := range list.Items {
		if p.Name != bp.Name {
			items = append(items, p)
		}
	}
	return governing(append(items, *bp)), nil
}

func (r *Reconciler) sync(ctx context.Context, bp *pailv1.BucketPolicy) (ctrl.Result, error) {
	var b pailv1.Bucket
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: bp.Namespace, Name: bp.Spec.BucketRef.Name}, &b); err != nil {
		if apierrors.IsNotFound(err) {
			r.notReady(bp, pailv1.ReasonBucketNotReady, fmt.Sprintf("Bucket %s does not exist in namespace %s; the policy is applied once it does.", bp.Spec.BucketRef.Name, bp.Namespace))
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if b.DecodeError() != "" {
		r.notReady(bp, pailv1.ReasonBucketNotReady, fmt.Sprintf("Bucket %s cannot be read (its InvalidSpec condition says why); the policy is applied once it can.", b.Name))
		return ctrl.Result{}, nil
	}

	// An inline policy takes precedence over every BucketPolicy.
	if b.Spec.Policy != nil {
		msg := fmt.Sprintf("Bucket %s has an inline spec.policy, which takes precedence; remove it from the Bucket to let this BucketPolicy apply.", b.Name)
		r.conflict(bp, pailv1.ReasonInlinePolicy, msg)
		return ctrl.Result{}, nil
	}
	var p pailv1.Provider
	pErr := r.Client.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: b.Spec.ProviderRef.Name}, &p)
	// Validated before the conflict check: a policy the packs refuse
	// governs nothing (governing), so it must not block a valid one.
	doc, stop, res, err := r.validate(ctx, bp, &b, &p)
	if stop {
		return res, err
	}
	// Conflicts: the later policy waits and the earlier one stays applied.
	win, err := r.winner(ctx, bp)
	if err != nil {
		return ctrl.Result{}, err
	}
	// "" when bp too is out: the backend refused its document (its own
	// refusal then decides below), and nothing else governs.
	if win != "" && win != bp.Name {
		msg := fmt.Sprintf("BucketPolicy %s already governs bucket %s; this one is not applied. Merge the statements into %s, or delete it.", win, b.Name, win)
		r.conflict(bp, pailv1.ReasonOtherBucketPolicy, msg)
		return ctrl.Result{}, nil
	}
	status.False(&bp.Status.Conditions, bp.Generation, pailv1.ConditionConflict, pailv1.ReasonNoConflict, "No other policy governs this bucket.")
	if !meta.IsStatusConditionTrue(b.Status.Conditions, pailv1.ConditionSynced) || b.Status.Ownership == "" {
		r.notReady(bp, pailv1.ReasonBucketNotReady, fmt.Sprintf("Bucket %s is not in sync yet; the policy is applied once it is.", b.Name))
		return ctrl.Result{}, nil
	}
	if pErr != nil {
		return ctrl.Result{}, pErr
	}
	return r.apply(ctx, bp, doc, &b, &p)
}

// validate checks the document with the packs and records the verdict. It
// returns the parsed document, and reports stop when it must not be
// applied.
func (r *Reconciler) validate(ctx context.Context, bp *pailv1.BucketPolicy, b *pailv1.Bucket, p *pailv1.Provider) (*policydoc.Document, bool, ctrl.Result, error) {
	gen := bp.Generation
	conds := &bp.Status.Conditions
	start := time.Now()
	doc, res, err := check(ctx, r.Engine, bp, b, p)
	r.Metrics.ObservePolicyEvaluation(time.Since(start), len(res.Deny), len(res.Warn))
	var notJSON *ErrNotJSON
	if errors.As(err, &notJSON) {
		msg := notJSON.Error() + "."
		status.False(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyNotJSON, msg)
		r.notReady(bp, pailv1.ReasonPolicyNotJSON, msg)
		return nil, true, ctrl.Result{}, reconcile.TerminalError(errors.New(msg))
	}
	if err != nil {
		msg := status.Sentence(fmt.Sprintf("The policy cannot be checked: %v", err))
		status.False(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPacksUnavailable, msg)
		r.notReady(bp, pailv1.ReasonPacksUnavailable, msg)
		return nil, true, ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	enforce := bp.Spec.EnforcementMode != pailv1.EnforcementWarn
	prevValid := meta.FindStatusCondition(*conds, pailv1.ConditionPolicyValid)
	bp.Status.Violations = res.Deny
	bp.Status.Warnings = res.Warn
	if !enforce {
		bp.Status.Warnings = append(append([]string(nil), res.Deny...), res.Warn...)
	}
	if len(res.Deny) > 0 && enforce {
		msg := fmt.Sprintf("The policy packs deny this document, so it is not applied: %s.", status.Summarize(res.Deny, " (see status)"))
		if prevValid == nil || prevValid.Status != metav1.ConditionFalse || prevValid.Message != msg {
			r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, pailv1.ReasonPolicyDenied, "Validate", "%s", msg)
		}
		status.False(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyDenied, msg)
		r.notReady(bp, pailv1.ReasonPolicyDenied, msg)
		return nil, true, ctrl.Result{}, nil
	}
	if w := bp.Status.Warnings; len(w) > 0 {
		// Whether it is applied is Synced's and Ready's to say.
		msg := fmt.Sprintf("The policy packs allow this document, with warnings: %s.", status.Summarize(w, " (see status)"))
		if prevValid == nil || prevValid.Message != msg {
			r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, pailv1.ReasonPolicyWarnings, "Validate", "%s", msg)
		}
		status.True(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyWarnings, msg)
	} else {
		status.True(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyAllowed, "Every selected policy pack allows this document.")
	}
	return doc, false, ctrl.Result{}, nil
}

// apply writes the document when the bucket holds something else.
func (r *Reconciler) apply(ctx context.Context, bp *pailv1.BucketPolicy, doc *policydoc.Document, b *pailv1.Bucket, p *pailv1.Provider) (ctrl.Result, error) {
	gen := bp.Generation
	conds := &bp.Status.Conditions
	key, target := client.ObjectKeyFromObject(bp), refusalTarget(p, b.Spec.BucketName)
	if prev, ok := r.refusals.get(key); ok && !sendAgain(prev, gen, target) {
		// The backend refused this generation already: it would again.
		r.backendRefused(bp, prev.message)
		return ctrl.Result{}, nil
	}
	conn, err := r.Connector.Get(ctx, p)
	if _, wait := connect.Waiting(err); wait {
		return ctrl.Result{}, err
	}
	if err != nil {
		r.notReady(bp, pailv1.ReasonProviderNotReady, err.Error())
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	if !conn.Driver.Describe().Supports(abi.SubPolicy) {
		msg := fmt.Sprintf("Driver %s cannot manage bucket policies.", p.Spec.Driver)
		status.True(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonUnsupported, msg)
		r.notReady(bp, pailv1.ReasonUnsupported, msg)
		return ctrl.Result{}, nil
	}
	if err := r.ensureFinalizer(ctx, bp); err != nil {
		return ctrl.Result{}, err
	}
	cctx := conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
	region := b.Status.Region
	obs, err := conn.Driver.ObserveBucket(cctx, conn.Config, abi.BucketArgs{Name: b.Spec.BucketName, Region: region, Observe: []string{abi.SubPolicy}})
	if err != nil {
		status.False(conds, gen, pailv1.ConditionSynced, pailv1.ReasonBackendError, err.Error())
		r.notReady(bp, pailv1.ReasonBackendError, err.Error())
		return ctrl.Result{}, err
	}
	have := ""
	if obs.Config.Policy != nil {
		have = obs.Config.Policy.Document
	}
	want := string(bp.Spec.Policy.Raw)
	haveDoc, _ := policydoc.ParseString(have) // nil when there is none, or it does not parse
	if haveDoc == nil || !doc.Equal(haveDoc) {
		if err := conn.Driver.ApplyBucket(cctx, conn.Config, abi.BucketArgs{Name: b.Spec.BucketName, Region: region, Config: abi.BucketConfig{Policy: &abi.Policy{Document: want}}}); err != nil {
			return r.applyFailed(bp, b, target, err)
		}
		added, removed := bucketdiff.StatementDiff(doc, haveDoc)
		bp.Status.LastAppliedDiff = append(added, removed...)
		r.Recorder.Eventf(bp, nil, corev1.EventTypeNormal, pailv1.ReasonApplied, "Apply", "Applied the policy to bucket %s: %s", b.Spec.BucketName, strings.Join(bp.Status.LastAppliedDiff, "; "))
	}
	r.refusals.forget(key)
	bp.Status.AppliedHash = doc.Hash()
	status.True(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInSync, fmt.Sprintf("Bucket %s holds this policy.", b.Spec.BucketName))
	status.True(conds, gen, pailv1.ConditionReady, pailv1.ReasonAvailable, fmt.Sprintf("The policy is applied to bucket %s.", b.Spec.BucketName))
	return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
}

// applyFailed records a failed write. A document the backend refuses
// (InvalidArgument: MinIO's MalformedPolicy; Unimplemented: a construct
// the driver knows its backend lacks) is refused again until the spec
// changes: terminal, and not sent again for this generation, whatever
// wakes the reconciler (a sibling's or the Bucket's status, a resync).
func (r *Reconciler) applyFailed(bp *pailv1.BucketPolicy, b *pailv1.Bucket, target string, err error) (ctrl.Result, error) {
	switch abi.CodeOf(err) {
	case abi.CodeInvalidArgument, abi.CodeUnimplemented:
		msg := fmt.Sprintf("The backend of bucket %s refused the policy, so nothing was written: %s. Change spec.policy to leave out what the backend lacks; Pail sends it again when the spec changes.",
			b.Spec.BucketName, strings.TrimRight(abi.MessageOf(err), ". "))
		r.refusals.set(client.ObjectKeyFromObject(bp), refusal{generation: bp.Generation, target: target, message: msg})
		r.backendRefused(bp, msg)
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	status.False(&bp.Status.Conditions, bp.Generation, pailv1.ConditionSynced, pailv1.ReasonBackendError, err.Error())
	r.notReady(bp, pailv1.ReasonBackendError, fmt.Sprintf("Could not write the policy to bucket %s: %s.", b.Spec.BucketName, strings.TrimRight(err.Error(), ". ")))
	return ctrl.Result{}, err
}

// backendRefused sets the conditions of a refused document, with an event
// when they change.
func (r *Reconciler) backendRefused(bp *pailv1.BucketPolicy, msg string) {
	c := meta.FindStatusCondition(bp.Status.Conditions, pailv1.ConditionSynced)
	if c == nil || c.Reason != pailv1.ReasonBackendRefusedPolicy || c.Message != msg {
		r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, pailv1.ReasonBackendRefusedPolicy, "Apply", "%s", msg)
	}
	status.False(&bp.Status.Conditions, bp.Generation, pailv1.ConditionSynced, pailv1.ReasonBackendRefusedPolicy, msg)
	r.notReady(bp, pailv1.ReasonBackendRefusedPolicy, msg)
}

func (r *Reconciler) conflict(bp *pailv1.BucketPolicy, reason, msg string) {
	c := meta.FindStatusCondition(bp.Status.Conditions, pailv1.ConditionConflict)
	if c == nil || c.Status != metav1.ConditionTrue || c.Message != msg {
		r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, reason, "Validate", "%s", msg)
	}
	status.True(&bp.Status.Conditions, bp.Generation, pailv1.ConditionConflict, reason, msg)
	r.notReady(bp, reason, msg)
}

func (r *Reconciler) ensureFinalizer(ctx context.Context, bp *pailv1.BucketPolicy) error {
	if controllerutil.ContainsFinalizer(bp, pailv1.BucketPolicyFinalizer) {
		return nil
	}
	if err := status.PatchMetadata(ctx, r.Client, bp, func(obj *pailv1.BucketPolicy) {
		controllerutil.AddFinalizer(obj, pailv1.BucketPolicyFinalizer)
	}); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	return nil
}

// finalize removes the policy from the bucket, when this BucketPolicy is the
// one that put it there.
func (r *Reconciler) finalize(ctx context.Context, bp *pailv1.BucketPolicy) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(bp, pailv1.BucketPolicyFinalizer) {
		return ctrl.Result{}, nil
	}
	var b pailv1.Bucket
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: bp.Namespace, Name: bp.Spec.BucketRef.Name}, &b)
	if err == nil && b.DecodeError() != "" {
		// Which bucket holds the policy is unknown until the Bucket can be read.
		r.notReady(bp, pailv1.ReasonBucketNotReady, fmt.Sprintf("Cannot remove the policy while Bucket %s cannot be read (its InvalidSpec condition says why).", b.Name))
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	// Only the governing policy removes what the bucket holds: a refused
	// one wrote nothing, and the bucket may hold another policy's document.
	win, werr := r.winner(ctx, bp)
	if werr != nil {
		return ctrl.Result{}, werr
	}
	if err == nil && win == bp.Name && b.Spec.Policy == nil && b.DeletionTimestamp.IsZero() {
		var p pailv1.Provider
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: b.Spec.ProviderRef.Name}, &p); err != nil {
			r.notReady(bp, pailv1.ReasonProviderNotFound, fmt.Sprintf("Cannot remove the policy from bucket %s: %v.", b.Spec.BucketName, err))
			return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
		}
		conn, err := r.Connector.Get(ctx, &p)
		if after, wait := connect.Waiting(err); wait {
			return ctrl.Result{RequeueAfter: after}, nil
		}
		if err != nil {
			r.notReady(bp, pailv1.ReasonProviderNotReady, err.Error())
			return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
		}
		cctx := conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
		err = conn.Driver.ApplyBucket(cctx, conn.Config, abi.BucketArgs{Name: b.Spec.BucketName, Region: b.Status.Region, Config: abi.BucketConfig{Policy: &abi.Policy{}}})
		if err != nil && abi.CodeOf(err) != abi.CodeNotFound {
			r.notReady(bp, pailv1.ReasonBackendError, fmt.Sprintf("Could not remove the policy from bucket %s: %s.", b.Spec.BucketName, strings.TrimRight(err.Error(), ". ")))
			return ctrl.Result{}, err
		}
		r.Recorder.Eventf(bp, nil, corev1.EventTypeNormal, "Removed", "Delete", "Removed the policy from bucket %s", b.Spec.BucketName)
	} else if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	before := bp.DeepCopy()
	controllerutil.RemoveFinalizer(bp, pailv1.BucketPolicyFinalizer)
	if err := r.Client.Patch(ctx, bp, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("remove finalizer: %w", err)
	}
	return ctrl.Result{}, nil
}
