package v1alpha1

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reasonConstants reads the Reason* constants from conditions.go with the Go
// parser, so a new reason cannot be added without this test seeing it.
func reasonConstants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "conditions.go", nil, 0)
	require.NoError(t, err)
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Reason") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				require.True(t, ok, "%s is a string literal", n.Name)
				out[n.Name] = strings.Trim(lit.Value, `"`)
			}
		}
	}
	return out
}

// docs/troubleshooting.md is organised by condition reason: every Reason*
// constant needs its own section, so a user who sees a reason finds it.
func TestTroubleshootingCoversEveryReason(t *testing.T) {
	raw, err := os.ReadFile("../../docs/troubleshooting.md")
	require.NoError(t, err)
	doc := string(raw)
	reasons := reasonConstants(t)
	require.Contains(t, reasons, "ReasonBucketNotEmpty", "the parser found the constants")
	require.Greater(t, len(reasons), 40)
	for name, value := range reasons {
		t.Run(name, func(t *testing.T) {
			// assert.True, not Contains: a failure names the reason instead of printing the whole page.
			assert.True(t, strings.Contains(doc, "\n### "+value+"\n"), //nolint:testifylint // see above
				"docs/troubleshooting.md has no \"### %s\" section (%s)", value, name)
		})
	}
}
