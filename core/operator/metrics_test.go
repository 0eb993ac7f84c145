package operator

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricsOptions(t *testing.T) {
	withPair := t.TempDir()
	for _, f := range metricsCertFiles {
		require.NoError(t, os.WriteFile(filepath.Join(withPair, f), []byte("pem"), 0o600))
	}
	certOnly := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(certOnly, "tls.crt"), []byte("pem"), 0o600))

	tests := []struct {
		name       string
		o          Options
		wantSecure bool
		wantDir    string
		wantErr    string
	}{
		{name: "plain HTTP when not secure, cert dir ignored", o: Options{MetricsAddr: ":8080", MetricsCertDir: certOnly}},
		{name: "secure without a cert dir: self-signed", o: Options{MetricsAddr: ":8080", MetricsSecure: true}, wantSecure: true},
		{name: "secure with a cert dir holding the pair", o: Options{MetricsAddr: ":8080", MetricsSecure: true, MetricsCertDir: withPair}, wantSecure: true, wantDir: withPair},
		{name: "a cert dir without the key is an error, not a silent self-signed certificate", o: Options{MetricsSecure: true, MetricsCertDir: certOnly}, wantErr: "tls.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricsOptions(tt.o)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.o.MetricsAddr, got.BindAddress)
			assert.Equal(t, tt.wantSecure, got.SecureServing)
			assert.Equal(t, tt.wantDir, got.CertDir)
			if !tt.wantSecure {
				assert.Nil(t, got.FilterProvider, "plain HTTP has no authentication to run")
				return
			}
			require.NotNil(t, got.FilterProvider, "every request is authenticated and authorized")
			cfg := &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
			for _, opt := range got.TLSOpts {
				opt(cfg)
			}
			assert.Equal(t, []string{"http/1.1"}, cfg.NextProtos, "HTTP/2 is off")
		})
	}
}
