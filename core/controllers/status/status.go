// Package status holds the condition and status-write helpers every
// controller shares, so conditions never flap and status is written only
// when it changed.
package status

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Set sets a condition with the object's generation. meta.SetStatusCondition
// keeps lastTransitionTime when only the message changes.
func Set(conds *[]metav1.Condition, gen int64, typ string, st metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: st, Reason: reason, Message: msg, ObservedGeneration: gen,
	})
}

// True, False and Unknown are shorthands for Set.
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

// Patch writes obj's status when it differs from before's, with a merge
// patch that needs no resourceVersion and so cannot conflict with a stale
// cache.
func Patch(ctx context.Context, c client.Client, before, obj client.Object, beforeStatus, afterStatus any) error {
	if equality.Semantic.DeepEqual(beforeStatus, afterStatus) {
		return nil
	}
	return c.Status().Patch(ctx, obj, client.MergeFrom(before))
}

// Backoff returns the delay before retry n (1-based): base doubling up to max.
func Backoff(n int32, base, max time.Duration) time.Duration {
	d := base
	for i := int32(1); i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}
