package policypacks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"

	"github.com/pail-dev/pail/core/policy"
)

// TestRegoUnitTests runs every Rego test under policies/ (what
// `opa test policies/` runs), one Go subtest per Rego test.
func TestRegoUnitTests(t *testing.T) {
	ctx := context.Background()
	// Load exactly as `opa test policies/` does: every .rego and data file,
	// no filter. A layout that opa test cannot load fails here too.
	modules, store, err := tester.Load([]string{policiesDir}, nil)
	if err != nil {
		t.Fatalf("load %s as `opa test` would: %v", policiesDir, err)
	}
	ch, err := tester.NewRunner().
		SetStore(store).
		SetModules(modules).
		SetTimeout(time.Minute).
		RunTests(ctx, nil)
	if err != nil {
		t.Fatalf("run Rego tests: %v", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool {
		return results[i].Package+"."+results[i].Name < results[j].Package+"."+results[j].Name
	})

	perPackage := map[string]int{}
	for _, r := range results {
		name := r.Package + "." + r.Name
		perPackage[r.Package]++
		t.Run(strings.TrimPrefix(name, "data."), func(t *testing.T) {
			switch {
			case r.Skip:
				t.Skipf("%s is marked todo_", name)
			case r.Error != nil:
				t.Errorf("Rego test %s (%v) errored: %v", name, r.Location, r.Error)
			case r.Fail:
				t.Errorf("Rego test %s (%v) failed\n%s\nre-run: opa test policies/ -v --run '%s'",
					name, r.Location, failureTrace(ctx, name), regexp.QuoteMeta(r.Name))
			}
		})
	}

	// Every pack must come with tests, and the run must have found them.
	for _, p := range loadPacks(t) {
		pkg := "data.pail." + p.name
		if len(p.tests) == 0 {
			t.Errorf("pack %s has no *_test.rego", p.name)
		}
		if perPackage[pkg] == 0 {
			t.Errorf("no Rego tests ran in %s", pkg)
		}
	}
	t.Logf("%d Rego tests in %d packages", len(results), len(perPackage))
}

// failureTrace runs one failed test again with tracing and returns the
// expressions of the test that failed.
func failureTrace(ctx context.Context, name string) string {
	modules, store, err := tester.Load([]string{policiesDir}, nil)
	if err != nil {
		return err.Error()
	}
	ch, err := tester.NewRunner().
		SetStore(store).
		SetModules(modules).
		EnableTracing(true).
		Filter("^"+regexp.QuoteMeta(name)+"$").
		RunTests(ctx, nil)
	if err != nil {
		return err.Error()
	}
	var buf bytes.Buffer
	for r := range ch {
		// Only the failures inside the test's own file: the expectation that
		// did not hold, not every rule body that did not match.
		fails := lineage.Filter(r.Trace, func(e *topdown.Event) bool {
			return e.Op == topdown.FailOp && e.Location != nil && r.Location != nil && e.Location.File == r.Location.File
		})
		topdown.PrettyTraceWithLocation(&buf, fails)
	}
	return buf.String()
}

// TestPacksCompileAlone checks each pack the way the engine in core loads
// it: only its non-test files, compiled on their own (so a pack cannot lean
// on another pack's helpers) with the engine's restricted capabilities, in
// package pail.<directory>, with deny and warn rules.
func TestPacksCompileAlone(t *testing.T) {
	for _, p := range loadPacks(t) {
		t.Run(p.name, func(t *testing.T) {
			mods := map[string]string{}
			for f, src := range p.files {
				mods[p.name+"/"+f] = src
				m, err := ast.ParseModuleWithOpts(f, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
				if err != nil {
					t.Fatalf("parse %s/%s: %v", p.name, f, err)
				}
				if got, want := m.Package.Path.String(), "data.pail."+p.name; got != want {
					t.Errorf("%s/%s: package %s, want %s (the engine reads data.pail.<directory>)", p.name, f, strings.TrimPrefix(got, "data."), strings.TrimPrefix(want, "data."))
				}
			}
			// With the engine's capabilities: a pack that calls a denied
			// builtin (policy.DeniedBuiltins) would be refused in the operator.
			c, err := ast.CompileModulesWithOpt(mods, ast.CompileOpts{ParserOptions: ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: policy.Capabilities()}})
			if err != nil {
				t.Fatalf("pack %s does not compile on its own with the engine's capabilities: %v", p.name, err)
			}
			for _, rule := range []string{"deny", "warn"} {
				ref := ast.MustParseRef("data.pail." + p.name + "." + rule)
				rules := c.GetRulesExact(ref)
				if len(rules) == 0 {
					t.Errorf("pack %s has no %s rule", p.name, rule)
				}
				for _, r := range rules {
					if r.Head.RuleKind() != ast.MultiValue {
						t.Errorf("%s: %s must be a set (`%s contains msg if ...`)", r.Location, rule, rule)
					}
				}
			}
		})
	}
}

// TestPacksSurviveOddInput evaluates data.pail, as the engine does, on
// documents that are not valid policies. The packs must answer with sets of
// strings, never with an evaluation error (an error would hide every pack's
// verdict).
func TestPacksSurviveOddInput(t *testing.T) {
	ctx := context.Background()
	opts := []func(*rego.Rego){rego.Query("data.pail")}
	for _, p := range loadPacks(t) {
		for f, src := range p.files {
			opts = append(opts, rego.Module(p.name+"/"+f, src))
		}
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		t.Fatalf("prepare data.pail: %v", err)
	}
	inputs := []string{
		`{}`,
		`null`,
		`"policy"`,
		`{"policy": null}`,
		`{"policy": "not a document"}`,
		`{"policy": [], "bucket": "x", "raw_size": "big"}`,
		`{"policy": {"Version": 1, "Statement": "s"}}`,
		`{"policy": {"Statement": [null, 1, "x", [], {}, {"Sid": {}, "Effect": 1}]}}`,
		`{"policy": {"Statement": [{"Sid": "A", "Effect": "Allow", "Principal": 7, "Action": {"s3": "GetObject"}, "Resource": null, "Condition": "c"}]}}`,
		`{"policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": {"x": "*"}}, "Action": ["[", "s3:[", null], "Resource": ["arn:aws:s3:::b/*"]}]}, "bucket": {"bucketName": 5, "public": "yes"}}`,
		`{"policy": {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": "x", "IpAddress": ["aws:SourceIp"]}}]}}`,
	}
	for _, in := range inputs {
		var input any
		if err := json.Unmarshal([]byte(in), &input); err != nil {
			t.Fatal(err)
		}
		rs, err := pq.Eval(ctx, rego.EvalInput(input))
		if err != nil {
			t.Errorf("input %s: evaluation failed: %v", in, err)
			continue
		}
		if len(rs) != 1 || len(rs[0].Expressions) != 1 {
			t.Errorf("input %s: no result", in)
			continue
		}
		all, _ := rs[0].Expressions[0].Value.(map[string]any)
		for _, p := range loadPacks(t) {
			got, _ := all[p.name].(map[string]any)
			for _, rule := range []string{"deny", "warn"} {
				if err := stringSet(got[rule]); err != nil {
					t.Errorf("input %s: %s.%s: %v", in, p.name, rule, err)
				}
			}
		}
	}
}

func stringSet(v any) error {
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("not a set: %#v", v)
	}
	for _, m := range list {
		if s, ok := m.(string); !ok || s == "" {
			return fmt.Errorf("not a message: %#v", m)
		}
	}
	return nil
}
