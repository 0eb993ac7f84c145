package s3compat

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pail-dev/pail/sdk/abi"
)

// TestCheckProviderRefusesAWebServer: a server answering 200 to everything
// is not an S3 endpoint, whatever it sends.
func TestCheckProviderRefusesAWebServer(t *testing.T) {
	for name, body := range map[string]string{"html": "<html><body>It works!</body></html>", "empty": ""} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, body)
			}))
			defer srv.Close()
			d := New(http.DefaultTransport, Options{Name: "aws", Version: "test"})
			err := d.CheckProvider(t.Context(), abi.ProviderConfig{Endpoint: srv.URL, Region: "us-east-1", PathStyle: true,
				Credentials: abi.Credentials{AccessKeyID: "AKIA", SecretAccessKey: "secret"}})
			var ae *abi.Error
			if !errors.As(err, &ae) || ae.ProviderCode != abi.ProviderCodeNotS3 || ae.Code != abi.CodeInvalidArgument {
				t.Fatalf("got %v, want InvalidArgument/%s", err, abi.ProviderCodeNotS3)
			}
			if !strings.Contains(ae.Message, "not an S3 API endpoint") {
				t.Fatalf("message %q", ae.Message)
			}
		})
	}
}
