package chart

import (
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pail-dev/pail/core/metrics"
)

type alertRule struct{ name, expr string }

func alertRules(t *testing.T, objs []*unstructured.Unstructured) []alertRule {
	t.Helper()
	rule := find(objs, "PrometheusRule", "pail")
	require.NotNil(t, rule)
	groups, _, err := unstructured.NestedSlice(rule.Object, "spec", "groups")
	require.NoError(t, err)
	var out []alertRule
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rules {
			m := r.(map[string]any)
			out = append(out, alertRule{name: m["alert"].(string), expr: m["expr"].(string)})
		}
	}
	return out
}

func alertNames(t *testing.T, objs []*unstructured.Unstructured) []string {
	var names []string
	for _, r := range alertRules(t, objs) {
		names = append(names, r.name)
	}
	slices.Sort(names)
	return names
}

// pailMetricNames are the metric names core/metrics defines, read from the
// collectors' descriptors (not from a list kept by hand).
func pailMetricNames(t *testing.T) []string {
	t.Helper()
	m, err := metrics.New(prometheus.NewRegistry())
	require.NoError(t, err)
	var cs []prometheus.Collector
	v := reflect.ValueOf(m).Elem()
	for _, field := range v.Fields() {
		if c, ok := reflect.TypeAssert[prometheus.Collector](field); ok {
			cs = append(cs, c)
		}
	}
	cs = append(cs, metrics.NewStateCollector(nil))
	descName := regexp.MustCompile(`fqName: "([^"]+)"`)
	var names []string
	for _, c := range cs {
		ch := make(chan *prometheus.Desc, 16)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			sm := descName.FindStringSubmatch(d.String())
			require.Len(t, sm, 2, d.String())
			names = append(names, sm[1])
		}
	}
	return names
}

// metricRef finds metric names in a PromQL expression; Pail's and
// controller-runtime's are the only ones the alerts may use.
var metricRef = regexp.MustCompile(`\b(pail_[a-z_]+|controller_runtime_[a-z_]+)\b`)

// controllerRuntimeMetrics are controller-runtime's per-controller metrics
// the rules may use; the RBAC test checks the operator really serves them.
var controllerRuntimeMetrics = []string{"controller_runtime_reconcile_errors_total"}

func TestAlertExpressionsUseExportedMetrics(t *testing.T) {
	objs := renderObjects(t, "--set", "metrics.prometheusRule.enabled=true")
	exported := pailMetricNames(t)
	require.Contains(t, exported, metrics.ProviderReadyName)
	rules := alertRules(t, objs)
	require.Len(t, rules, 4)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			refs := metricRef.FindAllString(r.expr, -1)
			require.NotEmpty(t, refs, "the expression uses a Pail or controller-runtime metric: %s", r.expr)
			for _, name := range refs {
				if slices.Contains(controllerRuntimeMetrics, name) {
					continue
				}
				assert.Contains(t, exported, name, "%s: %s is not a metric core/metrics exports", r.name, name)
			}
		})
	}
}

// The alert for a down Provider must key on the Ready gauge with the duration
// from values, so "Ready false for 10m" is what fires it.
func TestAlertProviderDownDuration(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"default ten minutes", []string{"--set", "metrics.prometheusRule.enabled=true"}, "10m"},
		{"from values", []string{"--set", "metrics.prometheusRule.enabled=true,metrics.prometheusRule.providerDownFor=30m"}, "30m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := renderObjects(t, tt.args...)
			rule := find(objs, "PrometheusRule", "pail")
			groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
			rules, _, _ := unstructured.NestedSlice(groups[0].(map[string]any), "rules")
			var found bool
			for _, r := range rules {
				m := r.(map[string]any)
				if m["alert"] == "PailProviderDown" {
					found = true
					assert.Equal(t, tt.want, m["for"])
					assert.Contains(t, m["expr"], metrics.ProviderReadyName)
					assert.Contains(t, m["expr"], "== 0")
				}
			}
			assert.True(t, found)
		})
	}
}
