package accesskey

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
)

// report sets the AccessKey's conditions from what the phases found. It is
// the one ordered rule chain: the conditions of the checks a sync got
// through first, then Ready (with Synced or Conflict) from the first rule
// that applies. Conditions no rule speaks about keep their values. A delete
// speaks only of Ready and Synced: the Provider's readiness is not its
// concern.
func report(ak *pailv1.AccessKey, s *state, _ error) {
	gen, conds := ak.Generation, &ak.Status.Conditions
	switch {
	case s.deleting:
	case s.notReady != nil:
		status.False(conds, gen, pailv1.ConditionProviderReady, s.notReady.Reason, s.notReady.Message)
	case s.p != nil:
		status.True(conds, gen, pailv1.ConditionProviderReady, pailv1.ReasonProviderReady, fmt.Sprintf("%s is Ready.", s.p.Reference()))
	}
	if s.ownerChecked {
		meta.RemoveStatusCondition(conds, pailv1.ConditionConflict)
	}
	for _, c := range []struct {
		typ string
		c   *cond
	}{
		{pailv1.ConditionPolicyValid, s.policy},
		{pailv1.ConditionUnsupported, s.unsupported},
		{pailv1.ConditionRotating, s.rotating},
	} {
		if c.c != nil {
			status.Set(conds, gen, c.typ, c.c.status, c.c.reason, c.c.msg)
		}
	}
	switch {
	case s.notReady != nil:
		status.False(conds, gen, pailv1.ConditionReady, s.notReady.Reason, s.notReady.Message)
	case s.verdict != nil:
		s.verdict.Set(conds, gen)
	case s.synced:
		status.True(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInSync, fmt.Sprintf("User %s, its policy, tags and keys match the spec.", s.user))
		if u := s.unsupported; u != nil && u.status == metav1.ConditionTrue {
			status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonUnsupported, u.msg)
		} else {
			status.True(conds, gen, pailv1.ConditionReady, pailv1.ReasonAvailable, fmt.Sprintf("Key %s of user %s is in Secret %s.", ak.Status.AccessKeyID, s.user, ak.Status.SecretName))
		}
	}
}
