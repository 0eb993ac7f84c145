package bucketdiff

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// canonicalPolicyJSON is CanonicalPolicy as it was first written, through
// json.Marshal of maps. The hand-written encoder must give the same bytes:
// PolicyHash values are stored in BucketPolicy status.
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
					return "", fmt.Errorf("statement is not an object")
				}
				b, _ := json.Marshal(canonicalStatement(m))
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
	// The shapes fastCanonical takes (fastPathSeeds), and near misses.
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

// fastPathSeeds are documents fastCanonical takes itself; the fuzz targets
// start from them so that the fast path is fuzzed, not only the general one.
var fastPathSeeds = canonicalSeeds[len(canonicalSeeds)-13 : len(canonicalSeeds)-7]

func TestFastCanonicalTakesCommonDocuments(t *testing.T) {
	doc, stored := benchDocs()
	for _, d := range append([]string{doc, stored}, fastPathSeeds...) {
		_, ok := fastCanonical(d, nil)
		assert.True(t, ok, "fast path refused %s", d)
	}
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
		ca, errA := canonicalPolicyJSON([]byte(a))
		cb, errB := canonicalPolicyJSON([]byte(b))
		require.Equal(t, errA == nil && errB == nil && ca == cb, SamePolicy(a, b), "%q vs %q", a, b)
	})
}

func TestCanonicalPolicyMatchesJSONMarshal(t *testing.T) {
	for _, doc := range canonicalSeeds {
		t.Run(doc, func(t *testing.T) {
			want, wantErr := canonicalPolicyJSON([]byte(doc))
			got, err := CanonicalPolicy([]byte(doc))
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
		want, wantErr := canonicalPolicyJSON(doc)
		got, err := CanonicalPolicy(doc)
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
		if !SamePolicy(doc, stored) {
			b.Fatal("canonical forms differ")
		}
	}
}

// PolicyHash hashes the canonical form without making a string of it on the
// fast path; the hash is the one CanonicalPolicy's text gives (stored in
// BucketPolicy and AccessKey status, so it must not change).
func TestPolicyHashIsTheCanonicalFormsHash(t *testing.T) {
	for _, doc := range canonicalSeeds {
		c, cerr := CanonicalPolicy([]byte(doc))
		h, err := PolicyHash([]byte(doc))
		require.Equal(t, cerr != nil, err != nil, doc)
		if err == nil {
			sum := sha256.Sum256([]byte(c))
			assert.Equal(t, hex.EncodeToString(sum[:8]), h, doc)
		}
	}
}

func TestSamePolicyHash(t *testing.T) {
	doc, stored := benchDocs()
	pairs := [][2]string{{doc, stored}, {doc, ""}, {"", stored}, {"", ""}, {doc, `{"Statement":[]}`}}
	for i, s := range canonicalSeeds {
		pairs = append(pairs, [2]string{s, canonicalSeeds[(i+1)%len(canonicalSeeds)]}, [2]string{s, s})
	}
	for _, p := range pairs {
		same, hash := SamePolicyHash(p[0], p[1])
		wantHash, _ := PolicyHash([]byte(p[0]))
		assert.Equal(t, SamePolicy(p[0], p[1]), same, "%q vs %q", p[0], p[1])
		assert.Equal(t, wantHash, hash, p[0])
	}
}
