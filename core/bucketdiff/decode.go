package bucketdiff

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeObject decodes a JSON object as json.Unmarshal into a map[string]any
// does, with the same value or the same error. Policy documents are objects
// of strings, lists and objects, and decoding them through reflection was
// most of the cost of a canonical form (and a large part of validating a
// BucketPolicy); so the common subset (no numbers, no escapes in strings)
// is read by hand, and anything else goes to json.Unmarshal.
func decodeObject(doc []byte) (map[string]any, error) {
	d := decoder{data: doc}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '{' {
		if v, ok := d.value(0); ok {
			d.space()
			if m, isMap := v.(map[string]any); isMap && d.pos == len(d.data) {
				return m, nil
			}
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

type decoder struct {
	data []byte
	pos  int
}

// maxDepth is far below encoding/json's limit, so that deeper documents
// take its path and get its error.
const maxDepth = 100

func (d *decoder) space() {
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
func (d *decoder) value(depth int) (any, bool) {
	if depth > maxDepth || d.pos >= len(d.data) {
		return nil, false
	}
	switch c := d.data[d.pos]; c {
	case '"':
		return d.str()
	case '{':
		d.pos++
		m := map[string]any{}
		d.space()
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			return m, true
		}
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
			m[k] = v
			d.space()
			if d.pos >= len(d.data) {
				return nil, false
			}
			switch d.data[d.pos] {
			case ',':
				d.pos++
			case '}':
				d.pos++
				return m, true
			default:
				return nil, false
			}
		}
	case '[':
		d.pos++
		list := []any{}
		d.space()
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			return list, true
		}
		for {
			d.space()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			list = append(list, v)
			d.space()
			if d.pos >= len(d.data) {
				return nil, false
			}
			switch d.data[d.pos] {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return list, true
			default:
				return nil, false
			}
		}
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	}
	return nil, false
}

func (d *decoder) literal(word string) bool {
	if len(d.data)-d.pos >= len(word) && string(d.data[d.pos:d.pos+len(word)]) == word {
		d.pos += len(word)
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid
// UTF-8 (json.Unmarshal would replace invalid bytes).
func (d *decoder) str() (string, bool) {
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
