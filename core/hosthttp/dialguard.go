package hosthttp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ForbiddenNetwork is a range no Provider may reach unless its Policy allows
// link-local explicitly (WithLinkLocal).
type ForbiddenNetwork struct {
	Prefix netip.Prefix
	// What the range is, as the end of "<prefix> is …" in a refusal.
	What string
}

// forbiddenNetworks is the one list of the destinations a driver is never
// sent to: link-local ranges and the platform services that answer on
// fixed addresses with the node's or the pod's cloud credentials. Docs and
// tests derive from it (ForbiddenNetworks).
//
// Azure's WireServer (168.63.129.16) is not link-local, but it serves the VM
// agent's goal state and extension settings, which no storage driver needs:
// it is refused like the metadata services.
var forbiddenNetworks = []ForbiddenNetwork{
	{netip.MustParsePrefix("169.254.0.0/16"), "IPv4 link-local, where the cloud metadata services answer (169.254.169.254 on AWS, GCP, Azure, OCI, OpenStack; 169.254.170.2 and .23 for ECS and EKS Pod Identity credentials)"},
	{netip.MustParsePrefix("fe80::/10"), "IPv6 link-local"},
	{netip.MustParsePrefix("fd00:ec2::/64"), "AWS's IPv6 instance services (metadata at fd00:ec2::254, EKS Pod Identity at fd00:ec2::23)"},
	{netip.MustParsePrefix("100.100.100.200/32"), "the Alibaba Cloud metadata service"},
	{netip.MustParsePrefix("168.63.129.16/32"), "Azure's WireServer (VM agent and extension configuration)"},
}

// ForbiddenNetworks returns the ranges a Policy refuses by default.
func ForbiddenNetworks() []ForbiddenNetwork { return slices.Clone(forbiddenNetworks) }

// nat64 is the well-known NAT64 prefix (RFC 6052): 64:ff9b::a9fe:a9fe is
// 169.254.169.254 through a translator, and is judged as that address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// canonical is the address a range is matched against: without a zone (a
// zoned address matches no netip.Prefix), IPv4-mapped and NAT64 forms as the
// IPv4 address they carry.
func canonical(ip netip.Addr) netip.Addr {
	ip = ip.WithZone("").Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return ip
}

// ForbiddenNetworkOf returns the forbidden range ip is in, if any.
func ForbiddenNetworkOf(ip netip.Addr) (ForbiddenNetwork, bool) {
	ip = canonical(ip)
	for _, n := range forbiddenNetworks {
		if n.Prefix.Contains(ip) {
			return n, true
		}
	}
	return ForbiddenNetwork{}, false
}

// DialRefusedError is the host refusing to connect to the address a request's
// host resolved to. It wraps ErrNotAllowed, so IsRefused holds.
type DialRefusedError struct {
	// Host is the host the request named (a DNS name or an IP literal).
	Host string
	// Addr is the address Host resolved to, which was not dialed.
	Addr netip.AddrPort
	// Why the address is refused, a clause such as "it is the Kubernetes API server".
	Why string
}

func (e *DialRefusedError) Error() string {
	return fmt.Sprintf("%v: %s", ErrNotAllowed, e.Detail())
}

// Detail says what was refused and why, without the ErrNotAllowed prefix.
func (e *DialRefusedError) Detail() string {
	target := e.Addr.String()
	if _, err := netip.ParseAddr(e.Host); err != nil && e.Host != "" {
		target = fmt.Sprintf("%s, which resolved to %s", e.Host, e.Addr)
	}
	return fmt.Sprintf("the host refused to connect to %s: %s", target, e.Why)
}

func (e *DialRefusedError) Unwrap() error { return ErrNotAllowed }

// dialGuard decides which resolved addresses a Policy's transport may
// connect to. It is immutable once in a Policy: the With… methods copy it.
type dialGuard struct {
	linkLocal bool
	// denied maps exact addresses to what they are ("the Kubernetes API server").
	denied map[netip.AddrPort]string
	// allowed, when not empty, holds every address may be dialed.
	allowed  []netip.Prefix
	resolver *net.Resolver
}

// check returns why ap may not be dialed, or "" when it may.
func (g *dialGuard) check(ap netip.AddrPort) string {
	ip := canonical(ap.Addr())
	if what, ok := g.denied[netip.AddrPortFrom(ip, ap.Port())]; ok {
		return "it is " + what
	}
	if !g.linkLocal {
		if n, ok := ForbiddenNetworkOf(ip); ok {
			return fmt.Sprintf("%s is %s", n.Prefix, n.What)
		}
	}
	if len(g.allowed) > 0 && !slices.ContainsFunc(g.allowed, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		nets := make([]string, len(g.allowed))
		for i, p := range g.allowed {
			nets[i] = p.String()
		}
		return fmt.Sprintf("it is outside the networks this Provider may reach (%s)", strings.Join(nets, ", "))
	}
	return ""
}

// control runs after resolution, on the exact address about to be
// connected, so no later answer of the resolver can slip past the check.
func (g *dialGuard) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: the host cannot judge the address %q", ErrNotAllowed, address)
	}
	if why := g.check(ap); why != "" {
		return &DialRefusedError{Addr: ap, Why: why}
	}
	return nil
}

// dialer returns the transport's DialContext: it resolves with the guard's
// resolver and refuses, per resolved address, what check refuses. A name
// with several addresses is connected to the first one allowed.
func (g *dialGuard) dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	g = &dialGuard{linkLocal: g.linkLocal, denied: g.denied, allowed: g.allowed, resolver: g.resolver} // the transport keeps its own
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Resolver: g.resolver, ControlContext: g.control}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if re, ok := errors.AsType[*DialRefusedError](err); ok {
			host, _, _ := net.SplitHostPort(addr)
			return nil, &DialRefusedError{Host: host, Addr: re.Addr, Why: re.Why}
		}
		return conn, err
	}
}

// withGuard returns a copy of p whose guard is changed by edit, with a
// transport of its own that dials through it.
func (p *Policy) withGuard(edit func(g *dialGuard)) *Policy {
	c := *p
	c.guard.denied = maps.Clone(p.guard.denied)
	c.guard.allowed = slices.Clone(p.guard.allowed)
	edit(&c.guard)
	c.transport = p.transport.Clone()
	c.transport.DialContext = c.guard.dialer()
	return &c
}

// WithLinkLocal returns a copy that may connect to the forbidden networks
// (ForbiddenNetworks). Only an administrator's explicit choice calls it.
func (p *Policy) WithLinkLocal() *Policy {
	return p.withGuard(func(g *dialGuard) { g.linkLocal = true })
}

// WithDeniedAddrs returns a copy that never connects to addrs, whatever
// name resolves to them; what says what they are in the refusal ("the
// Kubernetes API server"). Addresses add up over calls.
func (p *Policy) WithDeniedAddrs(addrs []netip.AddrPort, what string) *Policy {
	return p.withGuard(func(g *dialGuard) {
		if g.denied == nil {
			g.denied = map[netip.AddrPort]string{}
		}
		for _, a := range addrs {
			g.denied[netip.AddrPortFrom(canonical(a.Addr()), a.Port())] = what
		}
	})
}

// WithAllowedNetworks returns a copy that connects only to addresses in
// prefixes; an empty list lifts the restriction. It never allows what is
// refused otherwise (a forbidden network, a denied address).
func (p *Policy) WithAllowedNetworks(prefixes []netip.Prefix) *Policy {
	return p.withGuard(func(g *dialGuard) {
		g.allowed = make([]netip.Prefix, len(prefixes))
		for i, pr := range prefixes {
			// An IPv4-mapped prefix means the IPv4 range: check matches
			// canonical addresses.
			if pr.Addr().Is4In6() && pr.Bits() >= 96 {
				pr = netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-96)
			}
			g.allowed[i] = pr.Masked()
		}
	})
}

// WithResolver returns a copy that resolves host names with r; nil is the
// system's resolver.
func (p *Policy) WithResolver(r *net.Resolver) *Policy {
	return p.withGuard(func(g *dialGuard) { g.resolver = r })
}

// Refusals collects the dial refusals of the requests made under a context
// (RecordRefusals): a driver reports a failed request as a message, and the
// caller needs to know that the host, not the network, refused it.
type Refusals struct {
	mu    sync.Mutex
	first *DialRefusedError
}

type refusalsKey struct{}

// RecordRefusals returns ctx with a Refusals that every dial refused under
// it is recorded in.
func RecordRefusals(ctx context.Context) (context.Context, *Refusals) {
	r := &Refusals{}
	return context.WithValue(ctx, refusalsKey{}, r), r
}

// First returns the first dial refused under the context, or nil.
func (r *Refusals) First() *DialRefusedError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// noteRefusal records err in ctx's Refusals when it is a dial refusal.
func noteRefusal(ctx context.Context, err error) {
	re, ok := errors.AsType[*DialRefusedError](err)
	r, _ := ctx.Value(refusalsKey{}).(*Refusals)
	if !ok || r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil {
		r.first = re
	}
}
