package connect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/guardrail"
	"github.com/pail-dev/pail/core/hosthttp"
)

// TestDialRules: a Provider admitted by a Guardrail for its cidrs alone is
// kept inside them at dial time; elsewhere nothing is restricted.
func TestDialRules(t *testing.T) {
	g := pailv1.Guardrail{ObjectMeta: metav1.ObjectMeta{Name: "g"}, Spec: pailv1.GuardrailSpec{
		NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"t": "y"}},
		NamespacedProviders: &pailv1.NamespacedProviders{Endpoints: pailv1.EndpointRules{
			CIDRs: []string{"10.20.0.0/16"}, AllowLinkLocal: true,
		}},
	}}
	rules := func(_ context.Context, ns string) (guardrail.Rules, error) {
		labels := map[string]string{}
		if ns == "tenant" {
			labels["t"] = "y"
		}
		return guardrail.Effective([]pailv1.Guardrail{g}, guardrail.Namespace{Name: ns, Labels: labels}), nil
	}
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: "p"}, Spec: pailv1.ProviderSpec{Endpoint: "http://minio.tenant.svc:9000"}}
	c := &Connector{Guardrails: rules}
	d, err := c.dialRules(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !d.LinkLocal || !slices.Equal(d.Networks, []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}) {
		t.Errorf("dial rules = %+v", d)
	}
	p.Namespace = "free"
	if d, _ := c.dialRules(context.Background(), p); d.LinkLocal || d.Networks != nil {
		t.Errorf("unselected namespace: dial rules = %+v", d)
	}
	if d, _ := (&Connector{}).dialRules(context.Background(), p); d.LinkLocal || d.Networks != nil {
		t.Errorf("no Guardrails: dial rules = %+v", d)
	}
}

// TestWithDial: the dialer enforces the networks (the server listens on
// loopback, outside 10.20.0.0/16).
func TestWithDial(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	base, err := hosthttp.NewPolicy([]string{srv.URL}, hosthttp.TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dial    guardrail.Dial
		refused bool
	}{
		{name: "unrestricted", dial: guardrail.Dial{}},
		{name: "inside", dial: guardrail.Dial{Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}},
		{name: "outside", dial: guardrail.Dial{Networks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := withDial(base, tc.dial)
			t.Cleanup(p.Close)
			ctx, refusals := hosthttp.RecordRefusals(context.Background())
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = p.NewOp(nil).Do(ctx, req)
			if got := refusals.First() != nil; got != tc.refused || (err != nil) != tc.refused {
				t.Errorf("refused = %v (err %v), want %v", got, err, tc.refused)
			}
		})
	}
}
