package bucket

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
)

// reasonBucketNameTaken: the name belongs to another account.
const reasonBucketNameTaken = "BucketNameTaken"

// callContext attaches the Provider's network policy and the reconcile's
// id to a driver call.
func (r *Reconciler) callContext(ctx context.Context, s *state) context.Context {
	return s.conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
}

// applyPlan carries out the plan: ownership first, then the write.
func (r *Reconciler) applyPlan(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	switch s.plan.action {
	case actCreate:
		return r.create(ctx, b, s)
	case actUpdate:
		if err := r.claim(ctx, b, s); err != nil {
			return managed.Stop(0), err
		}
		return r.update(ctx, b, s)
	}
	if err := r.claim(ctx, b, s); err != nil {
		return managed.Stop(0), err
	}
	b.Status.Drift = nil
	return managed.Next, nil
}

// claim takes or keeps ownership of an existing bucket: adoption, or the
// finalizer of a bucket Pail owns (and the ownership of one whose create
// answer was lost: the intent was recorded and the bucket exists).
func (r *Reconciler) claim(ctx context.Context, b *pailv1.Bucket, s *state) error {
	if !s.plan.adopt && !s.plan.claim {
		return nil
	}
	if err := r.ensureFinalizer(ctx, b); err != nil {
		return err
	}
	switch {
	case s.plan.adopt:
		b.Status.Ownership = pailv1.OwnershipAdopted
		b.Status.Location = new(s.cur)
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonAdopted, "Adopt", "Adopted existing bucket %s at %s (spec.adopt)", b.Spec.BucketName, s.p.ProviderSpec().Endpoint)
	case b.Status.Ownership == "":
		b.Status.Ownership = pailv1.OwnershipCreated
	}
	return nil
}

// create records the intent, then creates the bucket with its config.
func (r *Reconciler) create(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	if err := r.recordCreateIntent(ctx, b, s.cur); err != nil {
		return managed.Stop(0), err
	}
	// The create itself sets object lock (abi.SubResources: enabled is
	// create-only), so it travels as BucketArgs.ObjectLock, not as a write.
	args := abi.BucketArgs{Name: b.Spec.BucketName, Region: s.region, Create: true, Config: s.plan.write, ObjectLock: s.plan.write.ObjectLock}
	args.Config.ObjectLock = nil
	if step, err := r.withMFA(ctx, b, s, &args); err != nil {
		return step, err
	}
	if err := s.conn.Driver.ApplyBucket(r.callContext(ctx, s), s.conn.Config, args); err != nil {
		if abi.CodeOf(err) == abi.CodeAlreadyExists {
			s.verdict = managed.Refusal(reasonBucketNameTaken, fmt.Sprintf("Bucket name %s is taken by another account at %s; choose another spec.bucketName.", b.Spec.BucketName, s.p.ProviderSpec().Endpoint))
			return managed.Stop(0), managed.Spec(err)
		}
		return managed.Stop(0), r.backendError(b, s, "create", err)
	}
	b.Status.Ownership = pailv1.OwnershipCreated
	b.Status.Location = new(connect.Backfill(s.rec, s.cur))
	b.Status.Drift = nil
	r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonCreated, "Create", "Created bucket %s at %s", b.Spec.BucketName, s.p.ProviderSpec().Endpoint)
	return managed.Next, nil
}

// withMFA adds the MFA code when the write changes MFA delete.
func (r *Reconciler) withMFA(ctx context.Context, b *pailv1.Bucket, s *state, args *abi.BucketArgs) (managed.Step, error) {
	if !s.plan.needsMFA() {
		return managed.Next, nil
	}
	mfa, err := r.mfa(ctx, b, s)
	args.MFA = mfa
	if err != nil {
		return managed.Stop(0), err
	}
	return managed.Next, nil
}

// update writes the sub-resources that differ, unless the drift-loop
// breaker has paused writes to this Bucket.
func (r *Reconciler) update(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	fields := strings.Join(s.plan.fields, ", ")
	if step, paused := r.pausedByDriftLoop(b, s); paused {
		return step, nil
	}
	args := abi.BucketArgs{Name: b.Spec.BucketName, Region: s.region, Config: s.plan.write}
	if step, err := r.withMFA(ctx, b, s, &args); err != nil {
		return step, err
	}
	if err := s.conn.Driver.ApplyBucket(r.callContext(ctx, s), s.conn.Config, args); err != nil {
		return managed.Stop(0), r.backendError(b, s, "update", err)
	}
	if s.plan.drift {
		r.DriftLoop.Corrected(types.NamespacedName{Namespace: b.Namespace, Name: b.Name}, b.Generation, time.Now())
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonDriftCorrected, "Update", "Corrected drift on bucket %s: %s", b.Spec.BucketName, fields)
		r.Metrics.ObserveDriftCorrected(b.Namespace, b.Name)
	} else if fields != "" {
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonApplied, "Update", "Applied %s to bucket %s", fields, b.Spec.BucketName)
	}
	if s.plan.mark {
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, reasonMarked, "Update", "Marked bucket %s as owned by this Bucket (tags %s)", b.Spec.BucketName, strings.Join(bucketdiff.MarkKeys(), ", "))
	}
	b.Status.Drift = nil
	return managed.Next, nil
}

// reasonMarked: the ownership mark was written to an existing bucket.
const reasonMarked = "OwnershipMarked"

// pausedByDriftLoop asks the breaker about a drift correction (a spec
// change is not the breaker's business) and reports the pause.
func (r *Reconciler) pausedByDriftLoop(b *pailv1.Bucket, s *state) (managed.Step, bool) {
	var paused bool
	var until time.Time
	var n int
	if s.plan.drift {
		paused, until, n = r.DriftLoop.Paused(types.NamespacedName{Namespace: b.Namespace, Name: b.Name}, b.Generation, time.Now())
	}
	r.Metrics.SetDriftLoop(b.Namespace, b.Name, paused)
	if !paused {
		return managed.Next, false
	}
	msg := fmt.Sprintf("Drift loop: Pail corrected this bucket %d times within %s, so another writer keeps changing %s. Writes are paused until the spec changes or %s; stop the other writer, or change the spec to what it writes.",
		n, r.DriftLoop.Window, strings.Join(s.plan.fields, ", "), until.UTC().Format(time.RFC3339))
	if c := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionSynced); c == nil || c.Reason != pailv1.ReasonDriftLoop {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonDriftLoop, "Update", "%s", msg)
	}
	b.Status.Drift = s.plan.fields
	s.verdict = managed.NotSynced(pailv1.ReasonDriftLoop, msg)
	return managed.Stop(r.ResyncPeriod), true
}

// recordCreateIntent persists the intent to create, and where, before the
// create call, so a crash in between can neither turn Pail's own bucket into
// a Conflict nor leave the ownership without its location.
func (r *Reconciler) recordCreateIntent(ctx context.Context, b *pailv1.Bucket, loc pailv1.Location) error {
	if b.Annotations[pailv1.AnnotationCreateIntent] != "" {
		return nil
	}
	err := r.patchMeta(ctx, b, func(obj *pailv1.Bucket) {
		if obj.Annotations == nil {
			obj.Annotations = map[string]string{}
		}
		obj.Annotations[pailv1.AnnotationCreateIntent] = intentValue(time.Now(), loc)
		controllerutil.AddFinalizer(obj, pailv1.BucketFinalizer)
	})
	if err != nil {
		return fmt.Errorf("record create intent: %w", err)
	}
	return nil
}

// ensureFinalizer adds the finalizer, keeping the status being built.
func (r *Reconciler) ensureFinalizer(ctx context.Context, b *pailv1.Bucket) error {
	if controllerutil.ContainsFinalizer(b, pailv1.BucketFinalizer) {
		return nil
	}
	if err := r.patchMeta(ctx, b, func(obj *pailv1.Bucket) { controllerutil.AddFinalizer(obj, pailv1.BucketFinalizer) }); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	return nil
}
