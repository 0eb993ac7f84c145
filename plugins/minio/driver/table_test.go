package driver

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
)

// Every entry of abi.SubResources is either read and written, and declared,
// or explained as unsupported and not declared.
func TestEverySubResourceIsHandledOrExplained(t *testing.T) {
	info := New(nil).Describe()
	for _, s := range abi.SubResources {
		_, reads := readers[s.Name]
		_, writes := planners[s.Name]
		why, refused := unsupported[s.Name]
		assert.Equal(t, reads, writes, "%s: read and written, or neither", s.Name)
		assert.NotEqual(t, reads, refused, "%s: handled or explained, not both, not neither", s.Name)
		assert.Equal(t, reads, info.Supports(s.Capability), "%s: declared exactly when handled", s.Name)
		if refused {
			assert.NotEmpty(t, why, s.Name)
		}
	}
	for name, r := range readers {
		_, ok := abi.SubResourceNamed(r.into)
		assert.True(t, ok, "%s reads into %q, which is no sub-resource", name, r.into)
	}
}
