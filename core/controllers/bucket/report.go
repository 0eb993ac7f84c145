package bucket

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
)

// report sets the Bucket's conditions from what the phases found. It is the
// one ordered rule chain: the first rule that applies decides Ready, and
// conditions no rule speaks about keep their values.
func report(b *pailv1.Bucket, s *state, _ error) {
	gen, conds := b.Generation, &b.Status.Conditions
	switch {
	case s.notReady != nil:
		status.False(conds, gen, pailv1.ConditionProviderReady, s.notReady.Reason, s.notReady.Message)
		status.False(conds, gen, pailv1.ConditionReady, s.notReady.Reason, s.notReady.Message)
		if s.deleting {
			status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonDeleting, deleteWaitMessage(s.notReady.Message))
		}
		return
	case s.p != nil:
		status.True(conds, gen, pailv1.ConditionProviderReady, pailv1.ReasonProviderReady, fmt.Sprintf("%s is Ready.", s.p.Reference()))
	}
	reportPolicy(b, s)
	switch {
	case s.backend != nil:
		status.False(conds, gen, pailv1.ConditionSynced, pailv1.ReasonBackendError, s.backend.msg)
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonBackendError, s.backend.msg)
		if s.backend.unsupported != "" {
			status.True(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonUnsupported, s.backend.unsupported)
			status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonUnsupported, s.backend.unsupported)
		}
	case s.verdict != nil:
		s.verdict.Set(conds, gen)
	case s.synced:
		reportSynced(b, s)
		reportPolicyHeld(b, s)
	}
}

// reportPolicy says what the packs found in the inline spec.policy, as a
// BucketPolicy's PolicyValid says it; with no inline policy the condition
// goes (it spoke of a policy that is no longer there).
func reportPolicy(b *pailv1.Bucket, s *state) {
	switch f := s.policy; {
	case f != nil:
		status.Set(&b.Status.Conditions, b.Generation, pailv1.ConditionPolicyValid, f.Status, f.Reason, f.Message)
	case s.policyChecked:
		meta.RemoveStatusCondition(&b.Status.Conditions, pailv1.ConditionPolicyValid)
	}
}

// reportPolicyHeld: a sync that went through without the inline policy (the
// packs denied it, or could not judge it) is neither in sync nor Ready, and
// says why; this ranks above an unsupported feature.
func reportPolicyHeld(b *pailv1.Bucket, s *state) {
	if f := s.policy; f != nil && !f.Applies() {
		gen, conds := b.Generation, &b.Status.Conditions
		msg := f.Message + " Every other field of the spec is applied; the bucket keeps the policy it holds."
		status.False(conds, gen, pailv1.ConditionSynced, f.Reason, msg)
		status.False(conds, gen, pailv1.ConditionReady, f.Reason, msg)
	}
}

// reportSynced is the end of a sync that went through: Ready, unless a
// feature could not be applied.
func reportSynced(b *pailv1.Bucket, s *state) {
	gen, conds := b.Generation, &b.Status.Conditions
	if len(s.unsupported) > 0 {
		msg := unsupportedMessage(s.unsupported)
		status.True(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonUnsupported, msg)
		status.True(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInSync, "Every supported field of the spec is in place.")
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonUnsupported, msg)
	} else {
		status.False(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonAllSupported, "The provider supports every requested feature.")
		status.True(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInSync, fmt.Sprintf("Bucket %s matches the spec.", b.Spec.BucketName))
		status.True(conds, gen, pailv1.ConditionReady, pailv1.ReasonAvailable, fmt.Sprintf("Bucket %s is ready.", b.Spec.BucketName))
	}
	if s.observeOnly {
		status.False(conds, gen, pailv1.ConditionConflict, pailv1.ReasonNoConflict, "Observed only; Pail never writes to this bucket.")
	} else {
		status.False(conds, gen, pailv1.ConditionConflict, pailv1.ReasonNoConflict, "Pail owns this bucket.")
	}
}

// unsupportedNames lists the features that could not be applied, sorted.
func unsupportedNames(unsupported map[string]string) []string {
	names := make([]string, 0, len(unsupported))
	for n := range unsupported {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// unsupportedMessage names what could not be done, and says the rest is applied.
func unsupportedMessage(unsupported map[string]string) string {
	parts := make([]string, 0, len(unsupported))
	for _, n := range unsupportedNames(unsupported) {
		parts = append(parts, fmt.Sprintf("%s (%s)", n, unsupported[n]))
	}
	return fmt.Sprintf("Not applied, because the provider cannot do it: %s. Everything else in the spec is applied.", strings.Join(parts, "; "))
}

// deleteWaitMessage says why a delete waits for the Provider.
func deleteWaitMessage(why string) string {
	return status.Sentence("Cannot delete the bucket while its Provider is not Ready; "+why) +
		" Restore the Provider, or set spec.deletionPolicy to Retain to release the bucket."
}
