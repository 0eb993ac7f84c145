package driver

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
)

func TestDescribe(t *testing.T) {
	info := New(nil).Describe()
	assert.Equal(t, "wasabi", info.Name)
	assert.Equal(t, "0.1.0", info.Version)
	assert.Equal(t, abi.Version, info.ABI)
	assert.ElementsMatch(t, []string{
		abi.CapBuckets, abi.SubVersioning, abi.SubMFADelete, abi.SubEncryption,
		abi.SubLifecycle, abi.SubCORS, abi.SubTagging, abi.SubPolicy,
		abi.SubObjectLock, abi.CapForceDelete,
		abi.CapAccessKeys, abi.CapInlinePolicy, abi.CapKeyLastUsed,
	}, info.Capabilities)
	assert.False(t, info.Supports(abi.CapUserTags), "Wasabi's IAM has no user tags")
	assert.Equal(t, "https://iam.wasabisys.com", info.DefaultIAMEndpoint)
	for _, op := range []string{abi.OpObserveUser, abi.OpApplyUser, abi.OpDeleteUser, abi.OpCreateAccessKey, abi.OpUpdateAccessKey, abi.OpDeleteAccessKey} {
		assert.True(t, info.Implements(op), op)
	}
	assert.False(t, info.Supports(abi.SubPublicAccessBlock), "Wasabi has no PublicAccessBlock API")
	assert.False(t, info.Supports(abi.SubSSEKMS), "Wasabi has no KMS")
}

// The endpoint hint tells the user which endpoint to set.
func TestMissingEndpoint(t *testing.T) {
	err := New(nil).CheckProvider(t.Context(), abi.ProviderConfig{Region: "eu-central-1"})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err))
	assert.ErrorContains(t, err, "https://s3.<region>.wasabisys.com")
}
