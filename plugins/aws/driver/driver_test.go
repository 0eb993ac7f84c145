package driver

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
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
		abi.CapAccessKeys, abi.CapInlinePolicy, abi.CapUserTags, abi.CapKeyLastUsed,
	}, info.Capabilities)
	assert.Equal(t, "https://iam.amazonaws.com", info.DefaultIAMEndpoint)
	for _, op := range []string{abi.OpObserveUser, abi.OpApplyUser, abi.OpDeleteUser, abi.OpCreateAccessKey, abi.OpUpdateAccessKey, abi.OpDeleteAccessKey} {
		assert.True(t, info.Implements(op), op)
	}
}
