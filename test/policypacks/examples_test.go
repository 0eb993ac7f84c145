package policypacks

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// counts are the expected number of messages of one pack.
type counts struct {
	Deny int `json:"deny"`
	Warn int `json:"warn"`
}

// TestExamples evaluates every policies/testdata/<case>/input.json with
// data.pail.<pack>.deny and .warn and compares the counts with the sibling
// expect.json:
//
//	{"baseline": {"deny": 0, "warn": 0}, "security": {"deny": 1, "warn": 0},
//	 "contains": ["substring that some message must contain"]}
//
// Each example has its own directory because `opa test policies/` and
// `opa eval -d policies/` load every .json under policies/ as data, rooted at
// its directory: two inputs in one directory would collide.
func TestExamples(t *testing.T) {
	ctx := context.Background()
	packs := loadPacks(t)

	if flat, _ := filepath.Glob(filepath.Join(policiesDir, "testdata", "*.json")); len(flat) > 0 {
		t.Errorf("%v: put each example in its own directory (testdata/<case>/input.json + expect.json); "+
			"JSON files side by side collide when opa loads policies/ as data", flat)
	}

	// One prepared query per pack and rule, over the packs' non-test files,
	// as the engine loads them.
	queries := map[string]rego.PreparedEvalQuery{}
	for _, p := range packs {
		for _, rule := range []string{"deny", "warn"} {
			q := "data.pail." + p.name + "." + rule
			opts := []func(*rego.Rego){rego.Query(q)}
			for _, other := range packs {
				for f, src := range other.files {
					opts = append(opts, rego.Module(other.name+"/"+f, src))
				}
			}
			pq, err := rego.New(opts...).PrepareForEval(ctx)
			if err != nil {
				t.Fatalf("prepare %s: %v", q, err)
			}
			queries[q] = pq
		}
	}

	cases, err := filepath.Glob(filepath.Join(policiesDir, "testdata", "*", "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 5 {
		t.Fatalf("expected at least 5 examples under %s/testdata, found %d", policiesDir, len(cases))
	}
	for _, inputPath := range cases {
		dir := filepath.Dir(inputPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			input := readJSON(t, inputPath)
			checkRawSize(t, input)

			var expect map[string]json.RawMessage
			if err := json.Unmarshal(readFile(t, filepath.Join(dir, "expect.json")), &expect); err != nil {
				t.Fatalf("expect.json: %v", err)
			}
			var contains []string
			if raw, ok := expect["contains"]; ok {
				if err := json.Unmarshal(raw, &contains); err != nil {
					t.Fatalf("expect.json contains: %v", err)
				}
				delete(expect, "contains")
			}

			var all []string
			for _, p := range packs {
				raw, ok := expect[p.name]
				if !ok {
					t.Errorf("expect.json has no counts for pack %q", p.name)
					continue
				}
				delete(expect, p.name)
				var want counts
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&want); err != nil {
					t.Fatalf("expect.json %s: %v", p.name, err)
				}
				deny := eval(ctx, t, queries["data.pail."+p.name+".deny"], input)
				warn := eval(ctx, t, queries["data.pail."+p.name+".warn"], input)
				if len(deny) != want.Deny {
					t.Errorf("%s deny: got %d, want %d:\n  %s", p.name, len(deny), want.Deny, strings.Join(deny, "\n  "))
				}
				if len(warn) != want.Warn {
					t.Errorf("%s warn: got %d, want %d:\n  %s", p.name, len(warn), want.Warn, strings.Join(warn, "\n  "))
				}
				all = append(all, deny...)
				all = append(all, warn...)
			}
			for k := range expect {
				t.Errorf("expect.json names %q, which is not a loaded pack", k)
			}
			for _, part := range contains {
				found := false
				for _, m := range all {
					if strings.Contains(m, part) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("no message contains %q; messages:\n  %s", part, strings.Join(all, "\n  "))
				}
			}
		})
	}
}

func eval(ctx context.Context, t *testing.T, pq rego.PreparedEvalQuery, input any) []string {
	t.Helper()
	rs, err := pq.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		t.Fatalf("undefined result (is the rule missing?)")
	}
	list, ok := rs[0].Expressions[0].Value.([]any)
	if !ok {
		t.Fatalf("result is not a set: %#v", rs[0].Expressions[0].Value)
	}
	out := make([]string, 0, len(list))
	for _, m := range list {
		s, ok := m.(string)
		if !ok {
			t.Fatalf("message is not a string: %#v", m)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// checkRawSize keeps the examples honest: raw_size must be the size of the
// policy as compact JSON (what a Bucket's spec.policy is stored as).
func checkRawSize(t *testing.T, input any) {
	t.Helper()
	doc, _ := input.(map[string]any)
	size, ok := doc["raw_size"].(json.Number)
	if !ok {
		t.Fatalf("input.raw_size missing")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc["policy"]); err != nil {
		t.Fatal(err)
	}
	got, err := size.Int64()
	if err != nil {
		t.Fatalf("input.raw_size %s: %v", size, err)
	}
	if want := int64(buf.Len() - 1); got != want { // Encode adds a newline
		t.Errorf("input.raw_size is %d, but the policy is %d bytes as compact JSON", got, want)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(readFile(t, path)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}
