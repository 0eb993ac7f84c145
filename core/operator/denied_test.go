package operator

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/pail-dev/pail/core/hosthttp/dnstest"
)

// TestDeniedAddrs: the API server's address comes from the rest config's
// host, with the scheme's port when it names none, and names resolve to
// every address they have.
func TestDeniedAddrs(t *testing.T) {
	dns, err := dnstest.Start(map[string][]netip.Addr{
		"kube.pail.test": {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd12::1")},
		"etcd.pail.test": {netip.MustParseAddr("10.0.0.2")},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = dns.Close() })
	for _, tt := range []struct {
		host  string
		extra []string
		want  []string
	}{
		{host: "https://127.0.0.1:6443", want: []string{"127.0.0.1:6443"}},
		{host: "https://10.96.0.1", want: []string{"10.96.0.1:443"}},
		{host: "http://[::ffff:10.96.0.1]", want: []string{"10.96.0.1:80"}},
		{host: "127.0.0.1:6443", want: []string{"127.0.0.1:6443"}},
		{host: "https://kube.pail.test:6443", want: []string{"10.0.0.1:6443", "[fd12::1]:6443"}},
		{host: "https://127.0.0.1:6443", extra: []string{"etcd.pail.test:2379", "10.0.0.3:10250"}, want: []string{"127.0.0.1:6443", "10.0.0.2:2379", "10.0.0.3:10250"}},
	} {
		got, err := deniedAddrs(context.Background(), Options{RestConfig: &rest.Config{Host: tt.host}, Resolver: dns.Resolver(), DeniedAddresses: tt.extra})
		require.NoError(t, err, tt.host)
		var addrs []string
		for _, d := range got {
			assert.NotEmpty(t, d.What)
			for _, a := range d.Addrs {
				addrs = append(addrs, a.String())
			}
		}
		assert.ElementsMatch(t, tt.want, addrs, tt.host)
	}
	for _, bad := range []Options{
		{RestConfig: &rest.Config{Host: "https://nowhere.pail.test"}},
		{RestConfig: &rest.Config{Host: "https://127.0.0.1:6443"}, DeniedAddresses: []string{"no-port.pail.test"}},
		{RestConfig: &rest.Config{Host: "https://127.0.0.1:6443"}, DeniedAddresses: []string{"nowhere.pail.test:1"}},
	} {
		bad.Resolver = dns.Resolver()
		_, err := deniedAddrs(context.Background(), bad)
		assert.Error(t, err, "%+v: an address that cannot be resolved fails the start", bad)
	}
}
