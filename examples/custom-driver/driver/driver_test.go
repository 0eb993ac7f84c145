package driver

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/drivertest"
	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
)

func TestDescribe(t *testing.T) {
	info := New(nil).Describe()
	assert.Equal(t, Name, info.Name)
	assert.Equal(t, abi.Version, info.ABI)
	assert.False(t, info.Supports(abi.SubLifecycle), "versitygw posix cannot store lifecycle")
}

// TestConformance runs the sdk's conformance suite on the driver, natively,
// against a real versitygw posix gateway: started for the test from
// $PAIL_VERSITYGW_BIN (or, inside the Pail repository, the cache of
// test/tools), or the endpoint named by PAIL_S3_ENDPOINT. It skips without
// either.
//
// No sub-resource is listed as unsupported by the server: the driver
// declares only what versitygw implements, so every declared one must
// round-trip, and every other one must be refused.
func TestConformance(t *testing.T) {
	tgt := s3compattest.TargetForTest(t)
	drivertest.Run(t, New(http.DefaultTransport.(*http.Transport).Clone()), drivertest.Target{
		Server:   tgt.Server,
		Provider: tgt.Provider,
		Objects:  s3compattest.Objects{},
	})
}
