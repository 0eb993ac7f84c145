package bucket

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/guardrail"
	"github.com/pail-dev/pail/sdk/abi"
)

// owned reports whether Pail created or adopted the bucket.
func owned(b *pailv1.Bucket) bool {
	return b.Status.Ownership != "" || b.Annotations[pailv1.AnnotationCreateIntent] != ""
}

// syncPhases are the Bucket's sync, in order.
func (r *Reconciler) syncPhases() []managed.Phase[*pailv1.Bucket, state] {
	return []managed.Phase[*pailv1.Bucket, state]{
		{Name: "guardrails", Run: r.checkGuardrails},
		{Name: "provider", Run: r.resolveProvider},
		{Name: "spec", Run: r.readSpec},
		{Name: "policy", Run: r.checkPolicy},
		{Name: "ownership", Run: r.checkOwnership},
		{Name: "observe", Run: r.observe},
		{Name: "mark", Run: r.readMark},
		{Name: "plan", Run: r.planSync},
		{Name: "apply", Run: r.applyPlan},
		{Name: "done", Run: r.synced},
	}
}

// checkGuardrails refuses, before anything is read or written, a Bucket
// the Guardrails of its namespace forbid (one admitted before a Guardrail
// or the namespace's labels changed). The Guardrail and namespace watches
// bring it back.
func (r *Reconciler) checkGuardrails(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	rules, err := guardrails.Rules(ctx, r.Client, b.Namespace)
	if err != nil {
		return managed.Stop(0), err
	}
	vs, err := guardrails.Bucket(ctx, r.Client, rules, b, false)
	if err != nil {
		return managed.Stop(0), err
	}
	if len(vs) == 0 {
		return managed.Next, nil
	}
	reason, msg := guardrail.Reason(vs), guardrail.Message(vs)
	if managed.Transition(b.Status.Conditions, pailv1.ConditionReady, reason, msg) {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, reason, "Check", "%s", msg)
	}
	if reason == pailv1.ReasonProviderNotAllowed {
		s.notReady = &connect.NotReady{Reason: reason, Message: msg}
	} else {
		s.verdict = managed.NotSynced(reason, msg)
	}
	return managed.Stop(0), nil
}

// resolveProvider finds the Bucket's Provider or ClusterProvider once the
// namespace may use it and it is Ready. When it is not, the watches on
// both and on Namespaces bring the Bucket back.
func (r *Reconciler) resolveProvider(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	p, conn, nr, err := r.Connector.Ready(ctx, r.Client, b.Namespace, b.Spec.ProviderRef, "Bucket")
	s.notReady = nr
	if err != nil || nr != nil {
		return managed.Stop(0), err
	}
	s.p, s.conn, s.cur = p, conn, connect.LocationOf(p)
	s.region = b.Spec.Region
	if s.region == "" {
		s.region = p.ProviderSpec().Region
	}
	return managed.Next, nil
}

// readSpec turns the spec into the desired config and splits off, by name,
// the features the driver does not declare; everything else is applied.
func (r *Reconciler) readSpec(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	desired, err := bucketdiff.Desired(&b.Spec)
	if err != nil {
		s.verdict = managed.NotSynced(pailv1.ReasonInvalidSpec, status.Sentence(fmt.Sprintf("The spec cannot be applied: %v", err)))
		return managed.Stop(0), managed.Spec(err)
	}
	s.desired = desired
	s.managed, s.unsupported = supported(desired, s.conn.Driver.Describe())
	s.observeOnly = b.Spec.ManagementPolicy == pailv1.ManagementObserveOnly
	// ObserveOnly never takes ownership, so it neither reads nor writes
	// the mark.
	if !s.observeOnly {
		if s.owner, s.markable, err = r.markOwner(ctx, b, s.conn.Driver.Describe()); err != nil {
			return managed.Stop(0), err
		}
	}
	return managed.Next, nil
}

// markOwner is b as its ownership mark names it, and whether buckets of
// this driver can hold the mark: it is a bucket tag, so the driver must
// declare tagging. Without a ClusterID (a Reconciler built without the
// operator) nothing is marked.
func (r *Reconciler) markOwner(ctx context.Context, b *pailv1.Bucket, info abi.DriverInfo) (bucketdiff.Owner, bool, error) {
	if r.ClusterID == nil || !info.Supports(abi.SubTagging) {
		return bucketdiff.Owner{}, false, nil
	}
	id, err := r.ClusterID(ctx)
	if err != nil {
		return bucketdiff.Owner{}, false, fmt.Errorf("ownership mark: %w", err)
	}
	return bucketdiff.Owner{Cluster: id, Namespace: b.Namespace, Name: b.Name, UID: string(b.UID)}, true, nil
}

// checkOwnership: where the Provider points now must be where the ownership
// was established, and no other Bucket may manage the same bucket there;
// both are checked before anything is read, written or adopted.
func (r *Reconciler) checkOwnership(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	rec, moved, why := movedFrom(b, s.cur)
	s.rec = rec
	if moved {
		return r.refuse(b, s, pailv1.ReasonLocationChanged, locationChangedMessage(b, rec, s.cur, why)), nil
	}
	if s.observeOnly {
		return managed.Next, nil
	}
	other, err := r.otherManager(ctx, b, s.cur)
	if err != nil || other == nil {
		return managed.Next, err
	}
	if s.markable {
		// Where the backend holds marks, the mark decides (readMark).
		s.other = other
		return managed.Next, nil
	}
	return r.refuse(b, s, pailv1.ReasonAlreadyManaged, alreadyManagedMessage(b, other, s.cur)), nil
}

// refuse stops the sync with a Conflict, with one event on the transition.
func (r *Reconciler) refuse(b *pailv1.Bucket, s *state, reason, msg string) managed.Step {
	if managed.Transition(b.Status.Conditions, pailv1.ConditionConflict, reason, msg) {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, reason, "Observe", "%s", msg)
	}
	s.verdict = managed.Refusal(reason, msg)
	return managed.Stop(r.ResyncPeriod)
}

// observe reads the bucket's managed sub-resources.
func (r *Reconciler) observe(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	// The mark is read with the tags even when the spec sets none; a
	// refusal to read it then concerns the mark alone, not the spec.
	markOnly := s.markable && !slices.Contains(s.managed, abi.SubTagging)
	args := abi.BucketArgs{Name: b.Spec.BucketName, Region: s.region, Observe: s.managed}
	if markOnly {
		args.Observe = append(slices.Clone(s.managed), abi.SubTagging)
	}
	obs, err := s.conn.Driver.ObserveBucket(r.callContext(ctx, s), s.conn.Config, args)
	if err != nil {
		return managed.Stop(0), r.backendError(b, s, "observe", err)
	}
	s.obs = obs
	maps.Copy(s.unsupported, obs.Unsupported)
	if _, bad := obs.Unsupported[abi.SubTagging]; bad || (obs.Exists && obs.Config.Tagging == nil) {
		s.markable = false
		if markOnly {
			delete(s.unsupported, abi.SubTagging)
		}
	}
	s.managed = slices.DeleteFunc(s.managed, func(n string) bool { _, bad := s.unsupported[n]; return bad })
	s.apply = bucketdiff.Only(s.desired, s.managed)
	// No "last synced" timestamp in status: it would turn every in-sync
	// resync into a status write.
	b.Status.Endpoint = s.p.ProviderSpec().Endpoint
	b.Status.Region = s.region
	if owned(b) {
		// The record made with the ownership (or, after an upgrade, the
		// endpoint last synced at), with an account learnt since.
		b.Status.Location = new(connect.Backfill(s.rec, s.cur))
	}
	return managed.Next, nil
}

// readMark reads the ownership mark the bucket carries. Where the location
// index named another Bucket of this cluster as the manager (checkOwnership),
// the mark decides: the index's rule (the earlier-created owner) only
// guesses, after two Buckets raced to create the bucket, which one Pail
// meant, and it rests on annotations a user can write; the mark is on the
// bucket. This Bucket's own mark overrides the index; another's is refused
// in decide, naming its owner; no mark leaves the index's answer.
func (r *Reconciler) readMark(_ context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	s.claim, s.holder = bucketdiff.ClaimOf(observedTags(s), s.owner)
	if s.other == nil || s.claim == bucketdiff.Mine || s.claim == bucketdiff.Other {
		return managed.Next, nil
	}
	return r.refuse(b, s, pailv1.ReasonAlreadyManaged, alreadyManagedMessage(b, s.other, s.cur)), nil
}

// planSync decides, and reports a refusal with its event on the transition.
func (r *Reconciler) planSync(_ context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	s.plan = decide(b, s)
	v := s.plan.refuse
	switch {
	case v == nil:
		return managed.Next, nil
	case v.Reason == pailv1.ReasonBucketExists:
		if c := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionConflict); c == nil || c.Status != metav1.ConditionTrue {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonBucketExists, "Observe", "%s", v.Message)
		}
	case v.Reason == pailv1.ReasonAlreadyManaged:
		if managed.Transition(b.Status.Conditions, pailv1.ConditionConflict, v.Reason, v.Message) {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, v.Reason, "Observe", "%s", v.Message)
		}
	case v.Reason == pailv1.ReasonDrift:
		if !slices.Equal(b.Status.Drift, s.plan.fields) {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonDrift, "Observe", "%s", v.Message)
		}
		b.Status.Drift = s.plan.fields
	}
	s.verdict = v
	return managed.Stop(r.ResyncPeriod), nil
}

// synced ends a sync that went through: the features not applied are named
// in status, with one event when that list changes.
func (r *Reconciler) synced(_ context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	s.synced = true
	next := r.ResyncPeriod
	if s.policy != nil && s.policy.Unavailable() {
		next = packsRetry
	}
	if len(s.unsupported) == 0 {
		b.Status.Unsupported = nil
		return managed.Stop(next), nil
	}
	msg := unsupportedMessage(s.unsupported)
	if c := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionUnsupported); c == nil || c.Status != metav1.ConditionTrue || c.Message != msg {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonUnsupported, "Observe", "%s", msg)
	}
	b.Status.Unsupported = unsupportedNames(s.unsupported)
	return managed.Stop(next), nil
}

// backendError records a failed driver call, with one event per
// transition, and classifies it for the skeleton's retry.
func (r *Reconciler) backendError(b *pailv1.Bucket, s *state, what string, err error) error {
	msg := status.Sentence(fmt.Sprintf("Could not %s bucket %s: %v", what, b.Spec.BucketName, err))
	unimplemented := abi.CodeOf(err) == abi.CodeUnimplemented
	if !unimplemented && managed.Transition(b.Status.Conditions, pailv1.ConditionReady, pailv1.ReasonBackendError, "") {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonBackendError, backendAction(what), "%s", msg)
	}
	s.backend = &backendFailure{msg: msg}
	if unimplemented {
		// The driver refused part of the spec it cannot honour faithfully;
		// retrying cannot help until the spec changes.
		s.backend.unsupported = fmt.Sprintf("Not applied, because the provider cannot do it: %s. Remove it from the spec.", abi.MessageOf(err))
	}
	return managed.Backend(fmt.Errorf("%s bucket %s: %w", what, b.Spec.BucketName, err))
}

// backendAction names the event action for a failed driver call.
func backendAction(what string) string {
	switch what {
	case "create":
		return "Create"
	case "delete":
		return "Delete"
	case "observe":
		return "Observe"
	}
	return "Update"
}
