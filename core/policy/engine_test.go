package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/bucketdiff"
)

const denyAll = `package pail.strict

deny contains "nothing is allowed" if { true }
`

const warnNoSid = `package pail.sids

warn contains msg if {
	some i, s in input.policy.Statement
	not s.Sid
	msg := sprintf("statement %d has no Sid", [i])
}
`

func input(doc string) map[string]any {
	var d any
	_ = json.Unmarshal([]byte(doc), &d)
	return map[string]any{"policy": d, "bucket": map[string]any{"bucketName": "b"}, "raw_size": len(doc)}
}

func TestEngine(t *testing.T) {
	ctx := context.Background()
	e := NewEngine()
	changes := 0
	e.OnChange = func() { changes++ }
	var broken []string
	e.OnBroken = func(p string, _ error) { broken = append(broken, p) }

	require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": denyAll}))
	require.NoError(t, e.SetPack(ctx, "sids", map[string]string{"a.rego": warnNoSid}))
	err := e.SetPack(ctx, "bad", map[string]string{"a.rego": "package pail.bad\n\ndeny contains x if {"})
	require.Error(t, err)
	assert.Equal(t, []string{"bad"}, broken)
	assert.Equal(t, []string{"sids", "strict"}, e.Packs(), "a broken pack is left out")
	assert.Contains(t, e.Broken(), "bad")

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`
	tests := []struct {
		name       string
		packs      []string
		deny, warn []string
		err        string
	}{
		{name: "all loaded packs", deny: []string{"[strict] nothing is allowed"}, warn: []string{"[sids] statement 0 has no Sid"}},
		{name: "one pack", packs: []string{"sids"}, warn: []string{"[sids] statement 0 has no Sid"}},
		{name: "missing pack", packs: []string{"nope"}, err: "nope"},
		{name: "broken pack", packs: []string{"bad"}, err: "bad (does not compile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Evaluate(ctx, tc.packs, input(doc))
			if tc.err != "" {
				require.ErrorIs(t, err, ErrPackMissing)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.deny, nilIfEmpty(res.Deny))
			assert.Equal(t, tc.warn, nilIfEmpty(res.Warn))
		})
	}

	// Fixing and removing packs takes effect at once.
	require.NoError(t, e.SetPack(ctx, "bad", map[string]string{"a.rego": "package pail.bad\n\ndeny contains \"fixed\" if { false }\n"}))
	assert.Empty(t, e.Broken())
	require.NoError(t, e.RemovePack(ctx, "strict"))
	res, err := e.Evaluate(ctx, nil, input(doc))
	require.NoError(t, err)
	assert.Empty(t, res.Deny)
	assert.Equal(t, 4, changes)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	sort.Strings(s)
	return s
}

func TestBuiltInPacksLoad(t *testing.T) {
	e := NewEngine()
	require.NoError(t, e.LoadDir(context.Background(), "../../policies"))
	assert.Empty(t, e.Broken())
	assert.Subset(t, e.Packs(), []string{"baseline", "security"})
}

// BenchmarkValidateAndDiff (20 statements) is what a BucketPolicy reconcile spends in the
// host: evaluating the built-in packs and comparing canonical forms. The
// design target is p99 ≤ 2 ms; -benchtime and the reported p99 are in
// docs/benchmarks.md.
func BenchmarkValidateAndDiff(b *testing.B) {
	ctx := context.Background()
	e := NewEngine()
	if err := e.LoadDir(ctx, "../../policies"); err != nil {
		b.Fatal(err)
	}
	// 20 statements, and the same document as MinIO stores it: lists for
	// strings, {"AWS":["*"]} for "*", statements in another order.
	var want, stored []string
	for i := range 20 {
		want = append(want, fmt.Sprintf(`{"Sid":"S%02d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app%d"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/p%d/*"]}`, i, i, i))
		stored = append([]string{fmt.Sprintf(`{"Sid":"S%02d","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/app%d"]},"Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::b/p%d/*","arn:aws:s3:::b"]}`, i, i, i)}, stored...)
	}
	doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(want, ",") + `]}`
	storedDoc := `{"Statement":[` + strings.Join(stored, ",") + `],"Version":"2012-10-17"}`
	in := input(doc)
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := e.Evaluate(ctx, nil, in); err != nil {
			b.Fatal(err)
		}
		if !bucketdiff.SamePolicy(doc, storedDoc) {
			b.Fatal("canonical forms differ")
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	if n := len(durations); n > 0 {
		b.ReportMetric(float64(durations[n*99/100].Microseconds()), "p99-µs")
	}
}
