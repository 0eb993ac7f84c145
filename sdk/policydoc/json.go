package policydoc

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

// writer writes Values as JSON text, byte for byte as encoding/json writes
// the any they stand for (sorted keys, HTML escaping), or, with rego, as
// Rego's json.marshal writes them inside an evaluation (numbers as OPA's
// text of them).
type writer struct {
	buf  []byte
	rego bool
	// order is scratch for sorting object members, shared by all levels;
	// set for the string set being written.
	order []int
	set   []string
}

func (w *writer) value(v Value) {
	switch v.kind {
	case Null:
		w.buf = append(w.buf, "null"...)
	case Bool:
		w.buf = strconv.AppendBool(w.buf, v.b)
	case Number:
		if w.rego {
			w.buf = append(w.buf, v.text...)
		} else {
			w.buf = appendFloat(w.buf, v.text)
		}
	case String:
		w.buf = appendString(w.buf, v.text)
	case Array:
		w.buf = append(w.buf, '[')
		for i, e := range v.kids {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.value(e)
		}
		w.buf = append(w.buf, ']')
	case Object:
		w.object(v, w.value)
	}
}

// object writes v's members in key order, each value by write.
func (w *writer) object(v Value, write func(Value)) {
	w.members(v, nil, func(_ string, m Value) { write(m) })
}

// members writes the members of object v that keep accepts (all when keep
// is nil; i indexes v.kids, the key at i and its value at i+1) in key
// order, each value by write: the one place the canonical form orders keys.
func (w *writer) members(v Value, keep func(i int) bool, write func(key string, m Value)) {
	base := len(w.order)
	for i := 0; i < len(v.kids); i += 2 {
		if keep == nil || keep(i) {
			w.order = append(w.order, i)
		}
	}
	defer func() { w.order = w.order[:base] }()
	order := w.order[base:]
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(v.kids[a].text, v.kids[b].text) })
	w.buf = append(w.buf, '{')
	for n, i := range order {
		if n > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendString(w.buf, v.kids[i].text)
		w.buf = append(w.buf, ':')
		write(v.kids[i].text, v.kids[i+1])
	}
	w.buf = append(w.buf, '}')
}

// appendFloat appends a Number (text as Value keeps it) as encoding/json
// writes its float64.
func appendFloat(buf []byte, text string) []byte {
	f, _ := strconv.ParseFloat(text, 64)
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json does.
		if n := len(buf); n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}

// appendString appends s as a JSON string, as encoding/json writes it:
// plain printable ASCII as is, and anything it escapes (control
// characters, HTML characters, invalid UTF-8, U+2028 and U+2029) left to
// encoding/json itself.
func appendString(buf []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) //nolint:errchkjson // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
