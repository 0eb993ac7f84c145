package accesskey

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
)

// rotation reasons
const (
	dueCreate   = "create"
	dueTrigger  = "trigger"
	dueInterval = "interval"
)

func retention(ak *pailv1.AccessKey) time.Duration {
	if ro := ak.Spec.Rotation; ro != nil && ro.Retention != nil {
		return ro.Retention.Duration
	}
	return DefaultRetention
}

func interval(ak *pailv1.AccessKey) time.Duration {
	if ro := ak.Spec.Rotation; ro != nil && ro.Interval != nil {
		return ro.Interval.Duration
	}
	return 0
}

func trigger(ak *pailv1.AccessKey) string {
	if ro := ak.Spec.Rotation; ro != nil {
		return ro.Trigger
	}
	return ""
}

// secretState is the Secret as read at the start of a reconcile.
type secretState struct {
	obj    corev1.Secret
	exists bool
}

// The key phases bring the user's keys and the Secret to the record's
// intent. Every step is safe to interrupt: the order is always "record the
// intent, create at the provider, store in the Secret" and "move from the
// Secret's pairs to its retired list, delete at the provider", and the
// cleanup at the start deletes what an interrupted step left, and only that
// (plan.go).

// keysError records a failed step of the key phases.
func (r *Reconciler) keysError(ak *pailv1.AccessKey, s *state, err error) (managed.Step, error) {
	return managed.Stop(0), r.backendError(ak, s, "manage the keys of user "+s.user, err)
}

// readSecret reads the Secret, the record of which keys exist, uncached.
// A Secret of that name not written for this AccessKey is never touched.
func (r *Reconciler) readSecret(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	st := &s.secret
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: secretName(ak)}, &st.obj)
	switch {
	case apierrors.IsNotFound(err):
		st.obj = corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ak.Namespace, Name: secretName(ak)}}
	case err != nil:
		return r.keysError(ak, s, fmt.Errorf("read Secret %s: %w", secretName(ak), err))
	case st.obj.Labels[pailv1.LabelAccessKey] != ak.Name:
		msg := fmt.Sprintf("Secret %s exists and was not written for this AccessKey; Pail never overwrites it. Set spec.secret.name to another name, or delete the Secret.", st.obj.Name)
		s.verdict = managed.NotReady(pailv1.ReasonSecretConflict, msg)
		return managed.Stop(secretRetry), nil
	default:
		st.exists = true
		s.rec = readRecord(ak, &st.obj)
	}
	s.at = make(map[string]abi.AccessKeyInfo, len(s.obs.Keys))
	for _, k := range s.obs.Keys {
		s.at[k.ID] = k
	}
	return managed.Next, nil
}

// cleanupKeys decides which keys are this AccessKey's (plan.go), deletes
// those the Secret no longer offers, and leaves the rest alone, naming each
// newly found foreign key once.
func (r *Reconciler) cleanupKeys(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	cctx := r.callContext(ctx, s)
	s.plan = planKeys(s.rec, []string{ak.Status.AccessKeyID, ak.Status.PreviousAccessKeyID}, s.obs.Keys, s.now)
	for _, d := range s.plan.Delete {
		if err := s.ud.DeleteAccessKey(cctx, s.conn.Config, abi.AccessKeyArgs{User: s.user, ID: d.ID}); err != nil {
			return r.keysError(ak, s, err)
		}
		delete(s.at, d.ID)
		if d.Why == whyRetired {
			r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeleted, "Retire", "Deleted retired key %s of user %s", d.ID, s.user)
		} else {
			r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonLeakedKeyRemoved, "Cleanup", "Deleted key %s of user %s: an interrupted create left it, and no Secret holds its secret", d.ID, s.user)
		}
	}
	for _, id := range newlyForeign(s.rec.Warned, s.plan.Foreign) {
		r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonForeignKey, "Observe",
			"Left key %s of user %s alone: Pail did not record creating it for this AccessKey, so it may be someone else's working key; delete it at the provider if no one uses it", id, s.user)
	}
	// A lost current key stays in the record for recordLoss to name.
	s.rec = s.plan.Next
	return managed.Next, nil
}

// retirePrevious retires the previous key once its retention is over:
// deactivate it, take it out of the Secret, then delete it.
func (r *Reconciler) retirePrevious(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	rec := &s.rec
	if rec.Previous.empty() || s.now.Before(rec.PreviousExpires) {
		return managed.Next, nil
	}
	cctx, pc := r.callContext(ctx, s), s.conn.Config
	old := rec.Previous.ID
	if s.at[old].Status != abi.KeyInactive {
		if err := s.ud.UpdateAccessKey(cctx, pc, abi.AccessKeyArgs{User: s.user, ID: old, Status: abi.KeyInactive}); err != nil {
			return r.keysError(ak, s, err)
		}
		r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeactivated, "Retire", "Deactivated previous key %s of user %s: its retention ended", old, s.user)
	}
	rec.Previous = keyPair{}
	rec.Retired = append(rec.Retired, old)
	if err := r.writeSecret(ctx, ak, s, *rec); err != nil {
		return r.keysError(ak, s, err)
	}
	if err := s.ud.DeleteAccessKey(cctx, pc, abi.AccessKeyArgs{User: s.user, ID: old}); err != nil {
		return r.keysError(ak, s, err)
	}
	delete(s.at, old)
	rec.Retired = slices.DeleteFunc(slices.Clone(rec.Retired), func(id string) bool { return id == old })
	r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeleted, "Retire", "Deleted previous key %s of user %s", old, s.user)
	r.countRotation("retired")
	return managed.Next, nil
}

// rotate carries out decide's choice: create a key when there is none or
// a rotation is due, wait when one may not be created yet, and otherwise
// refresh the Secret (endpoint, labels or bucket names may have changed).
func (r *Reconciler) rotate(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	rec := s.rec
	d := decide(ak, rec, s.plan.PendingWait, s.now)
	switch d.action {
	case holdFirstKey:
		return r.waitForPending(ctx, ak, s)
	case awaitRetention:
		s.waiting = true
		s.rotating = yes(pailv1.ReasonWaitingForRetention, fmt.Sprintf("A rotation (%s) waits until previous key %s retires at %s: a user holds at most two keys.", d.due, rec.Previous.ID, timeString(rec.PreviousExpires)))
		s.wait = rec.PreviousExpires.Sub(s.now)
	case awaitPending:
		// The rotation waits for an interrupted one to resolve.
		s.wait = s.plan.PendingWait
	case createKey:
		if err := r.createKey(ctx, ak, s, d.due); err != nil {
			return r.keysError(ak, s, err)
		}
		return managed.Next, nil
	}
	if err := r.writeSecret(ctx, ak, s, rec); err != nil {
		return r.keysError(ak, s, err)
	}
	return managed.Next, nil
}

// keyStatus reports the keys in status, says whether a rotation is under
// way, and finds when the next key step is due.
func keyStatus(_ context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	rec, now := s.rec, s.now
	ak.Status.AccessKeyID = rec.Current.ID
	ak.Status.PreviousAccessKeyID = rec.Previous.ID
	ak.Status.PreviousKeyExpiresAt = nil
	ak.Status.CreatedAt = metaTime(rec.Created)
	ak.Status.NextRotationAt = nil
	ak.Status.LastUsedAt = metaTime(s.at[rec.Current.ID].LastUsed)
	soonest := func(t time.Time) {
		if d := t.Sub(now); d > 0 && (s.wait == 0 || d < s.wait) {
			s.wait = d
		}
	}
	if iv := interval(ak); iv > 0 {
		ak.Status.NextRotationAt = metaTime(rec.Created.Add(iv))
		soonest(rec.Created.Add(iv))
	}
	if !rec.Previous.empty() {
		ak.Status.PreviousKeyExpiresAt = metaTime(rec.PreviousExpires)
		soonest(rec.PreviousExpires)
	}
	switch {
	case s.waiting:
		// Rotating says the rotation waits for the previous key (rotate).
	case !rec.Previous.empty():
		s.rotating = yes(pailv1.ReasonPreviousKeyActive,
			fmt.Sprintf("Previous key %s stays valid, under the *_PREVIOUS keys of Secret %s, until %s.", rec.Previous.ID, s.secret.obj.Name, timeString(rec.PreviousExpires)))
	case ak.Status.NextRotationAt != nil:
		s.rotating = no(pailv1.ReasonRotationScheduled, fmt.Sprintf("Next rotation at %s.", ak.Status.NextRotationAt.UTC().Format(time.RFC3339)))
	default:
		s.rotating = no(pailv1.ReasonRotationScheduled, "No rotation is scheduled; set spec.rotation.interval or change spec.rotation.trigger to rotate.")
	}
	if s.wait > 0 && s.wait < time.Second {
		s.wait = time.Second
	}
	return managed.Next, nil
}

// writeSecret stores rec in the Secret, creating it when absent, and writes
// nothing when it already holds exactly that. An update carries the
// resourceVersion read at the start, so a concurrent change fails it.
func (r *Reconciler) writeSecret(ctx context.Context, ak *pailv1.AccessKey, s *state, rec keyRecord) error {
	st := &s.secret
	want := st.obj.DeepCopy()
	render(ak, want, rec, s.content)
	if err := controllerutil.SetControllerReference(ak, want, r.Scheme); err != nil {
		return err
	}
	if st.exists && equality.Semantic.DeepEqual(want, &st.obj) {
		return nil
	}
	var err error
	if st.exists {
		err = r.Client.Update(ctx, want)
	} else {
		err = r.Client.Create(ctx, want)
	}
	if err != nil {
		return fmt.Errorf("write Secret %s: %w", want.Name, err)
	}
	st.obj, st.exists = *want, true
	return nil
}

func (r *Reconciler) countRotation(result string) {
	if r.Metrics != nil && r.Metrics.KeyRotations != nil {
		r.Metrics.KeyRotations.WithLabelValues(result).Inc()
	}
}
