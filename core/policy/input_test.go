package policy

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// regoMarshal is what json.marshal(statements) gives inside an evaluation:
// the input converted to a Rego value, back to JSON with encoding/json.
func regoMarshal(t testing.TB, statements []any) string {
	v, err := ast.InterfaceToValue(statements)
	require.NoError(t, err)
	j, err := ast.JSON(v)
	require.NoError(t, err)
	b, err := json.Marshal(j)
	require.NoError(t, err)
	return string(b)
}

func TestWithStatementsJSON(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // "" means no field
	}{
		{name: "list", doc: `{"policy":{"Statement":[{"Sid":"b","Effect":"Allow","Action":["s3:GetObject"]}]}}`, want: `[{"Action":["s3:GetObject"],"Effect":"Allow","Sid":"b"}]`},
		{name: "one statement is a list of one", doc: `{"policy":{"Statement":{"Effect":"Deny"}}}`, want: `[{"Effect":"Deny"}]`},
		{name: "no Statement", doc: `{"policy":{"Version":"2012-10-17"}}`, want: `[]`},
		{name: "null Statement", doc: `{"policy":{"Statement":null}}`, want: `[]`},
		{name: "numbers as Rego writes them", doc: `{"policy":{"Statement":[{"n":[1000000,1.5,1e21,-0.000001,7.0]}]}}`, want: `[{"n":[1e+06,1.5,1e+21,-1e-06,7]}]`},
		{name: "escapes as encoding/json writes them", doc: `{"policy":{"Statement":[{"s":"<a&b>\u2028\"\\\n","é":true,"z":null}]}}`, want: `[{"s":"\u003ca\u0026b\u003e\u2028\"\\\n","z":null,"é":true}]`},
		{name: "no policy object", doc: `{"policy":[1]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in map[string]any
			require.NoError(t, json.Unmarshal([]byte(tc.doc), &in))
			got, ok := WithStatementsJSON(in)[StatementsJSONKey].(string)
			if tc.want == "" {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tc.want, got)
			var list []any
			switch st := in["policy"].(map[string]any)["Statement"].(type) {
			case nil:
				list = []any{}
			case []any:
				list = st
			default:
				list = []any{st}
			}
			assert.Equal(t, regoMarshal(t, list), got, "the text Rego's json.marshal gives")
		})
	}
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
		var pol any
		if json.Unmarshal(doc, &pol) != nil {
			return
		}
		in := WithStatementsJSON(map[string]any{"policy": pol})
		got, ok := in[StatementsJSONKey].(string)
		m, isMap := pol.(map[string]any)
		if !isMap {
			require.False(t, ok)
			return
		}
		require.True(t, ok, "every value json.Unmarshal makes is written")
		var list []any
		switch st := m["Statement"].(type) {
		case nil:
			list = []any{}
		case []any:
			list = st
		default:
			list = []any{st}
		}
		require.Equal(t, regoMarshal(t, list), got)
	})
}
