package policydoc

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The canonical form is JSON in which every difference S3 does not care
// about is gone: a string equals a one-element list; Action, Resource,
// Principal values and condition values are sets; actions are
// case-insensitive; Principal "*" equals {"AWS":"*"}; an empty Sid is
// none; statements are a set; the top-level keys Version, Id and
// Statement are case-insensitive. It is written as json.Marshal writes the
// canonical values (sorted keys, HTML escaping), so its hash, stored in
// BucketPolicy and AccessKey status, stays what it was when the form was
// built from maps (the reference in canonical_test.go).

// topEntry is one top-level member of the canonical form.
type topEntry struct {
	key, raw  string // in the canonical form; as written
	v         Value
	statement bool
}

// span is a statement's canonical JSON in a buffer, with the statement.
type span struct {
	start, end int
	raw        Value
}

// topEntries are the members of a document's canonical form, in key
// order: Version, Id and Statement whatever their case, the rest as they
// are.
func topEntries(doc Value) []topEntry {
	var entries []topEntry
	for i := 0; i < len(doc.kids); i += 2 {
		k, v := doc.kids[i].text, doc.kids[i+1]
		e := topEntry{key: k, raw: k, v: v}
		switch {
		case lowerIs(k, "version"):
			e.key = "Version"
		case lowerIs(k, "id"):
			e.key = "Id"
		case lowerIs(k, "statement"):
			e.key, e.statement = "Statement", true
		}
		// Of keys that differ only in case, the greatest wins: json.Unmarshal
		// keeps them all, and the map-based form took whichever its
		// iteration met last.
		if j := slices.IndexFunc(entries, func(o topEntry) bool { return o.key == e.key }); j >= 0 {
			if entries[j].raw > k {
				continue
			}
			entries = slices.Delete(entries, j, j+1)
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b topEntry) int { return strings.Compare(a.key, b.key) })
	return entries
}

// form is a canonical form: its text, its hash, and, when asked for, its
// statements.
type form struct {
	text       string
	sum        [8]byte // of text's SHA-256
	statements []Statement
}

// canonicalise writes root's canonical form; with keep, also its
// statements (which then hold root's Values: root must outlive them).
func canonicalise(root Value, keep bool) (form, error) {
	entries := topEntries(root)
	sc := scratches.Get().(*scratch) //nolint:forcetypeassert // the pool's New makes only *scratch
	defer scratches.Put(sc)
	sw, w := &sc.statements, &sc.doc
	sw.buf, w.buf = sw.buf[:0], w.buf[:0]
	spans := sc.spans[:0]
	for _, e := range entries {
		if e.statement {
			var err error
			if spans, err = sw.statements(e.v, spans); err != nil {
				return form{}, err
			}
		}
	}
	sc.spans = spans
	defer clear(sc.spans) // no Values kept alive in the pool
	w.buf = append(w.buf, '{')
	offsets := sc.offsets[:0]
	defer func() { clear(offsets); sc.offsets = offsets[:0] }()
	for n, e := range entries {
		if n > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendString(w.buf, e.key)
		w.buf = append(w.buf, ':')
		if !e.statement {
			w.value(e.v)
			continue
		}
		w.buf = append(w.buf, '[')
		var prev []byte
		for i, s := range spans {
			js := sw.buf[s.start:s.end]
			if i > 0 && bytes.Equal(js, prev) {
				continue
			}
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if keep {
				offsets = append(offsets, span{len(w.buf), len(w.buf) + len(js), s.raw})
			}
			w.buf = append(w.buf, js...)
			prev = js
		}
		w.buf = append(w.buf, ']')
	}
	w.buf = append(w.buf, '}')
	f := form{text: string(w.buf)}
	sum := sha256.Sum256(w.buf)
	copy(f.sum[:], sum[:])
	if keep {
		f.statements = make([]Statement, len(offsets))
		for i, o := range offsets {
			f.statements[i] = Statement{json: f.text[o.start:o.end], raw: o.raw}
		}
	}
	return f, nil
}

// scratch is what canonicalise writes in: the statements' canonical JSON,
// the document's, and their spans. Only the result is copied out.
type scratch struct {
	statements, doc writer
	spans, offsets  []span
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// lowerIs reports strings.ToLower(k) == want, for an ASCII want.
func lowerIs(k, want string) bool {
	if len(k) != len(want) {
		return !isASCII(k) && strings.ToLower(k) == want
	}
	for i := range len(k) {
		c := k[i]
		if c >= 0x80 {
			return strings.ToLower(k) == want
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// StatementError reports a Statement list holding other than objects: a
// JSON object, but no policy document.
type StatementError struct{ Index int }

func (e *StatementError) Error() string {
	return fmt.Sprintf("statement %d is not an object", e.Index)
}

// statements writes the canonical JSON of each statement of Statement's
// value v (a list, or one statement; anything else holds none) and
// returns them sorted.
func (w *writer) statements(v Value, spans []span) ([]span, error) {
	var list []Value
	switch v.kind {
	case Array:
		list = v.kids
	case Object:
		list = []Value{v}
	}
	for i, st := range list {
		if st.kind != Object {
			return nil, &StatementError{Index: i}
		}
		start := len(w.buf)
		w.statement(st)
		spans = append(spans, span{start, len(w.buf), st})
	}
	slices.SortStableFunc(spans, func(a, b span) int {
		return bytes.Compare(w.buf[a.start:a.end], w.buf[b.start:b.end])
	})
	return spans, nil
}

// statement writes one statement's canonical JSON.
func (w *writer) statement(st Value) {
	w.members(st, func(i int) bool {
		// An empty Sid (or none that is a string) is no Sid.
		return st.kids[i].text != "Sid" || (st.kids[i+1].kind == String && st.kids[i+1].text != "")
	}, w.element)
}

// element writes a statement element's canonical value.
func (w *writer) element(name string, v Value) {
	switch name {
	case "Action", "NotAction":
		w.stringSet(v, true)
	case "Resource", "NotResource":
		w.stringSet(v, false)
	case "Principal", "NotPrincipal":
		w.principal(v)
	case "Condition":
		w.condition(v)
	default:
		w.value(v)
	}
}

// stringSet writes a string, or the strings of a list, as a sorted set
// (lower-cased for actions); null when there are none, and for any other
// value.
func (w *writer) stringSet(v Value, fold bool) {
	set := appendSet(w.set[:0], v, fold)
	w.set = set[:0]
	if set == nil {
		w.buf = append(w.buf, "null"...)
		return
	}
	w.buf = append(w.buf, '[')
	for i, s := range set {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendString(w.buf, s)
	}
	w.buf = append(w.buf, ']')
}

// appendSet appends the sorted set stringSet writes to an empty set; nil
// when it is null.
func appendSet(set []string, v Value, fold bool) []string {
	add := func(s string) {
		if fold {
			s = strings.ToLower(s)
		}
		set = append(set, s)
	}
	switch v.kind {
	case String:
		add(v.text)
	case Array:
		for _, e := range v.kids {
			if e.kind == String {
				add(e.text)
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// principal writes "*" as {"AWS":["*"]}, another string as it is, and an
// object as string sets.
func (w *writer) principal(v Value) {
	switch {
	case v.kind == String && v.text == "*":
		w.buf = append(w.buf, `{"AWS":["*"]}`...)
	case v.kind == Object:
		w.object(v, func(v Value) { w.stringSet(v, false) })
	default:
		w.value(v)
	}
}

// condition writes operator → key → value set; an operator whose value is
// not an object is dropped, and booleans and numbers are strings.
func (w *writer) condition(v Value) {
	if v.kind != Object {
		w.value(v)
		return
	}
	ops := Value{kind: Object}
	for i := 0; i < len(v.kids); i += 2 {
		if v.kids[i+1].kind == Object {
			ops.kids = append(ops.kids, v.kids[i], v.kids[i+1])
		}
	}
	w.object(ops, func(keys Value) { w.object(keys, w.conditionValues) })
}

func (w *writer) conditionValues(v Value) {
	switch v.kind {
	case Bool, Number:
		// ["true"], not [true]: the value is fmt.Sprint's text of it.
		text := v.text
		if v.kind == Bool {
			text = strconv.FormatBool(v.b)
		}
		w.buf = append(w.buf, '[')
		w.buf = appendString(w.buf, text)
		w.buf = append(w.buf, ']')
	default:
		w.stringSet(v, false)
	}
}
