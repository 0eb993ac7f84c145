package accesskey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/guardrail"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// How soon a sync waiting for something it cannot watch looks again.
const (
	userConflictRetry = 30 * time.Second
	bucketRefRetry    = 15 * time.Second
	// grantRetry: a grant refused for another namespace's Bucket is looked
	// at again, since that Bucket may go (it has no watch here).
	grantRetry  = time.Minute
	packsRetry  = 30 * time.Second
	secretRetry = 30 * time.Second
)

// syncPhases are the AccessKey's sync, in order: everything is checked
// (spec, Provider, location, the user's owner, the driver, the policy)
// before anything is written, then the user, then the keys (keys.go).
func (r *Reconciler) syncPhases() []managed.Phase[*pailv1.AccessKey, state] {
	return []managed.Phase[*pailv1.AccessKey, state]{
		{Name: "spec", Run: r.readSpec},
		{Name: "guardrails", Run: r.checkGuardrails},
		{Name: "provider", Run: r.resolveProvider},
		{Name: "location", Run: r.checkLocation},
		{Name: "owner", Run: r.checkOwner},
		{Name: "driver", Run: checkDriver},
		{Name: "policy", Run: r.checkPolicy},
		{Name: "features", Run: checkFeatures},
		{Name: "record", Run: r.recordIntent},
		{Name: "user", Run: r.syncUser},
		{Name: "secret", Run: r.readSecret},
		{Name: "cleanup", Run: r.cleanupKeys},
		{Name: "lost", Run: r.recordLoss},
		{Name: "retire", Run: r.retirePrevious},
		{Name: "rotate", Run: r.rotate},
		{Name: "status", Run: keyStatus},
		{Name: "done", Run: r.synced},
	}
}

// readSpec names the user and the Secret in status and refuses a spec the
// apiserver should have refused. A fix changes the generation, which
// reconciles again.
func (r *Reconciler) readSpec(_ context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	ak.Status.UserName = s.user
	ak.Status.SecretName = secretName(ak)
	msg := specError(ak)
	if msg == "" {
		return managed.Next, nil
	}
	if managed.Transition(ak.Status.Conditions, pailv1.ConditionReady, pailv1.ReasonInvalidSpec, msg) {
		r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonInvalidSpec, "Validate", "%s", msg)
	}
	s.verdict = managed.NotReady(pailv1.ReasonInvalidSpec, msg)
	return managed.Stop(0), nil
}

// checkGuardrails refuses, before the Provider is used, an AccessKey the
// Guardrails of its namespace forbid (its Provider, or its place past
// maxAccessKeys), and keeps the rules for the policy check. The Guardrail
// and namespace watches bring it back.
func (r *Reconciler) checkGuardrails(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	rules, err := guardrails.Rules(ctx, r.Client, ak.Namespace)
	if err != nil {
		return managed.Stop(0), err
	}
	s.rules = rules
	vs, err := guardrails.AccessKey(ctx, r.Client, rules, ak, false)
	if err != nil {
		return managed.Stop(0), err
	}
	if len(vs) == 0 {
		return managed.Next, nil
	}
	reason, msg := guardrail.Reason(vs), guardrail.Message(vs)
	if managed.Transition(ak.Status.Conditions, pailv1.ConditionReady, reason, msg) {
		r.eventf(ak, corev1.EventTypeWarning, reason, "Validate", "%s", msg)
	}
	if reason == pailv1.ReasonProviderNotAllowed {
		s.notReady = &connect.NotReady{Reason: reason, Message: msg}
	} else {
		s.verdict = managed.NotSynced(reason, msg)
	}
	return managed.Stop(0), nil
}

// resolveProvider finds the AccessKey's Provider or ClusterProvider once
// the namespace may use it and it is Ready. When it is not, the watches on
// both and on Namespaces bring the AccessKey back.
func (r *Reconciler) resolveProvider(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	p, conn, nr, err := r.Connector.Ready(ctx, r.Client, ak.Namespace, ak.Spec.ProviderRef, "AccessKey")
	s.notReady = nr
	if err != nil || nr != nil {
		return managed.Stop(0), err
	}
	s.p, s.conn = p, conn
	return managed.Next, nil
}

// checkOwner: two AccessKeys on one user would each delete the keys the
// other's Secret holds. The one that holds the user (else the earlier one)
// keeps it, in any namespace; the other waits.
func (r *Reconciler) checkOwner(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	other, err := r.userOwner(ctx, ak, s.user, s.loc)
	if err != nil {
		return managed.Stop(0), err
	}
	if other == "" {
		s.ownerChecked = true
		return managed.Next, nil
	}
	msg := fmt.Sprintf("AccessKey %s already manages user %s at %s; this one changes and deletes nothing there while it does. Give this AccessKey another spec.userName.", other, s.user, s.loc.Endpoint)
	if managed.Transition(ak.Status.Conditions, pailv1.ConditionConflict, pailv1.ReasonUserConflict, msg) {
		r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonUserConflict, "Validate", "%s", msg)
	}
	s.verdict = managed.Conflict(pailv1.ReasonUserConflict, msg)
	return managed.Stop(userConflictRetry), nil
}

// checkDriver: the Provider's driver must manage users and keys.
func checkDriver(_ context.Context, _ *pailv1.AccessKey, s *state) (managed.Step, error) {
	info := s.conn.Driver.Describe()
	ud, ok := s.conn.Driver.(driver.UserDriver)
	if !ok || !info.Supports(abi.CapAccessKeys) {
		msg := fmt.Sprintf("Driver %s cannot manage users and access keys; use a Provider whose driver declares the %s capability.", info.Name, abi.CapAccessKeys)
		s.unsupported = yes(pailv1.ReasonUnsupported, msg)
		s.verdict = managed.NotReady(pailv1.ReasonUnsupported, msg)
		return managed.Stop(0), nil
	}
	s.ud, s.info = ud, info
	return managed.Next, nil
}

// checkPolicy builds the identity policy and has the packs check it, before
// anything is created.
func (r *Reconciler) checkPolicy(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	refs, err := bucketRefs(ctx, r.Client, ak)
	if refErr, ok := errors.AsType[*BucketRefError](err); ok {
		s.verdict = managed.NotReady(pailv1.ReasonBucketRefNotFound, refErr.Error()+"; the AccessKey proceeds once it does.")
		return managed.Stop(bucketRefRetry), nil
	}
	if err != nil {
		return managed.Stop(0), err
	}
	if step, stop, err := r.checkGrants(ctx, ak, s, refs); stop || err != nil {
		return step, err
	}
	buckets := bucketNames(refs)
	doc, err := Document(ak, buckets)
	var parsed *policydoc.Document
	if err == nil && doc != "" {
		parsed, err = policydoc.ParseString(doc)
	}
	if err != nil {
		msg := status.Sentence(err.Error())
		s.policy = no(pailv1.ReasonPolicyNotJSON, msg)
		s.verdict = managed.NotReady(pailv1.ReasonPolicyNotJSON, msg)
		return managed.Stop(0), managed.Spec(err)
	}
	s.buckets, s.doc, s.parsed = buckets, doc, parsed
	if doc == "" {
		s.policy = yes(pailv1.ReasonPolicyAllowed, "No identity policy: the user has no permissions of its own.")
		return managed.Next, nil
	}
	start := time.Now()
	// The packs the Guardrails require run whatever spec.packs says.
	withRequired := *ak
	withRequired.Spec.Packs = s.rules.Packs(packsOf(ak))
	res, err := Check(ctx, r.Engine, &withRequired, s.user, parsed, s.info.Name)
	if r.Metrics != nil {
		r.Metrics.ObservePolicyEvaluation(time.Since(start), len(res.Deny), len(res.Warn))
	}
	s.policy = policyFinding(res, err)
	return r.judgePolicy(ak, s)
}

// judgePolicy acts on the packs' finding: a Warning event when a denial or
// a warning is new, and no further phase when the policy is denied or could
// not be checked.
func (r *Reconciler) judgePolicy(ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	c := s.policy
	switch c.reason {
	case pailv1.ReasonPolicyDenied, pailv1.ReasonPolicyWarnings:
		if managed.Transition(ak.Status.Conditions, pailv1.ConditionPolicyValid, c.reason, c.msg) {
			r.eventf(ak, corev1.EventTypeWarning, c.reason, "Validate", "%s", c.msg)
		}
	}
	switch c.reason {
	case pailv1.ReasonPacksUnavailable:
		s.verdict = managed.NotReady(c.reason, c.msg)
		return managed.Stop(packsRetry), nil
	case pailv1.ReasonPolicyDenied:
		s.verdict = managed.NotReady(c.reason, c.msg)
		return managed.Stop(0), nil
	}
	return managed.Next, nil
}

// checkFeatures names the parts of the spec the driver cannot apply; the
// rest is applied.
func checkFeatures(_ context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	s.unsupported = unsupportedFinding(ak, s.doc, s.info)
	return managed.Next, nil
}

// recordIntent records where the user lives and adds the finalizer, both
// before the first write to the user.
func (r *Reconciler) recordIntent(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	if err := r.recordLocation(ctx, ak, s.loc); err != nil {
		return managed.Stop(0), err
	}
	if !controllerutil.ContainsFinalizer(ak, pailv1.AccessKeyFinalizer) {
		if err := status.PatchMetadata(ctx, r.Client, ak, func(o *pailv1.AccessKey) { controllerutil.AddFinalizer(o, pailv1.AccessKeyFinalizer) }); err != nil {
			return managed.Stop(0), err
		}
	}
	return managed.Next, nil
}

// callContext attaches the Provider's network policy and the reconcile's
// id to a driver call.
func (r *Reconciler) callContext(ctx context.Context, s *state) context.Context {
	return s.conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
}

// syncUser creates the user and writes its policy and tags where they
// differ from what the provider holds (userWrites decides), keeping the
// observation, with the keys, for the key phases.
func (r *Reconciler) syncUser(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	cctx := r.callContext(ctx, s)
	// The policy is read by the name the host gives it: the user's name.
	obs, err := s.ud.ObserveUser(cctx, s.conn.Config, abi.UserArgs{Name: s.user, Observe: observedParts(s.info), Policy: &abi.UserPolicyDoc{Name: s.user}})
	if err != nil {
		return managed.Stop(0), r.backendError(ak, s, "manage user "+s.user, err)
	}
	args, what := userWrites(ak, s.info, obs, s.user, s.parsed)
	if args.Create || len(what) > 0 {
		if err := s.ud.ApplyUser(cctx, s.conn.Config, args); err != nil {
			return managed.Stop(0), r.backendError(ak, s, "manage user "+s.user, err)
		}
		if args.Create {
			r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonUserCreated, "Create", "Created user %s", s.user)
			obs.Exists, obs.Keys = true, nil
		}
		if len(what) > 0 {
			r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonApplied, "Apply", "Applied the %s of user %s", strings.Join(what, " and "), s.user)
		}
	}
	s.obs = obs
	ak.Status.PolicyHash = ""
	if s.parsed != nil {
		ak.Status.PolicyHash = s.parsed.Hash()
	}
	// Where the user's key works, from the Provider's spec; of the Provider's
	// own Secret, nothing (a ClusterProvider's admin key stays in its
	// secret namespace).
	spec := s.p.ProviderSpec()
	s.content = secretContent{Endpoint: spec.Endpoint, Region: spec.Region, Buckets: s.buckets, User: s.user}
	return managed.Next, nil
}

// synced ends a sync that went through; the next resync comes sooner when
// a key step is due sooner.
func (r *Reconciler) synced(_ context.Context, _ *pailv1.AccessKey, s *state) (managed.Step, error) {
	s.synced = true
	next := r.ResyncPeriod
	if s.wait > 0 && s.wait < next {
		next = s.wait
	}
	return managed.Stop(next), nil
}

// backendError records a failed call, with one event per transition, and
// classifies it for the skeleton's retry.
func (r *Reconciler) backendError(ak *pailv1.AccessKey, s *state, what string, err error) error {
	msg := fmt.Sprintf("Could not %s: %v", what, err)
	if managed.Transition(ak.Status.Conditions, pailv1.ConditionReady, pailv1.ReasonBackendError, "") {
		// Once per transition: the retries that follow only back off.
		r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonBackendError, "Sync", "%s", msg)
	}
	if s.verdict == nil { // a verdict already reached ranks first in report
		s.verdict = managed.NotSynced(pailv1.ReasonBackendError, msg)
	}
	return managed.Backend(fmt.Errorf("%s: %w", what, err))
}
