package s3compattest

import (
	"net/http"
	"os"
	"testing"

	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/drivertest"
)

// RunConformance runs the conformance suite (drivertest.Run) on the driver
// newDriver builds on a counting transport, natively: buckets against
// TargetForTest, users against IAMTargetForTest, SSE-KMS with the key
// EnvKMSKeyID names. It only finds the servers: every check is
// drivertest's. plugins/*/driver.New has newDriver's shape.
func RunConformance[D driver.Driver](t *testing.T, newDriver func(http.RoundTripper) D) {
	t.Helper()
	tgt := TargetForTest(t)
	iam := IAMTargetForTest(t)
	rt := NewCountingTransport()
	drivertest.Run(t, newDriver(rt), drivertest.Target{
		Server:           tgt.Server,
		Provider:         tgt.Provider,
		Objects:          Objects{},
		Unsupported:      tgt.Unsupported,
		KMSKeyID:         os.Getenv(EnvKMSKeyID),
		Requests:         rt.Requests,
		Users:            &iam.Provider,
		UsersUnsupported: iam.Unsupported,
		Propagation:      iam.Propagation,
		LastUsedAtOnce:   iam.LastUsedAtOnce,
	})
}
