// Package metrics defines Pail's Prometheus metrics on controller-runtime's
// registry, so they are served on the manager's metrics endpoint.
package metrics

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics holds the collectors. Tests read them with prometheus/testutil.
type Metrics struct {
	DriverRequests        *prometheus.CounterVec
	DriverRequestDuration *prometheus.HistogramVec
	DriverOperations      *prometheus.CounterVec
	DriverTraps           *prometheus.CounterVec
	DriverLoadSeconds     *prometheus.GaugeVec
	// DriverCompileSeconds is the compile part of the last load.
	DriverCompileSeconds *prometheus.GaugeVec
	// DriverInstantiateSeconds times every new instance of a driver.
	DriverInstantiateSeconds *prometheus.HistogramVec
	DriverInstances          *prometheus.GaugeVec
	PolicyEvaluation         prometheus.Histogram
	PolicyMessages           *prometheus.CounterVec
	PolicyPackErrors         *prometheus.CounterVec
	KeyRotations             *prometheus.CounterVec
	// DriftCorrections counts corrections of changes made behind Pail's back;
	// one bucket corrected again and again is a drift loop (another writer
	// fights Pail), which the chart's PrometheusRule alerts on.
	DriftCorrections *prometheus.CounterVec
	// DriftLoops is 1 for each Bucket whose writes the drift-loop breaker paused.
	DriftLoops *prometheus.GaugeVec
}

// New creates the collectors and registers them with reg (nil: controller-runtime's registry).
// Registering twice on one registry (two managers in one test process)
// returns the collectors already there, so both record into the same series.
func New(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = crmetrics.Registry
	}
	m := newCollectors()
	return m, m.register(reg)
}

// newCollectors creates every collector, unregistered.
func newCollectors() *Metrics {
	m := &Metrics{
		DriverRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pail_driver_http_requests_total",
			Help: "HTTP requests drivers made through the host, by driver, operation, method and status code (0 when refused or failed).",
		}, []string{"driver", "operation", "method", "code"}),
		DriverRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pail_driver_http_request_duration_seconds",
			Help:    "Latency of HTTP requests drivers made through the host.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"driver", "operation"}),
		DriverOperations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pail_driver_operations_total",
			Help: "Driver operations by driver, operation and result (ok or the ABI error code).",
		}, []string{"driver", "operation", "result"}),
		DriverTraps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pail_driver_traps_total",
			Help: "Driver instances discarded after a trap, timeout or protocol violation.",
		}, []string{"driver"}),
		DriverLoadSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pail_driver_load_seconds",
			Help: "Time the last load of each driver took, compile included.",
		}, []string{"driver"}),
		DriverInstances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pail_driver_instances",
			Help: "Live wasm instances per driver.",
		}, []string{"driver"}),
	}
	m.PolicyEvaluation = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "pail_policy_evaluation_seconds",
		Help:    "Time to evaluate a policy document against the selected packs.",
		Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1},
	})
	m.PolicyMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pail_policy_messages_total",
		Help: "Deny and warn messages the policy packs returned, by kind.",
	}, []string{"kind"})
	m.PolicyPackErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pail_policy_pack_errors_total",
		Help: "Policy packs that failed to load or compile, by pack.",
	}, []string{"pack"})
	m.KeyRotations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pail_access_key_rotations_total",
		Help: "Access key lifecycle steps, by step: created, rotated, retired.",
	}, []string{"step"})
	m.DriftCorrections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pail_bucket_drift_corrections_total",
		Help: "Drift corrections: a Bucket's in-sync settings changed behind Pail's back and Pail wrote them back.",
	}, []string{"namespace", "bucket"})
	m.DriverCompileSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pail_driver_compile_seconds",
		Help: "Time the compile part of the last load of each driver took (short when the compilation cache had it).",
	}, []string{"driver"})
	m.DriverInstantiateSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pail_driver_instantiate_seconds",
		Help:    "Time to instantiate a new wasm instance of a driver for its pool.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"driver"})
	m.DriftLoops = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pail_bucket_drift_loop_paused",
		Help: "1 while the drift-loop breaker pauses writes to a Bucket that another writer keeps changing.",
	}, []string{"namespace", "bucket"})
	return m
}

// register registers m's collectors with reg, in a fixed order, stopping
// at the first error; a collector reg has already is replaced by that one.
func (m *Metrics) register(reg prometheus.Registerer) error {
	var err error
	m.DriverRequests, err = register(reg, m.DriverRequests)
	if err == nil {
		m.DriverRequestDuration, err = register(reg, m.DriverRequestDuration)
	}
	if err == nil {
		m.DriverOperations, err = register(reg, m.DriverOperations)
	}
	if err == nil {
		m.DriverTraps, err = register(reg, m.DriverTraps)
	}
	if err == nil {
		m.DriverLoadSeconds, err = register(reg, m.DriverLoadSeconds)
	}
	if err == nil {
		m.DriverInstances, err = register(reg, m.DriverInstances)
	}
	if err == nil {
		m.PolicyEvaluation, err = register(reg, m.PolicyEvaluation)
	}
	if err == nil {
		m.PolicyMessages, err = register(reg, m.PolicyMessages)
	}
	if err == nil {
		m.PolicyPackErrors, err = register(reg, m.PolicyPackErrors)
	}
	if err == nil {
		m.KeyRotations, err = register(reg, m.KeyRotations)
	}
	if err == nil {
		m.DriftCorrections, err = register(reg, m.DriftCorrections)
	}
	if err == nil {
		m.DriftLoops, err = register(reg, m.DriftLoops)
	}
	if err == nil {
		m.DriverCompileSeconds, err = register(reg, m.DriverCompileSeconds)
	}
	if err == nil {
		m.DriverInstantiateSeconds, err = register(reg, m.DriverInstantiateSeconds)
	}
	return err
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metric: %w", err)
	}
	return c, nil
}

// ObserveRequest records one host HTTP request.
func (m *Metrics) ObserveRequest(driver, op, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.DriverRequests.WithLabelValues(driver, op, method, strconv.Itoa(status)).Inc()
	m.DriverRequestDuration.WithLabelValues(driver, op).Observe(d.Seconds())
}

// ObservePolicyEvaluation records one evaluation.
func (m *Metrics) ObservePolicyEvaluation(d time.Duration, deny, warn int) {
	if m == nil {
		return
	}
	m.PolicyEvaluation.Observe(d.Seconds())
	m.PolicyMessages.WithLabelValues("deny").Add(float64(deny))
	m.PolicyMessages.WithLabelValues("warn").Add(float64(warn))
}

// SetDriftLoop records whether writes to a Bucket are paused by the drift-loop breaker.
func (m *Metrics) SetDriftLoop(namespace, bucket string, paused bool) {
	if m == nil {
		return
	}
	if paused {
		m.DriftLoops.WithLabelValues(namespace, bucket).Set(1)
		return
	}
	m.DriftLoops.DeleteLabelValues(namespace, bucket)
}

// ObserveDriftCorrected records one drift correction on a Bucket.
func (m *Metrics) ObserveDriftCorrected(namespace, bucket string) {
	if m == nil {
		return
	}
	m.DriftCorrections.WithLabelValues(namespace, bucket).Inc()
}
