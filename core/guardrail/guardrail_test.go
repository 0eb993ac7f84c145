package guardrail

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func gr(name string, labels map[string]string, spec pailv1.GuardrailSpec) pailv1.Guardrail {
	spec.NamespaceSelector = metav1.LabelSelector{MatchLabels: labels}
	return pailv1.Guardrail{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

var (
	tenant = Namespace{Name: "team-a", Labels: map[string]string{"tenant": "yes"}}
	plain  = Namespace{Name: "plain"}
	sel    = map[string]string{"tenant": "yes"}
)

func TestEffective(t *testing.T) {
	bad := gr("bad", nil, pailv1.GuardrailSpec{})
	bad.Spec.NamespaceSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}
	gs := []pailv1.Guardrail{
		gr("z", sel, pailv1.GuardrailSpec{
			MaxBuckets: new(int32(5)), AllowedFeatures: []pailv1.Feature{pailv1.FeatureForceDelete},
			Policy: &pailv1.PolicyRequirements{RequiredPacks: []string{"p2", "p1"}, ForceEnforce: true},
		}),
		gr("a", sel, pailv1.GuardrailSpec{
			MaxBuckets: new(int32(3)), MaxAccessKeys: new(int32(7)),
			Policy:      &pailv1.PolicyRequirements{RequiredPacks: []string{"p1", "p3"}},
			BucketNames: &pailv1.BucketNameRule{Prefix: "{namespace}-"},
		}),
		gr("m", sel, pailv1.GuardrailSpec{MaxBuckets: new(int32(3))}),
		gr("other", map[string]string{"tenant": "no"}, pailv1.GuardrailSpec{MaxBuckets: new(int32(0))}),
		bad,
	}
	for _, tc := range []struct {
		name                 string
		ns                   Namespace
		guardrails           []string
		maxBuckets, maxKeys  int32
		bucketsOK, keysOK    bool
		packs, enforcers     []string
		forceDelete, observe bool
		prefixes             []string
		bucketsBy            []string
	}{
		{name: "unselected", ns: plain, forceDelete: true, observe: true},
		{
			name: "selected by three", ns: tenant, guardrails: []string{"a", "m", "z"},
			maxBuckets: 3, bucketsOK: true, maxKeys: 7, keysOK: true, bucketsBy: []string{"a", "m"},
			packs: []string{"p1", "p2", "p3"}, enforcers: []string{"z"}, forceDelete: true,
			prefixes: []string{"team-a-"},
		},
		{name: "empty selector selects all", ns: plain, guardrails: []string{"all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := gs
			if tc.name == "empty selector selects all" {
				in = []pailv1.Guardrail{gr("all", nil, pailv1.GuardrailSpec{}), bad}
			}
			r := Effective(in, tc.ns)
			if !slices.Equal(r.Guardrails, tc.guardrails) {
				t.Fatalf("Guardrails = %v, want %v", r.Guardrails, tc.guardrails)
			}
			if n, ok := r.MaxBuckets(); n != tc.maxBuckets || ok != tc.bucketsOK {
				t.Errorf("MaxBuckets = %d %v", n, ok)
			}
			if n, ok := r.MaxAccessKeys(); n != tc.maxKeys || ok != tc.keysOK {
				t.Errorf("MaxAccessKeys = %d %v", n, ok)
			}
			if tc.bucketsBy != nil && !slices.Equal(r.maxBuckets.by, tc.bucketsBy) {
				t.Errorf("maxBuckets by %v, want %v", r.maxBuckets.by, tc.bucketsBy)
			}
			if got := r.RequiredPacks(); !slices.Equal(got, tc.packs) && len(got)+len(tc.packs) > 0 {
				t.Errorf("RequiredPacks = %v, want %v", got, tc.packs)
			}
			if !slices.Equal(r.ForceEnforce(), tc.enforcers) {
				t.Errorf("ForceEnforce = %v, want %v", r.ForceEnforce(), tc.enforcers)
			}
			if r.Allows(pailv1.FeatureForceDelete) != tc.forceDelete || r.Allows(pailv1.FeatureObserveOnly) != tc.observe {
				t.Errorf("Allows ForceDelete %v ObserveOnly %v", r.Allows(pailv1.FeatureForceDelete), r.Allows(pailv1.FeatureObserveOnly))
			}
			var prefixes []string
			for _, p := range r.prefixes {
				prefixes = append(prefixes, p.prefix)
			}
			if !slices.Equal(prefixes, tc.prefixes) {
				t.Errorf("prefixes = %v, want %v", prefixes, tc.prefixes)
			}
		})
	}
}

func TestPacks(t *testing.T) {
	r := Effective([]pailv1.Guardrail{gr("g", sel, pailv1.GuardrailSpec{Policy: &pailv1.PolicyRequirements{RequiredPacks: []string{"must"}}})}, tenant)
	for _, tc := range []struct{ own, want []string }{
		{own: nil, want: nil}, // every loaded pack holds the required ones
		{own: []string{"mine"}, want: []string{"mine", "must"}},
		{own: []string{"must", "mine"}, want: []string{"must", "mine"}},
	} {
		if got := r.Packs(tc.own); !slices.Equal(got, tc.want) {
			t.Errorf("Packs(%v) = %v, want %v", tc.own, got, tc.want)
		}
	}
	if got := (Rules{}).Packs([]string{"x"}); !slices.Equal(got, []string{"x"}) {
		t.Errorf("no rules: Packs = %v", got)
	}
}

// wantViolations checks the violations' fields and that each message names
// its Guardrails and its field.
func wantViolations(t *testing.T, vs []Violation, fields ...string) {
	t.Helper()
	var got []string
	for _, v := range vs {
		got = append(got, v.Field)
		if !strings.Contains(v.Message, v.Field) {
			t.Errorf("message %q does not name the field %s", v.Message, v.Field)
		}
		for _, g := range v.Guardrails {
			if !strings.Contains(v.Message, g) {
				t.Errorf("message %q does not name Guardrail %s", v.Message, g)
			}
		}
		if !strings.HasSuffix(v.Message, ".") {
			t.Errorf("message %q is not a sentence", v.Message)
		}
	}
	if !slices.Equal(got, fields) {
		t.Errorf("violations on %v, want %v: %s", got, fields, Message(vs))
	}
}

func TestCheckProviderRef(t *testing.T) {
	cp := func(from pailv1.NamespacesFrom, names ...string) *pailv1.ClusterProvider {
		return &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Spec: pailv1.ClusterProviderSpec{AllowedNamespaces: pailv1.AllowedNamespaces{From: from, Names: names}}}
	}
	clusterRef := pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "shared"}
	listed := gr("list", sel, pailv1.GuardrailSpec{AllowedProviders: []pailv1.ProviderReference{clusterRef, {Name: "admins"}}})
	star := gr("star", sel, pailv1.GuardrailSpec{AllowedProviders: []pailv1.ProviderReference{{Kind: pailv1.KindClusterProvider, Name: "*"}}})
	own := gr("own", sel, pailv1.GuardrailSpec{NamespacedProviders: &pailv1.NamespacedProviders{}})
	none := gr("none", sel, pailv1.GuardrailSpec{})
	for _, tc := range []struct {
		name   string
		gs     []pailv1.Guardrail
		ns     Namespace
		ref    pailv1.ProviderReference
		cp     *pailv1.ClusterProvider
		fields []string
		reason string
	}{
		{name: "unselected Provider", ns: plain, ref: pailv1.ProviderReference{Name: "p"}},
		{name: "unselected, ClusterProvider admits", ns: plain, ref: clusterRef, cp: cp(pailv1.NamespacesFromAll)},
		{name: "unselected, ClusterProvider admits none", ns: plain, ref: clusterRef, cp: cp(pailv1.NamespacesFromNone), fields: []string{"spec.providerRef"}, reason: pailv1.ReasonProviderNotAllowed},
		{name: "listed ClusterProvider", gs: []pailv1.Guardrail{listed}, ns: tenant, ref: clusterRef, cp: cp(pailv1.NamespacesFromList, "team-a")},
		{name: "listed, not admitted", gs: []pailv1.Guardrail{listed}, ns: tenant, ref: clusterRef, cp: cp(pailv1.NamespacesFromList, "team-b"), fields: []string{"spec.providerRef"}, reason: pailv1.ReasonProviderNotAllowed},
		{name: "star", gs: []pailv1.Guardrail{star}, ns: tenant, ref: clusterRef},
		{name: "star is per kind", gs: []pailv1.Guardrail{star}, ns: tenant, ref: pailv1.ProviderReference{Name: "p"}, fields: []string{"spec.providerRef"}, reason: pailv1.ReasonProviderNotAllowed},
		{name: "listed Provider, kind defaulted", gs: []pailv1.Guardrail{listed}, ns: tenant, ref: pailv1.ProviderReference{Name: "admins"}},
		{name: "not listed", gs: []pailv1.Guardrail{listed, none}, ns: tenant, ref: pailv1.ProviderReference{Name: "mine"}, fields: []string{"spec.providerRef"}, reason: pailv1.ReasonProviderNotAllowed},
		{name: "own Providers allowed", gs: []pailv1.Guardrail{none, own}, ns: tenant, ref: pailv1.ProviderReference{Name: "mine"}},
		{name: "own Providers are not ClusterProviders", gs: []pailv1.Guardrail{own}, ns: tenant, ref: clusterRef, fields: []string{"spec.providerRef"}, reason: pailv1.ReasonProviderNotAllowed},
		{name: "both refusals", gs: []pailv1.Guardrail{none}, ns: tenant, ref: clusterRef, cp: cp(pailv1.NamespacesFromNone), fields: []string{"spec.providerRef", "spec.providerRef"}, reason: pailv1.ReasonProviderNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Effective(tc.gs, tc.ns)
			vs := r.CheckProviderRef(tc.ref)
			if tc.cp != nil {
				vs = append(r.ClusterProviderAdmits(tc.cp), vs...)
			}
			wantViolations(t, vs, tc.fields...)
			if Reason(vs) != tc.reason {
				t.Errorf("Reason = %q, want %q", Reason(vs), tc.reason)
			}
			if tc.cp != nil && len(vs) > 0 && !strings.Contains(Message(vs), "ClusterProvider shared") {
				t.Errorf("message %q does not name the ClusterProvider", Message(vs))
			}
		})
	}
}

func raw(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

const publicDoc = `{"Version":"2012-10-17","Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`

func TestCheckBucket(t *testing.T) {
	strict := gr("strict", sel, pailv1.GuardrailSpec{
		NamespacedProviders: &pailv1.NamespacedProviders{},
		BucketNames:         &pailv1.BucketNameRule{Prefix: "{namespace}-"},
	})
	org := gr("org", sel, pailv1.GuardrailSpec{BucketNames: &pailv1.BucketNameRule{Prefix: "acme-"}})
	lenient := gr("lenient", sel, pailv1.GuardrailSpec{AllowedFeatures: pailv1.Features})
	ok := pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "p"}, BucketName: "team-a-data"}
	with := func(f func(*pailv1.BucketSpec)) pailv1.BucketSpec { s := ok; f(&s); return s }
	risky := with(func(s *pailv1.BucketSpec) {
		s.ForceDelete, s.Adopt, s.ManagementPolicy, s.Policy = true, true, pailv1.ManagementObserveOnly, raw(publicDoc)
	})
	for _, tc := range []struct {
		name   string
		gs     []pailv1.Guardrail
		ns     Namespace
		spec   pailv1.BucketSpec
		fields []string
	}{
		{name: "unselected allows everything", ns: plain, spec: with(func(s *pailv1.BucketSpec) { s.BucketName = "x" })},
		{name: "unselected allows features", ns: plain, spec: risky},
		{name: "in rule", gs: []pailv1.Guardrail{strict}, ns: tenant, spec: ok},
		{name: "outside prefix", gs: []pailv1.Guardrail{strict}, ns: tenant, spec: with(func(s *pailv1.BucketSpec) { s.BucketName = "team-b-data" }), fields: []string{"spec.bucketName"}},
		{name: "every prefix must hold", gs: []pailv1.Guardrail{strict, org}, ns: tenant, spec: ok, fields: []string{"spec.bucketName"}},
		{name: "features refused", gs: []pailv1.Guardrail{strict}, ns: tenant, spec: with(func(s *pailv1.BucketSpec) {
			s.ForceDelete, s.Adopt, s.ManagementPolicy, s.Policy = true, true, pailv1.ManagementObserveOnly, raw(publicDoc)
		}), fields: []string{"spec.forceDelete", "spec.adopt", "spec.managementPolicy", "spec.policy"}},
		{name: "features allowed by another Guardrail", gs: []pailv1.Guardrail{strict, lenient}, ns: tenant, spec: with(func(s *pailv1.BucketSpec) {
			s.ForceDelete, s.Adopt, s.ManagementPolicy, s.Policy = true, true, pailv1.ManagementObserveOnly, raw(publicDoc)
		})},
		{name: "a private inline policy", gs: []pailv1.Guardrail{strict}, ns: tenant, spec: with(func(s *pailv1.BucketSpec) {
			s.Policy = raw(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*"}]}`)
		})},
		{name: "provider not allowed", gs: []pailv1.Guardrail{org}, ns: tenant, spec: with(func(s *pailv1.BucketSpec) { s.BucketName = "acme-x" }), fields: []string{"spec.providerRef"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantViolations(t, Effective(tc.gs, tc.ns).CheckBucket(&tc.spec), tc.fields...)
		})
	}
}

func TestCheckAccessKey(t *testing.T) {
	g := gr("g", sel, pailv1.GuardrailSpec{AllowedProviders: []pailv1.ProviderReference{{Name: "admins"}}})
	r := Effective([]pailv1.Guardrail{g}, tenant)
	wantViolations(t, r.CheckAccessKey(&pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: "admins"}}))
	wantViolations(t, r.CheckAccessKey(&pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: "mine"}}), "spec.providerRef")
	wantViolations(t, Effective([]pailv1.Guardrail{g}, plain).CheckAccessKey(&pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: "mine"}}))
}

func TestCheckBucketPolicy(t *testing.T) {
	force := gr("force", sel, pailv1.GuardrailSpec{Policy: &pailv1.PolicyRequirements{ForceEnforce: true}})
	packs := gr("packs", sel, pailv1.GuardrailSpec{Policy: &pailv1.PolicyRequirements{RequiredPacks: []string{"x"}}})
	public := gr("public", sel, pailv1.GuardrailSpec{AllowedFeatures: []pailv1.Feature{pailv1.FeaturePublicPolicies}})
	private := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	for _, tc := range []struct {
		name   string
		gs     []pailv1.Guardrail
		ns     Namespace
		mode   pailv1.EnforcementMode
		doc    string
		fields []string
	}{
		{name: "unselected", ns: plain, mode: pailv1.EnforcementWarn, doc: publicDoc},
		{name: "warn forced", gs: []pailv1.Guardrail{force, packs}, ns: tenant, mode: pailv1.EnforcementWarn, doc: private, fields: []string{"spec.enforcementMode"}},
		{name: "enforce", gs: []pailv1.Guardrail{force}, ns: tenant, mode: pailv1.EnforcementEnforce, doc: private},
		{name: "warn not forced", gs: []pailv1.Guardrail{packs}, ns: tenant, mode: pailv1.EnforcementWarn, doc: private},
		{name: "public refused", gs: []pailv1.Guardrail{packs}, ns: tenant, doc: publicDoc, fields: []string{"spec.policy"}},
		{name: "public allowed", gs: []pailv1.Guardrail{packs, public}, ns: tenant, doc: publicDoc},
		{name: "not JSON left to validation", gs: []pailv1.Guardrail{packs}, ns: tenant, doc: `nope`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := pailv1.BucketPolicySpec{EnforcementMode: tc.mode, Policy: *raw(tc.doc)}
			vs := Effective(tc.gs, tc.ns).CheckBucketPolicy(&spec)
			wantViolations(t, vs, tc.fields...)
		})
	}
}

func TestCheckCount(t *testing.T) {
	a := gr("a", sel, pailv1.GuardrailSpec{MaxBuckets: new(int32(2)), MaxAccessKeys: new(int32(0))})
	b := gr("b", sel, pailv1.GuardrailSpec{MaxBuckets: new(int32(4))})
	r := Effective([]pailv1.Guardrail{a, b}, tenant)
	for _, tc := range []struct {
		kind   Kind
		ahead  int
		fields []string
	}{
		{KindBucket, 0, nil},
		{KindBucket, 1, nil},
		{KindBucket, 2, []string{"spec.maxBuckets"}},
		{KindBucket, 7, []string{"spec.maxBuckets"}},
		{KindAccessKey, 0, []string{"spec.maxAccessKeys"}},
	} {
		vs := r.CheckCount(tc.kind, tc.ahead)
		wantViolations(t, vs, tc.fields...)
		if len(vs) > 0 && (!slices.Equal(vs[0].Guardrails, []string{"a"}) || !strings.HasPrefix(vs[0].Message, "Guardrail a forbids more than")) {
			t.Errorf("%s %d: %+v", tc.kind, tc.ahead, vs[0])
		}
	}
	wantViolations(t, Effective([]pailv1.Guardrail{a}, plain).CheckCount(KindBucket, 100))
	wantViolations(t, Effective([]pailv1.Guardrail{b}, tenant).CheckCount(KindAccessKey, 100))
}

func TestCheckProvider(t *testing.T) {
	none := gr("none", sel, pailv1.GuardrailSpec{AllowedProviders: []pailv1.ProviderReference{{Name: "admins"}}})
	open := gr("open", sel, pailv1.GuardrailSpec{NamespacedProviders: &pailv1.NamespacedProviders{}})
	hosts := gr("hosts", sel, pailv1.GuardrailSpec{NamespacedProviders: &pailv1.NamespacedProviders{Endpoints: pailv1.EndpointRules{Hosts: []string{"*.example.com", "minio.local"}}}})
	cidrs := gr("cidrs", sel, pailv1.GuardrailSpec{NamespacedProviders: &pailv1.NamespacedProviders{Endpoints: pailv1.EndpointRules{CIDRs: []string{"10.20.0.0/16", "fd00:1::/64"}}}})
	ll := gr("ll", sel, pailv1.GuardrailSpec{NamespacedProviders: &pailv1.NamespacedProviders{Endpoints: pailv1.EndpointRules{AllowLinkLocal: true, Hosts: []string{"none.invalid"}}}})
	for _, tc := range []struct {
		name, provider string
		gs             []pailv1.Guardrail
		ns             Namespace
		endpoint, iam  string
		fields         []string
	}{
		{name: "unselected", ns: plain, endpoint: "https://anything.example.org"},
		{name: "unselected link-local is the dial guard's", ns: plain, endpoint: "http://169.254.169.254"},
		{name: "metadata v6", gs: []pailv1.Guardrail{open}, ns: tenant, endpoint: "http://[fd00:ec2::254]", iam: "http://[fe80::1%25eth0]:80", fields: []string{"spec.endpoint", "spec.iamEndpoint"}},
		{name: "mapped link-local", gs: []pailv1.Guardrail{open}, ns: tenant, endpoint: "http://[::ffff:169.254.169.254]", fields: []string{"spec.endpoint"}},
		{name: "not allowed", gs: []pailv1.Guardrail{none}, ns: tenant, endpoint: "https://s3.example.com", fields: []string{"spec"}},
		{name: "admin's Provider by name", provider: "admins", gs: []pailv1.Guardrail{none}, ns: tenant, endpoint: "https://anywhere.example.org"},
		{name: "admin's Provider still not link-local", provider: "admins", gs: []pailv1.Guardrail{none}, ns: tenant, endpoint: "http://169.254.169.254", fields: []string{"spec.endpoint"}},
		{name: "open", gs: []pailv1.Guardrail{open}, ns: tenant, endpoint: "https://anywhere.example.org", iam: "http://10.1.1.1"},
		{name: "open is not link-local", gs: []pailv1.Guardrail{open}, ns: tenant, endpoint: "http://169.254.169.254", fields: []string{"spec.endpoint"}},
		{name: "host pattern", gs: []pailv1.Guardrail{hosts}, ns: tenant, endpoint: "https://s3.eu.EXAMPLE.com.", iam: "http://minio.local:9000"},
		{name: "pattern needs a label", gs: []pailv1.Guardrail{hosts}, ns: tenant, endpoint: "https://example.com", fields: []string{"spec.endpoint"}},
		{name: "host outside", gs: []pailv1.Guardrail{hosts}, ns: tenant, endpoint: "https://example.com.evil.org", iam: "http://10.20.0.1", fields: []string{"spec.endpoint", "spec.iamEndpoint"}},
		{name: "cidr literal", gs: []pailv1.Guardrail{cidrs}, ns: tenant, endpoint: "http://10.20.3.4:9000", iam: "http://[fd00:1::5]"},
		{name: "cidr outside", gs: []pailv1.Guardrail{cidrs}, ns: tenant, endpoint: "http://10.21.3.4:9000", fields: []string{"spec.endpoint"}},
		{name: "cidr-only names left to the dialer", gs: []pailv1.Guardrail{cidrs}, ns: tenant, endpoint: "http://minio.svc"},
		{name: "grants add up", gs: []pailv1.Guardrail{hosts, cidrs}, ns: tenant, endpoint: "https://a.example.com", iam: "http://10.20.0.9"},
		{name: "link-local allowed", gs: []pailv1.Guardrail{ll}, ns: tenant, endpoint: "http://169.254.169.254"},
		{name: "kubernetes apiserver name outside hosts", gs: []pailv1.Guardrail{hosts}, ns: tenant, endpoint: "https://kubernetes.default.svc", fields: []string{"spec.endpoint"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.provider
			if name == "" {
				name = "mine"
			}
			vs := Effective(tc.gs, tc.ns).CheckProvider(name, &pailv1.ProviderSpec{Endpoint: tc.endpoint, IAMEndpoint: tc.iam})
			wantViolations(t, vs, tc.fields...)
		})
	}
}

func TestLinkLocal(t *testing.T) {
	for s, want := range map[string]bool{
		"169.254.169.254": true, "169.254.0.1": true, "fe80::1": true, "fd00:ec2::254": true,
		"::ffff:169.254.1.1": true, "100.100.100.200": true, "10.0.0.1": false, "127.0.0.1": false, "fd00:ec3::1": false,
	} {
		if _, got := LinkLocal(netip.MustParseAddr(s)); got != want {
			t.Errorf("LinkLocal(%s) = %v", s, got)
		}
	}
}

func TestDialFor(t *testing.T) {
	cidrs := gr("cidrs", sel, pailv1.GuardrailSpec{NamespacedProviders: &pailv1.NamespacedProviders{Endpoints: pailv1.EndpointRules{CIDRs: []string{"10.20.0.1/16"}}}})
	hosts := gr("hosts", sel, pailv1.GuardrailSpec{NamespacedProviders: &pailv1.NamespacedProviders{Endpoints: pailv1.EndpointRules{Hosts: []string{"*.example.com"}, AllowLinkLocal: true}}})
	mine := pailv1.ProviderReference{Kind: pailv1.KindProvider, Name: "mine"}
	for _, tc := range []struct {
		name     string
		gs       []pailv1.Guardrail
		ns       Namespace
		ref      pailv1.ProviderReference
		endpoint string
		want     Dial
	}{
		{name: "unselected", ns: plain, ref: mine, endpoint: "http://x"},
		{name: "cidr-only", gs: []pailv1.Guardrail{cidrs}, ns: tenant, ref: mine, endpoint: "http://minio.svc", want: Dial{Networks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}},
		{name: "matched by host", gs: []pailv1.Guardrail{cidrs, hosts}, ns: tenant, ref: mine, endpoint: "http://s3.example.com", want: Dial{LinkLocal: true}},
		{name: "ClusterProvider", gs: []pailv1.Guardrail{cidrs}, ns: tenant, ref: pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "c"}, endpoint: "http://minio.svc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Effective(tc.gs, tc.ns).DialFor(tc.ref, &pailv1.ProviderSpec{Endpoint: tc.endpoint})
			if got.LinkLocal != tc.want.LinkLocal || !slices.Equal(got.Networks, tc.want.Networks) {
				t.Errorf("DialFor = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPublicStatements(t *testing.T) {
	st := func(extra string) string {
		return `{"Statement":[{"Sid":"S","Effect":"Allow","Action":"s3:GetObject","Resource":"*"` + extra + `}]}`
	}
	for _, tc := range []struct {
		name, doc string
		public    bool
	}{
		{"star", st(`,"Principal":"*"`), true},
		{"AWS star", st(`,"Principal":{"AWS":"*"}`), true},
		{"AWS list with star", st(`,"Principal":{"AWS":["arn:aws:iam::1:root","*"]}`), true},
		{"account", st(`,"Principal":{"AWS":"arn:aws:iam::1:root"}`), false},
		{"deny star", `{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}`, false},
		{"no principal (identity policy)", st(``), false},
		{"NotPrincipal", st(`,"NotPrincipal":{"AWS":"arn:aws:iam::1:root"}`), true},
		{"source IP narrows", st(`,"Principal":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), false},
		{"org narrows, any case", st(`,"Principal":"*","Condition":{"StringEquals":{"AWS:PrincipalOrgID":"o-1"}}`), false},
		{"IfExists narrows nothing", st(`,"Principal":"*","Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}`), true},
		{"transport narrows nothing", st(`,"Principal":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PublicStatements([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) > 0) != tc.public {
				t.Errorf("PublicStatements = %v, want public %v", got, tc.public)
			}
		})
	}
	if _, err := PublicStatements([]byte("not json")); err == nil {
		t.Error("a document that is not JSON must be an error")
	}
	got, _ := PublicStatements([]byte(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`))
	if !slices.Equal(got, []string{"a statement without a Sid"}) {
		t.Errorf("unnamed statement: %v", got)
	}
}

func TestEnforce(t *testing.T) {
	force := gr("force", sel, pailv1.GuardrailSpec{Policy: &pailv1.PolicyRequirements{ForceEnforce: true}})
	for _, tc := range []struct {
		name    string
		gs      []pailv1.Guardrail
		mode    pailv1.EnforcementMode
		enforce bool
		forced  string
	}{
		{name: "default", mode: "", enforce: true},
		{name: "enforce", gs: []pailv1.Guardrail{force}, mode: pailv1.EnforcementEnforce, enforce: true},
		{name: "warn", mode: pailv1.EnforcementWarn},
		{name: "warn forced", gs: []pailv1.Guardrail{force}, mode: pailv1.EnforcementWarn, enforce: true, forced: " (Guardrail force forces Enforce over spec.enforcementMode Warn, in spec.policy.forceEnforce)"},
	} {
		enforce, forced := Effective(tc.gs, tenant).Enforce(tc.mode)
		if enforce != tc.enforce || forced != tc.forced {
			t.Errorf("%s: Enforce = %v %q", tc.name, enforce, forced)
		}
	}
}
