package guardrail

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/hosthttp"
)

// LinkLocal reports whether a is in one of the networks the host never
// dials unless a Provider is allowed link-local (hosthttp's one list:
// link-local ranges and the cloud metadata services, in any of their
// forms), and says what that network is.
func LinkLocal(a netip.Addr) (what string, ok bool) {
	n, ok := hosthttp.ForbiddenNetworkOf(a)
	return n.What, ok
}

// endpointFields names a Provider's URL fields and reads them.
var endpointFields = []struct {
	field string
	get   func(*pailv1.ProviderSpec) string
}{
	{"spec.endpoint", func(s *pailv1.ProviderSpec) string { return s.Endpoint }},
	{"spec.iamEndpoint", func(s *pailv1.ProviderSpec) string { return s.IAMEndpoint }},
}

// host is an endpoint URL's host, lower-cased, without a trailing dot,
// and its address when it is a literal one; "" when there is none.
func host(endpoint string) (string, netip.Addr) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", netip.Addr{}
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	a, err := netip.ParseAddr(h)
	if err != nil {
		return h, netip.Addr{}
	}
	return h, a
}

// CheckProvider checks a namespaced Provider named name. In a namespace a
// Guardrail selects, the namespace may hold it when a Guardrail sets
// namespacedProviders (and then its endpoints must be ones the Guardrails
// allow) or lists it by name in allowedProviders (an admin's Provider).
// There, a link-local endpoint is refused too unless a Guardrail allows it
// (elsewhere the host's dial guard refuses it).
func (r Rules) CheckProvider(name string, spec *pailv1.ProviderSpec) []Violation {
	var out []Violation
	listed := r.listed(pailv1.ProviderReference{Kind: pailv1.KindProvider, Name: name})
	if r.Selected() && !listed && len(r.namespaced) == 0 {
		return append(out, Violation{
			Reason: pailv1.ReasonGuardrailDenied, Field: "spec", Guardrails: r.Guardrails,
			Message: fmt.Sprintf("%s %s creating Providers in namespace %s: spec.namespacedProviders is unset, and spec.allowedProviders does not list Provider %s; use a ClusterProvider or Provider the namespace is granted, or ask a cluster admin.",
				names(r.Guardrails), forbid(r.Guardrails), r.Namespace, name),
		})
	}
	for _, f := range endpointFields {
		h, addr := host(f.get(spec))
		what, linkLocal := "", false
		if addr.IsValid() {
			what, linkLocal = LinkLocal(addr)
		}
		switch {
		case h == "" || !r.Selected():
			// Where no Guardrail selects the namespace, the host's dial
			// guard refuses link-local addresses (EndpointForbidden).
		case linkLocal && !r.linkLocal():
			out = append(out, r.linkLocalViolation(f.field, h, what))
		case linkLocal:
			// allowLinkLocal admits the address, whatever hosts and cidrs say.
		case !listed && !r.endpointAllowed(h, addr):
			out = append(out, r.endpointViolation(f.field, h))
		}
	}
	return out
}

// linkLocal reports whether a Guardrail of the namespace allows
// link-local endpoints.
func (r Rules) linkLocal() bool {
	for _, g := range r.namespaced {
		if g.endpoints.AllowLinkLocal {
			return true
		}
	}
	return false
}

func (r Rules) linkLocalViolation(field, h, what string) Violation {
	return denied(r.Guardrails, field, "link-local and cloud metadata endpoints",
		fmt.Sprintf("is %s, in %s, which the operator never calls unless a Guardrail of the namespace sets spec.namespacedProviders.endpoints.allowLinkLocal; point it at the storage service.", h, what))
}

// endpointAllowed reports whether a namespacedProviders grant admits the
// host h (addr when a literal address): a grant with neither hosts nor
// cidrs admits any; a literal address must be in its cidrs (or one of its
// hosts); a name must match its hosts, or, where it lists cidrs only, is
// left to the dial-time check of where the name resolves.
func (r Rules) endpointAllowed(h string, addr netip.Addr) bool {
	for _, g := range r.namespaced {
		e := g.endpoints
		switch {
		case len(e.Hosts) == 0 && len(e.CIDRs) == 0:
			return true
		case matchHost(e.Hosts, h):
			return true
		case addr.IsValid() && inCIDRs(e.CIDRs, addr):
			return true
		case !addr.IsValid() && len(e.Hosts) == 0:
			return true
		}
	}
	return false
}

func (r Rules) endpointViolation(field, h string) Violation {
	by := make([]string, 0, len(r.namespaced))
	var hosts, cidrs []string
	for _, g := range r.namespaced {
		by = append(by, g.by)
		hosts = append(hosts, g.endpoints.Hosts...)
		cidrs = append(cidrs, g.endpoints.CIDRs...)
	}
	return denied(by, field, "Provider endpoints outside spec.namespacedProviders.endpoints in namespace "+r.Namespace,
		fmt.Sprintf("has host %s, which matches none of the hosts [%s] nor CIDRs [%s]; point it at an allowed endpoint, or ask a cluster admin.", h, strings.Join(hosts, ", "), strings.Join(cidrs, ", ")))
}

// matchHost reports whether h is one of patterns: an exact name, or
// "*.suffix" for one or more labels before suffix.
func matchHost(patterns []string, h string) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(h, "."+rest) && len(h) > len(rest)+1 {
				return true
			}
		} else if p == h {
			return true
		}
	}
	return false
}

// inCIDRs reports whether addr is in one of cidrs (those that parse).
func inCIDRs(cidrs []string, addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// Dial is what the host's dialer enforces for one Provider, after DNS
// resolution: whether link-local addresses may be reached, and, when
// Networks is not nil, the only networks any address may be in.
type Dial struct {
	LinkLocal bool
	Networks  []netip.Prefix
}

// DialFor is what the dialer enforces for the Provider named name (a
// namespaced one; ref.Cluster for a ClusterProvider, whose endpoints are
// the admin's). Names are restricted to the grants' cidrs only where no
// grant admits them otherwise (by host pattern, or by admitting any).
func (r Rules) DialFor(ref pailv1.ProviderReference, spec *pailv1.ProviderSpec) Dial {
	d := Dial{LinkLocal: r.linkLocal()}
	if ref.Cluster() || !r.Selected() || r.listed(ref) {
		return d
	}
	for _, f := range endpointFields {
		h, _ := host(f.get(spec))
		if h != "" && !r.cidrOnly(h) {
			return d
		}
	}
	for _, g := range r.namespaced {
		for _, c := range g.endpoints.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil {
				d.Networks = append(d.Networks, p.Masked())
			}
		}
	}
	// None: no grant admits the endpoint, and CheckProvider refuses the
	// Provider before anything dials it.
	return d
}

// cidrOnly reports whether the host h is admitted only by grants that
// list cidrs (so the dialer must keep it inside them).
func (r Rules) cidrOnly(h string) bool {
	for _, g := range r.namespaced {
		e := g.endpoints
		if (len(e.Hosts) == 0 && len(e.CIDRs) == 0) || matchHost(e.Hosts, h) {
			return false
		}
	}
	return true
}
