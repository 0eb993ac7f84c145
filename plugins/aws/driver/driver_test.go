package driver

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
)

func TestDescribe(t *testing.T) {
	info := New(nil).Describe()
	assert.Equal(t, "aws", info.Name)
	assert.Equal(t, "0.1.0", info.Version)
	assert.Equal(t, abi.Version, info.ABI)
	assert.ElementsMatch(t, []string{
		abi.CapBuckets, abi.SubVersioning, abi.SubMFADelete, abi.SubEncryption, abi.SubSSEKMS,
		abi.SubPublicAccessBlock, abi.SubLifecycle, abi.SubCORS, abi.SubTagging, abi.SubPolicy,
		abi.SubObjectLock, abi.CapForceDelete,
	}, info.Capabilities)
}

// TestIntegration runs the shared s3compat suite against versitygw, or the
// endpoint named by PAIL_S3_ENDPOINT (see package s3compattest).
func TestIntegration(t *testing.T) {
	s3compattest.Run(t, New, s3compattest.TargetForTest(t))
}
