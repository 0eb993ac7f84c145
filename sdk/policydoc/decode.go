package policydoc

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"
)

// decode reads doc into the Value json.Unmarshal gives for it decoded into
// a map[string]any ("null" is an empty object), or fails where that fails.
// What users and backends write (valid UTF-8, strings without escapes, not
// deeply nested) is read by hand straight into Values whose strings are
// slices of doc; anything else takes encoding/json's path, so this never
// accepts or decodes a document otherwise.
//
// With an arena, the Values live in it, until it is released; without, on
// the heap.
func decode(doc string, a *arena) (Value, error) {
	if v, ok := fastDecode(doc, a); ok {
		return v, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return Value{}, err
	}
	return fromAny(m), nil
}

// fastDecode reads a JSON object of the common subset; ok is false for
// anything else.
func fastDecode(doc string, a *arena) (_ Value, ok bool) {
	if !utf8.ValidString(doc) {
		return Value{}, false
	}
	d := decoders.Get().(*decoder) //nolint:forcetypeassert // the pool's New makes only *decoder
	defer func() {
		clear(d.stack[:cap(d.stack)]) // no document kept alive in the pool
		d.src = ""
		decoders.Put(d)
	}()
	*d = decoder{src: doc, stack: d.stack[:0], arena: a}
	if !d.peek('{') {
		return Value{}, false
	}
	v, ok := d.value(0)
	d.space()
	return v, ok && d.pos == len(d.src)
}

// arenaChunk is the size of an arena's chunks: a 20-statement document
// takes about 350 Values.
const arenaChunk = 1024

// arena is scratch memory for the Values of a document being parsed.
type arena struct {
	chunks    [][]Value
	cur, used int
}

var arenas = sync.Pool{New: func() any { return new(arena) }}

// alloc returns n Values from a's chunks (from the heap when a is nil or n
// is large).
func (a *arena) alloc(n int) []Value {
	if a == nil || n > arenaChunk {
		return make([]Value, n)
	}
	if len(a.chunks) == 0 || a.used+n > arenaChunk {
		if len(a.chunks) > 0 {
			a.cur++
		}
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]Value, arenaChunk))
		}
		a.used = 0
	}
	out := a.chunks[a.cur][a.used : a.used+n : a.used+n]
	a.used += n
	return out
}

// release clears what a handed out (no document is kept alive in the
// pool) and puts it back.
func (a *arena) release() {
	for i := 0; i < len(a.chunks) && i <= a.cur; i++ {
		clear(a.chunks[i])
	}
	a.cur, a.used = 0, 0
	arenas.Put(a)
}

// fromAny converts what json.Unmarshal decodes; an object's members are
// put in key order.
func fromAny(x any) Value {
	switch x := x.(type) {
	case nil:
		return Value{}
	case bool:
		return Value{kind: Bool, b: x}
	case float64:
		return Value{kind: Number, text: strconv.FormatFloat(x, 'g', -1, 64)}
	case string:
		return Value{kind: String, text: x}
	case []any:
		kids := make([]Value, len(x))
		for i, e := range x {
			kids[i] = fromAny(e)
		}
		return Value{kind: Array, kids: kids}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		kids := make([]Value, 0, 2*len(keys))
		for _, k := range keys {
			kids = append(kids, Value{kind: String, text: k}, fromAny(x[k]))
		}
		return Value{kind: Object, kids: kids}
	}
	panic(fmt.Sprintf("policydoc: json.Unmarshal gave a %T", x))
}

// maxDepth is far below encoding/json's limit, so that deeper documents
// take its path and get its error.
const maxDepth = 100

// decoders keep their stacks between documents.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

type decoder struct {
	src string
	pos int
	// stack holds the kids of the containers being read, copied out in
	// one allocation of the right size (from arena, when there is one)
	// when a container closes.
	stack []Value
	arena *arena
}

func (d *decoder) space() {
	for d.pos < len(d.src) {
		switch d.src[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek(c byte) bool {
	d.space()
	return d.pos < len(d.src) && d.src[d.pos] == c
}

func (d *decoder) eat(c byte) bool {
	if d.peek(c) {
		d.pos++
		return true
	}
	return false
}

// value reads one value; false means "not in the subset", not "invalid".
func (d *decoder) value(depth int) (Value, bool) {
	d.space()
	if depth > maxDepth || d.pos >= len(d.src) {
		return Value{}, false
	}
	switch c := d.src[d.pos]; {
	case c == '"':
		s, ok := d.str()
		return Value{kind: String, text: s}, ok
	case c == '{':
		return d.container(depth, Object, '}')
	case c == '[':
		return d.container(depth, Array, ']')
	case c == 't':
		return Value{kind: Bool, b: true}, d.literal("true")
	case c == 'f':
		return Value{kind: Bool}, d.literal("false")
	case c == 'n':
		return Value{}, d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	}
	return Value{}, false
}

// container reads an object or an array after its opening bracket.
func (d *decoder) container(depth int, kind Kind, closer byte) (Value, bool) {
	d.pos++
	base := len(d.stack)
	defer func() { d.stack = d.stack[:base] }()
	if !d.eat(closer) {
		for {
			if kind == Object {
				if !d.peek('"') {
					return Value{}, false
				}
				k, ok := d.str()
				if !ok || !d.eat(':') {
					return Value{}, false
				}
				d.stack = append(d.stack, Value{kind: String, text: k})
			}
			v, ok := d.value(depth + 1)
			if !ok {
				return Value{}, false
			}
			d.stack = append(d.stack, v)
			if d.eat(closer) {
				break
			}
			if !d.eat(',') {
				return Value{}, false
			}
		}
	}
	kids := d.stack[base:]
	if kind == Object {
		kids = lastOfDuplicates(kids)
	}
	out := d.arena.alloc(len(kids))
	copy(out, kids)
	return Value{kind: kind, kids: out}, true
}

// lastOfDuplicates drops every member whose key comes again later, as
// json.Unmarshal keeps the last of duplicate keys.
func lastOfDuplicates(kids []Value) []Value {
	var last map[string]int // for large objects: the index of each key's last member
	if len(kids) > 32 {
		last = make(map[string]int, len(kids)/2)
		for i := 0; i < len(kids); i += 2 {
			last[kids[i].text] = i
		}
	}
	out := kids[:0]
	for i := 0; i < len(kids); i += 2 {
		later := last != nil && last[kids[i].text] != i
		for j := i + 2; last == nil && j < len(kids) && !later; j += 2 {
			later = kids[i].text == kids[j].text
		}
		if !later {
			out = append(out, kids[i], kids[i+1])
		}
	}
	return out
}

func (d *decoder) literal(word string) bool {
	if len(d.src)-d.pos >= len(word) && d.src[d.pos:d.pos+len(word)] == word {
		d.pos += len(word)
		return true
	}
	return false
}

// str reads a string without escapes or control characters (the document
// is valid UTF-8).
func (d *decoder) str() (string, bool) {
	start := d.pos + 1
	for i := start; i < len(d.src); i++ {
		switch c := d.src[i]; {
		case c == '"':
			d.pos = i + 1
			return d.src[start:i], true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// number reads a number in JSON's grammar that a float64 holds.
func (d *decoder) number() (Value, bool) {
	start, i := d.pos, d.pos
	digits := func() int {
		n := 0
		for i < len(d.src) && '0' <= d.src[i] && d.src[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if d.src[i] == '-' {
		i++
	}
	if i < len(d.src) && d.src[i] == '0' {
		i++
	} else if digits() == 0 {
		return Value{}, false
	}
	if i < len(d.src) && d.src[i] == '.' {
		i++
		if digits() == 0 {
			return Value{}, false
		}
	}
	if i < len(d.src) && (d.src[i] == 'e' || d.src[i] == 'E') {
		i++
		if i < len(d.src) && (d.src[i] == '+' || d.src[i] == '-') {
			i++
		}
		if digits() == 0 {
			return Value{}, false
		}
	}
	f, err := strconv.ParseFloat(d.src[start:i], 64)
	if err != nil {
		return Value{}, false // out of range: json.Unmarshal's error
	}
	d.pos = i
	return Value{kind: Number, text: strconv.FormatFloat(f, 'g', -1, 64)}, true
}
