package bucketpolicy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/guardrail"
	"github.com/pail-dev/pail/sdk/abi"
)

// waitRetry is how soon a reconcile waiting on its Provider, or on packs
// that cannot be evaluated, looks again: neither has a watch that fires.
const waitRetry = 30 * time.Second

// syncPhases are the BucketPolicy's sync, in order. The order is the
// precedence: an inline Bucket.spec.policy wins over every BucketPolicy;
// the packs are asked before the conflict check, since a policy they refuse
// governs nothing (governing) and must not block a valid one; only the
// governing policy of a Bucket in sync reaches the backend.
func (r *Reconciler) syncPhases() []managed.Phase[*pailv1.BucketPolicy, state] {
	return []managed.Phase[*pailv1.BucketPolicy, state]{
		{Name: "guardrails", Run: r.checkGuardrails},
		{Name: "bucket", Run: r.readBucket},
		{Name: "inline", Run: r.inlinePolicy},
		{Name: "provider", Run: r.readProvider},
		{Name: "validate", Run: r.validate},
		{Name: "conflict", Run: r.checkConflict},
		{Name: "bucket ready", Run: r.bucketInSync},
		{Name: "refused", Run: r.refusedBefore},
		{Name: "connect", Run: r.connect},
		{Name: "supported", Run: supportsPolicy},
		{Name: "finalizer", Run: r.ensureFinalizer},
		{Name: "observe", Run: r.observe},
		{Name: "plan", Run: planSync},
		{Name: "apply", Run: r.apply},
		{Name: "done", Run: r.done},
	}
}

// checkGuardrails refuses, before anything is evaluated or written, a
// BucketPolicy the Guardrails of its namespace forbid (a public document),
// and keeps the rules for validate. enforcementMode Warn where a Guardrail
// forces Enforce is no refusal here: validate enforces it, and PolicyValid
// says so. The Guardrail and namespace watches bring it back.
func (r *Reconciler) checkGuardrails(ctx context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	rules, err := guardrails.Rules(ctx, r.Client, bp.Namespace)
	if err != nil {
		return managed.Stop(0), err
	}
	s.rules = rules
	vs := slices.DeleteFunc(rules.CheckBucketPolicy(&bp.Spec), func(v guardrail.Violation) bool { return v.Field == guardrail.FieldEnforcementMode })
	if len(vs) == 0 {
		return managed.Next, nil
	}
	reason, msg := guardrail.Reason(vs), guardrail.Message(vs)
	if managed.Transition(bp.Status.Conditions, pailv1.ConditionReady, reason, msg) {
		r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, reason, "Validate", "%s", msg)
	}
	s.verdict = managed.NotSynced(reason, msg)
	return managed.Stop(0), nil
}

// getBucket reads the Bucket bp names.
func (r *Reconciler) getBucket(ctx context.Context, bp *pailv1.BucketPolicy) (*pailv1.Bucket, error) {
	var b pailv1.Bucket
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: bp.Namespace, Name: bp.Spec.BucketRef.Name}, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// readBucket finds the Bucket; until it exists and can be read the policy
// waits, and the Bucket watch brings it back.
func (r *Reconciler) readBucket(ctx context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	b, err := r.getBucket(ctx, bp)
	switch {
	case apierrors.IsNotFound(err):
		s.verdict = managed.NotReady(pailv1.ReasonBucketNotReady, fmt.Sprintf("Bucket %s does not exist in namespace %s; the policy is applied once it does.", bp.Spec.BucketRef.Name, bp.Namespace))
		return managed.Stop(0), nil
	case err != nil:
		return managed.Stop(0), err
	case b.DecodeError() != "":
		s.verdict = managed.NotReady(pailv1.ReasonBucketNotReady, fmt.Sprintf("Bucket %s cannot be read (its InvalidSpec condition says why); the policy is applied once it can.", b.Name))
		return managed.Stop(0), nil
	}
	s.b = b
	return managed.Next, nil
}

// inlinePolicy: an inline Bucket.spec.policy takes precedence over every
// BucketPolicy.
func (r *Reconciler) inlinePolicy(_ context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	if s.b.Spec.Policy == nil {
		return managed.Next, nil
	}
	r.conflict(bp, s, pailv1.ReasonInlinePolicy, fmt.Sprintf("Bucket %s has an inline spec.policy, which takes precedence; remove it from the Bucket to let this BucketPolicy apply.", s.b.Name))
	return managed.Stop(0), nil
}

// readProvider reads the Bucket's Provider or ClusterProvider for the
// packs' input. A failed read does not stop the sync here: the packs still
// judge the document (with an unknown Provider), and only a policy about to
// be applied needs the Provider (bucketInSync).
func (r *Reconciler) readProvider(ctx context.Context, _ *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	s.p, s.pErr = connect.Lookup(ctx, r.Client, s.b.Namespace, s.b.Spec.ProviderRef)
	return managed.Next, nil
}

// validate checks the document with the packs and records their verdict
// (Judge, the rule a Bucket's inline policy is judged by too); a document
// they deny (in Enforce mode) is not applied.
func (r *Reconciler) validate(ctx context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	start := time.Now()
	// The packs the Guardrails require run whatever spec.packs says.
	withRequired := *bp
	withRequired.Spec.Packs = s.rules.Packs(bp.Spec.Packs)
	doc, res, err := check(ctx, r.Engine, &withRequired, s.b, s.p)
	s.doc = doc
	r.Metrics.ObservePolicyEvaluation(time.Since(start), len(res.Deny), len(res.Warn))
	enforce, forced := s.rules.Enforce(bp.Spec.EnforcementMode)
	f := Judge(res, err, enforce).ForcedBy(forced)
	if f.NewsIn(bp.Status.Conditions) {
		r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, f.Reason, "Validate", "%s", f.Message)
	}
	switch {
	case f.Terminal:
		s.invalid(f.Reason, f.Message)
		return managed.Stop(0), managed.Spec(errors.New(f.Message))
	case f.Unavailable():
		s.invalid(f.Reason, f.Message)
		return managed.Stop(waitRetry), nil
	}
	bp.Status.Violations, bp.Status.Warnings = f.Violations, f.Warnings
	if !f.Applies() {
		s.invalid(f.Reason, f.Message)
		return managed.Stop(0), nil
	}
	s.validity = &validity{f.Status, f.Reason, f.Message}
	return managed.Next, nil
}

// invalid records a document that must not be applied: PolicyValid and
// Ready say why.
func (s *state) invalid(reason, msg string) {
	s.validity = &validity{metav1.ConditionFalse, reason, msg}
	s.verdict = managed.NotReady(reason, msg)
}

// checkConflict: when another policy governs the bucket, the later policy
// waits and the earlier one stays applied.
func (r *Reconciler) checkConflict(ctx context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	win, err := r.winner(ctx, s.current(bp))
	if err != nil {
		return managed.Stop(0), err
	}
	// "" when bp too is out: the backend refused its document (its own
	// refusal then decides, in refusedBefore), and nothing else governs.
	if win != "" && win != bp.Name {
		r.conflict(bp, s, pailv1.ReasonOtherBucketPolicy, fmt.Sprintf("BucketPolicy %s already governs bucket %s; this one is not applied. Merge the statements into %s, or delete it.", win, s.b.Name, win))
		return managed.Stop(0), nil
	}
	s.governs = true
	return managed.Next, nil
}

// conflict stops the sync with a Conflict, with one event on the transition.
func (r *Reconciler) conflict(bp *pailv1.BucketPolicy, s *state, reason, msg string) {
	c := meta.FindStatusCondition(bp.Status.Conditions, pailv1.ConditionConflict)
	if c == nil || c.Status != metav1.ConditionTrue || c.Message != msg {
		r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, reason, "Validate", "%s", msg)
	}
	s.verdict = managed.Conflict(reason, msg)
}

// bucketInSync waits for the Bucket to be in sync and owned: before, the
// bucket may not exist, or not be Pail's to write to.
func (r *Reconciler) bucketInSync(_ context.Context, _ *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	if !meta.IsStatusConditionTrue(s.b.Status.Conditions, pailv1.ConditionSynced) || s.b.Status.Ownership == "" {
		s.verdict = managed.NotReady(pailv1.ReasonBucketNotReady, fmt.Sprintf("Bucket %s is not in sync yet; the policy is applied once it is.", s.b.Name))
		return managed.Stop(0), nil
	}
	if s.pErr != nil {
		return managed.Stop(0), s.pErr
	}
	return managed.Next, nil
}

// refusedBefore: a document the backend refused at this generation, sent to
// the same backend, would be refused again (sendAgain); it is not sent.
func (r *Reconciler) refusedBefore(_ context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	s.target = refusalTarget(s.p, s.b.Spec.BucketName)
	if prev, ok := r.refusals.get(client.ObjectKeyFromObject(bp)); ok && !sendAgain(prev, bp.Generation, s.target) {
		r.backendRefused(bp, s, prev.message)
		return managed.Stop(0), nil
	}
	return managed.Next, nil
}

// connect gets the Provider's connection, once the Bucket's namespace may
// use it (a ClusterProvider's allowedNamespaces, checked as for the Bucket
// itself). While its driver loads the error goes to the skeleton, which
// keeps the status as it is.
func (r *Reconciler) connect(ctx context.Context, _ *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	nr, err := connect.Admitted(ctx, r.Client, s.b.Namespace, s.p, "BucketPolicy")
	if err != nil {
		return managed.Stop(0), err
	}
	if nr != nil {
		s.verdict = managed.NotReady(nr.Reason, nr.Message)
		return managed.Stop(waitRetry), nil
	}
	conn, err := r.Connector.Get(ctx, s.p)
	if _, wait := connect.Waiting(err); wait {
		return managed.Stop(0), err
	}
	if err != nil {
		s.verdict = managed.NotReady(pailv1.ReasonProviderNotReady, err.Error())
		return managed.Stop(waitRetry), nil
	}
	s.conn = conn
	return managed.Next, nil
}

// supportsPolicy stops when the driver declares no bucket policies.
func supportsPolicy(_ context.Context, _ *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	if s.conn.Driver.Describe().Supports(abi.SubPolicy) {
		return managed.Next, nil
	}
	msg := fmt.Sprintf("Driver %s cannot manage bucket policies.", s.p.ProviderSpec().Driver)
	s.verdict = &managed.Verdict{Reason: pailv1.ReasonUnsupported, Message: msg, Unsupported: true}
	return managed.Stop(0), nil
}

// observe reads the document the bucket holds.
func (r *Reconciler) observe(ctx context.Context, _ *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	args := abi.BucketArgs{Name: s.b.Spec.BucketName, Region: s.b.Status.Region, Observe: []string{abi.SubPolicy}}
	obs, err := s.conn.Driver.ObserveBucket(callContext(ctx, s), s.conn.Config, args)
	if err != nil {
		s.verdict = managed.NotSynced(pailv1.ReasonBackendError, err.Error())
		return managed.Stop(0), managed.Backend(err)
	}
	if obs.Config.Policy != nil {
		s.have = obs.Config.Policy.Document
	}
	return managed.Next, nil
}

// planSync decides what to write.
func planSync(_ context.Context, _ *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	s.plan = decide(s.doc, s.have)
	return managed.Next, nil
}

// done ends a sync that went through: the bucket holds the document.
func (r *Reconciler) done(_ context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	r.refusals.forget(client.ObjectKeyFromObject(bp))
	bp.Status.AppliedHash = s.plan.hash
	s.synced = true
	return managed.Stop(r.ResyncPeriod), nil
}
