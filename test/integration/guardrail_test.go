package integration

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// guardrailLabel is the namespace label these tests' Guardrails select by;
// each test's value is its own namespace, so no other test is affected.
const guardrailLabel = "it.pail.dev/guardrail"

// guardedNamespace creates a namespace carrying guardrailLabel.
func guardedNamespace(t *testing.T) string {
	t.Helper()
	ns := namespace(t)
	var n corev1.Namespace
	require.NoError(t, suite.k8s.Get(context.Background(), client.ObjectKey{Name: ns}, &n))
	n.Labels = map[string]string{guardrailLabel: ns}
	require.NoError(t, suite.k8s.Update(context.Background(), &n))
	return ns
}

// createGuardrail creates a Guardrail selecting namespace ns, deleted when
// the test ends, and waits until its controller reports it.
func createGuardrail(t *testing.T, ns string, spec pailv1.GuardrailSpec) *pailv1.Guardrail {
	t.Helper()
	ctx := context.Background()
	spec.NamespaceSelector = metav1.LabelSelector{MatchLabels: map[string]string{guardrailLabel: ns}}
	g := &pailv1.Guardrail{ObjectMeta: metav1.ObjectMeta{Name: "g-" + ns}, Spec: spec}
	require.NoError(t, suite.k8s.Create(ctx, g))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), g) })
	waitFor(t, 30*time.Second, "Guardrail status", func() (bool, string) {
		if err := suite.k8s.Get(ctx, client.ObjectKeyFromObject(g), g); err != nil {
			return false, err.Error()
		}
		c := condition(g.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue && g.Status.Namespaces == 1 && g.Status.ObservedGeneration == g.Generation,
			describeConds(g.Status.Conditions)
	})
	return g
}

// refused waits until a server-side dry-run create of obj is refused (the
// webhook's cache may lag a moment behind a new Guardrail), and checks the
// message names each of want (the Guardrail, the field).
func refused(t *testing.T, obj client.Object, want ...string) {
	t.Helper()
	var msg string
	waitFor(t, 20*time.Second, "refusal of "+obj.GetName(), func() (bool, string) {
		_, err := dryRunCreate(t, obj)
		if err == nil {
			return false, "admitted"
		}
		msg = err.Error()
		return strings.Contains(msg, "forbid") || strings.Contains(msg, "does not admit"), msg
	})
	t.Logf("refused: %s", msg)
	for _, w := range want {
		assert.Contains(t, msg, w, "the refusal names %s", w)
	}
}

// admitted checks that a server-side dry-run create of obj succeeds.
func admitted(t *testing.T, obj client.Object) {
	t.Helper()
	_, err := dryRunCreate(t, obj)
	assert.NoError(t, err, "%T %s is admitted", obj, obj.GetName())
}

func withBucket(b *pailv1.Bucket, f func(*pailv1.Bucket)) *pailv1.Bucket {
	c := b.DeepCopy()
	f(c)
	return c
}

// TestGuardrailAdmission: in a namespace a Guardrail selects, what it does
// not allow is refused at admission with a message naming the Guardrail and
// the field; the same requests in a namespace no Guardrail selects succeed.
func TestGuardrailAdmission(t *testing.T) {
	nsG, nsFree := guardedNamespace(t), namespace(t)
	g := createGuardrail(t, nsG, pailv1.GuardrailSpec{
		AllowedProviders: []pailv1.ProviderReference{{Kind: pailv1.KindProvider, Name: "admin"}},
		BucketNames:      &pailv1.BucketNameRule{Prefix: "{namespace}-"},
		MaxBuckets:       new(int32(1)),
		Policy:           &pailv1.PolicyRequirements{ForceEnforce: true},
	})
	mine := newProvider(nsG, "mine", "minio", "https://s3.example.com", "creds")
	refused(t, mine, g.Name, "spec.namespacedProviders")

	ok := newBucket(nsG, "ok", "admin", nsG+"-ok", "")
	cases := []struct {
		name  string
		b     *pailv1.Bucket
		field string
	}{
		{"name outside the prefix", withBucket(ok, func(b *pailv1.Bucket) { b.Spec.BucketName = "other-" + nsG }), "spec.bucketName"},
		{"a Provider not allowed", withBucket(ok, func(b *pailv1.Bucket) { b.Spec.ProviderRef.Name = "mine" }), "spec.providerRef"},
		{"forceDelete", withBucket(ok, func(b *pailv1.Bucket) { b.Spec.ForceDelete = true }), "spec.forceDelete"},
		{"adopt", withBucket(ok, func(b *pailv1.Bucket) { b.Spec.Adopt = true }), "spec.adopt"},
		{"observe-only", withBucket(ok, func(b *pailv1.Bucket) { b.Spec.ManagementPolicy = pailv1.ManagementObserveOnly }), "spec.managementPolicy"},
		{"a public inline policy", withBucket(ok, func(b *pailv1.Bucket) {
			b.Spec.Policy = &runtime.RawExtension{Raw: []byte(`{"Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b.Spec.BucketName + `/*"}]}`)}
		}), "spec.policy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { refused(t, tc.b, g.Name, tc.field) })
	}
	warn := &pailv1.BucketPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsG, Name: "warn"},
		Spec: pailv1.BucketPolicySpec{
			BucketRef:       pailv1.BucketReference{Name: "ok"},
			EnforcementMode: pailv1.EnforcementWarn,
			Policy:          runtime.RawExtension{Raw: []byte(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"*"}]}`)},
		},
	}
	refused(t, warn, g.Name, "spec.enforcementMode")

	// The count: the first Bucket fits, the second is refused.
	admitted(t, ok)
	require.NoError(t, suite.k8s.Create(context.Background(), ok))
	second := withBucket(ok, func(b *pailv1.Bucket) { b.Name, b.Spec.BucketName = "second", nsG+"-second" })
	refused(t, second, g.Name, "spec.maxBuckets")

	// Single-tenant behaviour: no Guardrail selects nsFree.
	t.Run("unselected namespace", func(t *testing.T) {
		admitted(t, newProvider(nsFree, "mine", "minio", "https://s3.example.com", "creds"))
		for _, tc := range cases {
			b := tc.b.DeepCopy()
			b.Namespace = nsFree
			admitted(t, b)
		}
		w := warn.DeepCopy()
		w.Namespace = nsFree
		admitted(t, w)
	})
}

// TestGuardrailProviderEndpoints: a Guardrail that lets a namespace create
// Providers admits only the endpoints it allows, and never a link-local one
// unless it says so.
func TestGuardrailProviderEndpoints(t *testing.T) {
	nsG, nsFree := guardedNamespace(t), namespace(t)
	g := createGuardrail(t, nsG, pailv1.GuardrailSpec{
		NamespacedProviders: &pailv1.NamespacedProviders{Endpoints: pailv1.EndpointRules{
			Hosts: []string{"*.allowed.example"}, CIDRs: []string{"10.99.0.0/16"},
		}},
		AllowedFeatures: []pailv1.Feature{pailv1.FeatureForceDelete},
	})
	p := func(endpoint string) *pailv1.Provider { return newProvider(nsG, "p", "minio", endpoint, "creds") }
	admitted(t, p("https://s3.allowed.example"))
	admitted(t, p("http://10.99.3.4:9000"))
	refused(t, p("https://s3.elsewhere.example"), g.Name, "spec.endpoint")
	refused(t, p("http://10.1.2.3:9000"), g.Name, "spec.endpoint")
	refused(t, p("http://169.254.169.254"), g.Name, "spec.endpoint", "link-local")
	iam := p("https://s3.allowed.example")
	iam.Spec.IAMEndpoint = "https://iam.elsewhere.example"
	refused(t, iam, g.Name, "spec.iamEndpoint")

	// What the Guardrail allows is allowed: its own Providers, forceDelete.
	b := newBucket(nsG, "b", "p", nsG+"-b", pailv1.DeletionDelete)
	b.Spec.ForceDelete = true
	admitted(t, b)
	refused(t, withBucket(b, func(b *pailv1.Bucket) { b.Spec.Adopt = true }), g.Name, "spec.adopt")

	// Where no Guardrail selects the namespace, admission is as before; the
	// host's dial guard refuses link-local addresses (EndpointForbidden).
	admitted(t, newProvider(nsFree, "p", "minio", "http://169.254.169.254", "creds"))
	admitted(t, newProvider(nsFree, "p", "minio", "https://s3.elsewhere.example", "creds"))
}

// TestGuardrailRefusesAtReconcile: a Bucket admitted before a Guardrail
// existed gets GuardrailDenied, and nothing is written to its bucket after:
// a tag changed in the spec never reaches MinIO.
func TestGuardrailRefusesAtReconcile(t *testing.T) {
	ctx := context.Background()
	ns := guardedNamespace(t)
	minioProvider(t, ns, "admin")
	name := uniqueBucket("early")
	b := newBucket(ns, "early", "admin", name, "")
	b.Spec.Tags = map[string]string{"v": "1"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	g := createGuardrail(t, ns, pailv1.GuardrailSpec{
		AllowedProviders: []pailv1.ProviderReference{{Name: "admin"}},
		BucketNames:      &pailv1.BucketNameRule{Prefix: "{namespace}-"},
	})
	got := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonGuardrailDenied, 30*time.Second)
	msg := condition(got.Status.Conditions, pailv1.ConditionReady).Message
	assert.Contains(t, msg, g.Name)
	assert.Contains(t, msg, "spec.bucketName")
	synced := condition(got.Status.Conditions, pailv1.ConditionSynced)
	require.NotNil(t, synced)
	assert.Equal(t, pailv1.ReasonGuardrailDenied, synced.Reason)

	// An edit is admitted (it adds no violation) but never applied.
	got.Spec.Tags = map[string]string{"v": "2"}
	require.NoError(t, suite.k8s.Update(ctx, got))
	waitFor(t, 20*time.Second, "the edit observed", func() (bool, string) {
		var cur pailv1.Bucket
		if err := suite.k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur); err != nil {
			return false, err.Error()
		}
		c := condition(cur.Status.Conditions, pailv1.ConditionReady)
		return cur.Status.ObservedGeneration == cur.Generation && c != nil && c.Reason == pailv1.ReasonGuardrailDenied, describeConds(cur.Status.Conditions)
	})
	time.Sleep(2 * time.Second) // a write, were one made, would have landed by now
	tg, err := suite.s3.GetBucketTagging(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, "1", tg.ToMap()["v"], "nothing is written while the Guardrail forbids the Bucket")

	// Dropping the Guardrail lets the Bucket sync again.
	require.NoError(t, suite.k8s.Delete(ctx, g))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	waitFor(t, 20*time.Second, "the tag applied", func() (bool, string) {
		tg, err := suite.s3.GetBucketTagging(ctx, name)
		if err != nil {
			return false, err.Error()
		}
		return tg.ToMap()["v"] == "2", tg.String()
	})
}

// TestGuardrailPolicyRequirementsAtReconcile: a BucketPolicy stored before
// a Guardrail required a pack and forced Enforce runs that pack too, and
// its Warn is enforced, with PolicyValid naming the Guardrail.
func TestGuardrailPolicyRequirementsAtReconcile(t *testing.T) {
	ctx := context.Background()
	ns := guardedNamespace(t)
	p := minioProvider(t, ns, "admin")
	b := readyPublicBucket(t, ns, p.Name, "pub")
	bp := newBucketPolicy(ns, "bp", b.Name, publicWritePolicy(b.Spec.BucketName))
	bp.Spec.Packs = []string{"baseline"} // not security, which denies a public write
	bp.Spec.EnforcementMode = pailv1.EnforcementWarn
	require.NoError(t, suite.k8s.Create(ctx, bp))
	key := client.ObjectKeyFromObject(bp)
	waitPolicy(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "")

	g := createGuardrail(t, ns, pailv1.GuardrailSpec{
		AllowedProviders: []pailv1.ProviderReference{{Name: "admin"}},
		AllowedFeatures:  []pailv1.Feature{pailv1.FeaturePublicPolicies},
		Policy:           &pailv1.PolicyRequirements{RequiredPacks: []string{"security"}, ForceEnforce: true},
	})
	got := waitPolicy(t, key, pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied)
	assert.Contains(t, fmt.Sprint(got.Status.Violations), "PublicWrite", "the required pack ran")
	msg := condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Message
	assert.Contains(t, msg, "Guardrail "+g.Name+" forces Enforce")
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status)
}

// TestGuardrailNetworksAtDialTime: a Provider admitted for a Guardrail's
// cidrs by a DNS name is kept inside them when the host dials, wherever the
// name resolves; widening the cidrs lets it connect.
func TestGuardrailNetworksAtDialTime(t *testing.T) {
	ctx := context.Background()
	ns := guardedNamespace(t)
	g := createGuardrail(t, ns, pailv1.GuardrailSpec{
		NamespacedProviders: &pailv1.NamespacedProviders{Endpoints: pailv1.EndpointRules{CIDRs: []string{"10.99.0.0/16"}}},
	})
	mio, err := url.Parse(suite.minio.Endpoint)
	require.NoError(t, err)
	// trapName resolves to 127.0.0.1, where MinIO listens too.
	endpoint := "http://" + net.JoinHostPort(trapName, mio.Port())
	sec := credentialsSecret(ns, "creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "named", "minio", endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p), "a name is admitted where the Guardrail lists only cidrs")
	key := client.ObjectKeyFromObject(p)
	got := waitProviderCondition(t, key, pailv1.ConditionReady, metav1.ConditionFalse, 60*time.Second)
	ready := condition(got.Status.Conditions, pailv1.ConditionReady)
	assert.Equal(t, pailv1.ReasonEndpointForbidden, ready.Reason, describeConds(got.Status.Conditions))
	assert.Contains(t, ready.Message, "outside the networks this Provider may reach")

	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(g), g))
	g.Spec.NamespacedProviders.Endpoints.CIDRs = append(g.Spec.NamespacedProviders.Endpoints.CIDRs, "127.0.0.0/8")
	require.NoError(t, suite.k8s.Update(ctx, g))
	waitProviderCondition(t, key, pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)
}

// TestGuardrailRefusesProviderAtReconcile: a Provider stored before a
// Guardrail forbade the namespace its own Providers becomes not Ready with
// GuardrailDenied, and no longer checked; listing it lets it back.
func TestGuardrailRefusesProviderAtReconcile(t *testing.T) {
	ctx := context.Background()
	ns := guardedNamespace(t)
	p := minioProvider(t, ns, "own")
	key := client.ObjectKeyFromObject(p)
	waitProviderCondition(t, key, pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)

	g := createGuardrail(t, ns, pailv1.GuardrailSpec{})
	got := waitProviderCondition(t, key, pailv1.ConditionReady, metav1.ConditionFalse, 30*time.Second)
	ready := condition(got.Status.Conditions, pailv1.ConditionReady)
	assert.Equal(t, pailv1.ReasonGuardrailDenied, ready.Reason)
	assert.Contains(t, ready.Message, "Guardrail "+g.Name)
	assert.Contains(t, ready.Message, "spec.namespacedProviders")
	assert.Equal(t, pailv1.ReasonGuardrailDenied, condition(got.Status.Conditions, pailv1.ConditionEndpointReachable).Reason)

	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(g), g))
	g.Spec.AllowedProviders = []pailv1.ProviderReference{{Name: "own"}}
	require.NoError(t, suite.k8s.Update(ctx, g))
	waitProviderCondition(t, key, pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)
}

// TestClusterProviderAdmitsNamespacesAtAdmission: a Bucket or AccessKey on
// a ClusterProvider whose allowedNamespaces does not admit its namespace is
// admitted with a warning naming the ClusterProvider (its sync refuses it
// with ProviderNotAllowed); one in an admitted namespace gets no warning.
func TestClusterProviderAdmitsNamespacesAtAdmission(t *testing.T) {
	ctx := context.Background()
	ns, other := namespace(t), namespace(t)
	cp := &pailv1.ClusterProvider{
		ObjectMeta: metav1.ObjectMeta{Name: "shared-" + ns},
		Spec: pailv1.ClusterProviderSpec{
			ProviderSpec:      newProvider("", "", "minio", suite.minio.Endpoint, "creds").Spec,
			AllowedNamespaces: pailv1.AllowedNamespaces{From: pailv1.NamespacesFromList, Names: []string{ns}},
		},
	}
	require.NoError(t, suite.k8s.Create(ctx, cp))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), cp) })
	b := newBucket(other, "b", cp.Name, uniqueBucket("cp"), "")
	b.Spec.ProviderRef.Kind = pailv1.KindClusterProvider
	ak := newAccessKey(other, "k", cp.Name)
	ak.Spec.ProviderRef.Kind = pailv1.KindClusterProvider
	for _, obj := range []client.Object{b, ak} {
		var warnings []string
		waitFor(t, 20*time.Second, "a warning for "+obj.GetName(), func() (bool, string) {
			w, err := dryRunCreate(t, obj)
			require.NoError(t, err, "admitted: the sync refuses it")
			warnings = w
			return strings.Contains(strings.Join(w, " "), "does not admit"), strings.Join(w, " | ")
		})
		msg := strings.Join(warnings, " ")
		assert.Contains(t, msg, "ClusterProvider "+cp.Name)
		assert.Contains(t, msg, "spec.allowedNamespaces")
		assert.Contains(t, msg, "ProviderNotAllowed")
	}
	b.Namespace = ns
	w, err := dryRunCreate(t, b)
	require.NoError(t, err)
	assert.NotContains(t, strings.Join(w, " "), "does not admit")
}
