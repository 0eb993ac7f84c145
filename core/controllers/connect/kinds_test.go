package connect

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/registry"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// TestRefKey: the kind is part of every key, so a Provider and a
// ClusterProvider of one name never share a connection or an index entry,
// and a ClusterProvider's key is the same from every namespace.
func TestRefKey(t *testing.T) {
	prov := pailv1.ProviderReference{Name: "x"}
	cluster := pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "x"}
	for _, tc := range []struct {
		name string
		ns   string
		ref  pailv1.ProviderReference
		want string
	}{
		{"a Provider, kind unset (objects stored before kinds)", "ns-a", prov, "Provider/ns-a/x"},
		{"a Provider, kind set", "ns-a", pailv1.ProviderReference{Kind: pailv1.KindProvider, Name: "x"}, "Provider/ns-a/x"},
		{"a Provider of another namespace", "ns-b", prov, "Provider/ns-b/x"},
		{"a ClusterProvider", "ns-a", cluster, "ClusterProvider/x"},
		{"the same ClusterProvider from another namespace", "ns-b", cluster, "ClusterProvider/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, RefKey(tc.ns, tc.ref))
		})
	}
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "pail-system", Name: "x"}}
	cp := &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	assert.NotEqual(t, ProviderKey(p), ProviderKey(cp), "Provider x in the operator's namespace and ClusterProvider x are different keys")
	assert.Equal(t, RefKey("pail-system", prov), ProviderKey(p), "a Provider's key is its referrers' key")
	assert.Equal(t, RefKey("anywhere", cluster), ProviderKey(cp), "a ClusterProvider's key is its referrers' key")
	assert.Equal(t, types.NamespacedName{Name: "x"}, ObjectKey("ns-a", cluster), "a ClusterProvider is read cluster-wide")
	assert.Equal(t, types.NamespacedName{Namespace: "ns-a", Name: "x"}, ObjectKey("ns-a", prov))
}

func TestSecretNamespace(t *testing.T) {
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "team"}}
	cp := &pailv1.ClusterProvider{}
	own := &pailv1.ClusterProvider{Spec: pailv1.ClusterProviderSpec{SecretNamespace: "vault"}}
	assert.Equal(t, "team", SecretNamespace(p, "pail-system"), "a Provider's Secrets are in its namespace")
	assert.Equal(t, "pail-system", SecretNamespace(cp, "pail-system"), "a ClusterProvider's default is the operator's namespace")
	assert.Equal(t, "vault", SecretNamespace(own, "pail-system"), "spec.secretNamespace wins")
	assert.Empty(t, SecretNamespace(cp, ""), "no namespace at all: its Secrets cannot be found")
	assert.Nil(t, Secrets(cp, ""), "and it reads none")

	own.Spec.CredentialsSecretRef.Name = "creds"
	own.Spec.TLS = &pailv1.TLSConfig{CASecretRef: &pailv1.SecretKeyRef{Name: "ca"}}
	assert.Equal(t, []types.NamespacedName{{Namespace: "vault", Name: "creds"}, {Namespace: "vault", Name: "ca"}}, Secrets(own, "pail-system"))
}

// TestAdmission: a ClusterProvider admits exactly the namespaces its
// allowedNamespaces names; any other gets ProviderNotAllowed with a
// message that says who can fix it.
func TestAdmission(t *testing.T) {
	cp := func(an pailv1.AllowedNamespaces) *pailv1.ClusterProvider {
		return &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Spec: pailv1.ClusterProviderSpec{AllowedNamespaces: an}}
	}
	team := &metav1.LabelSelector{MatchLabels: map[string]string{"tenant": "yes"}}
	for _, tc := range []struct {
		name   string
		an     pailv1.AllowedNamespaces
		ns     string
		labels map[string]string
		admit  bool
		says   string
	}{
		{"unset: none (the default)", pailv1.AllowedNamespaces{}, "ns-a", nil, false, "from is None"},
		{"None", pailv1.AllowedNamespaces{From: pailv1.NamespacesFromNone}, "ns-a", nil, false, "from is None"},
		{"All", pailv1.AllowedNamespaces{From: pailv1.NamespacesFromAll}, "ns-a", nil, true, ""},
		{"List, named", pailv1.AllowedNamespaces{From: pailv1.NamespacesFromList, Names: []string{"ns-a"}}, "ns-a", nil, true, ""},
		{"List, not named", pailv1.AllowedNamespaces{From: pailv1.NamespacesFromList, Names: []string{"ns-a"}}, "ns-b", nil, false, "from is List"},
		{"Selector, labels match", pailv1.AllowedNamespaces{From: pailv1.NamespacesFromSelector, Selector: team}, "ns-b", map[string]string{"tenant": "yes"}, true, ""},
		{"Selector, labels do not match", pailv1.AllowedNamespaces{From: pailv1.NamespacesFromSelector, Selector: team}, "ns-b", map[string]string{"tenant": "no"}, false, "from is Selector"},
		{"Selector, invalid", pailv1.AllowedNamespaces{From: pailv1.NamespacesFromSelector, Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Bogus"}}}}, "ns-b", nil, false, "selector is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nr := admission(cp(tc.an), tc.ns, tc.labels, "Bucket")
			if tc.admit {
				assert.Nil(t, nr)
				return
			}
			require.NotNil(t, nr)
			assert.Equal(t, pailv1.ReasonProviderNotAllowed, nr.Reason)
			assert.Contains(t, nr.Message, "ClusterProvider shared")
			assert.Contains(t, nr.Message, tc.says)
			assert.Contains(t, nr.Message, "cluster admin", "the message says who can grant it")
		})
	}
}

// TestUsable runs the lookup half of Ready on a fake cache: a namespace
// the ClusterProvider does not admit gets ProviderNotAllowed before
// anything of the ClusterProvider's state, and a label flip of the
// namespace admits it.
func TestUsable(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	require.NoError(t, corev1.AddToScheme(scheme))
	ready := []metav1.Condition{{Type: pailv1.ConditionReady, Status: metav1.ConditionTrue, Reason: pailv1.ReasonAvailable}}
	cp := &pailv1.ClusterProvider{
		ObjectMeta: metav1.ObjectMeta{Name: "shared"},
		Spec: pailv1.ClusterProviderSpec{AllowedNamespaces: pailv1.AllowedNamespaces{
			From: pailv1.NamespacesFromSelector, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tenant": "yes"}}}},
		Status: pailv1.ProviderStatus{Conditions: ready},
	}
	local := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "shared"}, Status: pailv1.ProviderStatus{Conditions: ready}}
	nsA := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-a", Labels: map[string]string{"tenant": "yes"}}}
	nsB := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-b"}}
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cp, local, nsA, nsB).Build()
	ref := pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "shared"}

	p, nr, err := usable(ctx, cl, "ns-a", ref, "Bucket")
	require.NoError(t, err)
	require.Nil(t, nr)
	assert.IsType(t, &pailv1.ClusterProvider{}, p, "kind ClusterProvider reads the ClusterProvider, not Provider ns-a/shared")

	_, nr, err = usable(ctx, cl, "ns-b", ref, "Bucket")
	require.NoError(t, err)
	require.NotNil(t, nr)
	assert.Equal(t, pailv1.ReasonProviderNotAllowed, nr.Reason)
	assert.Contains(t, nr.Message, "namespace ns-b")

	nsB.Labels = map[string]string{"tenant": "yes"}
	require.NoError(t, cl.Update(ctx, nsB))
	_, nr, err = usable(ctx, cl, "ns-b", ref, "Bucket")
	require.NoError(t, err)
	assert.Nil(t, nr, "a labelled namespace is admitted")

	p, nr, err = usable(ctx, cl, "ns-a", pailv1.ProviderReference{Name: "shared"}, "Bucket")
	require.NoError(t, err)
	require.Nil(t, nr)
	assert.IsType(t, &pailv1.Provider{}, p, "kind unset reads the namespace's Provider")

	_, nr, err = usable(ctx, cl, "ns-a", pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "gone"}, "Bucket")
	require.NoError(t, err)
	require.NotNil(t, nr)
	assert.Equal(t, pailv1.ReasonProviderNotFound, nr.Reason)
	assert.Equal(t, "ClusterProvider gone does not exist; the Bucket will proceed once it is created and Ready.", nr.Message)
	assert.NotContains(t, nr.Message, "namespace", "a ClusterProvider is in no namespace")
}

// TestConnectionsByKind: Provider x in the operator's namespace and
// ClusterProvider x (its Secret in the operator's namespace too) get
// connections of their own, each with its own Secret's credentials; a
// ClusterProvider reads its Secret from spec.secretNamespace when set.
func TestConnectionsByKind(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	require.NoError(t, corev1.AddToScheme(scheme))
	spec := func(secret string) pailv1.ProviderSpec {
		return pailv1.ProviderSpec{Endpoint: "http://s3.test", Driver: "mem", PathStyle: true, CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: secret}}
	}
	secret := func(ns, name, id string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Data: map[string][]byte{pailv1.DefaultAccessKeyIDKey: []byte(id), pailv1.DefaultSecretAccessKeyKey: []byte("s-" + id)}}
	}
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "pail-system", Name: "x", UID: "p"}, Spec: spec("provider-creds")}
	cp := &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: "x", UID: "cp"}, Spec: pailv1.ClusterProviderSpec{ProviderSpec: spec("cluster-creds")}}
	elsewhere := &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: "y", UID: "cp2"},
		Spec: pailv1.ClusterProviderSpec{ProviderSpec: spec("cluster-creds"), SecretNamespace: "vault"}}
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		secret("pail-system", "provider-creds", "provider"), secret("pail-system", "cluster-creds", "cluster"), secret("vault", "cluster-creds", "vault")).Build()
	reg := registry.New(ctx, nil, "", nil, nil)
	reg.RegisterNative("mem", driver.Funcs{Info: abi.DriverInfo{Name: "mem"}})
	c := &Connector{Reader: cl, Registry: reg, Namespace: "pail-system"}

	pc, err := c.Get(ctx, p)
	require.NoError(t, err)
	cc, err := c.Get(ctx, cp)
	require.NoError(t, err)
	ec, err := c.Get(ctx, elsewhere)
	require.NoError(t, err)
	assert.NotSame(t, pc, cc)
	assert.Equal(t, "provider", pc.Config.Credentials.AccessKeyID)
	assert.Equal(t, "cluster", cc.Config.Credentials.AccessKeyID)
	assert.Equal(t, "vault", ec.Config.Credentials.AccessKeyID, "spec.secretNamespace is where its Secret is read")
	assert.Equal(t, "pail-system/x", pc.Config.Name)
	assert.Equal(t, "ClusterProvider/x", cc.Config.Name)

	again, err := c.Get(ctx, cp)
	require.NoError(t, err)
	assert.Same(t, cc, again, "the ClusterProvider's connection is cached under its own key")
	c.Forget(ProviderKey(cp))
	again, err = c.Get(ctx, p)
	require.NoError(t, err)
	assert.Same(t, pc, again, "forgetting the ClusterProvider keeps the Provider's connection")

	_, err = (&Connector{Reader: cl, Registry: reg}).Resolve(ctx, cp)
	var ce *Error
	require.ErrorAs(t, err, &ce, "no operator namespace, no spec.secretNamespace")
	assert.Equal(t, pailv1.ReasonCredentialsMissing, ce.Reason)
	assert.Contains(t, ce.Message, "spec.secretNamespace")
}
