package bucket

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
)

// action is what the plan does at the backend.
type action int

const (
	// actNone writes nothing: in sync, observed only, or refused.
	actNone action = iota
	// actCreate creates the bucket with its whole supported config.
	actCreate
	// actUpdate writes the sub-resources that differ.
	actUpdate
)

// plan is the decision of one sync: what to write, what ownership to take,
// and what to report. It is made by decide, from the spec, the status and
// the observation alone.
type plan struct {
	action action
	// adopt takes ownership of an existing bucket (spec.adopt); claim keeps
	// (or, after a lost create answer, completes) the ownership Pail has.
	adopt, claim bool
	// write is the config to send; fields names what differs, for events.
	write  abi.BucketConfig
	fields []string
	// drift: the difference was made behind Pail's back (the status said
	// in sync for this generation), not by a spec change.
	drift bool
	// refuse stops the sync with this verdict, writing nothing.
	refuse *managed.Verdict
	// mark (re)writes the ownership mark: the bucket is this Bucket's and
	// does not carry its mark (lost after a crash, removed by hand, or the
	// Bucket object was recreated).
	mark bool
}

// needsMFA reports whether the write changes MFA delete, which needs a code.
func (p plan) needsMFA() bool {
	return p.action != actNone && p.write.Versioning != nil && p.write.Versioning.MFADelete != ""
}

// decide is the Bucket's decision: a pure function of the Bucket (spec,
// status, annotations) and what the phases gathered and observed.
func decide(b *pailv1.Bucket, s *state) plan {
	name, at := b.Spec.BucketName, s.p.ProviderSpec().Endpoint
	switch {
	case !s.obs.Exists && s.observeOnly:
		return plan{refuse: managed.NotSynced(pailv1.ReasonBucketNotFound,
			fmt.Sprintf("Bucket %s does not exist at %s, and managementPolicy ObserveOnly forbids creating it.", name, at))}
	case !s.obs.Exists:
		p := plan{action: actCreate, write: s.apply}
		if writesMark(s) {
			// The mark travels with the create, in the same call.
			p.write.Tagging = bucketdiff.WriteTags(s.apply.Tagging, nil, s.owner.Mark())
		}
		return p
	}
	switch {
	case s.markable && !s.observeOnly && s.claim == bucketdiff.Other:
		// Whatever the status says: the bucket is another's, so nothing is
		// written, adopted or (on delete) emptied.
		return plan{refuse: managed.Refusal(pailv1.ReasonAlreadyManaged, markedByMessage(b, s.holder, s.owner, at))}
	case !owned(b) && !b.Spec.Adopt && !s.observeOnly:
		return plan{refuse: managed.Refusal(pailv1.ReasonBucketExists,
			fmt.Sprintf("Bucket %s already exists at %s and Pail did not create it. Pail leaves it untouched; set spec.adopt: true to manage it, or spec.managementPolicy: ObserveOnly to watch it.", name, at))}
	}
	// ObserveOnly never takes ownership: an owner may delete the bucket,
	// and an observer must be able to sit beside the Bucket that manages it.
	p := plan{adopt: !owned(b) && b.Spec.Adopt && !s.observeOnly}
	p.claim = (owned(b) || p.adopt) && !s.observeOnly
	p.mark = p.claim && writesMark(s) && !bucketdiff.Marked(s.obs.Config.Tagging, s.owner)
	// fields names every difference; changes are those a write can make
	// (a create-only one, such as objectLock.enabled, is only reported).
	all := bucketdiff.Diff(s.apply, s.obs.Config)
	p.fields = bucketdiff.Fields(all)
	changes := bucketdiff.Writable(all)
	if s.observeOnly {
		if len(p.fields) > 0 {
			p.refuse = managed.NotSynced(pailv1.ReasonDrift, "Observed values differ from the spec (managementPolicy ObserveOnly, nothing written): "+strings.Join(p.fields, ", ")+".")
		}
		return p
	}
	subs := bucketdiff.SubResources(changes)
	if p.mark && !slices.Contains(subs, abi.SubTagging) {
		subs = append(subs, abi.SubTagging)
	}
	if len(subs) > 0 {
		p.action = actUpdate
		p.write = bucketdiff.Only(s.apply, subs)
		p.drift = len(changes) > 0 && inSyncBefore(b)
	}
	if slices.Contains(subs, abi.SubTagging) {
		// The user's tags never replace Pail's reserved ones.
		var mark map[string]string
		if writesMark(s) {
			mark = s.owner.Mark()
		}
		p.write.Tagging = bucketdiff.WriteTags(s.apply.Tagging, s.obs.Config.Tagging, mark)
	}
	return p
}

// writesMark reports whether this Bucket's bucket carries its mark: the
// backend holds marks and the user's tags leave room for it.
func writesMark(s *state) bool {
	return s.markable && bucketdiff.RoomForMark(s.desired.Tagging)
}

// observedTags are the bucket's tags as observed, nil when not read.
func observedTags(s *state) map[string]string {
	if t := s.obs.Config.Tagging; t != nil && s.markable {
		return t.Tags
	}
	return nil
}

// inSyncBefore reports whether the status last said this generation was in
// sync (or paused by the drift-loop breaker): a difference now was made
// behind Pail's back.
func inSyncBefore(b *pailv1.Bucket) bool {
	synced := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionSynced)
	return synced != nil && synced.ObservedGeneration == b.Generation &&
		(synced.Status == metav1.ConditionTrue || synced.Reason == pailv1.ReasonDriftLoop)
}

// supported splits the desired config into what the driver declares and
// what it does not: the features refused up front, by name, and the managed
// sub-resources that may still be applied.
func supported(desired abi.BucketConfig, info abi.DriverInfo) (managed []string, unsupported map[string]string) {
	unsupported = map[string]string{}
	for _, c := range bucketdiff.Required(desired) {
		if !info.Supports(c) {
			unsupported[c] = fmt.Sprintf("driver %s does not support %s", info.Name, c)
		}
	}
	managed = slices.DeleteFunc(bucketdiff.Managed(desired), func(s string) bool { _, bad := unsupported[s]; return bad })
	return managed, unsupported
}
