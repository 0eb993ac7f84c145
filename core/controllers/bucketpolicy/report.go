package bucketpolicy

import (
	"fmt"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
)

// report sets the BucketPolicy's conditions from what the phases found. It
// is the one ordered rule chain: the packs' verdict, then the conflict
// check, then the verdict that stopped the phases (or the sync that went
// through) decides Ready. Conditions no rule speaks about keep their values.
func report(bp *pailv1.BucketPolicy, s *state, _ error) {
	gen, conds := bp.Generation, &bp.Status.Conditions
	reportValidity(bp, s)
	if s.governs {
		status.False(conds, gen, pailv1.ConditionConflict, pailv1.ReasonNoConflict, "No other policy governs this bucket.")
	}
	switch v := s.verdict; {
	case v != nil:
		v.Set(conds, gen)
	case s.synced:
		status.True(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInSync, fmt.Sprintf("Bucket %s holds this policy.", s.b.Spec.BucketName))
		status.True(conds, gen, pailv1.ConditionReady, pailv1.ReasonAvailable, fmt.Sprintf("The policy is applied to bucket %s.", s.b.Spec.BucketName))
	}
}

// reportValidity is the first rule: PolicyValid says what the packs found.
func reportValidity(bp *pailv1.BucketPolicy, s *state) {
	if v := s.validity; v != nil {
		status.Set(&bp.Status.Conditions, bp.Generation, pailv1.ConditionPolicyValid, v.status, v.reason, v.msg)
	}
}
