package policy

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// DecodeDocument decodes a JSON object straight into the Rego value the
// engine evaluates: the value ast.InterfaceToValue gives for what
// json.Unmarshal decodes into a map[string]any, or json.Unmarshal's error.
// Decoding into Go maps first and converting those was a third of the
// garbage of a BucketPolicy validation. The common subset (objects, lists,
// strings without escapes, booleans, null) is read by hand; anything else
// takes the json.Unmarshal path.
func DecodeDocument(doc []byte) (ast.Object, error) {
	d := astDecoder{data: doc}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '{' {
		if v, ok := d.value(0); ok {
			d.space()
			if obj, isObj := v.(ast.Object); isObj && d.pos == len(d.data) {
				return obj, nil
			}
		}
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	v, err := ast.InterfaceToValue(m) // "null" is a nil map: an empty object
	if err != nil {
		return nil, err
	}
	return v.(ast.Object), nil
}

type astDecoder struct {
	data []byte
	pos  int
}

func (d *astDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value reads one value; false means "not in the subset", not "invalid".
func (d *astDecoder) value(depth int) (ast.Value, bool) {
	if depth > maxDecodeDepth || d.pos >= len(d.data) {
		return nil, false
	}
	switch d.data[d.pos] {
	case '"':
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		return ast.InternedValue(s), true
	case '{':
		d.pos++
		d.space()
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			return ast.NewObject(), true
		}
		// Keys and values on the stack first, then all terms in two
		// allocations, as ast.InterfaceToValue makes them.
		var keyArr [12]string
		var valArr [12]ast.Value
		keys, vals := keyArr[:0], valArr[:0]
		for {
			d.space()
			if d.pos >= len(d.data) || d.data[d.pos] != '"' {
				return nil, false
			}
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			d.space()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return nil, false
			}
			d.pos++
			d.space()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			keys, vals = append(keys, k), append(vals, v)
			d.space()
			if d.pos >= len(d.data) {
				return nil, false
			}
			switch d.data[d.pos] {
			case ',':
				d.pos++
			case '}':
				d.pos++
				// json.Unmarshal keeps the last of duplicate keys; leave
				// that rare case to it.
				if hasDuplicate(keys) {
					return nil, false
				}
				terms := util.NewPtrSlice[ast.Term](2 * len(keys))
				tuples := make([][2]*ast.Term, len(keys))
				for i := range keys {
					terms[2*i].Value, terms[2*i+1].Value = ast.InternedValue(keys[i]), vals[i]
					tuples[i] = [2]*ast.Term{terms[2*i], terms[2*i+1]}
				}
				return ast.NewObject(tuples...), true
			default:
				return nil, false
			}
		}
	case '[':
		d.pos++
		d.space()
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			return ast.NewArray(), true
		}
		var valArr [12]ast.Value
		vals := valArr[:0]
		for {
			d.space()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			vals = append(vals, v)
			d.space()
			if d.pos >= len(d.data) {
				return nil, false
			}
			switch d.data[d.pos] {
			case ',':
				d.pos++
			case ']':
				d.pos++
				terms := util.NewPtrSlice[ast.Term](len(vals))
				for i, v := range vals {
					terms[i].Value = v
				}
				return ast.NewArray(terms...), true
			default:
				return nil, false
			}
		}
	case 't':
		return ast.Boolean(true), d.literal("true")
	case 'f':
		return ast.Boolean(false), d.literal("false")
	case 'n':
		return ast.Null{}, d.literal("null")
	}
	// Numbers: json.Unmarshal makes float64s, which InterfaceToValue
	// formats its own way; rare in policies, so left to that path.
	return nil, false
}

// maxDecodeDepth is far below encoding/json's limit, so that deeper
// documents take its path and get its error.
const maxDecodeDepth = 100

func hasDuplicate(keys []string) bool {
	switch len(keys) {
	case 0, 1:
		return false
	case 2:
		return keys[0] == keys[1]
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return true
		}
	}
	return false
}

func (d *astDecoder) literal(word string) bool {
	if bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		d.pos += len(word)
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid
// UTF-8 (json.Unmarshal would replace invalid bytes).
func (d *astDecoder) str() (string, bool) {
	start := d.pos + 1
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			s := d.data[start:i]
			if !utf8.Valid(s) {
				return "", false
			}
			d.pos = i + 1
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}
