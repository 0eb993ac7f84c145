package status

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// UnreadableMessage is the condition message for an object whose stored
// spec the operator cannot decode (see pailv1's DecodeError).
func UnreadableMessage(kind, decodeErr string) string {
	return fmt.Sprintf("The stored spec of this %s cannot be read (%s), so Pail changes nothing for it; correct the field the error names (the CRD now refuses such values), and the %s is reconciled again.", kind, decodeErr, kind)
}

// Unreadable refuses an object whose stored spec could not be decoded: the
// in-memory spec is empty, so nothing may act on it. It sets Ready=False
// with reason InvalidSpec, records a Warning event when the message is new,
// and writes only the status (the empty spec is never written back).
func Unreadable(ctx context.Context, c client.Client, rec events.EventRecorder, obj client.Object, conds *[]metav1.Condition, observed *int64, kind, decodeErr string) error {
	before, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("copy %T", obj)
	}
	msg := UnreadableMessage(kind, decodeErr)
	if cur := meta.FindStatusCondition(*conds, pailv1.ConditionReady); cur == nil || cur.Message != msg {
		rec.Eventf(obj, nil, corev1.EventTypeWarning, pailv1.ReasonInvalidSpec, "Validate", "%s", msg)
	}
	beforeConds := append([]metav1.Condition(nil), *conds...)
	beforeGen := *observed
	*observed = obj.GetGeneration()
	False(conds, obj.GetGeneration(), pailv1.ConditionReady, pailv1.ReasonInvalidSpec, msg)
	if beforeGen == *observed && !Changed(beforeConds, *conds, pailv1.ConditionReady) {
		return nil
	}
	return c.Status().Patch(ctx, obj, client.MergeFrom(before))
}
