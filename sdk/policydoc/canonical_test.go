package policydoc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// canonicalPolicyJSON is the canonical form as it was first written
// (core/bucketdiff.CanonicalPolicy), through json.Marshal of maps. The
// Document must give the same bytes: the hashes are stored in
// BucketPolicy and AccessKey status.
func canonicalPolicyJSON(doc []byte) (string, error) {
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		return "", err
	}
	out := map[string]any{}
	for k, v := range raw {
		switch strings.ToLower(k) {
		case "version":
			out["Version"] = v
		case "id":
			out["Id"] = v
		case "statement":
			var stmts []any
			switch s := v.(type) {
			case []any:
				stmts = s
			case map[string]any:
				stmts = []any{s}
			}
			var canon []string
			for _, st := range stmts {
				m, ok := st.(map[string]any)
				if !ok {
					return "", errors.New("statement is not an object")
				}
				b, _ := json.Marshal(refStatement(m))
				canon = append(canon, string(b))
			}
			sort.Strings(canon)
			canon = slices.Compact(canon)
			list := make([]json.RawMessage, len(canon))
			for i, c := range canon {
				list[i] = json.RawMessage(c)
			}
			out["Statement"] = list
		default:
			out[k] = v
		}
	}
	b, err := json.Marshal(out) // encoding/json sorts map keys
	return string(b), err
}

// refStatement and the helpers below are the original map-based
// canonicalStatement, kept as the reference.
func refStatement(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "Action", "NotAction":
			out[k] = refStringSet(v, strings.ToLower)
		case "Resource", "NotResource":
			out[k] = refStringSet(v, func(s string) string { return s })
		case "Principal", "NotPrincipal":
			out[k] = refPrincipal(v)
		case "Condition":
			out[k] = refCondition(v)
		case "Sid":
			if s, _ := v.(string); s != "" {
				out[k] = s
			}
		default:
			out[k] = v
		}
	}
	return out
}

func refStringSet(v any, fold func(string) string) []string {
	switch x := v.(type) {
	case string:
		return []string{fold(x)}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, fold(s))
			}
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return nil
}

func refPrincipal(v any) any {
	if s, ok := v.(string); ok {
		if s == "*" {
			return map[string][]string{"AWS": {"*"}}
		}
		return s
	}
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string][]string{}
	for k, vv := range m {
		out[k] = refStringSet(vv, func(s string) string { return s })
	}
	return out
}

func refCondition(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]map[string][]string{}
	for op, kv := range m {
		inner, ok := kv.(map[string]any)
		if !ok {
			continue
		}
		o := map[string][]string{}
		for k, vv := range inner {
			switch x := vv.(type) {
			case bool:
				o[k] = []string{strconv.FormatBool(x)}
			case float64:
				o[k] = []string{fmt.Sprint(x)}
			default:
				o[k] = refStringSet(vv, func(s string) string { return s })
			}
		}
		out[op] = o
	}
	return out
}

var canonicalSeeds = []string{
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
	`{"Statement":{"Condition":{"StringEquals":{"k":["v",1,true]}}}}`,
	`{"Statement":[1]}`,
	`{"version":"2012-10-17","ID":"x","Extra":{"z":[1,2.5,null],"a":"<&>"},"Statement":[{"Sid":"","Effect":"Deny","NotPrincipal":{"AWS":["b","a","a"],"Service":"s"},"NotAction":["S3:Get*",7],"NotResource":"r\u2028\n","Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"n":3},"Bad":1},"Other":{"q":[true]}},{"Principal":{"AWS":"*"},"Action":[],"Resource":[1]},{"Principal":"arn:x","Condition":"c"}]}`,
	`{"Statement":"text","Id":null}`,
	`{"Statement":[{"Sid":"é\"\\<","Action":"ÄB"}]}`,
	`{}`,
	" {\n\t\"Statement\" : [ { \"Effect\" : \"Allow\" , \"Action\" : [ ] , \"Principal\" : { } } ] } \r\n",
	`{"Statement":[{"Sid":"a","Sid":"b","Effect":null,"Condition":{"Bool":{"k":[true,false,null]}}}],"Statement":{"Sid":"c"}}`,
	"{\"Statement\":[{\"Sid\":\"\xff\"}]}",
	`{"Statement":[]} x`,
	`{"Statement":[tru]}`,
	`{"Statement":[{"Action":"s3:\u0047etObject"}]}`,
	`[{"Statement":[]}]`,
	`null`,
	// The shapes the hand-written decoder takes (fastPathSeeds), and near misses.
	`{"Version":"2012-10-17","Id":"p<1>","Statement":[{"Sid":"B","Effect":"Allow","Principal":"*","Action":["S3:GetObject","s3:getobject","s3:ListBucket"],"Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"]},{"Sid":"","Effect":"Deny","NotPrincipal":{"AWS":["arn:a","*"],"Service":"s"},"NotAction":"s3:*","NotResource":[],"Condition":{"Bool":{"aws:SecureTransport":"false"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]},"Null":{}}},{"Effect":"Allow","Action":"s3:GetObject","Principal":{},"Condition":{},"Resource":"r"}]}`,
	"{ \"Statement\" : { \"Sid\" : \"ÄÖ &\" , \"Action\" : [ \"S3:ÄB\" ] , \"Principal\" : \"arn:x\" } , \"Version\" : \"2012-10-17\" }\n",
	`{"Statement":[{"Sid":"a","Effect":"Allow"},{"Effect":"Allow","Sid":"a"},{"Sid":"a","Effect":"Allow"}]}`,
	`{"Statement":[{"Sid":"","Sid":"x"}]}`,
	`{"Statement":[{"Condition":{"StringLike":{"k":["b","a","b"]}},"Resource":["x","x"]}]}`,
	`{"Statement":[],"Version":"2012-10-17"}`,
	`{"Statement":[{"Sid":"x","Sid":""}]}`,
	`{"Statement":[{"Principal":{"AWS":"a","AWS":"b"}}]}`,
	`{"Statement":null}`,
	`{"Statement":[{"Action":["a",]}]}`,
	`{"Statement":[{"Action":["a"]}],}`,
	`{"Version":1,"Statement":[]}`,
	`{"Statement":[{"Effect":"Allow"}]}{}`,
}

// ambiguous reports top-level keys that differ only in case and name the
// same canonical key ({"Statement":…,"statement":…}): the reference takes
// whichever its map iteration meets last, so it has no one answer.
func ambiguous(doc []byte) bool {
	var raw map[string]json.RawMessage
	if json.Unmarshal(doc, &raw) != nil {
		return false
	}
	seen := map[string]bool{}
	for k := range raw {
		switch l := strings.ToLower(k); l {
		case "version", "id", "statement":
			if seen[l] {
				return true
			}
			seen[l] = true
		}
	}
	return false
}

// fastPathSeeds are documents the hand-written decoder takes itself; the
// fuzz targets start from them so that it is fuzzed, not only
// encoding/json's path.
var fastPathSeeds = canonicalSeeds[len(canonicalSeeds)-13 : len(canonicalSeeds)-7]

func TestFastDecoderTakesCommonDocuments(t *testing.T) {
	doc, stored := benchDocs()
	for _, d := range append([]string{doc, stored}, fastPathSeeds...) {
		_, ok := fastDecode(d, nil)
		assert.True(t, ok, "fast path refused %s", d)
	}
}

// canonical is the canonical form of doc, "" when it does not parse.
func canonical(doc []byte) (string, error) {
	d, err := Parse(doc)
	if err != nil {
		return "", err
	}
	return d.Canonical(), nil
}

func FuzzSamePolicy(f *testing.F) {
	doc, stored := benchDocs()
	f.Add(doc, stored)
	for i, s := range fastPathSeeds {
		f.Add(s, fastPathSeeds[(i+1)%len(fastPathSeeds)])
		f.Add(s, strings.ReplaceAll(s, `"Effect":"Allow",`, ``))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if a == "" || b == "" {
			return
		}
		if ambiguous([]byte(a)) || ambiguous([]byte(b)) {
			t.Skip("the reference takes either key")
		}
		ca, errA := canonicalPolicyJSON([]byte(a))
		cb, errB := canonicalPolicyJSON([]byte(b))
		require.Equal(t, errA == nil && errB == nil && ca == cb, Same(a, b), "%q vs %q", a, b)
	})
}

func TestCanonicalPolicyMatchesJSONMarshal(t *testing.T) {
	for _, doc := range canonicalSeeds {
		t.Run(doc, func(t *testing.T) {
			want, wantErr := canonicalPolicyJSON([]byte(doc))
			got, err := canonical([]byte(doc))
			assert.Equal(t, wantErr != nil, err != nil)
			assert.Equal(t, want, got)
		})
	}
}

func FuzzCanonicalPolicyMatchesJSONMarshal(f *testing.F) {
	for _, s := range canonicalSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if ambiguous(doc) {
			t.Skip("the reference takes either key")
		}
		want, wantErr := canonicalPolicyJSON(doc)
		got, err := canonical(doc)
		require.Equal(t, wantErr != nil, err != nil, "error for %q: %v / %v", doc, wantErr, err)
		require.Equal(t, want, got)
	})
}

// 20 statements, written as a user would and as MinIO stores them.
func benchDocs() (string, string) {
	var want, stored []string
	for i := range 20 {
		want = append(want, fmt.Sprintf(`{"Sid":"S%02d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app%d"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/p%d/*"]}`, i, i, i))
		stored = append([]string{fmt.Sprintf(`{"Sid":"S%02d","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/app%d"]},"Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::b/p%d/*","arn:aws:s3:::b"]}`, i, i, i)}, stored...)
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(want, ",") + `]}`, `{"Statement":[` + strings.Join(stored, ",") + `],"Version":"2012-10-17"}`
}

func BenchmarkSamePolicy(b *testing.B) {
	doc, stored := benchDocs()
	b.ReportAllocs()
	for b.Loop() {
		if !Same(doc, stored) {
			b.Fatal("canonical forms differ")
		}
	}
}

// The hash is the one the canonical form's text gives (stored in
// BucketPolicy and AccessKey status, so it must not change).
func TestPolicyHashIsTheCanonicalFormsHash(t *testing.T) {
	for _, doc := range canonicalSeeds {
		want, wantErr := canonicalPolicyJSON([]byte(doc))
		d, err := Parse([]byte(doc))
		require.Equal(t, wantErr != nil, err != nil, doc)
		if err == nil {
			sum := sha256.Sum256([]byte(want))
			assert.Equal(t, hex.EncodeToString(sum[:8]), d.Hash(), doc)
		}
	}
}

// Same: "" is no policy, and a document that does not parse is the same as
// nothing.
func TestSame(t *testing.T) {
	doc, stored := benchDocs()
	pairs := [][2]string{{doc, stored}, {doc, ""}, {"", stored}, {"", ""}, {doc, `{"Statement":[]}`}}
	for i, s := range canonicalSeeds {
		pairs = append(pairs, [2]string{s, canonicalSeeds[(i+1)%len(canonicalSeeds)]}, [2]string{s, s})
	}
	for _, p := range pairs {
		want := p[0] == "" && p[1] == ""
		if p[0] != "" && p[1] != "" {
			a, errA := canonicalPolicyJSON([]byte(p[0]))
			b, errB := canonicalPolicyJSON([]byte(p[1]))
			want = errA == nil && errB == nil && a == b
		}
		assert.Equal(t, want, Same(p[0], p[1]), "%q vs %q", p[0], p[1])
	}
	assert.True(t, Same(doc, stored))
	assert.False(t, Same(doc, ""))
}
