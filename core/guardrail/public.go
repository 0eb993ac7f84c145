package guardrail

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pail-dev/pail/sdk/policydoc"
)

// narrowingKeys are the condition keys that restrict who or where a
// request comes from, so that a statement with one of them is not open to
// everyone. Others (aws:SecureTransport, s3:prefix) narrow what, not who.
var narrowingKeys = []string{
	"aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:sourcearn", "aws:sourceaccount",
	"aws:sourceorgid", "aws:sourceorgpaths", "aws:principalarn", "aws:principalaccount",
	"aws:principalorgid", "aws:principalorgpaths", "aws:userid", "aws:username", "aws:vpcsourceip",
}

// PublicStatements names the statements of a policy document (JSON) that
// grant everyone access: Effect Allow to Principal "*" (or {"AWS": "*"},
// or a list holding "*"), or any NotPrincipal, without a Condition
// narrowing who on a key of narrowingKeys (an ...IfExists operator narrows
// nothing: a request without the key passes). Each is named by its Sid
// ("a statement without a Sid" otherwise).
func PublicStatements(doc []byte) ([]string, error) {
	d, err := policydoc.Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	var out []string
	for _, st := range d.Statements() {
		if !Public(st) {
			continue
		}
		name := "statement " + st.Sid()
		if st.Sid() == "" {
			name = "a statement without a Sid"
		}
		out = append(out, name)
	}
	return out, nil
}

// Public reports whether one statement grants everyone access.
func Public(st policydoc.Statement) bool {
	if st.Effect() != "Allow" {
		return false
	}
	_, notPrincipal := st.Value().Get("NotPrincipal")
	if !notPrincipal && !everyone(st.Value()) {
		return false
	}
	for _, c := range st.Conditions() {
		if !strings.HasSuffix(c.Operator, "IfExists") && isNarrowing(c.Key) {
			return false
		}
	}
	return true
}

// everyone reports whether a statement's Principal names everyone.
func everyone(st policydoc.Value) bool {
	p, ok := st.Get("Principal")
	if !ok {
		return false
	}
	if p.Kind() == policydoc.String {
		return p.Text() == "*"
	}
	if p.Kind() != policydoc.Object {
		return false
	}
	for i := range p.Len() {
		_, v := p.Member(i)
		if hasStar(v) {
			return true
		}
	}
	return false
}

// hasStar reports whether v is "*" or a list holding it.
func hasStar(v policydoc.Value) bool {
	switch v.Kind() {
	case policydoc.String:
		return v.Text() == "*"
	case policydoc.Array:
		for i := range v.Len() {
			if e := v.Elem(i); e.Kind() == policydoc.String && e.Text() == "*" {
				return true
			}
		}
	}
	return false
}

func isNarrowing(key string) bool {
	return slices.Contains(narrowingKeys, strings.ToLower(key))
}
