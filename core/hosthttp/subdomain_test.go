package hosthttp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubdomainsForVirtualHostedAddressing(t *testing.T) {
	p, err := NewPolicy([]string{"https://s3.us-east-1.amazonaws.com"}, TLSOptions{})
	require.NoError(t, err)
	v := p.WithSubdomains()
	for _, tc := range []struct {
		url          string
		path, vhosts bool
	}{
		{"https://s3.us-east-1.amazonaws.com/bucket", true, true},
		{"https://bucket.s3.us-east-1.amazonaws.com/key", false, true},
		{"https://a.b.s3.us-east-1.amazonaws.com/", false, false},
		{"https://amazonaws.com/", false, false},
		{"http://bucket.s3.us-east-1.amazonaws.com/", false, false},
		{"https://bucket.s3.us-east-1.amazonaws.com:8443/", false, false},
		{"https://evil.com/", false, false},
	} {
		assert.Equal(t, tc.path, p.Allowed(tc.url), "path style %s", tc.url)
		assert.Equal(t, tc.vhosts, v.Allowed(tc.url), "virtual hosted %s", tc.url)
	}
}
