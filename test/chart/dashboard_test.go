package chart

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/metrics"
)

// dashboard is the part of a Grafana dashboard the test reads: every query of
// every panel (rows nest panels when collapsed) and of every variable.
type dashboard struct {
	Panels     []dashPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type dashPanel struct {
	Title   string      `json:"title"`
	Type    string      `json:"type"`
	Panels  []dashPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T, raw []byte) dashboard {
	t.Helper()
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d), "the dashboard is JSON")
	return d
}

type query struct{ where, expr string }

// queries lists every panel query as "panel title#refId letter" and its
// PromQL, panels of rows included. A slice, not a map: two panels with one
// title must not hide each other's queries.
func (d dashboard) queries() []query {
	var out []query
	var walk func(ps []dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				out = append(out, query{p.Title + "#" + string(rune('A'+i)), tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// grafanaVars replaces Grafana's variables with something PromQL parses: the
// interval ones with a duration, the others (label values) with a regexp.
var grafanaVars = regexp.MustCompile(`\$\{?(__rate_interval|__interval|__range)\}?|\$\{?[a-zA-Z_]\w*(:\w+)?\}?`)

func substituteVars(expr string) string {
	return grafanaVars.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.Contains(v, "__") {
			return "5m"
		}
		return ".*"
	})
}

// metricNames parses a query with Prometheus' own parser and returns every
// metric it selects, so a misspelt name cannot hide in a string or a function.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.ParseExpr(substituteVars(expr))
	require.NoError(t, err, "PromQL parses: %s", expr)
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names
}

// labelValuesMetric is the metric of a label_values(metric, label) variable.
var labelValuesMetric = regexp.MustCompile(`^\s*label_values\(\s*([^,{)\s]+)`)

// variableMetrics returns the metrics the dashboard's query variables read.
func (d dashboard) variableMetrics(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		sm := labelValuesMetric.FindStringSubmatch(q)
		require.Len(t, sm, 2, "variable %s: a label_values(metric, label) query: %q", v.Name, q)
		out["variable "+v.Name] = sm[1]
	}
	return out
}

// seriesNames gathers reg and returns every series name a query can select:
// a histogram family is queried as _bucket, _sum and _count.
func seriesNames(t *testing.T, reg prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		n := mf.GetName()
		switch mf.GetType().String() {
		case "HISTOGRAM", "GAUGE_HISTOGRAM":
			names = append(names, n+"_bucket", n+"_sum", n+"_count")
		case "SUMMARY":
			names = append(names, n, n+"_sum", n+"_count")
		default:
			names = append(names, n)
		}
	}
	return names
}

// exportedPailSeries are the series Pail's real collectors produce once each
// has a sample (an unobserved vector is not gathered at all).
func exportedPailSeries(t *testing.T) []string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.New(reg)
	require.NoError(t, err)
	m.ObserveRequest("minio", "ObserveBucket", "GET", 200, time.Millisecond)
	m.DriverOperations.WithLabelValues("minio", "ObserveBucket", "ok").Inc()
	m.DriverTraps.WithLabelValues("minio").Inc()
	m.DriverLoadSeconds.WithLabelValues("minio").Set(1)
	m.DriverInstances.WithLabelValues("minio").Set(1)
	m.ObservePolicyEvaluation(time.Millisecond, 1, 1)
	m.PolicyPackErrors.WithLabelValues("p").Inc()
	m.KeyRotations.WithLabelValues("rotated").Inc()
	m.ObserveDriftCorrected("ns", "b")
	// The state collector reads Providers at scrape time, here from a fake
	// client holding one Provider, as it reads the manager's cache in the operator.
	scheme := runtime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: pailv1.ProviderSpec{Driver: "minio"}}
	require.NoError(t, metrics.RegisterState(reg, metrics.NewStateCollector(fake.NewClientBuilder().WithScheme(scheme).WithObjects(p).Build())))
	names := seriesNames(t, reg)
	require.Contains(t, names, metrics.ProviderReadyName, "the state collector reported the Provider")
	return names
}

// oneRequest is a source that queues a single request, so a controller
// reconciles once without a cache or an apiserver.
type oneRequest struct{}

func (oneRequest) Start(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	q.Add(reconcile.Request{})
	return nil
}

var crOnce sync.Once

// controllerRuntimeSeries runs a real controller-runtime controller through
// one reconcile and gathers controller-runtime's registry (the one the
// operator serves), so its reconcile metrics are read from v0.25.2 itself
// rather than from a list kept by hand.
func controllerRuntimeSeries(t *testing.T) []string {
	t.Helper()
	crOnce.Do(func() {
		done := make(chan struct{})
		c, err := controller.NewTypedUnmanaged("dashboardtest", controller.TypedOptions[reconcile.Request]{
			SkipNameValidation: new(true),
			Reconciler: reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) {
				close(done)
				return reconcile.Result{}, nil
			}),
		})
		require.NoError(t, err)
		require.NoError(t, c.Watch(oneRequest{}))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = c.Start(ctx) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the controller did not reconcile")
		}
	})
	// The reconcile's metrics are recorded after the reconciler returns.
	var names []string
	require.Eventually(t, func() bool {
		names = seriesNames(t, crmetrics.Registry)
		return slices.Contains(names, "controller_runtime_reconcile_time_seconds_bucket") &&
			slices.Contains(names, "controller_runtime_reconcile_total")
	}, 10*time.Second, 50*time.Millisecond)
	return names
}

// checkDashboard returns, per query, the metrics it uses that nothing exports.
func checkDashboard(t *testing.T, raw []byte, exported []string) map[string][]string {
	t.Helper()
	d := loadDashboard(t, raw)
	uses := map[string][]string{}
	for _, q := range d.queries() {
		names := metricNames(t, q.expr)
		require.NotEmpty(t, names, "%s selects a metric: %s", q.where, q.expr)
		uses[q.where] = append(uses[q.where], names...)
	}
	for where, name := range d.variableMetrics(t) {
		uses[where] = []string{name}
	}
	missing := map[string][]string{}
	for where, names := range uses {
		for _, n := range names {
			if !slices.Contains(exported, n) {
				missing[where] = append(missing[where], n)
			}
		}
	}
	return missing
}

func dashboardFile(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir(), "dashboards", "pail.json"))
	require.NoError(t, err)
	return raw
}

// TestDashboardQueriesUseExportedMetrics: every metric any panel or variable
// of the dashboard queries is one the operator really exports, Pail's from
// core/metrics' collectors and controller-runtime's from its registry; the
// panels the Production issue asks for are there; and a typo is caught.
func TestDashboardQueriesUseExportedMetrics(t *testing.T) {
	exported := append(exportedPailSeries(t), controllerRuntimeSeries(t)...)
	raw := dashboardFile(t)

	t.Run("every query uses an exported metric", func(t *testing.T) {
		assert.Empty(t, checkDashboard(t, raw, exported))
	})

	t.Run("every metric the issue names has a panel", func(t *testing.T) {
		var used []string
		for _, q := range loadDashboard(t, raw).queries() {
			used = append(used, metricNames(t, q.expr)...)
		}
		for _, want := range []string{
			"controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total",
			"pail_driver_http_requests_total", "pail_driver_http_request_duration_seconds_bucket",
			"pail_driver_traps_total", "pail_driver_load_seconds", "pail_driver_instances",
			"pail_policy_evaluation_seconds_bucket", "pail_policy_messages_total", "pail_policy_pack_errors_total",
			"pail_access_key_rotations_total", "pail_bucket_drift_corrections_total", metrics.ProviderReadyName,
		} {
			assert.Contains(t, used, want)
		}
	})

	// The check must be able to fail: the same dashboard with one metric
	// name misspelt, in a panel and in a variable, is refused at that spot.
	tests := []struct {
		name, from, to, where string
	}{
		{"panel typo", "pail_driver_traps_total", "pail_driver_trap_total", "Driver traps#A"},
		{"controller-runtime typo", "controller_runtime_reconcile_errors_total", "controller_runtime_reconcile_error_total", "Reconcile errors by kind#A"},
		{"histogram name without _bucket", "pail_policy_evaluation_seconds_bucket", "pail_policy_evaluation_seconds", "Policy evaluation time#A"},
		{"variable typo", "label_values(pail_driver_instances,", "label_values(pail_driver_instance,", "variable driver"},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			require.Contains(t, string(raw), tt.from)
			bad := strings.Replace(string(raw), tt.from, tt.to, 1)
			missing := checkDashboard(t, []byte(bad), exported)
			assert.Contains(t, missing, tt.where)
		})
	}
}

// TestRenderDashboard: off by default; when enabled, one ConfigMap that the
// Grafana sidecar picks up (grafana_dashboard: "1") holding the file verbatim.
func TestRenderDashboard(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		wantNS string
	}{
		{"default off", nil, ""},
		{"enabled", []string{"--set", "dashboard.enabled=true"}, releaseNS},
		{"enabled in Grafana's namespace", []string{"--set", "dashboard.enabled=true,dashboard.namespace=monitoring,dashboard.annotations.grafana_folder=Pail"}, "monitoring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := renderObjects(t, tt.args...)
			o := find(objs, "ConfigMap", "pail-dashboard")
			if tt.wantNS == "" {
				assert.Nil(t, o)
				return
			}
			cm := typed[corev1.ConfigMap](t, o)
			assert.Equal(t, tt.wantNS, cm.Namespace)
			assert.Equal(t, "1", cm.Labels["grafana_dashboard"])
			assert.JSONEq(t, string(dashboardFile(t)), cm.Data["pail.json"])
		})
	}
}
