package hosthttp_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/hosthttp/dnstest"
)

// listener is an HTTP server on 127.0.0.1 that counts the connections it
// accepts: a refused dial must leave it at zero.
type listener struct {
	*httptest.Server
	conns atomic.Int64
}

func newListener(t *testing.T) *listener {
	t.Helper()
	l := &listener{}
	l.Server = httptest.NewUnstartedServer(text("ok"))
	l.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			l.conns.Add(1)
		}
	}
	l.Start()
	t.Cleanup(l.Close)
	return l
}

func (l *listener) addrPort() netip.AddrPort {
	return netip.MustParseAddrPort(l.Listener.Addr().String())
}

// startDNS serves names for one test.
func startDNS(t *testing.T, names map[string][]netip.Addr) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start(names)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func addrs(ips ...string) []netip.Addr {
	out := make([]netip.Addr, len(ips))
	for i, ip := range ips {
		out[i] = netip.MustParseAddr(ip)
	}
	return out
}

// do runs one GET under p and returns the refusal recorded for it.
func do(t *testing.T, p *hosthttp.Policy, rawURL string) (*hosthttp.DialRefusedError, error) {
	t.Helper()
	ctx, refusals := hosthttp.RecordRefusals(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	_, _, err = p.NewOp(nil).Do(ctx, req)
	return refusals.First(), err
}

// TestDialGuardResolvedName: a name is judged by the address it resolves
// to, and the refusal names both; nothing connects.
func TestDialGuardResolvedName(t *testing.T) {
	l := newListener(t)
	port := l.addrPort().Port()
	dns := startDNS(t, map[string][]netip.Addr{
		"api.pail.test":      addrs("127.0.0.1"),
		"metadata.pail.test": addrs("169.254.169.254"),
		"mapped.pail.test":   addrs("fd00:ec2::254"),
	})
	url := func(host string) string { return "http://" + net.JoinHostPort(host, portString(port)) }
	base, err := hosthttp.NewPolicy([]string{url("api.pail.test"), url("metadata.pail.test"), url("mapped.pail.test")}, hosthttp.TLSOptions{})
	require.NoError(t, err)
	p := base.WithResolver(dns.Resolver())
	t.Cleanup(p.Close)

	// The name resolves to the listener: allowed, and the counter counts.
	refusal, err := do(t, p, url("api.pail.test"))
	require.NoError(t, err)
	assert.Nil(t, refusal)
	require.Equal(t, int64(1), l.conns.Load(), "the listener counts connections")

	denied := p.WithDeniedAddrs([]netip.AddrPort{l.addrPort()}, "the Kubernetes API server")
	t.Cleanup(denied.Close)
	refusal, err = do(t, denied, url("api.pail.test"))
	require.Error(t, err)
	assert.True(t, hosthttp.IsRefused(err), "a dial refusal is a policy refusal: %v", err)
	require.ErrorIs(t, err, hosthttp.ErrNotAllowed)
	require.NotNil(t, refusal, "the refusal is recorded in the context")
	assert.Equal(t, "api.pail.test", refusal.Host)
	assert.Equal(t, l.addrPort(), refusal.Addr)
	assert.Equal(t, "host not allowed: the host refused to connect to api.pail.test, which resolved to "+l.addrPort().String()+": it is the Kubernetes API server", err.Error())
	assert.Equal(t, int64(1), l.conns.Load(), "a refused dial never connects")

	// The Policy it was derived from is unchanged.
	_, err = do(t, p, url("api.pail.test"))
	require.NoError(t, err)

	for host, want := range map[string]string{
		"metadata.pail.test": "host not allowed: the host refused to connect to metadata.pail.test, which resolved to 169.254.169.254:",
		"mapped.pail.test":   "host not allowed: the host refused to connect to mapped.pail.test, which resolved to [fd00:ec2::254]:",
	} {
		refusal, err := do(t, p, url(host))
		require.Error(t, err, host)
		assert.Contains(t, err.Error(), want)
		require.NotNil(t, refusal, host)
		assert.Equal(t, host, refusal.Host)
	}
}

// TestDialGuardLiteral: an IP literal is judged as it is, mapped forms too,
// without asking the resolver.
func TestDialGuardLiteral(t *testing.T) {
	dns := startDNS(t, nil)
	for _, endpoint := range []string{"http://169.254.169.254", "http://[::ffff:169.254.169.254]:80", "http://[fe80::1]:9000", "http://100.100.100.200"} {
		p, err := hosthttp.NewPolicy([]string{endpoint}, hosthttp.TLSOptions{})
		require.NoError(t, err)
		p = p.WithResolver(dns.Resolver())
		refusal, err := do(t, p, endpoint+"/latest/meta-data/")
		require.Error(t, err, endpoint)
		require.NotNil(t, refusal, endpoint)
		assert.Contains(t, err.Error(), "host not allowed: the host refused to connect to ", endpoint)
		assert.NotContains(t, err.Error(), "which resolved", "an IP literal is not resolved: %v", err)
		p.Close()
	}
	assert.Zero(t, dns.Queries(), "no literal is sent to the resolver")
}

// TestDialGuardFirstAllowed: of a name's addresses, the forbidden one is
// skipped and the allowed one connected.
func TestDialGuardFirstAllowed(t *testing.T) {
	l := newListener(t)
	port := l.addrPort().Port()
	dns := startDNS(t, map[string][]netip.Addr{"both.pail.test": addrs("169.254.169.254", "127.0.0.1")})
	endpoint := "http://" + net.JoinHostPort("both.pail.test", portString(port))
	p, err := hosthttp.NewPolicy([]string{endpoint}, hosthttp.TLSOptions{})
	require.NoError(t, err)
	p = p.WithResolver(dns.Resolver())
	t.Cleanup(p.Close)
	refusal, err := do(t, p, endpoint)
	require.NoError(t, err)
	assert.Nil(t, refusal)
	assert.Equal(t, int64(1), l.conns.Load())
}

// TestDialGuardAllowedNetworks: a non-empty list restricts dials to it.
func TestDialGuardAllowedNetworks(t *testing.T) {
	l := newListener(t)
	p := newPolicy(t, []string{l.URL}, hosthttp.TLSOptions{})
	for _, tt := range []struct {
		nets    []string
		refused bool
	}{
		{nil, false},
		{[]string{"127.0.0.0/8"}, false},
		{[]string{"::ffff:127.0.0.0/104"}, false}, // the mapped form of 127.0.0.0/8
		{[]string{"10.0.0.0/8", "127.0.0.1/32"}, false},
		{[]string{"10.0.0.0/8"}, true},
		{[]string{"::1/128"}, true},
	} {
		nets := make([]netip.Prefix, len(tt.nets))
		for i, n := range tt.nets {
			nets[i] = netip.MustParsePrefix(n)
		}
		q := p.WithAllowedNetworks(nets)
		before := l.conns.Load()
		refusal, err := do(t, q, l.URL)
		if tt.refused {
			require.Error(t, err, "%v", tt.nets)
			require.NotNil(t, refusal)
			assert.Contains(t, err.Error(), "it is outside the networks this Provider may reach")
			assert.Equal(t, before, l.conns.Load(), "%v: nothing connects", tt.nets)
		} else {
			require.NoError(t, err, "%v", tt.nets)
			assert.Nil(t, refusal)
		}
		q.Close()
	}
}

func portString(p uint16) string { return strconv.Itoa(int(p)) }
