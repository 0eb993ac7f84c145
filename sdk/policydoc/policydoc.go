// Package policydoc reads an IAM-style policy document (a bucket policy or
// an identity policy: Version, Statement with Sid, Effect, Principal,
// NotPrincipal, Action, NotAction, Resource, NotResource and Condition)
// once into a Document, which gives everything the host and the drivers
// need of it: its canonical form (what S3 means by it, for "is it the same
// policy"), the hash of that form (kept in status), its statements (for
// the diff a person reads), and the document as decoded (the policy packs'
// input) with its statements' JSON text. It needs nothing beyond the
// standard library, so wasm drivers and the conformance suite use it too.
package policydoc

import (
	"encoding/hex"
	"slices"
	"strings"
	"sync"
)

// Document is one parsed policy document.
//
// Parsing decodes the text into scratch memory, which only the canonical
// form outlives; the decoded Value and the Statements are made again, once,
// when asked for. Comparing a backend's copy then leaves no garbage beyond
// its canonical text, and only the spec's document, whose Value the policy
// packs read, is kept decoded.
type Document struct {
	text  string
	canon form

	valueOnce, statementsOnce sync.Once
	value                     Value
	statements                []Statement
}

// Parse reads a policy document: a JSON object ("null" reads as an empty
// one) whose Statement, when a list, holds only objects. The errors are
// encoding/json's for what is not a JSON object.
func Parse(doc []byte) (*Document, error) { return ParseString(string(doc)) }

// ParseString is Parse for a document held as a string; the Document's
// strings share its memory.
func ParseString(doc string) (*Document, error) {
	a := arenas.Get().(*arena) //nolint:forcetypeassert // the pool's New makes only *arena
	defer a.release()
	v, err := decode(doc, a)
	if err != nil {
		return nil, err
	}
	f, err := canonicalise(v, false)
	if err != nil {
		return nil, err
	}
	return &Document{text: doc, canon: f}, nil
}

// Text is the document as it was parsed.
func (d *Document) Text() string { return d.text }

// Use calls f with the document as decoded (Value's value), decoded into
// scratch memory that is valid only during the call: for turning it into
// another representation (the policy packs' input) without keeping it.
func (d *Document) Use(f func(Value)) {
	a := arenas.Get().(*arena) //nolint:forcetypeassert // the pool's New makes only *arena
	defer a.release()
	v, _ := decode(d.text, a) // it decoded before
	f(v)
}

// Value is the document as decoded: an Object.
func (d *Document) Value() Value {
	d.valueOnce.Do(func() {
		d.value, _ = decode(d.text, nil) // it decoded before
	})
	return d.value
}

// Canonical is the canonical form: two documents mean the same policy to
// S3 when their canonical forms are equal.
func (d *Document) Canonical() string { return d.canon.text }

// Hash identifies the document by its canonical form: the first 8 bytes of
// its SHA-256, in hex.
func (d *Document) Hash() string { return hex.EncodeToString(d.canon.sum[:]) }

// Equal reports whether d and o are the same policy.
func (d *Document) Equal(o *Document) bool { return d.canon.text == o.canon.text }

// SameAs reports whether doc, as a backend holds it ("" for none), is the
// policy d is (nil for none). A doc that does not parse is no policy d can
// be.
func (d *Document) SameAs(doc string) bool {
	if d == nil || doc == "" {
		return d == nil && doc == ""
	}
	o, err := ParseString(doc)
	return err == nil && d.Equal(o)
}

// Statements are the distinct statements, in the order of their canonical
// JSON.
func (d *Document) Statements() []Statement {
	d.statementsOnce.Do(func() {
		f, _ := canonicalise(d.Value(), true) // it did before
		d.statements = f.statements
	})
	return d.statements
}

// StatementsJSON is the statements of a document as written (Statement as
// a list: [] when missing or null, one statement as a list of one), as the
// JSON text Rego's json.marshal gives for them inside an evaluation. The
// built-in policy packs clear valid statements by matching that text; the
// host hands it in the input (the key policy.StatementsJSONKey) for a
// fraction of what marshalling inside the evaluation costs.
func StatementsJSON(doc Value) string {
	sc := scratches.Get().(*scratch) //nolint:forcetypeassert // the pool's New makes only *scratch
	defer scratches.Put(sc)
	w := &sc.doc
	w.buf, w.rego = w.buf[:0], true
	defer func() { w.rego = false }()
	st, ok := doc.Get("Statement")
	switch {
	case !ok || st.kind == Null:
		return "[]"
	case st.kind == Array:
		w.value(st)
	default:
		w.buf = append(w.buf, '[')
		w.value(st)
		w.buf = append(w.buf, ']')
	}
	return string(w.buf)
}

// Same reports whether two documents are the same policy; "" is no policy,
// the same as only "", and a document that does not parse is the same as
// none.
func Same(a, b string) bool {
	if a == "" {
		return b == ""
	}
	da, err := ParseString(a)
	return err == nil && da.SameAs(b)
}

// MapResources is d with every string of its statements' Resource and
// NotResource replaced by f's answer for it, for a backend that writes
// resources its own way. Its Text is its canonical form.
func (d *Document) MapResources(f func(string) string) *Document {
	root := Value{kind: Object, kids: slices.Clone(d.Value().kids)}
	for i := 0; i < len(root.kids); i += 2 {
		if lowerIs(root.kids[i].text, "statement") {
			root.kids[i+1] = mapStatements(root.kids[i+1], f)
		}
	}
	c, err := canonicalise(root, false)
	if err != nil {
		panic("policydoc: mapping resources made " + err.Error()) // d's statements were objects
	}
	return &Document{text: c.text, canon: c}
}

// mapStatements maps the resources of Statement's value v.
func mapStatements(v Value, f func(string) string) Value {
	mapOne := func(st Value) Value {
		if st.kind != Object {
			return st
		}
		st.kids = slices.Clone(st.kids)
		for i := 0; i < len(st.kids); i += 2 {
			if k := st.kids[i].text; k == "Resource" || k == "NotResource" {
				st.kids[i+1] = mapStrings(st.kids[i+1], f)
			}
		}
		return st
	}
	if v.kind == Array {
		out := Value{kind: Array, kids: make([]Value, len(v.kids))}
		for i, st := range v.kids {
			out.kids[i] = mapOne(st)
		}
		return out
	}
	return mapOne(v)
}

// mapStrings maps a string, or the strings of a list.
func mapStrings(v Value, f func(string) string) Value {
	switch v.kind {
	case String:
		v.text = f(v.text)
	case Array:
		kids := slices.Clone(v.kids)
		for i := range kids {
			if kids[i].kind == String {
				kids[i].text = f(kids[i].text)
			}
		}
		v.kids = kids
	}
	return v
}

// Statement is one statement of a Document.
type Statement struct {
	json string
	raw  Value
}

// JSON is the statement's canonical form.
func (s Statement) JSON() string { return s.json }

// Value is the statement as decoded (one of the equal ones, when the
// document repeats it).
func (s Statement) Value() Value { return s.raw }

// Sid is the statement's Sid; "" when it has none.
func (s Statement) Sid() string {
	if v, ok := s.raw.Get("Sid"); ok && v.kind == String {
		return v.text
	}
	return ""
}

// Effect is the statement's Effect: its text when a string, else its JSON;
// "" when it has none.
func (s Statement) Effect() string {
	v, ok := s.raw.Get("Effect")
	switch {
	case !ok:
		return ""
	case v.kind == String:
		return v.text
	}
	return v.JSON()
}

// Set is the canonical set of a string-set element (Action, NotAction,
// Resource, NotResource: lower-cased for actions); ok is false when the
// statement lacks it, and the set is nil when it holds no strings.
func (s Statement) Set(name string) (set []string, ok bool) {
	v, ok := s.raw.Get(name)
	if !ok {
		return nil, false
	}
	return appendSet(nil, v, strings.HasSuffix(name, "Action")), true
}

// Element is the canonical JSON of one element; ok is false when the
// statement lacks it.
func (s Statement) Element(name string) (string, bool) {
	v, ok := s.raw.Get(name)
	if !ok || (name == "Sid" && (v.kind != String || v.text == "")) {
		return "", false
	}
	var w writer
	w.element(name, v)
	return string(w.buf), true
}

// Condition is one operator and key of a Condition, with its canonical
// value set's JSON.
type Condition struct {
	Operator, Key, Values string
}

// Conditions are the canonical Condition's entries, by operator and key;
// none when Condition is not an object.
func (s Statement) Conditions() []Condition {
	c, ok := s.raw.Get("Condition")
	if !ok || c.kind != Object {
		return nil
	}
	var out []Condition
	for i := range c.Len() {
		op, keys := c.Member(i)
		if keys.kind != Object {
			continue
		}
		for j := range keys.Len() {
			k, v := keys.Member(j)
			var w writer
			w.conditionValues(v)
			out = append(out, Condition{Operator: op, Key: k, Values: string(w.buf)})
		}
	}
	return out
}
