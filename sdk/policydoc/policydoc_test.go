package policydoc

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalPolicy(t *testing.T) {
	same := [][2]string{
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"r"}}`,
			`{"Statement":[{"Effect":"Allow","Action":["S3:GETOBJECT"],"Resource":["r"]}],"Version":"2012-10-17"}`},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":["a","b"]},{"Effect":"Deny","Action":"c"}]}`,
			`{"Statement":[{"Effect":"Deny","Action":["c"]},{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["b","a"]}]}`},
		{`{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
			`{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"Bool":{"aws:SecureTransport":["false"]}}}]}`},
	}
	for _, p := range same {
		a, err := canonical([]byte(p[0]))
		require.NoError(t, err)
		b, err := canonical([]byte(p[1]))
		require.NoError(t, err)
		assert.Equal(t, a, b)
	}
	a, _ := canonical([]byte(`{"Statement":[{"Effect":"Allow","Resource":"arn:aws:s3:::A"}]}`))
	b, _ := canonical([]byte(`{"Statement":[{"Effect":"Allow","Resource":"arn:aws:s3:::a"}]}`))
	assert.NotEqual(t, a, b, "resources are case-sensitive")
	_, err := canonical([]byte(`not json`))
	require.Error(t, err)
	_, err = Parse([]byte(`{"Statement":[{"Effect":"Allow"},1]}`))
	assert.ErrorContains(t, err, "statement 1 is not an object")
}

func FuzzCanonicalPolicy(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`))
	f.Add([]byte(`{"Statement":{"Condition":{"StringEquals":{"k":["v",1,true]}}}}`))
	f.Add([]byte(`{"Statement":[1]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := canonical(doc)
		if err != nil {
			return
		}
		// Canonicalising is idempotent.
		c2, err := canonical([]byte(c))
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", c, err)
		}
		if c != c2 {
			t.Fatalf("not idempotent:\n%s\n%s", c, c2)
		}
	})
}

// Statements are the canonical form's statements, each once, with their
// elements as the canonical form has them.
func TestStatements(t *testing.T) {
	d, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"B","Effect":"Allow","Principal":"*","Action":["S3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::b/*",` +
		`"Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"n":3},"Bad":"x"}},` +
		`{"Effect":"Deny","NotAction":"s3:*","NotResource":[]},` +
		`{"Action":["s3:listbucket","s3:getobject"],"Effect":"Allow","Sid":"B","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::b/*"],` +
		`"Condition":{"Bool":{"aws:SecureTransport":"true"},"NumericLessThan":{"n":["3"]}}}]}`))
	require.NoError(t, err)
	sts := d.Statements()
	require.Len(t, sts, 2, "the first and the last statement are the same")
	var parsed struct {
		Statement []json.RawMessage `json:"Statement"`
	}
	require.NoError(t, json.Unmarshal([]byte(d.Canonical()), &parsed))
	for i, st := range sts {
		assert.Equal(t, string(parsed.Statement[i]), st.JSON())
	}
	allow, deny := sts[0], sts[1]
	assert.Equal(t, "B", allow.Sid())
	assert.Equal(t, "Allow", allow.Effect())
	set, ok := allow.Set("Action")
	assert.True(t, ok)
	assert.Equal(t, []string{"s3:getobject", "s3:listbucket"}, set)
	p, ok := allow.Element("Principal")
	assert.True(t, ok)
	assert.Equal(t, `{"AWS":["*"]}`, p) //nolint:testifylint // the element's text, byte for byte
	assert.ElementsMatch(t, []Condition{
		{Operator: "Bool", Key: "aws:SecureTransport", Values: `["true"]`},
		{Operator: "NumericLessThan", Key: "n", Values: `["3"]`},
	}, allow.Conditions())
	assert.Empty(t, deny.Sid())
	set, ok = deny.Set("NotResource")
	assert.True(t, ok)
	assert.Nil(t, set, "an empty list is null")
	_, ok = deny.Set("Resource")
	assert.False(t, ok)
	_, ok = deny.Element("Principal")
	assert.False(t, ok)
}

func TestStatementsJSON(t *testing.T) {
	for doc, want := range map[string]string{
		`{"Statement":[{"Sid":"b","Effect":"Allow","Action":["s3:GetObject"]}]}`: `[{"Action":["s3:GetObject"],"Effect":"Allow","Sid":"b"}]`,
		`{"Statement":{"Effect":"Deny"}}`:                                        `[{"Effect":"Deny"}]`,
		`{"Version":"2012-10-17"}`:                                               `[]`,
		`{"Statement":null}`:                                                     `[]`,
		`{"Statement":[{"n":[1000000,1.5,1e21,-0.000001,7.0]}]}`:                 `[{"n":[1e+06,1.5,1e+21,-1e-06,7]}]`,
		`{"Statement":[{"s":"<a&b>\u2028\"\\\n","é":true,"z":null}]}`:            `[{"s":"\u003ca\u0026b\u003e\u2028\"\\\n","z":null,"é":true}]`,
	} {
		d, err := Parse([]byte(doc))
		require.NoError(t, err)
		assert.Equal(t, want, StatementsJSON(d.Value()), doc)
	}
}

func TestSameAs(t *testing.T) {
	d, err := ParseString(`{"Statement":{"Effect":"Allow","Action":"s3:GetObject"}}`)
	require.NoError(t, err)
	assert.Equal(t, `{"Statement":{"Effect":"Allow","Action":"s3:GetObject"}}`, d.Text()) //nolint:testifylint // Text keeps the document byte for byte
	assert.True(t, d.SameAs(`{"Statement":[{"Action":["S3:getobject"],"Effect":"Allow"}]}`))
	assert.False(t, d.SameAs(""), "a policy is not none")
	assert.False(t, d.SameAs("{"), "nor what does not parse")
	var none *Document
	assert.True(t, none.SameAs(""), "none is none")
	assert.False(t, none.SameAs("{"), "what a backend holds is a policy, even unreadable")
	assert.False(t, none.SameAs(d.Text()))
}

func TestMapResources(t *testing.T) {
	d, err := ParseString(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":["**"],"Sid":"**"},` +
		`{"Effect":"Deny","Action":"s3:*","NotResource":"**","Condition":{"StringLike":{"k":"**"}}}]}`)
	require.NoError(t, err)
	unstar := func(s string) string {
		if s == "**" {
			return "*"
		}
		return s
	}
	m := d.MapResources(unstar)
	want, err := ParseString(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*","Sid":"**"},` +
		`{"Effect":"Deny","Action":"s3:*","NotResource":"*","Condition":{"StringLike":{"k":"**"}}}]}`)
	require.NoError(t, err)
	assert.Equal(t, want.Canonical(), m.Canonical(), "only resources change")
	assert.Equal(t, m.Canonical(), m.Text())
	assert.Contains(t, d.Canonical(), `"Resource":["**"]`, "d is left as it was")
}

// Of top-level keys that differ only in case, the greatest wins, on the
// hand-written path and on encoding/json's alike.
func TestKeysThatDifferInCase(t *testing.T) {
	for _, doc := range []string{
		`{"statement":[{"Effect":"Deny"}],"Statement":[{"Effect":"Allow"}],"VERSION":"1","Version":"2"}`,
		`{"Statement":[{"Effect":"Allow"}],"statement":[{"Effect":"Deny"}],"Version":"2","VERSION":"1"}`,
		`{"Statement":[{"Effect":"Allow"}],"statement":[{"Effect":"\u0044eny"}],"Version":"2","VERSION":"1"}`,
	} {
		c, err := canonical([]byte(doc))
		require.NoError(t, err)
		assert.Equal(t, `{"Statement":[{"Effect":"Deny"}],"Version":"2"}`, c, doc) //nolint:testifylint // canonical form is byte-exact
	}
}

// A Document's Value and Statements do not share the scratch memory later
// parses reuse.
func TestDocumentsOutliveLaterParses(t *testing.T) {
	doc, stored := benchDocs()
	a, err := ParseString(doc)
	require.NoError(t, err)
	for range 3 {
		_, err := ParseString(stored)
		require.NoError(t, err)
	}
	var want any
	require.NoError(t, json.Unmarshal([]byte(doc), &want))
	wantJSON, _ := json.Marshal(want)
	assert.Equal(t, string(wantJSON), a.Value().JSON()) //nolint:testifylint // the encoding is byte-exact, key order included
	assert.Len(t, a.Statements(), 20)
	_, err = ParseString(stored)
	require.NoError(t, err)
	assert.Equal(t, "S00", a.Statements()[0].Sid())
	assert.Equal(t, string(wantJSON), a.Value().JSON()) //nolint:testifylint // the encoding is byte-exact, key order included
}

func TestUse(t *testing.T) {
	doc, _ := benchDocs()
	d, err := ParseString(doc)
	require.NoError(t, err)
	var got string
	d.Use(func(v Value) { got = v.JSON() })
	assert.Equal(t, d.Value().JSON(), got)
}
