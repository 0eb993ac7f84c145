package bucketdiff

import (
	"sort"
	"strings"

	"github.com/pail-dev/pail/sdk/policydoc"
)

// StatementDiff lists the statements of want missing from have, and
// the other way round, each labelled for a person: "+ PublicRead: Allow
// s3:getobject on arn:aws:s3:::b/*". nil is no policy. The label names
// the Sid, Effect, actions and resources; when an added and a removed
// statement share it (one statement changed in what the label leaves out:
// its Condition or principals), both lines also say what differs between
// the two, so they never read the same.
func StatementDiff(want, have *policydoc.Document) (added, removed []string) {
	w, h := statements(want), statements(have)
	var plus, minus []policydoc.Statement
	for _, st := range w {
		if !contains(h, st) {
			plus = append(plus, st)
		}
	}
	for _, st := range h {
		if !contains(w, st) {
			minus = append(minus, st)
		}
	}
	paired := make([]bool, len(minus))
	for _, a := range plus {
		line := "+ " + label(a)
		var lineSb33 strings.Builder
		for j, r := range minus {
			if !paired[j] && label(r) == label(a) {
				paired[j] = true
				lineSb33.WriteString(differences(a, r))
				removed = append(removed, "- "+label(r)+differences(r, a))
				break
			}
		}
		line += lineSb33.String()
		added = append(added, line)
	}
	for j, r := range minus {
		if !paired[j] {
			removed = append(removed, "- "+label(r))
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

func statements(d *policydoc.Document) []policydoc.Statement {
	if d == nil {
		return nil
	}
	return d.Statements()
}

func contains(list []policydoc.Statement, st policydoc.Statement) bool {
	for _, s := range list {
		if s.JSON() == st.JSON() {
			return true
		}
	}
	return false
}

// unlabelled are the statement elements the label leaves out (Condition
// apart, which is compared per operator and key).
var unlabelled = []string{"Principal", "NotPrincipal", "NotResource"}

// differences says what st has that other lacks or has otherwise, in the
// elements the label leaves out: " [Condition IpAddress
// aws:SourceIp=["10.0.0.0/8"]; no Condition StringEquals aws:SourceVpce]".
// A Condition is compared per operator and key, so only the entries that
// really differ are shown.
func differences(st, other policydoc.Statement) string {
	var parts []string
	for _, k := range unlabelled {
		v, ok := st.Element(k)
		ov, ook := other.Element(k)
		switch {
		case ok && (!ook || v != ov):
			parts = append(parts, k+" "+v)
		case !ok && ook:
			parts = append(parts, "no "+k)
		}
	}
	parts = append(parts, conditionDifferences(st, other)...)
	if len(parts) == 0 {
		return ""
	}
	return " [" + strings.Join(parts, "; ") + "]"
}

func conditionDifferences(st, other policydoc.Statement) []string {
	mine, theirs := conditionEntries(st), conditionEntries(other)
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
func conditionEntries(st policydoc.Statement) map[string]string {
	out := map[string]string{}
	for _, c := range st.Conditions() {
		out[c.Operator+" "+c.Key] = c.Values
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

func label(st policydoc.Statement) string {
	join := func(name string) (string, bool) {
		set, ok := st.Set(name)
		return strings.Join(set, ","), ok
	}
	var b strings.Builder
	if sid := st.Sid(); sid != "" {
		b.WriteString(sid + ": ")
	}
	actions, _ := join("Action")
	b.WriteString(st.Effect() + " " + actions)
	if na, ok := join("NotAction"); ok {
		b.WriteString("not " + na)
	}
	if r, ok := join("Resource"); ok {
		b.WriteString(" on " + r)
	}
	return b.String()
}
