package accesskey

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// Which keys are Pail's to delete.
//
// A key is deleted only when the record proves Pail created it for this
// AccessKey: it is the Secret's current or previous key, a key the Secret
// lists as retired (taken out of the Secret, deletion not yet confirmed), a
// key this AccessKey's status names, or the one key an interrupted create
// left behind. The last needs care, because the provider knows nothing of
// Pail: before CreateAccessKey the Secret records a pending create (when,
// and which keys the user held then). A key that appears after that marker,
// absent from the list, created (where the provider says) around the
// marker's time, can only be the interrupted create's, provided it is the
// only such key. Two such keys, or any other key, are someone else's as far
// as Pail can tell: they are left alone, with a Warning event.

const (
	// pendingGrace is how long a pending create with no key to show for it
	// is kept: a create that was in flight when the operator died may still
	// complete, and AWS IAM lists a new key only after a while. No new key
	// is created while it runs, so a late key cannot be mistaken for another.
	pendingGrace = 10 * time.Second
	// clockSkew is how far the provider's clock (AccessKeyInfo.Created) may
	// be from the operator's (the marker's time).
	clockSkew = 5 * time.Minute
)

// pendingCreate is the intent recorded in the Secret before CreateAccessKey.
type pendingCreate struct {
	Since  time.Time `json:"since"`
	Before []string  `json:"before,omitempty"`
}

// How the current key was lost.
const (
	lostDeleted     = "deleted"
	lostDeactivated = "deactivated"
)

// Why a key is deleted.
const (
	whyRetired = "retired"
	whyLeaked  = "leaked"
)

// doomedKey is a key Pail proved its own and must delete.
type doomedKey struct{ ID, Why string }

// keyPlan is what planKeys decides.
type keyPlan struct {
	// Delete lists keys proven this AccessKey's that the Secret no longer
	// offers to apps; they are deleted before anything else.
	Delete []doomedKey
	// Foreign lists keys of the user Pail cannot prove are its own, sorted.
	Foreign []string
	// Lost says what happened to the current key: "", lostDeleted or
	// lostDeactivated. The key stays in Next.Current; the caller records
	// the loss.
	Lost string
	// PendingWait > 0: a pending create is too young to resolve, and no key
	// may be created until it is.
	PendingWait time.Duration
	// Next is the record with what is gone dropped, the pending create
	// resolved where it can be, and Warned set to Foreign.
	Next keyRecord
}

// planKeys decides, from the record, the key ids this AccessKey's status
// names, and the keys at the provider, which keys to delete and which to
// leave alone. It is pure: the caller acts on the plan.
func planKeys(rec keyRecord, known []string, keys []abi.AccessKeyInfo, now time.Time) keyPlan {
	at := make(map[string]abi.AccessKeyInfo, len(keys))
	for _, k := range keys {
		at[k.ID] = k
	}
	p := keyPlan{Next: rec}
	n := &p.Next
	if !rec.Current.empty() {
		switch k, ok := at[rec.Current.ID]; {
		case !ok:
			p.Lost = lostDeleted
		case k.Status == abi.KeyInactive:
			p.Lost = lostDeactivated
		}
	}
	if _, ok := at[rec.Previous.ID]; !ok {
		n.Previous = keyPair{}
	}
	ours := map[string]bool{}
	for _, id := range append(append([]string{}, rec.Retired...), known...) {
		if id != "" {
			ours[id] = true
		}
	}
	var candidates []string
	for _, k := range keys {
		switch {
		case k.ID == rec.Current.ID || k.ID == rec.Previous.ID:
		case ours[k.ID]:
			p.Delete = append(p.Delete, doomedKey{k.ID, whyRetired})
		case rec.Pending != nil && pendingCandidate(rec.Pending, k):
			candidates = append(candidates, k.ID)
		default:
			p.Foreign = append(p.Foreign, k.ID)
		}
	}
	// Every retired key still there is deleted above; the rest are gone.
	n.Retired = nil
	if pc := rec.Pending; pc != nil {
		switch {
		case len(candidates) == 1:
			p.Delete = append(p.Delete, doomedKey{candidates[0], whyLeaked})
			n.Pending = nil
		case len(candidates) > 1:
			p.Foreign = append(p.Foreign, candidates...)
			n.Pending = nil
		case now.Sub(pc.Since) >= pendingGrace:
			n.Pending = nil // the create never reached the provider
		default:
			p.PendingWait = pc.Since.Add(pendingGrace).Sub(now)
		}
	}
	slices.Sort(p.Foreign)
	n.Warned = p.Foreign
	return p
}

// pendingCandidate reports whether k may be the key of the pending create:
// the user did not hold it before, and where the provider reports a
// creation time, it lies around the marker's.
func pendingCandidate(pc *pendingCreate, k abi.AccessKeyInfo) bool {
	if slices.Contains(pc.Before, k.ID) {
		return false
	}
	if k.Created.IsZero() {
		return true // MinIO reports no creation time
	}
	return !k.Created.Before(pc.Since.Add(-clockSkew)) && !k.Created.After(pc.Since.Add(pendingGrace+clockSkew))
}

// newlyForeign returns the ids of foreign not in warned: the keys not yet
// named in a Warning event.
func newlyForeign(warned, foreign []string) []string {
	var out []string
	for _, id := range foreign {
		if !slices.Contains(warned, id) {
			out = append(out, id)
		}
	}
	return out
}

// The decisions of a sync besides the keys', pure like planKeys.

// policyFinding turns the packs' check of the identity policy into
// PolicyValid. A denial, or a check that could not run, stops the sync
// before anything is created (judgePolicy).
func policyFinding(res policy.Result, err error) *cond {
	switch {
	case err != nil:
		return no(pailv1.ReasonPacksUnavailable, status.Sentence(fmt.Sprintf("The identity policy cannot be checked: %v", err)))
	case len(res.Deny) > 0:
		return no(pailv1.ReasonPolicyDenied, fmt.Sprintf("The policy packs deny the identity policy, so nothing is applied: %s.", status.Summarize(res.Deny, "")))
	case len(res.Warn) > 0:
		return yes(pailv1.ReasonPolicyWarnings, status.Sentence("The policy packs allow the identity policy, with warnings: "+status.Summarize(res.Warn, "")))
	}
	return yes(pailv1.ReasonPolicyAllowed, "Every selected policy pack allows the identity policy.")
}

// unsupportedFinding names the parts of the spec the driver cannot apply.
func unsupportedFinding(ak *pailv1.AccessKey, doc string, info abi.DriverInfo) *cond {
	var missing []string
	if doc != "" && !info.Supports(abi.CapInlinePolicy) {
		missing = append(missing, "an identity policy (spec.policy, spec.buckets)")
	}
	if len(ak.Spec.Tags) > 0 && !info.Supports(abi.CapUserTags) {
		missing = append(missing, "user tags (spec.tags)")
	}
	if len(missing) == 0 {
		return no(pailv1.ReasonAllSupported, "The driver supports everything in the spec.")
	}
	return yes(pailv1.ReasonUnsupported, fmt.Sprintf("Driver %s cannot apply %s; remove it from the spec. The rest is applied.", info.Name, strings.Join(missing, " or ")))
}

// observedParts are the parts of a user the driver can report.
func observedParts(info abi.DriverInfo) []string {
	observe := []string{abi.UserKeys}
	for _, c := range []struct{ capability, part string }{
		{abi.CapInlinePolicy, abi.UserPolicy},
		{abi.CapUserTags, abi.UserTags},
		{abi.CapKeyLastUsed, abi.UserLastUsed},
	} {
		if info.Supports(c.capability) {
			observe = append(observe, c.part)
		}
	}
	return observe
}

// userWrites decides the write that brings the user to the spec: create it
// when absent, and write the policy and the tags where they differ from
// what the provider holds. what names the parts written, for the event; an
// args without Create and an empty what means no write.
func userWrites(ak *pailv1.AccessKey, info abi.DriverInfo, obs abi.UserObservation, user string, doc *policydoc.Document) (args abi.UserArgs, what []string) {
	args = abi.UserArgs{Name: user, Create: !obs.Exists}
	if info.Supports(abi.CapInlinePolicy) {
		have := ""
		if obs.Policy != nil {
			have = obs.Policy.Document
		}
		if !doc.SameAs(have) {
			args.Policy = &abi.UserPolicyDoc{Name: user}
			if doc != nil {
				args.Policy.Document = doc.Text()
			}
			what = append(what, "policy")
		}
	}
	if info.Supports(abi.CapUserTags) {
		var have map[string]string
		if obs.Tags != nil {
			have = obs.Tags.Tags
		}
		if want := userTags(ak); !maps.Equal(have, want) {
			args.Tags = &abi.Tagging{Tags: want}
			what = append(what, "tags")
		}
	}
	return args, what
}

// keyAction is what the rotate phase does with the keys.
type keyAction int

const (
	// keepKeys: no key is due; the Secret's other content is refreshed.
	keepKeys keyAction = iota
	// createKey: a key is created (the first, or a rotation's).
	createKey
	// awaitRetention: a rotation is due, but the current and the previous
	// key are both promised to apps, and a third would break AWS's limit.
	awaitRetention
	// awaitPending: a rotation waits for an interrupted create to resolve.
	awaitPending
	// holdFirstKey: there is no key, and an interrupted create's key may
	// still arrive; none is created until it can no longer.
	holdFirstKey
)

// keyDecision is what decide chooses: the action, and why a key is due.
type keyDecision struct {
	action keyAction
	due    string
}

// decide chooses the key action from the record (after planKeys), the
// spec's rotation and the clock.
func decide(ak *pailv1.AccessKey, rec keyRecord, pendingWait time.Duration, now time.Time) keyDecision {
	due := ""
	switch {
	case rec.Current.empty():
		due = dueCreate
	case trigger(ak) != "" && trigger(ak) != rec.Trigger:
		due = dueTrigger
	case interval(ak) > 0 && !rec.Created.IsZero() && !now.Before(rec.Created.Add(interval(ak))):
		due = dueInterval
	}
	switch {
	case due == "":
		return keyDecision{action: keepKeys}
	case pendingWait > 0 && rec.Current.empty():
		return keyDecision{action: holdFirstKey, due: due}
	case !rec.Previous.empty():
		return keyDecision{action: awaitRetention, due: due}
	case pendingWait > 0:
		return keyDecision{action: awaitPending, due: due}
	}
	return keyDecision{action: createKey, due: due}
}
