package bucketdiff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// PolicyHash identifies a policy document by its canonical form.
func PolicyHash(doc []byte) (string, error) {
	bufs := canonBufs.Get().(*[2][]byte)
	defer canonBufs.Put(bufs)
	c, err := canonicalInto(string(doc), bufs[0][:0])
	bufs[0] = c
	if err != nil {
		return "", err
	}
	return hashOf(c), nil
}

// SamePolicy reports whether two documents are semantically equal; "" is no policy.
func SamePolicy(a, b string) bool {
	same, _ := samePolicy(a, b, false)
	return same
}

// SamePolicyHash is SamePolicy(want, have) and PolicyHash(want) ("" when
// want is not a policy document), canonicalising want once: a
// BucketPolicy reconcile needs both. The canonical forms are compared in
// pooled buffers, never made into strings.
func SamePolicyHash(want, have string) (same bool, wantHash string) {
	return samePolicy(want, have, true)
}

func samePolicy(want, have string, hash bool) (same bool, wantHash string) {
	bufs := canonBufs.Get().(*[2][]byte)
	defer canonBufs.Put(bufs)
	cw, errW := canonicalInto(want, bufs[0][:0])
	bufs[0] = cw
	if errW == nil && hash {
		wantHash = hashOf(cw)
	}
	if want == "" || have == "" {
		return want == have, wantHash
	}
	ch, errH := canonicalInto(have, bufs[1][:0])
	bufs[1] = ch
	return errW == nil && errH == nil && bytes.Equal(cw, ch), wantHash
}

// canonBufs hold the canonical forms being compared or hashed.
var canonBufs = sync.Pool{New: func() any { return new([2][]byte) }}

func hashOf(canonical []byte) string {
	h := sha256.Sum256(canonical)
	return hex.EncodeToString(h[:8])
}

// StatementDiff lists the statements of want missing from have, and
// the other way round, each labelled for a person: "+ PublicRead: Allow
// s3:getobject on arn:aws:s3:::b/*".
func StatementDiff(want, have string) (added, removed []string) {
	w, wl := statements(want)
	h, hl := statements(have)
	for k := range w {
		if !h[k] {
			added = append(added, "+ "+wl[k])
		}
	}
	for k := range h {
		if !w[k] {
			removed = append(removed, "- "+hl[k])
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

func statements(doc string) (map[string]bool, map[string]string) {
	set, labels := map[string]bool{}, map[string]string{}
	if doc == "" {
		return set, labels
	}
	c, err := CanonicalPolicy([]byte(doc))
	if err != nil {
		return set, labels
	}
	var parsed struct {
		Statement []map[string]any `json:"Statement"`
	}
	if json.Unmarshal([]byte(c), &parsed) != nil {
		return set, labels
	}
	for _, st := range parsed.Statement {
		b, _ := json.Marshal(st)
		k := string(b)
		set[k] = true
		labels[k] = label(st)
	}
	return set, labels
}

func label(st map[string]any) string {
	join := func(v any) string {
		list, _ := v.([]any)
		var parts []string
		for _, x := range list {
			parts = append(parts, fmt.Sprint(x))
		}
		return strings.Join(parts, ",")
	}
	var b strings.Builder
	if sid, ok := st["Sid"].(string); ok && sid != "" {
		b.WriteString(sid + ": ")
	}
	fmt.Fprintf(&b, "%v %s", st["Effect"], join(st["Action"]))
	if na, ok := st["NotAction"]; ok {
		fmt.Fprintf(&b, "not %s", join(na))
	}
	if r, ok := st["Resource"]; ok {
		fmt.Fprintf(&b, " on %s", join(r))
	}
	return b.String()
}
