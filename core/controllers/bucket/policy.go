package bucket

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/bucketpolicy"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
)

// packsRetry is how soon a Bucket whose inline policy the packs could not
// judge looks again: the packs have no watch that fires for it (a pack
// change does, through Repack).
const packsRetry = 30 * time.Second

// inlinePacks are the packs an inline spec.policy is checked with: nil, every
// loaded pack. A Bucket has no spec.packs or spec.enforcementMode (a
// BucketPolicy has), so its inline policy meets every pack, in Enforce mode:
// the inline form can never be the way around a pack.
var inlinePacks []string

// hasInlinePolicy reports whether the Bucket carries an inline spec.policy.
func hasInlinePolicy(b *pailv1.Bucket) bool {
	return b.Spec.Policy != nil && len(b.Spec.Policy.Raw) > 0
}

// checkPolicy has the policy packs judge the inline spec.policy, with the
// rule a BucketPolicy is judged by (bucketpolicy.CheckDocument and Judge).
// A document they deny, or cannot judge, is not applied: the policy leaves
// the sub-resources this sync observes and writes, so the bucket keeps the
// policy it holds, and every other field of the spec is still applied.
func (r *Reconciler) checkPolicy(ctx context.Context, b *pailv1.Bucket, s *state) (managed.Step, error) {
	if !hasInlinePolicy(b) {
		s.policyChecked = true
		return managed.Next, nil
	}
	start := time.Now()
	_, res, err := bucketpolicy.CheckDocument(ctx, r.Engine, b.Spec.Policy.Raw, inlinePacks, b, s.p)
	r.Metrics.ObservePolicyEvaluation(time.Since(start), len(res.Deny), len(res.Warn))
	f := bucketpolicy.Judge(res, err, true)
	if f.NewsIn(b.Status.Conditions) {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, f.Reason, "Validate", "%s", f.Message)
	}
	s.policyChecked, s.policy = true, &f
	if !f.Applies() {
		s.managed = slices.DeleteFunc(s.managed, func(n string) bool { return n == abi.SubPolicy })
	}
	return managed.Next, nil
}
