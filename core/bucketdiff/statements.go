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
// s3:getobject on arn:aws:s3:::b/*". The label names the Sid, Effect,
// actions and resources; when an added and a removed statement share it
// (one statement changed in what the label leaves out: its Condition or
// principals), both lines also say what differs between the two, so they
// never read the same.
func StatementDiff(want, have string) (added, removed []string) {
	w, h := statements(want), statements(have)
	var plus, minus []stmt
	for _, st := range w {
		if !contains(h, st.key) {
			plus = append(plus, st)
		}
	}
	for _, st := range h {
		if !contains(w, st.key) {
			minus = append(minus, st)
		}
	}
	paired := make([]bool, len(minus))
	for _, a := range plus {
		line := "+ " + a.label
		for j, r := range minus {
			if !paired[j] && r.label == a.label {
				paired[j] = true
				line += differences(a.body, r.body)
				removed = append(removed, "- "+r.label+differences(r.body, a.body))
				break
			}
		}
		added = append(added, line)
	}
	for j, r := range minus {
		if !paired[j] {
			removed = append(removed, "- "+r.label)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

// stmt is one canonical statement: its JSON (the set key), its parsed
// form and its label.
type stmt struct {
	key, label string
	body       map[string]any
}

func contains(list []stmt, key string) bool {
	for _, s := range list {
		if s.key == key {
			return true
		}
	}
	return false
}

func statements(doc string) []stmt {
	if doc == "" {
		return nil
	}
	c, err := CanonicalPolicy([]byte(doc))
	if err != nil {
		return nil
	}
	var parsed struct {
		Statement []map[string]any `json:"Statement"`
	}
	if json.Unmarshal([]byte(c), &parsed) != nil {
		return nil
	}
	var out []stmt
	for _, st := range parsed.Statement {
		b, _ := json.Marshal(st)
		if !contains(out, string(b)) {
			out = append(out, stmt{key: string(b), label: label(st), body: st})
		}
	}
	return out
}

// unlabelled are the statement elements the label leaves out.
var unlabelled = []string{"Principal", "NotPrincipal", "NotResource", "Condition"}

// differences says what st has that other lacks or has otherwise, in the
// elements the label leaves out: " [Condition IpAddress
// aws:SourceIp=["10.0.0.0/8"]; no Condition StringEquals aws:SourceVpce]".
// A Condition is compared per operator and key, so only the entries that
// really differ are shown.
func differences(st, other map[string]any) string {
	var parts []string
	for _, k := range unlabelled {
		if k == "Condition" {
			parts = append(parts, conditionDifferences(st[k], other[k])...)
			continue
		}
		v, ok := st[k]
		ov, ook := other[k]
		switch {
		case ok && (!ook || compact(v) != compact(ov)):
			parts = append(parts, k+" "+compact(v))
		case !ok && ook:
			parts = append(parts, "no "+k)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " [" + strings.Join(parts, "; ") + "]"
}

func conditionDifferences(c, other any) []string {
	mine, theirs := conditionEntries(c), conditionEntries(other)
	var out []string
	for _, k := range sortedKeys(mine) {
		if ov, ok := theirs[k]; !ok || ov != mine[k] {
			out = append(out, "Condition "+k+"="+mine[k])
		}
	}
	for _, k := range sortedKeys(theirs) {
		if _, ok := mine[k]; !ok {
			out = append(out, "no Condition "+k)
		}
	}
	return out
}

// conditionEntries flattens a Condition into "Operator key" → value JSON.
func conditionEntries(c any) map[string]string {
	out := map[string]string{}
	ops, _ := c.(map[string]any)
	for op, keys := range ops {
		km, ok := keys.(map[string]any)
		if !ok {
			out[op] = compact(keys)
			continue
		}
		for k, v := range km {
			out[op+" "+k] = compact(v)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
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
