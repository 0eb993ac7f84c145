package accesskey

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// lostRequeue is how soon the reconcile after a recorded loss comes: at
// once, but after the status that reports the loss is written.
const lostRequeue = 100 * time.Millisecond

// keysNotReady tells sync that syncKeys set Ready=False itself and wants the
// AccessKey back after the given time; it is not a failure.
type keysNotReady struct{ after time.Duration }

func (e *keysNotReady) Error() string { return fmt.Sprintf("keys not ready; again in %s", e.after) }

// asKeysNotReady reports whether err is a keysNotReady, and its delay.
func asKeysNotReady(err error) (time.Duration, bool) {
	var e *keysNotReady
	if errors.As(err, &e) {
		return e.after, true
	}
	return 0, false
}

// recordLoss handles a current key that was deleted or deactivated at the
// provider by someone else: apps holding it are locked out, so the AccessKey
// leaves Ready with KeyLost, and the next reconcile (right away) issues a
// new key. A deactivated key is Pail's own (the Secret held it): it is moved
// to the retired list in the Secret, then deleted.
func (r *Reconciler) recordLoss(ctx context.Context, ak *pailv1.AccessKey, ud driver.UserDriver, pc abi.ProviderConfig, st *secretState, rec keyRecord, id, how string, content secretContent) error {
	user := content.User
	rec.Current, rec.Created = keyPair{}, time.Time{}
	if how == lostDeactivated {
		rec.Retired = append(rec.Retired, id)
	}
	if err := r.writeSecret(ctx, ak, st, rec, content); err != nil {
		return err
	}
	if how == lostDeactivated {
		if err := ud.DeleteAccessKey(ctx, pc, abi.AccessKeyArgs{User: user, ID: id}); err != nil {
			return err
		}
		r.event(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeleted, "Cleanup", "Deleted deactivated key %s of user %s", id, user)
	}
	msg := fmt.Sprintf("Key %s in Secret %s was %s at the provider by someone other than Pail, so apps using it are refused; Pail is issuing a new key into the Secret.", id, st.obj.Name, how)
	r.event(ak, corev1.EventTypeWarning, pailv1.ReasonKeyLost, "Observe", "%s", msg)
	status.False(&ak.Status.Conditions, ak.Generation, pailv1.ConditionReady, pailv1.ReasonKeyLost, msg)
	ak.Status.AccessKeyID = ""
	return &keysNotReady{after: lostRequeue}
}

// waitForPending holds off the first key while an interrupted create is too
// young to tell from one still in flight (pendingGrace).
func (r *Reconciler) waitForPending(ctx context.Context, ak *pailv1.AccessKey, st *secretState, rec keyRecord, wait time.Duration, content secretContent) error {
	if err := r.writeSecret(ctx, ak, st, rec, content); err != nil {
		return err
	}
	msg := fmt.Sprintf("A key creation for user %s began at %s and was interrupted; Pail creates a new key at %s, when the interrupted one can no longer arrive.",
		content.User, timeString(rec.Pending.Since), timeString(rec.Pending.Since.Add(pendingGrace)))
	status.False(&ak.Status.Conditions, ak.Generation, pailv1.ConditionReady, pailv1.ReasonKeyCreateInterrupted, msg)
	if wait < time.Second {
		wait = time.Second
	}
	return &keysNotReady{after: wait}
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
func (r *Reconciler) deleteOwnKeys(ctx context.Context, ak *pailv1.AccessKey, ud driver.UserDriver, pc abi.ProviderConfig, user string, keys []abi.AccessKeyInfo) (foreign []string, wait time.Duration, err error) {
	rec := keyRecord{}
	var s corev1.Secret
	err = r.Reader.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: secretName(ak)}, &s)
	switch {
	case err == nil && metav1.IsControlledBy(&s, ak):
		rec = readRecord(ak, &s)
	case client.IgnoreNotFound(err) != nil:
		return nil, 0, fmt.Errorf("read Secret %s: %w", secretName(ak), err)
	}
	plan := planKeys(rec, []string{ak.Status.AccessKeyID, ak.Status.PreviousAccessKeyID}, keys, r.now())
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
		if err := ud.DeleteAccessKey(ctx, pc, abi.AccessKeyArgs{User: user, ID: d.ID}); err != nil {
			return nil, 0, fmt.Errorf("delete key %s: %w", d.ID, err)
		}
		r.event(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeleted, "Delete", "Deleted key %s of user %s", d.ID, user)
	}
	return plan.Foreign, 0, nil
}

func (r *Reconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}
