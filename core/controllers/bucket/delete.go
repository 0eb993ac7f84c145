package bucket

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
)

// deletePhases are the Bucket's delete rule, in order: deletionPolicy
// Delete never deletes a bucket Pail does not own, one that moved, one
// another Bucket manages, or one that holds data without forceDelete.
func (r *Reconciler) deletePhases() []managed.Phase[*pailv1.Bucket, state] {
	return []managed.Phase[*pailv1.Bucket, state]{
		{Name: "policy", Run: r.retainUnlessDelete},
		{Name: "provider", Run: r.deleteProvider},
		{Name: "guard", Run: r.guardDelete},
		{Name: "delete", Run: r.deleteBucket},
	}
}

// blocked is a delete that cannot finish now: released when its namespace
// is being deleted and no fix can come (releaseBlocked), else tried again.
func (r *Reconciler) blocked(ctx context.Context, b *pailv1.Bucket, s *state, why blocker) (managed.Step, error) {
	done, err := r.releaseIfNamespaceDeleted(ctx, b, why)
	if err != nil {
		return managed.Stop(0), err
	}
	if done {
		return release(s)
	}
	return managed.Stop(r.NotEmptyRetry), nil
}

// release ends the delete rule: the finalizer may go.
func release(s *state) (managed.Step, error) {
	s.released = true
	return managed.Stop(0), nil
}

// retainUnlessDelete releases a Bucket whose bucket is to stay.
func (r *Reconciler) retainUnlessDelete(_ context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	switch {
	case b.Spec.DeletionPolicy != pailv1.DeletionDelete:
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left bucket %s and its data in place (deletionPolicy Retain)", b.Spec.BucketName)
		return release(s)
	case !owned(b):
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left bucket %s in place: Pail neither created nor adopted it", b.Spec.BucketName)
		return release(s)
	}
	return managed.Next, nil
}

// deleteProvider resolves the Provider; while it is not Ready, the delete
// waits (report says how to proceed).
func (r *Reconciler) deleteProvider(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	step, err := r.resolveProvider(ctx, b, s)
	if err == nil && s.notReady != nil {
		return r.blocked(ctx, b, s, providerBlocker(s.notReady.Reason))
	}
	return step, err
}

// guardDelete stops a deletionPolicy Delete that would reach the wrong
// bucket. When the Provider has moved, nothing is deleted and the finalizer
// stays, with Ready saying how to proceed: releasing instead would quietly
// forget the bucket Pail created, and the user asked for it to be deleted.
// When another Bucket manages the bucket, this one never did (or lost the
// race for it), so it is released and the bucket left to its manager; the
// same when the bucket carries another owner's mark, in this cluster or
// another.
func (r *Reconciler) guardDelete(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	if rec, moved, why := movedFrom(b, s.cur); moved {
		msg := locationChangedDeleteMessage(b, rec, why)
		if managed.Transition(b.Status.Conditions, pailv1.ConditionReady, pailv1.ReasonLocationChanged, msg) {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonLocationChanged, "Delete", "%s", msg)
		}
		s.verdict = managed.Conflict(pailv1.ReasonLocationChanged, msg)
		return managed.Stop(r.NotEmptyRetry), nil
	}
	other, err := r.otherManager(ctx, b, s.cur)
	if err != nil {
		return managed.Stop(0), err
	}
	claim, holder, err := r.markClaim(ctx, b, s)
	switch {
	case err != nil:
		return managed.Stop(0), err
	case claim == bucketdiff.Other:
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonRetained, "Delete", "Left bucket %s in place: it is marked as owned by %s", b.Spec.BucketName, holder)
		return release(s)
	case other != nil && claim != bucketdiff.Mine: // this Bucket's mark overrides the index, as in readMark
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left bucket %s in place: Bucket %s/%s manages it", b.Spec.BucketName, other.Namespace, other.Name)
		return release(s)
	}
	if b.Spec.ForceDelete && !s.conn.Driver.Describe().Supports(abi.CapForceDelete) {
		s.verdict = managed.NotReady(pailv1.ReasonUnsupported, fmt.Sprintf("spec.forceDelete is set but driver %s cannot empty a bucket; empty bucket %s yourself, or set spec.deletionPolicy to Retain.", s.p.ProviderSpec().Driver, b.Spec.BucketName))
		return r.blocked(ctx, b, s, blockedCannotEmpty)
	}
	return managed.Next, nil
}

// deleteBucket deletes the bucket (emptying it first with forceDelete). A
// bucket that holds objects stays, and the Bucket says the ways on.
func (r *Reconciler) deleteBucket(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	force := b.Spec.ForceDelete
	if force {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonEmptying, "Delete", "Emptying bucket %s (spec.forceDelete): deleting every object version and delete marker", b.Spec.BucketName)
	}
	err := s.conn.Driver.DeleteBucket(r.callContext(ctx, s), s.conn.Config, abi.BucketArgs{Name: b.Spec.BucketName, Region: s.p.ProviderSpec().Region, Force: force})
	switch code := abi.CodeOf(err); {
	case err == nil:
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted bucket %s (deletionPolicy Delete)", b.Spec.BucketName)
		return release(s)
	case code == abi.CodeNotFound:
		return release(s)
	case code == abi.CodeConflict:
		if step, err := r.blocked(ctx, b, s, blockedNotEmpty); err != nil || s.released {
			return step, err
		}
		msg := fmt.Sprintf("Bucket %s still holds objects, so Pail will not delete it: deletionPolicy Delete never deletes data by itself. Empty the bucket and Pail deletes it on its next try, set spec.forceDelete: true to have Pail empty it, or set spec.deletionPolicy to Retain to release it.", b.Spec.BucketName)
		if managed.Transition(b.Status.Conditions, pailv1.ConditionReady, pailv1.ReasonBucketNotEmpty, "") {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonBucketNotEmpty, "Delete", "%s", msg)
		}
		s.verdict = managed.NotReady(pailv1.ReasonBucketNotEmpty, msg)
		return managed.Stop(r.NotEmptyRetry), nil
	}
	return managed.Stop(0), r.backendError(b, s, "delete", err)
}

// markClaim reads the mark on the bucket before a delete: Unmarked when
// there is none, or no bucket, or a backend that holds no mark. Another
// cluster's Bucket, or one whose Provider names the server otherwise, is
// invisible to the location index, so the mark is the only guard against
// deleting its data.
func (r *Reconciler) markClaim(ctx context.Context, b *pailv1.Bucket, s *state) (bucketdiff.Claim, bucketdiff.Owner, error) {
	self, markable, err := r.markOwner(ctx, b, s.conn.Driver.Describe())
	if err != nil || !markable {
		return bucketdiff.Unmarked, bucketdiff.Owner{}, err
	}
	args := abi.BucketArgs{Name: b.Spec.BucketName, Region: s.region, Observe: []string{abi.SubTagging}}
	obs, err := s.conn.Driver.ObserveBucket(r.callContext(ctx, s), s.conn.Config, args)
	if err != nil {
		return bucketdiff.Unmarked, bucketdiff.Owner{}, r.backendError(b, s, "observe", err)
	}
	if !obs.Exists || obs.Config.Tagging == nil {
		return bucketdiff.Unmarked, bucketdiff.Owner{}, nil
	}
	claim, holder := bucketdiff.ClaimOf(obs.Config.Tagging.Tags, self)
	return claim, holder, nil
}
