package driverkit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/guest"
)

func TestClientsAreKeyedByConfiguration(t *testing.T) {
	var c Clients[*int]
	builds := 0
	build := func() (*int, error) { builds++; n := builds; return &n, nil }
	p := abi.ProviderConfig{Endpoint: "http://a", Region: "r", Credentials: abi.Credentials{AccessKeyID: "id", SecretAccessKey: "s1"}}
	a, err := c.Get(p, build)
	require.NoError(t, err)
	b, _ := c.Get(p, build)
	assert.Same(t, a, b, "same configuration, same client")
	rotated := p
	rotated.Credentials.SecretAccessKey = "s2"
	r, _ := c.Get(rotated, build)
	assert.NotSame(t, a, r, "a rotated secret gets a new client")
	withIAM := p
	withIAM.IAMEndpoint = "http://iam"
	i, _ := c.Get(withIAM, build)
	assert.NotSame(t, a, i, "another IAM endpoint gets a new client")
	_, err = c.Get(abi.ProviderConfig{Endpoint: "x"}, func() (*int, error) { return nil, errors.New("boom") })
	require.Error(t, err)
	assert.Equal(t, 3, c.Len(), "a failed build is not cached")
	for i := range 100 {
		_, _ = c.Get(abi.ProviderConfig{Endpoint: strconv.Itoa(i)}, build)
	}
	assert.LessOrEqual(t, c.Len(), maxClients)
	assert.NotContains(t, fmt.Sprintf("%+v", keyOf(rotated)), "s2", "the cache key holds no secret")
}

func TestNoResponse(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      bool
		retryable bool
	}{
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), true, true},
		{"host refused", &url.Error{Op: "Get", URL: "http://x", Err: &guest.HostError{Message: "host not allowed", Refused: true}}, true, false},
		{"host network failure", &guest.HostError{Message: "connection refused"}, true, true},
		{"url error", &url.Error{Op: "Get", URL: "http://x", Err: errors.New("eof")}, true, true},
		{"a server answer", errors.New("AccessDenied"), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NoResponse(tc.err)
			if !tc.want {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, abi.CodeUnavailable, got.Code)
			assert.Equal(t, tc.retryable, got.Retryable)
		})
	}
}
