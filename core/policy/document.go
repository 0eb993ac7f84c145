package policy

import (
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/pail-dev/pail/sdk/policydoc"
)

// StatementsJSONKey is the input field WithDocument fills with the
// statements' JSON text (policydoc.StatementsJSON). The built-in
// packs clear valid statements by matching that text, and fall back to
// json.marshal when the field is absent (as under conftest or opa eval),
// so both give the same verdicts.
const StatementsJSONKey = "statements_json"

// WithDocument puts d in a policy input: the document under "policy", as
// the Rego value of what it decodes to, and its statements' text under
// StatementsJSONKey. input is changed in place and returned.
func WithDocument(input map[string]any, d *policydoc.Document) map[string]any {
	d.Use(func(v policydoc.Value) { // the Rego value and the text keep none of v
		input["policy"] = Value(v)
		input[StatementsJSONKey] = policydoc.StatementsJSON(v)
	})
	return input
}

// Value is v as a Rego value: the one ast.InterfaceToValue gives for what
// json.Unmarshal decodes v's text into, made straight from the decoded
// document, with all of an object's terms in two allocations.
func Value(v policydoc.Value) ast.Value {
	switch v.Kind() {
	case policydoc.Bool:
		return ast.Boolean(v.Bool())
	case policydoc.Number:
		return ast.Number(v.Text())
	case policydoc.String:
		return ast.InternedValue(v.Text())
	case policydoc.Array:
		terms := util.NewPtrSlice[ast.Term](v.Len())
		for i := range terms {
			terms[i].Value = Value(v.Elem(i))
		}
		return ast.NewArray(terms...)
	case policydoc.Object:
		n := v.Len()
		terms := util.NewPtrSlice[ast.Term](2 * n)
		tuples := make([][2]*ast.Term, n)
		for i := range n {
			k, e := v.Member(i)
			terms[2*i].Value, terms[2*i+1].Value = ast.InternedValue(k), Value(e)
			tuples[i] = [2]*ast.Term{terms[2*i], terms[2*i+1]}
		}
		return ast.NewObject(tuples...)
	}
	return ast.Null{}
}
