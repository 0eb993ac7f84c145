package bucketpolicy

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/sdk/abi"
)

// callContext attaches the Provider's network policy and the reconcile's
// id to a driver call.
func callContext(ctx context.Context, s *state) context.Context {
	return s.conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
}

// apply writes the document when the plan says the bucket holds another.
func (r *Reconciler) apply(ctx context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	if !s.plan.write {
		return managed.Next, nil
	}
	args := abi.BucketArgs{Name: s.b.Spec.BucketName, Region: s.b.Status.Region, Config: abi.BucketConfig{Policy: &abi.Policy{Document: s.plan.doc}}}
	if err := s.conn.Driver.ApplyBucket(callContext(ctx, s), s.conn.Config, args); err != nil {
		return managed.Stop(0), r.applyFailed(bp, s, err)
	}
	bp.Status.LastAppliedDiff = s.plan.diff
	r.Recorder.Eventf(bp, nil, corev1.EventTypeNormal, pailv1.ReasonApplied, "Apply", "Applied the policy to bucket %s: %s", s.b.Spec.BucketName, strings.Join(s.plan.diff, "; "))
	return managed.Next, nil
}

// applyFailed records a failed write. A document the backend refuses
// (InvalidArgument: MinIO's MalformedPolicy; Unimplemented: a construct
// the driver knows its backend lacks) is refused again until the spec
// changes: terminal, and not sent again for this generation, whatever
// wakes the reconciler (a sibling's or the Bucket's status, a resync).
func (r *Reconciler) applyFailed(bp *pailv1.BucketPolicy, s *state, err error) error {
	name := s.b.Spec.BucketName
	switch abi.CodeOf(err) {
	case abi.CodeInvalidArgument, abi.CodeUnimplemented:
		msg := fmt.Sprintf("The backend of bucket %s refused the policy, so nothing was written: %s. Change spec.policy to leave out what the backend lacks; Pail sends it again when the spec changes.",
			name, strings.TrimRight(abi.MessageOf(err), ". "))
		r.refusals.set(client.ObjectKeyFromObject(bp), refusal{generation: bp.Generation, target: s.target, message: msg})
		r.backendRefused(bp, s, msg)
		return managed.Spec(err)
	}
	s.verdict = &managed.Verdict{Reason: pailv1.ReasonBackendError, SyncedMessage: err.Error(),
		Message: fmt.Sprintf("Could not write the policy to bucket %s: %s.", name, strings.TrimRight(err.Error(), ". "))}
	return managed.Backend(err)
}

// backendRefused stops on a document the backend refused, with an event
// when the Synced condition does not say so yet.
func (r *Reconciler) backendRefused(bp *pailv1.BucketPolicy, s *state, msg string) {
	if managed.Transition(bp.Status.Conditions, pailv1.ConditionSynced, pailv1.ReasonBackendRefusedPolicy, msg) {
		r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, pailv1.ReasonBackendRefusedPolicy, "Apply", "%s", msg)
	}
	s.verdict = managed.NotSynced(pailv1.ReasonBackendRefusedPolicy, msg)
}

// ensureFinalizer adds the finalizer before the first write, so that the
// document is removed from the bucket when the BucketPolicy goes.
func (r *Reconciler) ensureFinalizer(ctx context.Context, bp *pailv1.BucketPolicy, _ *state) (managed.Step, error) {
	if controllerutil.ContainsFinalizer(bp, pailv1.BucketPolicyFinalizer) {
		return managed.Next, nil
	}
	if err := status.PatchMetadata(ctx, r.Client, bp, func(obj *pailv1.BucketPolicy) {
		controllerutil.AddFinalizer(obj, pailv1.BucketPolicyFinalizer)
	}); err != nil {
		return managed.Stop(0), fmt.Errorf("add finalizer: %w", err)
	}
	return managed.Next, nil
}
