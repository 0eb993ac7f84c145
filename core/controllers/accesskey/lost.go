package accesskey

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
)

// lostRequeue is how soon the reconcile after a recorded loss comes: at
// once, but after the status that reports the loss is written.
const lostRequeue = 100 * time.Millisecond

// recordLoss handles a current key that was deleted or deactivated at the
// provider by someone else: apps holding it are locked out, so the AccessKey
// leaves Ready with KeyLost, and the next reconcile (right away) issues a
// new key. A deactivated key is Pail's own (the Secret held it): it is moved
// to the retired list in the Secret, then deleted.
func (r *Reconciler) recordLoss(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	how := s.plan.Lost
	if how == "" {
		return managed.Next, nil
	}
	rec := s.rec
	id := rec.Current.ID
	rec.Current, rec.Created = keyPair{}, time.Time{}
	if how == lostDeactivated {
		rec.Retired = append(rec.Retired, id)
	}
	if err := r.writeSecret(ctx, ak, s, rec); err != nil {
		return r.keysError(ak, s, err)
	}
	if how == lostDeactivated {
		if err := s.ud.DeleteAccessKey(r.callContext(ctx, s), s.conn.Config, abi.AccessKeyArgs{User: s.user, ID: id}); err != nil {
			return r.keysError(ak, s, err)
		}
		r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeleted, "Cleanup", "Deleted deactivated key %s of user %s", id, s.user)
	}
	msg := fmt.Sprintf("Key %s in Secret %s was %s at the provider by someone other than Pail, so apps using it are refused; Pail is issuing a new key into the Secret.", id, s.secret.obj.Name, how)
	r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonKeyLost, "Observe", "%s", msg)
	s.verdict = managed.NotReady(pailv1.ReasonKeyLost, msg)
	ak.Status.AccessKeyID = ""
	return managed.Stop(lostRequeue), nil
}

// waitForPending holds off the first key while an interrupted create is too
// young to tell from one still in flight (pendingGrace).
func (r *Reconciler) waitForPending(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	rec := s.rec
	if err := r.writeSecret(ctx, ak, s, rec); err != nil {
		return r.keysError(ak, s, err)
	}
	msg := fmt.Sprintf("A key creation for user %s began at %s and was interrupted; Pail creates a new key at %s, when the interrupted one can no longer arrive.",
		s.user, timeString(rec.Pending.Since), timeString(rec.Pending.Since.Add(pendingGrace)))
	s.verdict = managed.NotReady(pailv1.ReasonKeyCreateInterrupted, msg)
	return managed.Stop(max(s.plan.PendingWait, time.Second)), nil
}

// notCreated reports whether a failed CreateAccessKey certainly created
// nothing: the provider answered with a refusal. A timeout or an internal
// error may hide a key that was created.
func notCreated(err error) bool {
	switch abi.CodeOf(err) {
	case abi.CodeNotFound, abi.CodeAccessDenied, abi.CodeInvalidArgument, abi.CodeConflict, abi.CodeUnimplemented:
		return true
	}
	return false
}

// deleteOwnKeys deletes, for finalize, the keys of user that Pail recorded
// creating for ak (plan.go) and returns those it cannot prove are its own,
// which it leaves alone. wait > 0 means a create may still be in flight.
func (r *Reconciler) deleteOwnKeys(ctx context.Context, ak *pailv1.AccessKey, s *state, keys []abi.AccessKeyInfo) (foreign []string, wait time.Duration, err error) {
	rec := keyRecord{}
	var sec corev1.Secret
	err = r.Reader.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: secretName(ak)}, &sec)
	switch {
	case err == nil && metav1.IsControlledBy(&sec, ak):
		rec = readRecord(ak, &sec)
	case client.IgnoreNotFound(err) != nil:
		return nil, 0, fmt.Errorf("read Secret %s: %w", secretName(ak), err)
	}
	plan := planKeys(rec, []string{ak.Status.AccessKeyID, ak.Status.PreviousAccessKeyID}, keys, s.now)
	if plan.PendingWait > 0 {
		return nil, plan.PendingWait, nil
	}
	doomed := plan.Delete
	for _, k := range keys {
		if k.ID == rec.Current.ID || k.ID == rec.Previous.ID {
			doomed = append(doomed, doomedKey{k.ID, whyRetired})
		}
	}
	for _, d := range doomed {
		if err := s.ud.DeleteAccessKey(ctx, s.conn.Config, abi.AccessKeyArgs{User: s.user, ID: d.ID}); err != nil {
			return nil, 0, fmt.Errorf("delete key %s: %w", d.ID, err)
		}
		r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeleted, "Delete", "Deleted key %s of user %s", d.ID, s.user)
	}
	return plan.Foreign, 0, nil
}

func (r *Reconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}
