package hosthttp_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/hosthttp"
)

// TestSecurityDocListsForbiddenNetworks: docs/security.md shows exactly the
// forbidden networks the host refuses, rendered from the one table.
func TestSecurityDocListsForbiddenNetworks(t *testing.T) {
	raw, err := os.ReadFile("../../docs/security.md")
	require.NoError(t, err)
	const begin, end = "<!-- forbidden-networks:begin -->\n", "<!-- forbidden-networks:end -->"
	doc := string(raw)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	require.True(t, i >= 0 && j > i, "docs/security.md has the forbidden-networks markers")
	var want strings.Builder
	want.WriteString("| network | what it is |\n|---|---|\n")
	for _, n := range hosthttp.ForbiddenNetworks() {
		fmt.Fprintf(&want, "| `%s` | %s |\n", n.Prefix, n.What)
	}
	require.Equal(t, want.String(), doc[i+len(begin):j], "paste this table between the markers in docs/security.md")
}
