package bucketdiff

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// PolicyHash identifies a policy document by its canonical form.
func PolicyHash(doc []byte) (string, error) {
	var h [sha256.Size]byte
	bufs := canonBufs.Get().(*[2][]byte)
	c, ok := fastCanonical(string(doc), bufs[0][:0])
	if ok {
		h = sha256.Sum256(c)
		bufs[0] = c
	}
	canonBufs.Put(bufs)
	if !ok {
		c, err := CanonicalPolicy(doc)
		if err != nil {
			return "", err
		}
		h = sha256.Sum256([]byte(c))
	}
	return hex.EncodeToString(h[:8]), nil
}

// SamePolicy reports whether two documents are semantically equal; "" is no policy.
func SamePolicy(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	if same, ok := sameFast(a, b); ok {
		return same
	}
	ca, errA := CanonicalPolicy([]byte(a))
	cb, errB := CanonicalPolicy([]byte(b))
	return errA == nil && errB == nil && ca == cb
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
