package accesskey

import (
	"slices"
	"time"

	"github.com/pail-dev/pail/sdk/abi"
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
