package hosthttp

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestForbiddenNetworkOf classifies addresses at the edges of each range and
// in the forms that carry an IPv4 address inside IPv6.
func TestForbiddenNetworkOf(t *testing.T) {
	for _, tt := range []struct {
		ip   string
		want string // the range it falls in; "" for none
	}{
		{"169.254.169.254", "169.254.0.0/16"},
		{"169.254.0.0", "169.254.0.0/16"},
		{"169.254.255.255", "169.254.0.0/16"},
		{"169.253.255.255", ""},
		{"169.255.0.0", ""},
		{"169.254.170.2", "169.254.0.0/16"},
		{"::ffff:169.254.169.254", "169.254.0.0/16"},
		{"::ffff:a9fe:a9fe", "169.254.0.0/16"},
		{"64:ff9b::a9fe:a9fe", "169.254.0.0/16"},
		{"64:ff9b::7f00:1", ""},
		{"64:ff9b:1::a9fe:a9fe", ""}, // not the well-known NAT64 prefix
		{"fe80::1", "fe80::/10"},
		{"fe80::1%eth0", "fe80::/10"}, // a zone never hides the address
		{"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10"},
		{"fec0::1", ""},
		{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"fd00:ec2::254", "fd00:ec2::/64"},
		{"fd00:ec2::23", "fd00:ec2::/64"},
		{"fd00:ec2:0:1::254", ""},
		{"fd00:ec3::254", ""},
		{"100.100.100.200", "100.100.100.200/32"},
		{"100.100.100.201", ""},
		{"::ffff:100.100.100.200", "100.100.100.200/32"},
		{"168.63.129.16", "168.63.129.16/32"},
		{"168.63.129.17", ""},
		{"127.0.0.1", ""},
		{"::1", ""},
		{"::ffff:127.0.0.1", ""},
		{"10.0.0.1", ""},
		{"0.0.0.0", ""},
		{"::", ""},
	} {
		n, ok := ForbiddenNetworkOf(netip.MustParseAddr(tt.ip))
		got := ""
		if ok {
			got = n.Prefix.String()
		}
		assert.Equal(t, tt.want, got, "%s", tt.ip)
	}
}

// TestForbiddenNetworksTable checks every row of the table: its first and
// last address are refused, and it says what it is.
func TestForbiddenNetworksTable(t *testing.T) {
	for _, n := range ForbiddenNetworks() {
		assert.Equal(t, n.Prefix, n.Prefix.Masked(), "%s is written as its network address", n.Prefix)
		assert.NotEmpty(t, n.What, n.Prefix.String())
		first := n.Prefix.Addr()
		last := lastAddr(n.Prefix)
		for _, ip := range []netip.Addr{first, last} {
			got, ok := ForbiddenNetworkOf(ip)
			assert.True(t, ok && got.Prefix == n.Prefix, "%s belongs to %s", ip, n.Prefix)
		}
		if before := first.Prev(); before.IsValid() {
			got, ok := ForbiddenNetworkOf(before)
			assert.False(t, ok && got.Prefix == n.Prefix, "%s is outside %s", before, n.Prefix)
		}
		if after := last.Next(); after.IsValid() {
			got, ok := ForbiddenNetworkOf(after)
			assert.False(t, ok && got.Prefix == n.Prefix, "%s is outside %s", after, n.Prefix)
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestGuardCheck is the guard's decision for each kind of rule.
func TestGuardCheck(t *testing.T) {
	api := netip.MustParseAddrPort("10.96.0.1:443")
	denied := map[netip.AddrPort]string{api: "the Kubernetes API server"}
	local := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tt := range []struct {
		name  string
		guard dialGuard
		addr  string
		want  string // "" allows the dial
	}{
		{"default allows loopback", dialGuard{}, "127.0.0.1:9000", ""},
		{"default allows a public address", dialGuard{}, "52.216.0.1:443", ""},
		{"default refuses metadata", dialGuard{}, "169.254.169.254:80", "169.254.0.0/16 is IPv4 link-local"},
		{"default refuses mapped metadata", dialGuard{}, "[::ffff:169.254.169.254]:80", "169.254.0.0/16 is IPv4 link-local"},
		{"default refuses IMDS over IPv6", dialGuard{}, "[fd00:ec2::254]:80", "fd00:ec2::/64 is AWS's IPv6 instance services"},
		{"link-local allowed explicitly", dialGuard{linkLocal: true}, "169.254.169.254:80", ""},
		{"link-local allowed, IPv6 zone", dialGuard{linkLocal: true}, "[fe80::1%eth0]:80", ""},
		{"denied address", dialGuard{denied: denied}, "10.96.0.1:443", "it is the Kubernetes API server"},
		{"denied address, mapped form", dialGuard{denied: denied}, "[::ffff:10.96.0.1]:443", "it is the Kubernetes API server"},
		{"denied address, other port", dialGuard{denied: denied}, "10.96.0.1:80", ""},
		{"denied even with link-local", dialGuard{denied: denied, linkLocal: true}, "10.96.0.1:443", "it is the Kubernetes API server"},
		{"inside allowed networks", dialGuard{allowed: local}, "127.0.0.1:9000", ""},
		{"inside allowed IPv6 networks", dialGuard{allowed: local}, "[fd12::1]:9000", ""},
		{"outside allowed networks", dialGuard{allowed: local}, "10.0.0.1:9000", "it is outside the networks this Provider may reach (127.0.0.0/8, fd00::/8)"},
		{"allowed networks never allow metadata", dialGuard{allowed: []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16")}}, "169.254.169.254:80", "169.254.0.0/16 is IPv4 link-local"},
		{"allowed networks never allow a denied address", dialGuard{allowed: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, denied: denied}, "10.96.0.1:443", "it is the Kubernetes API server"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.guard.check(netip.MustParseAddrPort(tt.addr))
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tt.want)
		})
	}
}
