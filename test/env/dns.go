package env

import (
	"net/netip"

	"github.com/pail-dev/pail/core/hosthttp/dnstest"
)

// DNS is a DNS server on 127.0.0.1 (UDP) that answers A and AAAA queries
// for a fixed set of names, and NXDOMAIN for any other: a test makes a
// name resolve anywhere, 169.254.169.254 included, without /etc/hosts.
// Its Resolver goes to the operator's Options.Resolver.
type DNS struct {
	*dnstest.Server
}

// StartDNS serves names, each host name mapped to its addresses.
func StartDNS(names map[string][]netip.Addr) (*DNS, error) {
	s, err := dnstest.Start(names)
	if err != nil {
		return nil, err
	}
	return &DNS{Server: s}, nil
}

// Stop stops the server.
func (d *DNS) Stop() { _ = d.Close() }
