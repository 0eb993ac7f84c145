package bucketdiff

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pail-dev/pail/core/internal/jsontext"
)

// fastCanonical appends the canonical form of doc to out, as
// CanonicalPolicy gives it, for documents in the shape users and backends
// write: Version, Id and Statement; statements of known elements only, each
// once; strings without escapes; Action, Resource and Principal values as a
// string or a list of strings; Condition as operator → key → string or list
// of strings. ok is false for anything else, and the caller takes the
// general path, so this never changes a canonical form; it only avoids
// building maps for every statement, which was most of the cost (and of
// the garbage) of a policy diff.
func fastCanonical(doc string, out []byte) (_ []byte, ok bool) {
	p := parsers.Get().(*fastParser)
	defer parsers.Put(p)
	p.reset(doc)
	if !utf8.ValidString(p.src) {
		return out, false
	}
	return p.document(out)
}

// parsers keep their scratch buffers between documents: a reconcile
// canonicalises two, and the buffers are most of what it would allocate.
var parsers = sync.Pool{New: func() any { return new(fastParser) }}

func (p *fastParser) reset(src string) {
	*p = fastParser{src: src, stmts: p.stmts[:0], spans: p.spans[:0], set: p.set[:0], scratch: p.scratch[:0]}
}

type fastParser struct {
	src string
	pos int
	// scratch, reused for every statement: the statements' canonical JSON
	// in one buffer, their spans, and string sets being sorted.
	stmts   []byte
	spans   [][2]int
	set     []string
	scratch []byte
}

// span is a string of src by offsets.
type span struct{ start, end int }

func (p *fastParser) document(out []byte) ([]byte, bool) {
	p.space()
	if !p.eat('{') {
		return out, false
	}
	var version, id span
	var haveVersion, haveID, haveStatement bool
	if !p.peek('}') {
		for {
			key, ok := p.str()
			if !ok || !p.colon() {
				return out, false
			}
			switch p.src[key.start:key.end] {
			case "Version":
				if haveVersion {
					return out, false
				}
				haveVersion = true
				if version, ok = p.str(); !ok {
					return out, false
				}
			case "Id":
				if haveID {
					return out, false
				}
				haveID = true
				if id, ok = p.str(); !ok {
					return out, false
				}
			case "Statement":
				if haveStatement || !p.statements() {
					return out, false
				}
				haveStatement = true
			default:
				return out, false
			}
			if more, ok := p.next('}'); !ok {
				return out, false
			} else if !more {
				break
			}
		}
	} else {
		p.pos++
	}
	p.space()
	if p.pos != len(p.src) {
		return out, false
	}
	// Keys in json.Marshal's order: Id, Statement, Version.
	out = append(out, '{')
	sep := false
	if haveID {
		out = append(out, `"Id":`...)
		out = jsontext.AppendString(out, p.src[id.start:id.end])
		sep = true
	}
	if haveStatement {
		if sep {
			out = append(out, ',')
		}
		out = append(out, `"Statement":[`...)
		slices.SortFunc(p.spans, func(a, b [2]int) int {
			return bytes.Compare(p.stmts[a[0]:a[1]], p.stmts[b[0]:b[1]])
		})
		var prev []byte
		for i, sp := range p.spans {
			s := p.stmts[sp[0]:sp[1]]
			if i > 0 && bytes.Equal(s, prev) {
				continue
			}
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, s...)
			prev = s
		}
		out = append(out, ']')
		sep = true
	}
	if haveVersion {
		if sep {
			out = append(out, ',')
		}
		out = append(out, `"Version":`...)
		out = jsontext.AppendString(out, p.src[version.start:version.end])
	}
	return append(out, '}'), true
}

// statements reads a list of statement objects, or one statement object.
func (p *fastParser) statements() bool {
	if p.peek('{') {
		return p.statement()
	}
	if !p.eat('[') {
		return false
	}
	if p.peek(']') {
		p.pos++
		return true
	}
	for {
		if !p.statement() {
			return false
		}
		if more, ok := p.next(']'); !more {
			return ok
		}
	}
}

// Statement elements, in json.Marshal's (sorted) order.
const (
	elAction = iota
	elCondition
	elEffect
	elNotAction
	elNotPrincipal
	elNotResource
	elPrincipal
	elResource
	elSid
	elCount
)

var elementNames = [elCount]string{"Action", "Condition", "Effect", "NotAction", "NotPrincipal", "NotResource", "Principal", "Resource", "Sid"}

func element(name string) int {
	for i, n := range elementNames {
		if n == name {
			return i
		}
	}
	return -1
}

// statement reads one statement and appends its canonical JSON to p.stmts.
func (p *fastParser) statement() bool {
	p.space()
	if !p.eat('{') {
		return false
	}
	// Each element is written to its own part of one buffer, then the parts
	// are joined in key order.
	var parts [elCount][2]int
	var seen [elCount]bool
	buf := p.scratch[:0]
	defer func() { p.scratch = buf }()
	if !p.peek('}') {
		for {
			key, ok := p.str()
			if !ok || !p.colon() {
				return false
			}
			el := element(p.src[key.start:key.end])
			if el < 0 || seen[el] {
				return false
			}
			seen[el] = true
			start := len(buf)
			switch el {
			case elAction, elNotAction:
				buf, ok = p.stringSet(buf, true)
			case elResource, elNotResource:
				buf, ok = p.stringSet(buf, false)
			case elPrincipal, elNotPrincipal:
				buf, ok = p.principal(buf)
			case elCondition:
				buf, ok = p.condition(buf)
			case elEffect, elSid:
				var s span
				if s, ok = p.str(); ok && (el != elSid || s.end > s.start) {
					buf = jsontext.AppendString(buf, p.src[s.start:s.end])
				} else if ok {
					seen[el] = false // an empty Sid is no Sid
				}
			}
			if !ok {
				return false
			}
			parts[el] = [2]int{start, len(buf)}
			if more, ok := p.next('}'); !ok {
				return false
			} else if !more {
				break
			}
		}
	} else {
		p.pos++
	}
	start := len(p.stmts)
	p.stmts = append(p.stmts, '{')
	first := true
	for el := range elCount {
		if !seen[el] {
			continue
		}
		if !first {
			p.stmts = append(p.stmts, ',')
		}
		first = false
		p.stmts = append(p.stmts, '"')
		p.stmts = append(p.stmts, elementNames[el]...)
		p.stmts = append(p.stmts, '"', ':')
		p.stmts = append(p.stmts, buf[parts[el][0]:parts[el][1]]...)
	}
	p.stmts = append(p.stmts, '}')
	p.spans = append(p.spans, [2]int{start, len(p.stmts)})
	return true
}

// stringSet reads a string or a list of strings and writes the sorted set
// (lower-cased for actions); an empty list is null, as stringSet gives it.
func (p *fastParser) stringSet(buf []byte, fold bool) ([]byte, bool) {
	p.set = p.set[:0]
	add := func(s span) {
		v := p.src[s.start:s.end]
		if fold {
			v = strings.ToLower(v)
		}
		p.set = append(p.set, v)
	}
	p.space()
	if p.peek('"') {
		s, ok := p.str()
		if !ok {
			return buf, false
		}
		add(s)
	} else {
		if !p.eat('[') {
			return buf, false
		}
		if p.peek(']') {
			p.pos++
			return append(buf, "null"...), true
		}
		for {
			s, ok := p.str()
			if !ok {
				return buf, false
			}
			add(s)
			if more, ok := p.next(']'); !ok {
				return buf, false
			} else if !more {
				break
			}
		}
	}
	sort.Strings(p.set)
	buf = append(buf, '[')
	for i, s := range p.set {
		if i > 0 {
			if s == p.set[i-1] {
				continue
			}
			buf = append(buf, ',')
		}
		buf = jsontext.AppendString(buf, s)
	}
	return append(buf, ']'), true
}

// principal reads "*" (the same as {"AWS":"*"}), another string, or an
// object of string sets.
func (p *fastParser) principal(buf []byte) ([]byte, bool) {
	p.space()
	if p.peek('"') {
		s, ok := p.str()
		if !ok {
			return buf, false
		}
		if p.src[s.start:s.end] == "*" {
			return append(buf, `{"AWS":["*"]}`...), true
		}
		return jsontext.AppendString(buf, p.src[s.start:s.end]), true
	}
	return p.object(buf, func(buf []byte) ([]byte, bool) { return p.stringSet(buf, false) })
}

// condition reads operator → key → value set.
func (p *fastParser) condition(buf []byte) ([]byte, bool) {
	return p.object(buf, func(buf []byte) ([]byte, bool) {
		return p.object(buf, func(buf []byte) ([]byte, bool) { return p.stringSet(buf, false) })
	})
}

// object reads an object whose values value reads, and writes it with its
// keys sorted. Duplicate keys go to the general path.
func (p *fastParser) object(buf []byte, value func([]byte) ([]byte, bool)) ([]byte, bool) {
	p.space()
	if !p.eat('{') {
		return buf, false
	}
	if p.peek('}') {
		p.pos++
		return append(buf, "{}"...), true
	}
	type entry struct {
		key        string
		start, end int
	}
	// The values are written after buf's end, then copied back in key order.
	base := len(buf)
	var entries []entry
	for {
		k, ok := p.str()
		if !ok || !p.colon() {
			return buf, false
		}
		start := len(buf)
		if buf, ok = value(buf); !ok {
			return buf, false
		}
		entries = append(entries, entry{p.src[k.start:k.end], start, len(buf)})
		if more, ok := p.next('}'); !ok {
			return buf, false
		} else if !more {
			break
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for i := 1; i < len(entries); i++ {
		if entries[i].key == entries[i-1].key {
			return buf, false
		}
	}
	values := slices.Clone(buf[base:])
	buf = append(buf[:base], '{')
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsontext.AppendString(buf, e.key)
		buf = append(buf, ':')
		buf = append(buf, values[e.start-base:e.end-base]...)
	}
	return append(buf, '}'), true
}

func (p *fastParser) space() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *fastParser) peek(c byte) bool {
	p.space()
	return p.pos < len(p.src) && p.src[p.pos] == c
}

func (p *fastParser) eat(c byte) bool {
	if p.peek(c) {
		p.pos++
		return true
	}
	return false
}

func (p *fastParser) colon() bool { return p.eat(':') }

// next reads the separator after a member: more after ",", done after
// closer; ok is false for anything else.
func (p *fastParser) next(closer byte) (more, ok bool) {
	switch {
	case p.eat(','):
		return true, true
	case p.eat(closer):
		return false, true
	}
	return false, false
}

// str reads a string without escapes or control characters.
func (p *fastParser) str() (span, bool) {
	if !p.eat('"') {
		return span{}, false
	}
	start := p.pos
	for i := start; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '"':
			p.pos = i + 1
			return span{start, i}, true
		case c == '\\' || c < 0x20:
			return span{}, false
		}
	}
	return span{}, false
}
