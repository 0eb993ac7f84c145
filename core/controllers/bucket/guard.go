package bucket

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/status"
)

// refuseMoved reports a Bucket whose Provider no longer points where Pail
// established its ownership: Conflict, Synced and Ready say so, with one
// event on the transition, and the caller writes nothing.
func (r *Reconciler) refuseMoved(b *pailv1.Bucket, rec, cur pailv1.Location, why string) {
	msg := locationChangedMessage(b, rec, cur, why)
	r.refuse(b, pailv1.ReasonLocationChanged, msg)
}

// refuseManaged reports a Bucket whose bucket another Bucket manages.
func (r *Reconciler) refuseManaged(b, other *pailv1.Bucket, cur pailv1.Location) {
	r.refuse(b, pailv1.ReasonAlreadyManaged, alreadyManagedMessage(b, other, cur))
}

func (r *Reconciler) refuse(b *pailv1.Bucket, reason, msg string) {
	gen, conds := b.Generation, &b.Status.Conditions
	if c := meta.FindStatusCondition(*conds, pailv1.ConditionConflict); c == nil || c.Reason != reason || c.Message != msg {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, reason, "Observe", "%s", msg)
	}
	status.True(conds, gen, pailv1.ConditionConflict, reason, msg)
	status.False(conds, gen, pailv1.ConditionSynced, reason, msg)
	status.False(conds, gen, pailv1.ConditionReady, reason, msg)
}

// otherManager returns the Bucket, in any namespace, that manages b's
// bucket at cur in b's stead (see managedBy), or nil. It reads the
// manager's cluster-wide cache through indexLocation.
func (r *Reconciler) otherManager(ctx context.Context, b *pailv1.Bucket, cur pailv1.Location) (*pailv1.Bucket, error) {
	var list pailv1.BucketList
	if err := r.Client.List(ctx, &list, client.MatchingFields{indexLocation: locationKey(cur.Endpoint, b.Spec.BucketName)}); err != nil {
		return nil, fmt.Errorf("list Buckets managing %s: %w", b.Spec.BucketName, err)
	}
	if o := managedBy(b, cur, list.Items); o != nil {
		return o.DeepCopy(), nil
	}
	return nil, nil
}

// guardDelete stops a deletionPolicy Delete that would reach the wrong
// bucket. When the Provider has moved, nothing is deleted and the finalizer
// stays, with Ready saying how to proceed: releasing instead would quietly
// forget the bucket Pail created, and the user asked for it to be deleted.
// When another Bucket manages the bucket, this one never did (or lost the
// race for it), so it is released and the bucket left to its manager.
func (r *Reconciler) guardDelete(ctx context.Context, b *pailv1.Bucket, p *pailv1.Provider) (res ctrl.Result, done, stop bool, err error) {
	cur := connect.LocationOf(p)
	if rec, moved, why := movedFrom(b, cur); moved {
		msg := locationChangedDeleteMessage(b, rec, why)
		if c := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionReady); c == nil || c.Reason != pailv1.ReasonLocationChanged || c.Message != msg {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonLocationChanged, "Delete", "%s", msg)
		}
		status.True(&b.Status.Conditions, b.Generation, pailv1.ConditionConflict, pailv1.ReasonLocationChanged, msg)
		status.False(&b.Status.Conditions, b.Generation, pailv1.ConditionReady, pailv1.ReasonLocationChanged, msg)
		return ctrl.Result{RequeueAfter: r.NotEmptyRetry}, false, true, nil
	}
	other, err := r.otherManager(ctx, b, cur)
	if err != nil {
		return ctrl.Result{}, false, true, err
	}
	if other != nil {
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left bucket %s in place: Bucket %s/%s manages it", b.Spec.BucketName, other.Namespace, other.Name)
		return ctrl.Result{}, true, true, nil
	}
	return ctrl.Result{}, false, false, nil
}
