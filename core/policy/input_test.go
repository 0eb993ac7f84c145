package policy

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reference is what the engine evaluated before DecodeDocument: the
// document decoded by json.Unmarshal into a map, converted by OPA.
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

func statementsJSON(t testing.TB, pol ast.Value) (string, bool) {
	in := WithStatementsJSON(ast.NewObject([2]*ast.Term{ast.StringTerm("policy"), ast.NewTerm(pol)}))
	v := in.Get(ast.StringTerm(StatementsJSONKey))
	if v == nil {
		return "", false
	}
	s, ok := v.Value.(ast.String)
	require.True(t, ok)
	return string(s), true
}

func TestWithStatementsJSON(t *testing.T) {
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
			pol, err := DecodeDocument([]byte(tc.doc))
			require.NoError(t, err)
			got, ok := statementsJSON(t, pol)
			require.True(t, ok)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, regoMarshal(t, pol), got, "the text Rego's json.marshal gives")
		})
	}
	t.Run("no policy object", func(t *testing.T) {
		_, ok := statementsJSON(t, ast.NewArray())
		assert.False(t, ok)
	})
}

func TestDecodeDocument(t *testing.T) {
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
			got, err := DecodeDocument([]byte(doc))
			require.Equal(t, wantErr != nil, err != nil, "%v / %v", wantErr, err)
			if err == nil {
				assert.Equal(t, 0, want.Compare(got), "%v / %v", want, got)
			}
		})
	}
}

// FuzzDecodeDocument: the hand-written decoder gives the value the
// json.Unmarshal path gives, or fails where it fails.
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
		got, err := DecodeDocument(doc)
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
		`{"Statement":"text"}`, `{"Statement":[1.5e-7,"\u2028\ud800"]}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		pol, err := DecodeDocument(doc)
		if err != nil {
			return
		}
		got, ok := statementsJSON(t, pol)
		require.True(t, ok, "every value a JSON document decodes to is written")
		require.Equal(t, regoMarshal(t, pol), got)
	})
}
