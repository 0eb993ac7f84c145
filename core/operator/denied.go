package operator

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"k8s.io/client-go/rest"

	"github.com/pail-dev/pail/core/controllers/connect"
)

// deniedAddrs resolves the addresses no Provider may reach: the API
// server's, from the rest config's host, and o.DeniedAddresses. Failing to
// resolve one fails the start: a deny list with a hole is no deny list.
func deniedAddrs(ctx context.Context, o Options) ([]connect.DeniedAddrs, error) {
	u, _, err := rest.DefaultServerUrlFor(o.RestConfig)
	if err != nil {
		return nil, fmt.Errorf("the API server's address: %w", err)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	api, err := resolveAddr(ctx, o.Resolver, net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("the API server's address: %w", err)
	}
	out := []connect.DeniedAddrs{{Addrs: api, What: "the Kubernetes API server"}}
	var extra []netip.AddrPort
	for _, a := range o.DeniedAddresses {
		addrs, err := resolveAddr(ctx, o.Resolver, a)
		if err != nil {
			return nil, fmt.Errorf("denied address: %w", err)
		}
		extra = append(extra, addrs...)
	}
	if len(extra) > 0 {
		out = append(out, connect.DeniedAddrs{Addrs: extra, What: "an address the operator is configured never to call"})
	}
	return out, nil
}

// resolveAddr resolves host:port to every address the host has.
func resolveAddr(ctx context.Context, r *net.Resolver, hostport string) ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%s: port %q: %w", hostport, portStr, err)
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", hostport, err)
	}
	out := make([]netip.AddrPort, len(ips))
	for i, ip := range ips {
		out[i] = netip.AddrPortFrom(ip.Unmap(), uint16(port))
	}
	return out, nil
}
