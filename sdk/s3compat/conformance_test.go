package s3compat_test

import (
	"os"
	"testing"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/drivertest"
	"github.com/pail-dev/pail/sdk/s3compat"
	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
)

// TestConformance runs the driver conformance suite (sdk/drivertest) on a
// bare s3compat driver declaring what versitygw posix implements, against
// versitygw (or the endpoint named by PAIL_S3_*). It skips in -short mode
// and without either. The suite's own self-test uses an in-memory driver,
// since the sdk module carries no cloud SDK; this is where the sdk's
// S3-API driver meets it on a real server. The transport counts requests,
// so the suite proves the undeclared sub-resources are refused without one.
func TestConformance(t *testing.T) {
	tgt := s3compattest.TargetForTest(t)
	rt := s3compattest.NewCountingTransport()
	d := s3compat.New(rt, s3compat.Options{
		Name: "s3compat", Version: "0.0.0",
		Capabilities: []string{abi.SubVersioning, abi.SubCORS, abi.SubTagging, abi.SubPolicy, abi.SubObjectLock},
	})
	drivertest.Run(t, d, drivertest.Target{
		Server: tgt.Server, Provider: tgt.Provider, Unsupported: tgt.Unsupported,
		Objects: s3compattest.Objects{}, Requests: rt.Requests, KMSKeyID: os.Getenv(s3compattest.EnvKMSKeyID),
	})
}
