package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A pack that calls a denied builtin is refused with a message naming the
// builtin; the other packs keep working. Each denied builtin is tried in
// both call forms (x := f(a) and f(a, x)); the pure builtins that stay are
// loaded.
func TestDeniedBuiltinsAreRefused(t *testing.T) {
	type tc struct {
		name, body string
		denied     string // the builtin the refusal must name; "" loads
	}
	var tests []tc
	for _, d := range DeniedBuiltins {
		args, ok := deniedArgs[d.Name]
		require.True(t, ok, "deniedArgs has no call of %s", d.Name)
		tests = append(tests,
			tc{name: d.Name + " as a term", body: fmt.Sprintf("x := %s(%s)\n\tx == 1", d.Name, args), denied: d.Name},
			tc{name: d.Name + " as an expression", body: fmt.Sprintf("%s(%s)\n\tx == 1", d.Name, strings.TrimPrefix(args+", x", ", ")), denied: d.Name},
		)
	}
	tests = append(tests,
		tc{name: "net.cidr_contains is pure", body: `net.cidr_contains("10.0.0.0/8", "10.1.2.3")`},
		tc{name: "time.now_ns reads only the clock", body: `time.now_ns() > 0`},
		tc{name: "rego.parse_module is pure", body: `rego.parse_module("x.rego", "package x")`},
		tc{name: "a denied builtin in a helper function is found too", body: "f(1)\n}\n\nf(u) if {\n\thttp.send({\"method\": \"GET\", \"url\": u})", denied: "http.send"},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := NewEngine()
			var broken []string
			e.OnBroken = func(p string, _ error) { broken = append(broken, p) }
			require.NoError(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": denyAll}))
			src := "package pail.probe\n\ndeny contains \"probe\" if {\n\t" + tt.body + "\n}\n"
			err := e.SetPack(ctx, "probe", map[string]string{"probe.rego": src})
			if tt.denied == "" {
				require.NoError(t, err)
				assert.Contains(t, e.Packs(), "probe")
				return
			}
			require.ErrorIs(t, err, ErrDeniedBuiltin)
			assert.Contains(t, err.Error(), tt.denied+" (at probe/probe.rego:")
			assert.Equal(t, []string{"probe"}, broken, "reported through OnBroken (the metric)")
			assert.Equal(t, []string{"strict"}, e.Packs())
			res, err := e.Evaluate(ctx, []string{"strict"}, input(`{"Statement":[]}`))
			require.NoError(t, err, "the other packs keep working")
			assert.Equal(t, []string{"[strict] nothing is allowed"}, res.Deny)
			_, err = e.Evaluate(ctx, []string{"probe"}, input(`{"Statement":[]}`))
			require.ErrorIs(t, err, ErrPackMissing)
			assert.Contains(t, err.Error(), tt.denied, "selecting the refused pack says why")
		})
	}
}

// deniedArgs are arguments that type-check for each denied builtin, so
// the test refuses them for being denied, not for a type error.
var deniedArgs = map[string]string{
	"http.send":          `{"method": "GET", "url": "http://169.254.169.254/"}`,
	"net.lookup_ip_addr": `"example.com"`,
	"opa.runtime":        ``,
	"json.match_schema":  `{}, {"$ref": "file:///var/run/secrets/kubernetes.io/serviceaccount/token"}`,
	"json.verify_schema": `{"$ref": "file:///var/run/secrets/kubernetes.io/serviceaccount/token"}`,
}

// The capabilities hold no denied builtin and allow no host, and every
// denied name is a builtin of this OPA version (a renamed one would
// otherwise slip through unnoticed).
func TestCapabilitiesLeaveOutTheDeniedBuiltins(t *testing.T) {
	caps := Capabilities()
	have := map[string]bool{}
	for _, b := range caps.Builtins {
		have[b.Name] = true
	}
	for _, d := range DeniedBuiltins {
		assert.Contains(t, ast.BuiltinMap, d.Name, "%s is an OPA builtin", d.Name)
		assert.False(t, have[d.Name], "%s is not in the capabilities", d.Name)
	}
	assert.NotNil(t, caps.AllowNet)
	assert.Empty(t, caps.AllowNet, "no host may be reached")
	assert.True(t, have["net.cidr_contains"])
	assert.Len(t, caps.Builtins, len(ast.CapabilitiesForThisVersion().Builtins)-len(DeniedBuiltins))
	// Without the name check, the compiler refuses the call all the same.
	_, err := ast.CompileModulesWithOpt(map[string]string{"a.rego": "package a\n\nx := http.send({})\n"},
		ast.CompileOpts{ParserOptions: ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "undefined function http.send")
}

// docs/policies.md shows the table derived from DeniedBuiltins.
func TestDocsListTheDeniedBuiltins(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "policies.md"))
	require.NoError(t, err)
	want := DeniedBuiltinsMarkdown()
	assert.True(t, strings.Contains(string(raw), want), //nolint:testifylint // Contains would print the whole page
		"docs/policies.md does not hold the denied builtins table; paste:\n%s", want)
}

// A built-in pack is replaced by a pack of its name, comes back when that
// pack is removed, and stays in force while its replacement is broken.
func TestBuiltinReplaceAndRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "strict"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "strict", "a.rego"), []byte(denyAll), 0o600))
	doc := `{"Statement":[]}`
	deny := func(e *Engine) []string {
		t.Helper()
		return evaluate(t, e, []string{"strict"}, doc).Deny
	}
	builtin := []string{"[strict] nothing is allowed"}
	relaxed := map[string]string{"a.rego": "package pail.strict\n\ndeny contains \"x\" if { false }\n"}
	tests := []struct {
		name   string
		change func(t *testing.T, e *Engine)
		want   []string
	}{
		{name: "a pack of its name replaces it", change: func(t *testing.T, e *Engine) {
			require.NoError(t, e.SetPack(ctx, "strict", relaxed))
		}},
		{name: "removing the replacement brings it back", want: builtin, change: func(t *testing.T, e *Engine) {
			require.NoError(t, e.SetPack(ctx, "strict", relaxed))
			require.NoError(t, e.RemovePack(ctx, "strict"))
			assert.Empty(t, e.Broken())
		}},
		{name: "a replacement that does not compile leaves it in force", want: builtin, change: func(t *testing.T, e *Engine) {
			require.Error(t, e.SetPack(ctx, "strict", map[string]string{"a.rego": "package pail.strict\n\ndeny contains x if {"}))
		}},
		{name: "a replacement with a denied builtin leaves it in force", want: builtin, change: func(t *testing.T, e *Engine) {
			err := e.SetPack(ctx, "strict", map[string]string{"a.rego": "package pail.strict\n\ndeny contains \"x\" if { opa.runtime().env }\n"})
			require.ErrorIs(t, err, ErrDeniedBuiltin)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine()
			require.NoError(t, e.LoadDir(ctx, dir))
			require.True(t, e.Builtin("strict"))
			require.False(t, e.Builtin("other"))
			require.Equal(t, builtin, deny(e))
			tt.change(t, e)
			assert.Equal(t, tt.want, deny(e))
		})
	}
}

// The built-in packs load under the restricted capabilities.
func TestBuiltInPacksUseNoDeniedBuiltin(t *testing.T) {
	e := NewEngine()
	var errs []error
	e.OnBroken = func(_ string, err error) { errs = append(errs, err) }
	require.NoError(t, e.LoadDir(context.Background(), "../../policies"))
	assert.NoError(t, errors.Join(errs...))
	assert.Subset(t, e.Packs(), []string{"baseline", "identity", "security"})
}
