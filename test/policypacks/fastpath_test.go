package policypacks

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"reflect"
	"sort"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// TestFastPathKeepsVerdicts evaluates random policy documents, most of them
// valid or nearly so, twice: as the engine does, and with the packs' fast
// paths turned off (every statement suspect in baseline, every statement a
// candidate in security). The verdicts must be the same: a fast path may
// only skip statements no rule can fire on. A new statement rule that the
// baseline pattern does not account for shows up here.
func TestFastPathKeepsVerdicts(t *testing.T) {
	ctx := context.Background()
	var opts []func(*rego.Rego)
	for _, p := range loadPacks(t) {
		for f, src := range p.files {
			opts = append(opts, rego.Module(p.name+"/"+f, src))
		}
	}
	const verdicts = `[[p, k, m] | some p in ["baseline", "security"]; some k in ["deny", "warn"]; some m in data.pail[p][k]]`
	prepare := func(q string) rego.PreparedEvalQuery {
		pq, err := rego.New(append(opts, rego.Query(q))...).PrepareForEval(ctx)
		if err != nil {
			t.Fatalf("prepare %s: %v", q, err)
		}
		return pq
	}
	fast := prepare("x := " + verdicts)
	full := prepare(`every_statement := {i | some i, _ in data.pail.baseline.statements}
		x := ` + verdicts + ` with data.pail.baseline.suspect as every_statement with data.pail.security.candidates as every_statement`)
	cleared := prepare(`x := count(data.pail.baseline.statements) - count(data.pail.baseline.suspect)`)

	r := rand.New(rand.NewSource(1))
	clearedStatements, documents := 0, 0
	for n := range 600 {
		in := randomInput(r)
		want := evalX(ctx, t, full, in)
		// As under opa eval or conftest (the packs make the statements'
		// text), then as the engine sends it (the policydoc.Document, with
		// statements_json). A Statement list holding other than objects is
		// no policy document: the engine refuses it before the packs.
		variants := []any{in}
		raw, err := json.Marshal(in["policy"])
		if err != nil {
			t.Fatal(err)
		}
		if doc, err := policydoc.Parse(raw); err == nil {
			value, err := ast.InterfaceToValue(policy.WithDocument(maps.Clone(in), doc))
			if err != nil {
				t.Fatal(err)
			}
			variants = append(variants, value)
			documents++
		}
		for _, variant := range variants {
			if got := evalX(ctx, t, fast, variant); !reflect.DeepEqual(got, want) {
				doc, _ := json.Marshal(variant)
				t.Fatalf("document %d: the fast path changes the verdict on %s\nfast: %v\nfull: %v", n, doc, got, want)
			}
		}
		if c, ok := evalX(ctx, t, cleared, in).(json.Number); ok {
			k, _ := c.Int64()
			clearedStatements += int(k)
		}
	}
	// The generator must exercise the fast path, or the test proves nothing.
	if clearedStatements < 300 {
		t.Errorf("only %d statements went through the fast path", clearedStatements)
	}
	if documents < 500 {
		t.Errorf("only %d of 600 inputs were evaluated as the engine sends them", documents)
	}
}

func evalX(ctx context.Context, t *testing.T, pq rego.PreparedEvalQuery, in any) any {
	t.Helper()
	opt := rego.EvalInput(in)
	if v, ok := in.(ast.Value); ok {
		opt = rego.EvalParsedInput(v) // EvalInput would marshal the Go struct
	}
	rs, err := pq.Eval(ctx, opt)
	if err != nil {
		t.Fatalf("eval: %v", err)
	}
	if len(rs) == 0 {
		return nil
	}
	x := rs[0].Bindings["x"]
	if list, ok := x.([]any); ok {
		out := make([]string, 0, len(list))
		for _, v := range list {
			out = append(out, fmt.Sprint(v))
		}
		sort.Strings(out)
		return out
	}
	return x
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.Intn(len(xs))] }

// randomInput builds a document of one to five statements for one of a few
// bucket names. Two thirds of the statements are well formed, drawn from
// values a valid statement has (with now and then one odd element); the
// rest mix anything.
func randomInput(r *rand.Rand) map[string]any {
	bucket := pick(r, "b", "b", "team-a.photos", "My_Bucket", "x/y", "", "a*b")
	arn := "arn:aws:s3:::" + bucket
	actions := []any{"s3:GetObject", "s3:ListBucket", "s3:PutObject", "S3:getobject", "s3:*", "*", "s3:Get*", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteObject", "s3:CreateBucket", "iam:PassRole", "s3", "s3:a:b", `s3:"x`, "s3:<x>", 7.0, "s3-object-lambda:GetObject", "s3express:CreateSession", "s3:GetObject\n", "s3:Get?bject"}
	resources := []any{arn, arn + "/*", arn + "/p/*", arn + "/x", arn + "/", "arn:aws:s3:::other", "*", arn + "x", arn + `/a"b`, arn + "/\n", 3.0, arn + "/<"}
	principals := []any{"*", map[string]any{"AWS": "*"}, map[string]any{"AWS": []any{"arn:aws:iam::1:root", "*"}}, map[string]any{"AWS": "arn:aws:iam::1:root"}, map[string]any{"Service": "s3.amazonaws.com"}, "arn:aws:iam::1:root", 5.0, map[string]any{"AWS": map[string]any{"x": "*"}}, map[string]any{"AWS": "a}b", "Sid": "A"}, `x"},{"`}
	conditions := []any{map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}, map[string]any{"IpAddress": map[string]any{"aws:SourceIp": "10.0.0.0/8"}}, "c", map[string]any{"Bool": map[string]any{"aws:SecureTransport": false}}, map[string]any{"StringEquals": map[string]any{"Sid": "A"}}, map[string]any{"X": map[string]any{"k": map[string]any{"n": "}"}}}}
	value := func(pool []any, good int) any {
		if good > 0 && r.Intn(8) > 0 {
			pool = pool[:good]
		}
		switch r.Intn(6) {
		case 0:
			return pick(r, pool...)
		case 1:
			return []any{}
		default:
			var l []any
			for range 1 + r.Intn(3) {
				l = append(l, pick(r, pool...))
			}
			return l
		}
	}
	var statements []any
	for range 1 + r.Intn(5) {
		if r.Intn(40) == 0 {
			statements = append(statements, pick[any](r, nil, 1.0, "x", []any{}, map[string]any{}))
			continue
		}
		nice := r.Intn(3) > 0
		s := map[string]any{"Effect": pick[any](r, "Allow", "Deny")}
		if !nice {
			s["Effect"] = pick[any](r, "Allow", "Deny", "allow", nil)
		}
		if r.Intn(2) == 0 {
			s["Sid"] = pick[any](r, "A", "B", "", "S1")
		}
		who, what, where := "Principal", "Action", "Resource"
		if r.Intn(5) == 0 {
			who = "NotPrincipal"
		}
		if r.Intn(5) == 0 {
			what = "NotAction"
		}
		if r.Intn(5) == 0 {
			where = "NotResource"
		}
		good := 4
		if !nice {
			good = 0
		}
		s[who] = pick(r, principals...)
		s[what] = value(actions, good)
		s[where] = value(resources, good)
		if nice && r.Intn(3) == 0 {
			s[where] = []any{arn + "/*", arn}
		}
		if r.Intn(5) == 0 {
			s["Condition"] = pick(r, conditions...)
		}
		if r.Intn(6) == 0 {
			k := pick(r, "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "Condition", "Other")
			s[k] = pick[any](r, nil, 1.0, "x", []any{}, map[string]any{}, "*", []any{"*"}, true)
		}
		if !nice && r.Intn(4) == 0 {
			delete(s, pick(r, "Effect", who, what, where))
		}
		statements = append(statements, s)
	}
	var st any = statements
	if len(statements) == 1 && r.Intn(3) == 0 {
		st = statements[0]
	}
	b := map[string]any{"bucketName": bucket, "public": r.Intn(4) == 0, "requireTLS": r.Intn(2) == 0}
	if r.Intn(30) == 0 {
		delete(b, "bucketName")
	}
	return map[string]any{"policy": map[string]any{"Version": "2012-10-17", "Statement": st}, "bucket": b, "raw_size": 100.0}
}
