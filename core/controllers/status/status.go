// Package status holds the condition, status-write and metadata-patch
// helpers every controller shares, so conditions never flap, status is
// written only when it changed, and a metadata patch never wipes the status
// being built.
package status

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// Set sets a condition with the object's generation. meta.SetStatusCondition
// keeps lastTransitionTime when only the message changes.
func Set(conds *[]metav1.Condition, gen int64, typ string, st metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: st, Reason: reason, Message: msg, ObservedGeneration: gen,
	})
}

// True sets a True condition; True, False and Unknown are shorthands for Set.
func True(conds *[]metav1.Condition, gen int64, typ, reason, msg string) {
	Set(conds, gen, typ, metav1.ConditionTrue, reason, msg)
}

// False sets a False condition.
func False(conds *[]metav1.Condition, gen int64, typ, reason, msg string) {
	Set(conds, gen, typ, metav1.ConditionFalse, reason, msg)
}

// Unknown sets an Unknown condition.
func Unknown(conds *[]metav1.Condition, gen int64, typ, reason, msg string) {
	Set(conds, gen, typ, metav1.ConditionUnknown, reason, msg)
}

// Changed reports whether the condition typ differs between before and after
// in status, reason or message.
func Changed(before, after []metav1.Condition, typ string) bool {
	b, a := meta.FindStatusCondition(before, typ), meta.FindStatusCondition(after, typ)
	if b == nil || a == nil {
		return b != a
	}
	return b.Status != a.Status || b.Reason != a.Reason || b.Message != a.Message
}

// Patch writes obj's status when it differs from before's. The merge patch
// carries obj's resourceVersion: the one the reconcile read, or the one its
// own metadata patch returned (PatchMetadata carries it back), so the
// reconcile's own writes never conflict with each other. A status computed
// from an object that has changed since (a stale cache, or a stale process
// still running) is refused with a Conflict instead of overwriting a newer
// status; Stale turns that into a quiet requeue.
func Patch(ctx context.Context, c client.Client, before, obj client.Object, beforeStatus, afterStatus any) error {
	if equality.Semantic.DeepEqual(beforeStatus, afterStatus) {
		return nil
	}
	base, ok := before.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("patch status: cannot copy %T", before)
	}
	base.SetResourceVersion(obj.GetResourceVersion())
	return c.Status().Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// StaleRequeue is how soon a reconcile whose status write was refused as
// stale runs again: by then the cache has seen the newer object.
const StaleRequeue = 200 * time.Millisecond

// Stale reports whether err is a write refused because the object changed
// since the reconcile read it, and the result to return instead: a requeue
// without an error. The next reconcile reads the newer object; logging an
// error and backing off would only slow it down.
func Stale(err error) (ctrl.Result, bool) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: StaleRequeue}, true
	}
	return ctrl.Result{}, false
}

// Backoff returns the delay before retry n (1-based): base doubling up to most.
func Backoff(n int32, base, most time.Duration) time.Duration {
	d := base
	for i := int32(1); i < n && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// PatchMetadata applies mutate to a copy of obj and merge-patches the copy,
// then carries its annotations, finalizers and resourceVersion back into obj.
// Patching obj itself would overwrite the status a reconcile is building
// with the stored one from the response.
func PatchMetadata[T client.Object](ctx context.Context, c client.Client, obj T, mutate func(T)) error {
	before, ok1 := obj.DeepCopyObject().(T)
	cp, ok2 := obj.DeepCopyObject().(T)
	if !ok1 || !ok2 {
		return fmt.Errorf("patch metadata: cannot copy %T", obj)
	}
	mutate(cp)
	if err := c.Patch(ctx, cp, client.MergeFrom(before)); err != nil {
		return err
	}
	obj.SetAnnotations(cp.GetAnnotations())
	obj.SetFinalizers(cp.GetFinalizers())
	obj.SetResourceVersion(cp.GetResourceVersion())
	return nil
}

// Deleting passes update events of objects being deleted, to combine with a
// generation predicate that would otherwise drop them.
func Deleting() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return !e.ObjectNew.GetDeletionTimestamp().IsZero() }}
}

// Summarize joins the first three messages for a condition or event and
// counts the rest; more is appended to that count (say where the full
// list is).
func Summarize(msgs []string, more string) string {
	if len(msgs) <= 3 {
		return strings.Join(msgs, "; ")
	}
	return strings.Join(msgs[:3], "; ") + fmt.Sprintf("; and %d more%s", len(msgs)-3, more)
}

// Sentence ends msg with exactly one full stop, so a message that wraps an
// error already ending in "." (driver and connect messages do) never shows
// "..". Trailing spaces and stops are folded into one; a message ending in
// "?" or "!" keeps it. An empty msg stays empty.
func Sentence(msg string) string {
	msg = strings.TrimRight(msg, " \t\n")
	trimmed := strings.TrimRight(msg, ".")
	if trimmed == "" {
		return ""
	}
	if strings.HasSuffix(trimmed, "?") || strings.HasSuffix(trimmed, "!") {
		return trimmed
	}
	return trimmed + "."
}
