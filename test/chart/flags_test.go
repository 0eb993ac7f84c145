package chart

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/test/env"
)

// TestRenderFlagsExistInOperator builds the operator and checks that every
// flag the chart renders (defaults and every feature) is one it defines, so
// a renamed flag breaks this test, not a rollout.
func TestRenderFlagsExistInOperator(t *testing.T) {
	bin := env.OperatorForTest(t, repoRoot())
	help, _ := exec.Command(bin, "-help").CombinedOutput() // -help exits 2 after printing
	defined := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		defined[m[1]] = true
	}
	require.True(t, defined["cache-dir"], "parsed the flag list:\n%s", help)

	for _, args := range [][]string{nil, {"-f", filepath.Join(chartDir(), "ci", "all-features-values.yaml")}, {"--set", "webhook.enabled=false"}, {"--set", "metrics.certSecret=pail-metrics-tls"}} {
		_, c := deployment(t, renderObjects(t, args...))
		for _, a := range c.Args {
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			switch {
			case defined[name]:
			default:
				t.Errorf("the chart passes --%s (values %v), which the operator does not define", name, args)
			}
		}
	}
}
