package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// Two packs that each compile can clash together; the last good queries
// stay, and the pack they lack reports an error instead of passing as if it
// had nothing to say.
func TestEngineClashingPacks(t *testing.T) {
	ctx := context.Background()
	e := NewEngine()
	require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": denyAll}))
	err := e.SetPack(ctx, "copy", map[string]string{"a.rego": "package pail.strict\n\ndeny := \"x\"\n"})
	require.Error(t, err)

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`
	res, err := e.Evaluate(ctx, []string{"strict"}, input(doc))
	require.NoError(t, err)
	assert.Equal(t, []string{"[strict] nothing is allowed"}, res.Deny)
	_, err = e.Evaluate(ctx, nil, input(doc))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "copy")
}

// A pack that is not selected is not evaluated: an AccessKey's identity
// check does not pay for the bucket policy packs.
func TestEngineEvaluatesOnlySelectedPacks(t *testing.T) {
	ctx := context.Background()
	e := NewEngine()
	e.SetCacheSize(0)
	require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": denyAll}))
	require.NoError(t, e.SetPack(ctx, "broken_at_runtime", map[string]string{"a.rego": "package pail.broken_at_runtime\n\nv := 1 if { true }\n\nv := 2 if { true }\n\ndeny contains \"x\" if { v == 1 }\n"}))
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`
	res, err := e.Evaluate(ctx, []string{"strict"}, input(doc))
	require.NoError(t, err)
	assert.Equal(t, []string{"[strict] nothing is allowed"}, res.Deny)
	_, err = e.Evaluate(ctx, nil, input(doc))
	require.Error(t, err, "the other pack fails when it is evaluated")
}

func TestEngineCache(t *testing.T) {
	ctx := context.Background()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`
	const clock = "package pail.clock\n\nwarn contains sprintf(\"evaluated at %d\", [time.now_ns()]) if { true }\n"
	tests := []struct {
		name string
		// run evaluates twice (changing the engine in between when it
		// wants to) and returns both results.
		run        func(t *testing.T, e *Engine) (first, second Result)
		same       bool
		cachedSize int
	}{
		{
			name: "an unchanged input is answered from the cache",
			run: func(t *testing.T, e *Engine) (Result, Result) {
				return evaluate(t, e, nil, doc), evaluate(t, e, nil, doc)
			},
			same: true, cachedSize: 1,
		},
		{
			name: "another input is evaluated",
			run: func(t *testing.T, e *Engine) (Result, Result) {
				return evaluate(t, e, nil, doc), evaluate(t, e, nil, `{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow"}]}`)
			},
			cachedSize: 2,
		},
		{
			name: "changed packs are evaluated again",
			run: func(t *testing.T, e *Engine) (Result, Result) {
				first := evaluate(t, e, nil, doc)
				require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": "package pail.strict\n\ndeny contains \"changed\" if { true }\n"}))
				return first, evaluate(t, e, nil, doc)
			},
			cachedSize: 1,
		},
		{
			name: "a nondeterministic pack is never cached",
			run: func(t *testing.T, e *Engine) (Result, Result) {
				require.NoError(t, e.SetPack(ctx, "clock", map[string]string{"a.rego": clock}))
				return evaluate(t, e, []string{"clock"}, doc), evaluate(t, e, []string{"clock"}, doc)
			},
			cachedSize: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEngine()
			require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": denyAll}))
			require.NoError(t, e.SetPack(ctx, "sids", map[string]string{"a.rego": warnNoSid}))
			first, second := tc.run(t, e)
			if tc.same {
				assert.Equal(t, first, second)
			} else {
				assert.NotEqual(t, first, second)
			}
			assert.Len(t, e.cache.entries, tc.cachedSize)
		})
	}

	// A caller that changes a cached result does not change the cache.
	e := NewEngine()
	require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": denyAll}))
	res := evaluate(t, e, nil, doc)
	res.Deny[0] = "edited"
	assert.Equal(t, []string{"[strict] nothing is allowed"}, evaluate(t, e, nil, doc).Deny)
}

// TestEngineCacheConcurrent is for -race: reconciles evaluate in parallel
// while a pack is replaced.
func TestEngineCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	e := NewEngine()
	require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": denyAll}))
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				res, err := e.Evaluate(ctx, nil, input(doc))
				if err == nil && len(res.Deny) != 1 {
					err = fmt.Errorf("goroutine %d, evaluation %d: deny %v", g, i, res.Deny)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": "package pail.strict\n\ndeny contains \"still nothing\" if { true }\n"}))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func evaluate(t *testing.T, e *Engine, packs []string, doc string) Result {
	t.Helper()
	res, err := e.Evaluate(context.Background(), packs, input(doc))
	require.NoError(t, err)
	return res
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
