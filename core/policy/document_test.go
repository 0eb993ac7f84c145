package policy

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/policydoc"
)

// reference is what the engine evaluated before policydoc: the document
// decoded by json.Unmarshal into a map, converted by OPA.
func reference(t testing.TB, doc []byte) (ast.Value, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	v, err := ast.InterfaceToValue(m)
	require.NoError(t, err)
	return v, nil
}

// regoMarshal is what json.marshal(statements) gives inside an evaluation.
func regoMarshal(t testing.TB, pol ast.Value) string {
	list := ast.NewArray()
	if obj, ok := pol.(ast.Object); ok {
		if st := obj.Get(ast.StringTerm("Statement")); st != nil {
			switch v := st.Value.(type) {
			case ast.Null:
			case *ast.Array:
				list = v
			default:
				list = ast.NewArray(st)
			}
		}
	}
	j, err := ast.JSON(list)
	require.NoError(t, err)
	b, err := json.Marshal(j)
	require.NoError(t, err)
	return string(b)
}

// decode is the Rego value of doc's Document, and the Document.
func decode(doc []byte) (ast.Value, *policydoc.Document, error) {
	d, err := policydoc.Parse(doc)
	if err != nil {
		return nil, nil, err
	}
	return Value(d.Value()), d, nil
}

// statementsJSON is the text WithDocument puts in the input.
func statementsJSON(t testing.TB, d *policydoc.Document) string {
	in := WithDocument(map[string]any{}, d)
	s, ok := in[StatementsJSONKey].(string)
	require.True(t, ok)
	return s
}

func TestWithDocument(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{name: "list", doc: `{"Statement":[{"Sid":"b","Effect":"Allow","Action":["s3:GetObject"]}]}`, want: `[{"Action":["s3:GetObject"],"Effect":"Allow","Sid":"b"}]`},
		{name: "one statement is a list of one", doc: `{"Statement":{"Effect":"Deny"}}`, want: `[{"Effect":"Deny"}]`},
		{name: "no Statement", doc: `{"Version":"2012-10-17"}`, want: `[]`},
		{name: "null Statement", doc: `{"Statement":null}`, want: `[]`},
		{name: "numbers as Rego writes them", doc: `{"Statement":[{"n":[1000000,1.5,1e21,-0.000001,7.0]}]}`, want: `[{"n":[1e+06,1.5,1e+21,-1e-06,7]}]`},
		{name: "escapes as encoding/json writes them", doc: `{"Statement":[{"s":"<a&b>\u2028\"\\\n","é":true,"z":null}]}`, want: `[{"s":"\u003ca\u0026b\u003e\u2028\"\\\n","z":null,"é":true}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol, d, err := decode([]byte(tc.doc))
			require.NoError(t, err)
			got := statementsJSON(t, d)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, regoMarshal(t, pol), got, "the text Rego's json.marshal gives")
			in := WithDocument(map[string]any{"raw_size": 1}, d)
			assert.Equal(t, 0, pol.Compare(in["policy"].(ast.Value)), "the document is the input's policy")
			assert.Equal(t, 1, in["raw_size"], "the rest of the input is kept")
		})
	}
}

// A policy document's Rego value is what OPA makes of json.Unmarshal's.
func TestValue(t *testing.T) {
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:GetObject","Resource":["arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":false}}}]}`,
		" {\n \"a\" : [ true , false , null , { } , [ ] ] } ",
		`{"n":1.5e3,"s":"\u00e9"}`,
		`{"a":"x","a":"y"}`,
		`{"deep":` + string(make([]byte, 0)) + `[[[[[[[[[[]]]]]]]]]]}`,
		`null`, `[]`, `"x"`, `{`, `{"a":1} x`, "{\"a\":\"\xff\"}", `{"a":tru}`,
	} {
		t.Run(doc, func(t *testing.T) {
			want, wantErr := reference(t, []byte(doc))
			got, _, err := decode([]byte(doc))
			require.Equal(t, wantErr != nil, err != nil, "%v / %v", wantErr, err)
			if err == nil {
				assert.Equal(t, 0, want.Compare(got), "%v / %v", want, got)
			}
		})
	}
}

// FuzzDecodeDocument: the Document's value is the one the json.Unmarshal
// path gives, or it fails where that fails (or, beyond it, for a Statement
// list with other than objects, which is no policy document).
func FuzzDecodeDocument(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Sid":"b","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*","Condition":{"NumericLessThan":{"n":[3,1e6]}}}]}`,
		`{"Statement":{"Effect":"Deny","x":[true,false,null,{"<":"&"}]}}`,
		`{"a":"x","a":"y"}`, `null`, `{"Statement":"text"}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		want, wantErr := reference(t, doc)
		got, _, err := decode(doc)
		if wantErr == nil && err != nil {
			require.ErrorContains(t, err, "is not an object", "%q", doc)
			return
		}
		require.Equal(t, wantErr != nil, err != nil, "%q: %v / %v", doc, wantErr, err)
		if err == nil {
			require.Equal(t, 0, want.Compare(got), "%q", doc)
		}
	})
}

// FuzzStatementsJSON: for any JSON document, the host's text is the one
// json.marshal would give inside the evaluation.
func FuzzStatementsJSON(f *testing.F) {
	for _, s := range []string{
		`{"Statement":[{"Sid":"b","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*","Condition":{"NumericLessThan":{"n":[3,1e6]}}}]}`,
		`{"Statement":{"Effect":"Deny","x":[true,false,null,{"<":"&"}]}}`,
		`{"Statement":"text"}`, `{"Statement":[1.5e-7,"\u2028\ud800"]}`, `{"Statement":[{"n":1.5e-7,"s":"\u2028\ud800"}]}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		pol, d, err := decode(doc)
		if err != nil {
			return
		}
		require.Equal(t, regoMarshal(t, pol), statementsJSON(t, d))
	})
}
