package driver

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pail-dev/pail/sdk/abi"
)

// TestCheckProviderRefusesAWebServer: minio-go decodes any XML root as a
// bucket list; the check must not call an XHTML page (or nothing) S3.
func TestCheckProviderRefusesAWebServer(t *testing.T) {
	for name, body := range map[string]string{"xhtml": "<html><body><p>It works!</p></body></html>", "empty": ""} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, body)
			}))
			defer srv.Close()
			err := New(http.DefaultTransport).CheckProvider(t.Context(), abi.ProviderConfig{Endpoint: srv.URL, Region: "us-east-1", PathStyle: true,
				Credentials: abi.Credentials{AccessKeyID: "AKIA", SecretAccessKey: "secret"}})
			var ae *abi.Error
			if !errors.As(err, &ae) || ae.ProviderCode != abi.ProviderCodeNotS3 {
				t.Fatalf("got %v, want %s", err, abi.ProviderCodeNotS3)
			}
		})
	}
}
