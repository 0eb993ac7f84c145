package accesskey

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
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

// errSecretConflict: the Secret belongs to someone else; the condition says so.
var errSecretConflict = errors.New("secret conflict")

// secretState is the Secret as read at the start of a reconcile.
type secretState struct {
	obj    corev1.Secret
	exists bool
}

// syncKeys brings the user's keys and the Secret to the record's intent. It
// returns how soon the next step (a retirement, a rotation) is due.
//
// Every step is safe to interrupt: the order is always "record the intent,
// create at the provider, store in the Secret" and "move from the Secret's
// pairs to its retired list, delete at the provider", and the cleanup at the
// start deletes what an interrupted step left, and only that (plan.go).
func (r *Reconciler) syncKeys(ctx context.Context, ak *pailv1.AccessKey, ud driver.UserDriver, pc abi.ProviderConfig, keys []abi.AccessKeyInfo, content secretContent) (time.Duration, error) {
	now := r.Now()
	gen := ak.Generation
	conds := &ak.Status.Conditions
	user := content.User
	var st secretState
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: secretName(ak)}, &st.obj)
	switch {
	case apierrors.IsNotFound(err):
		st.obj = corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ak.Namespace, Name: secretName(ak)}}
	case err != nil:
		return 0, fmt.Errorf("read Secret %s: %w", secretName(ak), err)
	default:
		st.exists = true
		if st.obj.Labels[pailv1.LabelAccessKey] != ak.Name {
			msg := fmt.Sprintf("Secret %s exists and was not written for this AccessKey; Pail never overwrites it. Set spec.secret.name to another name, or delete the Secret.", st.obj.Name)
			status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonSecretConflict, msg)
			return 0, errSecretConflict
		}
	}
	rec := keyRecord{}
	if st.exists {
		rec = readRecord(ak, &st.obj)
	}
	at := make(map[string]abi.AccessKeyInfo, len(keys))
	for _, k := range keys {
		at[k.ID] = k
	}

	// 1. Decide which keys are this AccessKey's (plan.go), delete those
	// the Secret no longer offers, and leave the rest alone.
	plan := planKeys(rec, []string{ak.Status.AccessKeyID, ak.Status.PreviousAccessKeyID}, keys, now)
	for _, d := range plan.Delete {
		if err := ud.DeleteAccessKey(ctx, pc, abi.AccessKeyArgs{User: user, ID: d.ID}); err != nil {
			return 0, err
		}
		delete(at, d.ID)
		if d.Why == whyRetired {
			r.event(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeleted, "Retire", "Deleted retired key %s of user %s", d.ID, user)
		} else {
			r.event(ak, corev1.EventTypeWarning, pailv1.ReasonLeakedKeyRemoved, "Cleanup", "Deleted key %s of user %s: an interrupted create left it, and no Secret holds its secret", d.ID, user)
		}
	}
	for _, id := range newlyForeign(rec.Warned, plan.Foreign) {
		r.event(ak, corev1.EventTypeWarning, pailv1.ReasonForeignKey, "Observe",
			"Left key %s of user %s alone: Pail did not record creating it for this AccessKey, so it may be someone else's working key; delete it at the provider if no one uses it", id, user)
	}
	lost := rec.Current
	rec = plan.Next

	// 2. A current key deleted or deactivated behind Pail's back no longer
	// works: say so (Ready=False) before a new key replaces it.
	if plan.Lost != "" {
		return 0, r.recordLoss(ctx, ak, ud, pc, &st, rec, lost.ID, plan.Lost, content)
	}

	// 3. Retire the previous key once its retention is over: deactivate it,
	// take it out of the Secret, then delete it.
	if !rec.Previous.empty() && !now.Before(rec.PreviousExpires) {
		old := rec.Previous.ID
		if at[old].Status != abi.KeyInactive {
			if err := ud.UpdateAccessKey(ctx, pc, abi.AccessKeyArgs{User: user, ID: old, Status: abi.KeyInactive}); err != nil {
				return 0, err
			}
			r.event(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeactivated, "Retire", "Deactivated previous key %s of user %s: its retention ended", old, user)
		}
		rec.Previous = keyPair{}
		rec.Retired = append(rec.Retired, old)
		if err := r.writeSecret(ctx, ak, &st, rec, content); err != nil {
			return 0, err
		}
		if err := ud.DeleteAccessKey(ctx, pc, abi.AccessKeyArgs{User: user, ID: old}); err != nil {
			return 0, err
		}
		delete(at, old)
		rec.Retired = slices.DeleteFunc(slices.Clone(rec.Retired), func(id string) bool { return id == old })
		r.event(ak, corev1.EventTypeNormal, pailv1.ReasonKeyDeleted, "Retire", "Deleted previous key %s of user %s", old, user)
		r.countRotation("retired")
	}

	// 4. Create a key when there is none, or rotate when one is due.
	due := ""
	switch {
	case rec.Current.empty():
		due = dueCreate
	case trigger(ak) != "" && trigger(ak) != rec.Trigger:
		due = dueTrigger
	case interval(ak) > 0 && !rec.Created.IsZero() && !now.Before(rec.Created.Add(interval(ak))):
		due = dueInterval
	}
	var wait time.Duration
	// The current and the previous key are both promised to apps; a third
	// would break AWS's limit.
	waiting := due != "" && !rec.Previous.empty()
	pending := due != "" && plan.PendingWait > 0
	switch {
	case pending && rec.Current.empty():
		return 0, r.waitForPending(ctx, ak, &st, rec, plan.PendingWait, content)
	case waiting:
		msg := fmt.Sprintf("A rotation (%s) waits until previous key %s retires at %s: a user holds at most two keys.", due, rec.Previous.ID, timeString(rec.PreviousExpires))
		status.True(conds, gen, pailv1.ConditionRotating, pailv1.ReasonWaitingForRetention, msg)
		wait = rec.PreviousExpires.Sub(now)
		if err := r.writeSecret(ctx, ak, &st, rec, content); err != nil {
			return 0, err
		}
	case pending:
		// The rotation waits for an interrupted one to resolve.
		wait = plan.PendingWait
		if err := r.writeSecret(ctx, ak, &st, rec, content); err != nil {
			return 0, err
		}
	case due != "":
		log.FromContext(ctx).Info("creating access key", "user", user, "due", due)
		// The intent goes into the Secret first, so that a crash before
		// the key is stored leaves a key Pail can prove is its own.
		rec.Pending = &pendingCreate{Since: now, Before: slices.Sorted(maps.Keys(at))}
		if err := r.writeSecret(ctx, ak, &st, rec, content); err != nil {
			return 0, err
		}
		nk, err := ud.CreateAccessKey(ctx, pc, abi.AccessKeyArgs{User: user})
		if err != nil {
			if notCreated(err) {
				rec.Pending = nil
				_ = r.writeSecret(ctx, ak, &st, rec, content) // else the next reconcile resolves it
			}
			return 0, err
		}
		created := nk.Created
		if created.IsZero() {
			created = now
		}
		next := rec
		next.Pending = nil
		next.Current = keyPair{ID: nk.ID, Secret: nk.Secret.Reveal()}
		next.Created = created
		next.Trigger = trigger(ak)
		if due != dueCreate {
			next.Previous = rec.Current
			next.PreviousExpires = now.Add(retention(ak))
		}
		if err := r.writeSecret(ctx, ak, &st, next, content); err != nil {
			// Nothing else holds this key's secret: delete the key now
			// rather than leave it. (After a crash here, the pending
			// create in the Secret lets step 1 do it.)
			if derr := ud.DeleteAccessKey(ctx, pc, abi.AccessKeyArgs{User: user, ID: nk.ID}); derr == nil {
				return 0, fmt.Errorf("store key %s in Secret %s (the key was deleted again): %w", nk.ID, st.obj.Name, err)
			}
			return 0, fmt.Errorf("store key %s in Secret %s: %w", nk.ID, st.obj.Name, err)
		}
		log.FromContext(ctx).Info("stored access key", "user", user, "key", nk.ID, "secret", st.obj.Name)
		at[nk.ID] = abi.AccessKeyInfo{ID: nk.ID, Status: abi.KeyActive, Created: created}
		if due == dueCreate {
			r.event(ak, corev1.EventTypeNormal, pailv1.ReasonKeyCreated, "Create", "Created key %s for user %s and stored it in Secret %s", nk.ID, user, st.obj.Name)
			r.countRotation("created")
		} else {
			r.event(ak, corev1.EventTypeNormal, pailv1.ReasonKeyRotated, "Rotate", "Rotated user %s to key %s (%s); previous key %s stays valid until %s", user, nk.ID, due, rec.Current.ID, timeString(next.PreviousExpires))
			ak.Status.LastRotatedAt = metaTime(now)
			r.countRotation("rotated")
		}
		rec = next
	default:
		// Endpoint, labels or bucket names may have changed.
		if err := r.writeSecret(ctx, ak, &st, rec, content); err != nil {
			return 0, err
		}
	}

	ak.Status.AccessKeyID = rec.Current.ID
	ak.Status.PreviousAccessKeyID = rec.Previous.ID
	ak.Status.PreviousKeyExpiresAt = nil
	ak.Status.CreatedAt = metaTime(rec.Created)
	ak.Status.NextRotationAt = nil
	ak.Status.LastUsedAt = metaTime(at[rec.Current.ID].LastUsed)
	soonest := func(t time.Time) {
		if d := t.Sub(now); d > 0 && (wait == 0 || d < wait) {
			wait = d
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
	case waiting:
		// Rotating says the rotation waits for the previous key (above).
	case !rec.Previous.empty():
		status.True(conds, gen, pailv1.ConditionRotating, pailv1.ReasonPreviousKeyActive,
			fmt.Sprintf("Previous key %s stays valid, under the *_PREVIOUS keys of Secret %s, until %s.", rec.Previous.ID, st.obj.Name, timeString(rec.PreviousExpires)))
	case ak.Status.NextRotationAt != nil:
		status.False(conds, gen, pailv1.ConditionRotating, pailv1.ReasonRotationScheduled, fmt.Sprintf("Next rotation at %s.", ak.Status.NextRotationAt.UTC().Format(time.RFC3339)))
	default:
		status.False(conds, gen, pailv1.ConditionRotating, pailv1.ReasonRotationScheduled, "No rotation is scheduled; set spec.rotation.interval or change spec.rotation.trigger to rotate.")
	}
	if wait > 0 && wait < time.Second {
		wait = time.Second
	}
	return wait, nil
}

// writeSecret stores rec in the Secret, creating it when absent, and writes
// nothing when it already holds exactly that. An update carries the
// resourceVersion read at the start, so a concurrent change fails it.
func (r *Reconciler) writeSecret(ctx context.Context, ak *pailv1.AccessKey, st *secretState, rec keyRecord, content secretContent) error {
	want := st.obj.DeepCopy()
	render(ak, want, rec, content)
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
