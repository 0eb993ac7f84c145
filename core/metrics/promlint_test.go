package metrics

import (
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// allPailFamilies registers every collector the operator registers (New plus
// the scrape-time StateCollector, as core/operator does), records a sample in
// each so every family appears in the scrape, and gathers. A metric with no
// sample is not gathered, and promlint cannot lint what it never sees, so the
// test also checks that nothing was left out.
func allPailFamilies(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg)
	require.NoError(t, err)
	ready := metav1.Condition{Type: pailv1.ConditionReady, Status: metav1.ConditionTrue, Reason: pailv1.ReasonAvailable}
	require.NoError(t, RegisterState(reg, NewStateCollector(listReader{items: []pailv1.Provider{provider("p", &ready, 0)}})))

	m.ObserveRequest("minio", "ObserveBucket", "GET", 200, 3*time.Millisecond)
	m.DriverOperations.WithLabelValues("minio", "ObserveBucket", "ok").Inc()
	m.DriverTraps.WithLabelValues("minio").Inc()
	m.DriverLoadSeconds.WithLabelValues("minio").Set(0.4)
	m.DriverInstances.WithLabelValues("minio").Set(2)
	m.ObservePolicyEvaluation(time.Millisecond, 1, 1)
	m.PolicyPackErrors.WithLabelValues("security").Inc()
	m.KeyRotations.WithLabelValues("rotated").Inc()
	m.ObserveDriftCorrected("ns", "b")
	m.SetDriftLoop("ns", "b", true)
	m.DriverCompileSeconds.WithLabelValues("minio").Set(0.3)
	m.DriverInstantiateSeconds.WithLabelValues("minio").Observe(0.02)

	mfs, err := reg.Gather()
	require.NoError(t, err)

	// Every field of Metrics is a collector, plus the state collector's two
	// gauges: if one is added without a sample here it is caught below.
	fields := reflect.ValueOf(*m).NumField()
	require.Len(t, mfs, fields+2, "every collector has a sample, so promlint sees every family")
	return mfs
}

// TestPromlint runs Prometheus' own linter over everything Pail exports:
// names in base units, counters ending in _total, help text on every family.
func TestPromlint(t *testing.T) {
	problems, err := promlint.NewWithMetricFamilies(allPailFamilies(t)).Lint()
	require.NoError(t, err)
	assert.Empty(t, problems, "promlint problems in Pail's metrics")
}

// The lint above is only worth something if promlint fails on the kind of
// mistake a new metric would bring: these collectors are deliberately wrong,
// and promlint must name each one.
func TestPromlintFlagsBadMetrics(t *testing.T) {
	tests := []struct {
		name      string
		collector prometheus.Collector
		sample    func(prometheus.Collector)
		want      string
	}{
		{
			name:      "counter without _total",
			collector: prometheus.NewCounter(prometheus.CounterOpts{Name: "pail_driver_calls", Help: "Calls."}),
			sample:    func(c prometheus.Collector) { c.(prometheus.Counter).Inc() },
			want:      "counter metrics should have \"_total\" suffix",
		},
		{
			name:      "milliseconds instead of seconds",
			collector: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pail_driver_load_milliseconds", Help: "Load time."}),
			sample:    func(c prometheus.Collector) { c.(prometheus.Gauge).Set(1) },
			want:      "use base unit \"seconds\" instead of \"milliseconds\"",
		},
		{
			// client_golang always sends a help string, so the lint's other
			// families are what a Go collector can get wrong.
			name:      "gauge with a histogram suffix",
			collector: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pail_driver_calls_count", Help: "Calls."}),
			sample:    func(c prometheus.Collector) { c.(prometheus.Gauge).Set(1) },
			want:      `non-histogram and non-summary metrics should not have "_count" suffix`,
		},
		{
			name:      "abbreviated unit",
			collector: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pail_driver_load_ms", Help: "Load time."}),
			sample:    func(c prometheus.Collector) { c.(prometheus.Gauge).Set(1) },
			want:      "metric names should not contain abbreviated units",
		},
		{
			name:      "camelCase name",
			collector: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pail_driverInstances", Help: "Instances."}),
			sample:    func(c prometheus.Collector) { c.(prometheus.Gauge).Set(1) },
			want:      "metric names should be written in 'snake_case' not 'camelCase'",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			require.NoError(t, reg.Register(tt.collector))
			tt.sample(tt.collector)
			mfs, err := reg.Gather()
			require.NoError(t, err)
			problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
			require.NoError(t, err)
			require.NotEmpty(t, problems, "promlint accepted a bad metric")
			var texts []string
			for _, p := range problems {
				texts = append(texts, p.Text)
			}
			assert.Contains(t, texts, tt.want)
		})
	}
}
