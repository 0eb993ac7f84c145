package operator

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The secure metrics endpoint asks the apiserver who a scraper is
// (TokenReview) and whether it may get /metrics (SubjectAccessReview).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// metricsCertFiles are the names controller-runtime reads from the cert dir.
var metricsCertFiles = []string{"tls.crt", "tls.key"}

// metricsOptions configures the metrics server. Secure serves HTTPS and lets
// through only a bearer token the apiserver authenticates and authorizes for
// GET /metrics; without a cert dir the certificate is self-signed, made at
// start. Plain HTTP serves anyone who can reach the port.
func metricsOptions(o Options) (metricsserver.Options, error) {
	opts := metricsserver.Options{BindAddress: o.MetricsAddr}
	if !o.MetricsSecure {
		return opts, nil
	}
	opts.SecureServing = true
	opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	// HTTP/2 stays off, as kubebuilder's scaffold does: its rapid-reset and
	// stream-cancellation flaws (CVE-2023-44487, CVE-2023-39325) reach any
	// client that can open a connection, before authentication.
	opts.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	if o.MetricsCertDir == "" {
		return opts, nil
	}
	// controller-runtime falls back to a self-signed certificate when the
	// files are missing; a named directory without them is a mistake.
	var errs []error
	for _, f := range metricsCertFiles {
		if _, err := os.Stat(filepath.Join(o.MetricsCertDir, f)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return opts, fmt.Errorf("metrics cert dir %s must hold %v: %w", o.MetricsCertDir, metricsCertFiles, err)
	}
	opts.CertDir = o.MetricsCertDir
	return opts, nil
}
