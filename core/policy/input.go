package policy

import (
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/pail-dev/pail/core/internal/jsontext"
)

// StatementsJSONKey is the input field WithStatementsJSON fills.
const StatementsJSONKey = "statements_json"

// WithStatementsJSON adds statements_json to a policy input (an object with
// the document under "policy"): the statements (Statement as a list: []
// when missing or null, one statement as a list of one) as the JSON text
// Rego's json.marshal gives for them. The built-in packs clear valid
// statements by matching that text; the host writes it from the value it
// already holds for a fraction of what marshalling the value costs inside
// the evaluation. Packs fall back to json.marshal when the field is absent
// (as under conftest or opa eval), so both give the same verdicts.
//
// input is changed in place and returned; it is left without the field
// when "policy" is not an object.
func WithStatementsJSON(input ast.Object) ast.Object {
	t := input.Get(ast.InternedTerm("policy"))
	if t == nil {
		return input
	}
	pol, ok := t.Value.(ast.Object)
	if !ok {
		return input
	}
	var list ast.Value = ast.NewArray()
	if st := pol.Get(ast.InternedTerm("Statement")); st != nil {
		switch v := st.Value.(type) {
		case ast.Null:
		case *ast.Array:
			list = v
		default:
			list = ast.NewArray(st)
		}
	}
	w := regoJSON{buf: textBufs.Get().([]byte)[:0]}
	if w.value(list) {
		input.Insert(ast.InternedTerm(StatementsJSONKey), ast.StringTerm(string(w.buf)))
	}
	textBufs.Put(w.buf) //nolint:staticcheck // a slice header: one small allocation to keep KBs
	return input
}

// textBufs keep the buffers the texts are written in; the text itself is
// copied out.
var textBufs = sync.Pool{New: func() any { return []byte(nil) }}

// regoJSON writes Rego values as json.marshal does: through ast.JSON (a
// number is its own text) and encoding/json (sorted keys, HTML escaping).
type regoJSON struct {
	buf     []byte
	members []member
}

type member struct {
	key   string
	value ast.Value
}

func (w *regoJSON) value(v ast.Value) bool {
	switch x := v.(type) {
	case ast.Null:
		w.buf = append(w.buf, "null"...)
	case ast.Boolean:
		if x {
			w.buf = append(w.buf, "true"...)
		} else {
			w.buf = append(w.buf, "false"...)
		}
	case ast.String:
		w.str(string(x))
	case ast.Number:
		w.buf = append(w.buf, x...)
	case *ast.Array:
		w.buf = append(w.buf, '[')
		for i := range x.Len() {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if !w.value(x.Elem(i).Value) {
				return false
			}
		}
		w.buf = append(w.buf, ']')
	case ast.Object:
		// The members go on a scratch stack shared by all levels, sorted
		// there: no allocation per object once it has grown.
		base := len(w.members)
		ok := true
		x.Foreach(func(k, v *ast.Term) {
			s, isStr := k.Value.(ast.String)
			ok = ok && isStr
			w.members = append(w.members, member{string(s), v.Value})
		})
		members := w.members[base:]
		defer func() { w.members = w.members[:base] }()
		if !ok {
			return false
		}
		slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
		w.buf = append(w.buf, '{')
		for i, m := range members {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.str(m.key)
			w.buf = append(w.buf, ':')
			if !w.value(m.value) {
				return false
			}
		}
		w.buf = append(w.buf, '}')
	default:
		return false
	}
	return true
}

func (w *regoJSON) str(s string) { w.buf = jsontext.AppendString(w.buf, s) }
