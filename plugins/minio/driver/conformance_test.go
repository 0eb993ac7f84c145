package driver

import (
	"net/http"
	"testing"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/drivertest"
)

// TestConformance runs the driver conformance suite (sdk/drivertest),
// natively, against a real MinIO (buckets, and users through madmin).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	endpoint := startMinio(t, minioBinary(t))
	drivertest.Run(t, New(http.DefaultTransport.(*http.Transport).Clone()), drivertest.Target{
		Server: "minio",
		Provider: abi.ProviderConfig{
			Name: "conformance", Endpoint: endpoint, Region: "us-east-1", PathStyle: true,
			Credentials: abi.Credentials{AccessKeyID: rootUser, SecretAccessKey: rootPassword},
		},
		KMSKeyID: kmsKeyID,
	})
}
