package policy

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
)

// StatementsJSONKey is the input field WithStatementsJSON fills.
const StatementsJSONKey = "statements_json"

// WithStatementsJSON adds statements_json to a policy input: the statements
// of input.policy (Statement as a list: [] when missing or null, one
// statement as a list of one) as the JSON text Rego's json.marshal gives
// for them. The built-in packs clear valid statements by matching that
// text; the host already holds the decoded document, and writing the text
// here costs a fraction of marshalling the Rego value inside the
// evaluation. Packs fall back to json.marshal when the field is absent (as
// under conftest or opa eval), so both give the same verdicts.
//
// input is changed in place and returned. It is left without the field when
// it holds a value json.Unmarshal does not make.
func WithStatementsJSON(input map[string]any) map[string]any {
	pol, ok := input["policy"].(map[string]any)
	if !ok {
		return input
	}
	var list []any
	switch st := pol["Statement"].(type) {
	case nil:
		list = []any{}
	case []any:
		list = st
	default:
		list = []any{st}
	}
	w := regoJSON{buf: textBufs.Get().([]byte)[:0]}
	if w.value(list) {
		input[StatementsJSONKey] = string(w.buf)
	}
	textBufs.Put(w.buf) //nolint:staticcheck // a slice header: one small allocation to keep KBs
	return input
}

// textBufs keep the buffers the texts are written in; the text itself is
// copied out.
var textBufs = sync.Pool{New: func() any { return []byte(nil) }}

// regoJSON writes values as json.marshal in Rego does: OPA converts the
// input to Rego values (a float64 becomes the number strconv's shortest 'g'
// form gives) and marshals those with encoding/json (sorted keys, HTML
// escaping).
type regoJSON struct{ buf []byte }

func (w *regoJSON) value(v any) bool {
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, x)
	case string:
		w.str(x)
	case float64:
		w.buf = strconv.AppendFloat(w.buf, x, 'g', -1, 64)
	case []any:
		w.buf = append(w.buf, '[')
		for i, e := range x {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if !w.value(e) {
				return false
			}
		}
		w.buf = append(w.buf, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.buf = append(w.buf, '{')
		for i, k := range keys {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.str(k)
			w.buf = append(w.buf, ':')
			if !w.value(x[k]) {
				return false
			}
		}
		w.buf = append(w.buf, '}')
	default:
		return false
	}
	return true
}

// str writes plain printable ASCII as is and leaves escaping (control
// characters, HTML characters, invalid UTF-8, U+2028) to encoding/json.
func (w *regoJSON) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			w.buf = append(w.buf, b...)
			return
		}
	}
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '"')
}
