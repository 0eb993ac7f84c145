// Package driverkit holds what every driver would otherwise repeat: a cache
// of SDK clients kept across calls (the largest single saving inside a wasm
// instance), and the mapping of "no HTTP response at all" to ABI errors.
package driverkit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"syscall"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/guest"
)

// maxClients bounds a cache. Rotated credentials leave stale entries behind;
// past this size the cache is emptied and rebuilt.
const maxClients = 64

// key identifies a client. The secret is kept only as a hash.
type key struct {
	endpoint  string
	iam       string
	region    string
	pathStyle bool
	accessKey string
	secret    [sha256.Size]byte
}

func keyOf(p abi.ProviderConfig) key {
	h := sha256.New()
	h.Write([]byte(p.Credentials.SecretAccessKey))
	h.Write([]byte{0})
	h.Write([]byte(p.Credentials.SessionToken))
	k := key{endpoint: p.Endpoint, iam: p.IAMEndpoint, region: p.Region, pathStyle: p.PathStyle, accessKey: p.Credentials.AccessKeyID}
	h.Sum(k.secret[:0])
	return k
}

// Clients caches one client per Provider configuration.
type Clients[C any] struct {
	mu sync.Mutex
	m  map[key]C
}

// Get returns the client for p, building it with build on first use.
func (c *Clients[C]) Get(p abi.ProviderConfig, build func() (C, error)) (C, error) {
	k := keyOf(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.m[k]; ok {
		return cl, nil
	}
	cl, err := build()
	if err != nil {
		return cl, err
	}
	if c.m == nil || len(c.m) >= maxClients {
		c.m = map[key]C{}
	}
	c.m[k] = cl
	return cl, nil
}

// Len is the number of cached clients.
func (c *Clients[C]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// NoResponse maps an error for a request that got no HTTP response (a
// timeout, the host refusing or failing it, the network failing it) to an
// Unavailable *abi.Error, and returns nil for anything else. A host policy
// refusal is not retryable: retrying cannot change the allow-list.
func NoResponse(err error) *abi.Error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &abi.Error{Code: abi.CodeUnavailable, Retryable: true,
			Message: fmt.Sprintf("the endpoint did not answer in time: %v", err)}
	}
	var he *guest.HostError
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	isHost := errors.As(err, &he)
	if isHost || errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, syscall.ECONNREFUSED) {
		return &abi.Error{Code: abi.CodeUnavailable, Retryable: !isHost || !he.Refused,
			Message: fmt.Sprintf("the endpoint could not be reached: %v", err)}
	}
	return nil
}
