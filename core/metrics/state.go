package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// ProviderReadyName is the gauge alerting rules use for "a Provider is down"
// (the chart's PrometheusRule refers to it by name).
const ProviderReadyName = "pail_provider_ready"

// StateCollector reports the state of Pail's objects at scrape time, read
// from the manager's cache. It is computed when scraped rather than set by the
// controllers so the series always match what the apiserver holds (a deleted
// Provider disappears from the next scrape) and the controllers stay free of
// metrics plumbing. Providers are few, so listing them per scrape is cheap.
type StateCollector struct {
	reader        client.Reader
	providerReady *prometheus.Desc
	providerFails *prometheus.Desc
}

// NewStateCollector reads Providers through reader (the manager's cached client).
func NewStateCollector(reader client.Reader) *StateCollector {
	return &StateCollector{
		reader: reader,
		providerReady: prometheus.NewDesc(ProviderReadyName,
			"1 when the Provider's Ready condition is True, else 0 (False, Unknown or not yet checked).",
			[]string{"namespace", "provider", "driver"}, nil),
		providerFails: prometheus.NewDesc("pail_provider_consecutive_failures",
			"Failed connectivity/auth checks of the Provider since its last success (status.consecutiveFailures).",
			[]string{"namespace", "provider", "driver"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.providerReady
	ch <- c.providerFails
}

// Collect implements prometheus.Collector. When the cache cannot answer (not
// started yet, or RBAC refused the list) it reports nothing rather than a
// misleading 0: absent() in an alert catches that case.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list pailv1.ProviderList
	if err := c.reader.List(ctx, &list); err == nil {
		for i := range list.Items {
			c.collect(ch, &list.Items[i])
		}
	}
	// ClusterProviders are reported with an empty namespace: one alert
	// covers both kinds, and the label set stays the same.
	var clusterList pailv1.ClusterProviderList
	if err := c.reader.List(ctx, &clusterList); err == nil {
		for i := range clusterList.Items {
			c.collect(ch, &clusterList.Items[i])
		}
	}
}

// collect reports one Provider or ClusterProvider.
func (c *StateCollector) collect(ch chan<- prometheus.Metric, p pailv1.ProviderObject) {
	st, driver := p.ProviderStatus(), p.ProviderSpec().Driver
	// No reason label: a reason change must not restart an alert's "for".
	ready := 0.0
	if meta.IsStatusConditionTrue(st.Conditions, pailv1.ConditionReady) {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(c.providerReady, prometheus.GaugeValue, ready, p.GetNamespace(), p.GetName(), driver)
	ch <- prometheus.MustNewConstMetric(c.providerFails, prometheus.GaugeValue, float64(st.ConsecutiveFailures), p.GetNamespace(), p.GetName(), driver)
}

// RegisterState registers c on reg (nil: controller-runtime's registry),
// replacing a StateCollector registered before: several managers run in one
// test process, and the newest one's cache is the one that is running.
func RegisterState(reg prometheus.Registerer, c *StateCollector) error {
	if reg == nil {
		reg = crmetrics.Registry
	}
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		reg.Unregister(are.ExistingCollector)
		err = reg.Register(c)
	}
	return err
}
