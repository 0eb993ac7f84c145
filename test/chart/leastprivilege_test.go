package chart

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/test/env"
)

// secretCollection is a list or watch of Secrets, in one namespace or all:
// what an informer sends (a Get of one named Secret is not).
var secretCollection = regexp.MustCompile(`^/api/v1/(namespaces/[^/]+/)?secrets$`)

// secretReads records the operator's lists and watches of Secrets, telling
// metadata-only ones (PartialObjectMetadata, what a metadata informer
// asks for) from full ones (what a Secret informer, holding every Secret's
// data, asks for).
type secretReads struct {
	mu             sync.Mutex
	full, metadata []string
}

func (s *secretReads) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodGet && secretCollection.MatchString(req.URL.Path) {
			s.mu.Lock()
			what := req.URL.Path + "?" + req.URL.RawQuery
			if strings.Contains(req.Header.Get("Accept"), "as=PartialObjectMetadata") {
				s.metadata = append(s.metadata, what)
			} else {
				s.full = append(s.full, what)
			}
			s.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

func (s *secretReads) seen() (full, metadata []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.full), slices.Clone(s.metadata)
}

// TestLeastPrivilege runs the operator as the chart's ServiceAccount with
// the chart's RBAC on a real apiserver (and kube-controller-manager's
// ClusterRole aggregation), and checks what the chart promises: the
// metrics need a token the apiserver authorizes for /metrics, tenants get
// Buckets but not Providers unless an admin binds provider-editor, and the
// operator's cache holds no Secret.
func TestLeastPrivilege(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd and kube-controller-manager")
	}
	ctx := context.Background()
	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{filepath.Join(chartDir(), "crds")}})
	kcm, err := env.StartControllerManager(ctx, kube, env.ControllerManagerOptions{Controllers: []string{"clusterrole-aggregation"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = kcm.Stop() })
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	admin, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)
	for _, ns := range []string{releaseNS, "team-a", "team-b"} {
		require.NoError(t, admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	for _, o := range renderObjects(t) {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			require.NoError(t, admin.Create(ctx, o.DeepCopy()), "%s/%s", o.GetKind(), o.GetName())
		}
	}
	// A Provider whose Secret the operator must read; no driver is
	// installed, so it stops there, after the read.
	require.NoError(t, admin.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "creds"},
		StringData: map[string]string{pailv1.DefaultAccessKeyIDKey: "id", pailv1.DefaultSecretAccessKeyKey: "secret"},
	}))
	provider := &pailv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "storage"},
		Spec: pailv1.ProviderSpec{
			Driver: "minio", Endpoint: "http://127.0.0.1:1", Region: "us-east-1",
			CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "creds"},
		},
	}
	require.NoError(t, admin.Create(ctx, provider))

	port, err := env.FreePort()
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	reads := &secretReads{}
	op := runOperator(t, kube.Config, t.TempDir(), &refusals{}, func(o *operator.Options) {
		o.MetricsAddr, o.MetricsSecure = addr, true
		o.RestConfig.WrapTransport = wrapAlso(o.RestConfig.WrapTransport, reads.wrap)
	})

	t.Run("metrics need a token authorized for /metrics", func(t *testing.T) {
		testSecureMetrics(t, kube.Config, "https://"+addr+"/metrics")
	})
	t.Run("tenants get Buckets, not Providers, unless an admin binds provider-editor", func(t *testing.T) {
		testTenantRoles(t, kube.Config, admin)
	})
	t.Run("the operator caches no Secret", func(t *testing.T) {
		waitFor(t, time.Minute, "the Provider to be checked (its Secret read)", func() (bool, string) {
			var p pailv1.Provider
			if err := admin.Get(ctx, client.ObjectKeyFromObject(provider), &p); err != nil {
				return false, err.Error()
			}
			return len(p.Status.Conditions) > 0, conds(p.Status.Conditions)
		})
		// A full Secret read through the manager's client, as a careless
		// controller would write it, is answered live: the cached client
		// would start a Secret informer here.
		var sec corev1.Secret
		require.NoError(t, op.Manager.GetClient().Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "creds"}, &sec))
		assert.Equal(t, "id", string(sec.Data[pailv1.DefaultAccessKeyIDKey]))
		full, meta := reads.seen()
		assert.Empty(t, full, "lists or watches of full Secrets: an informer holding Secret data")
		assert.NotEmpty(t, meta, "the metadata-only Secret watches were seen, so the recorder sees the cache's requests")
	})
}

// wrapAlso chains a second transport wrapper after an existing one.
func wrapAlso(prev func(http.RoundTripper) http.RoundTripper, next func(http.RoundTripper) http.RoundTripper) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return next(rt)
	}
}

// testSecureMetrics scrapes url with no token, a garbage one, the token of a
// ServiceAccount without the chart's metrics-reader role, and one with it.
func testSecureMetrics(t *testing.T, admin *rest.Config, url string) {
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(admin)
	require.NoError(t, err)
	token := func(sa string) string {
		_, err := cs.CoreV1().ServiceAccounts(releaseNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		require.NoError(t, err)
		tr, err := cs.CoreV1().ServiceAccounts(releaseNS).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		return tr.Status.Token
	}
	scraper, stranger := token("prometheus"), token("stranger")
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-pail-metrics"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "pail-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: releaseNS}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	// The operator's certificate is self-signed (no cert dir), as with the
	// chart's default values, where the ServiceMonitor skips verification.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	scrape := func(token string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, "", err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	waitFor(t, time.Minute, "the metrics endpoint to answer", func() (bool, string) {
		code, _, err := scrape("")
		if err != nil {
			return false, err.Error()
		}
		return code != 0, strconv.Itoa(code)
	})

	code, _, err := scrape("")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, code, "no token")
	// A token the apiserver cannot parse comes back from the TokenReview
	// as an error, which controller-runtime's filter answers with 500.
	code, body, err := scrape("not-a-token")
	require.NoError(t, err)
	assert.Contains(t, []int{http.StatusUnauthorized, http.StatusInternalServerError}, code, "a token the apiserver does not know: %s", body)
	assert.NotContains(t, body, metrics.ProviderReadyName)
	code, body, err = scrape(stranger)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, code, "a ServiceAccount not bound to pail-metrics-reader: %s", body)
	// The operator caches an allowed answer for minutes, a denial for 30 s:
	// the binding was made before the first scrape with this token.
	// Pail's own metrics and controller-runtime's, once a reconcile ran.
	want := []string{metrics.ProviderReadyName, "controller_runtime_reconcile_total"}
	waitFor(t, time.Minute, "the bound ServiceAccount to be served the metrics", func() (bool, string) {
		code, body, err := scrape(scraper)
		if err != nil {
			return false, err.Error()
		}
		if code != http.StatusOK {
			return false, fmt.Sprintf("%d %s", code, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				return false, "200, but no " + w
			}
		}
		return true, ""
	})
}

// testTenantRoles checks the aggregated roles as a tenant sees them: alice
// has Kubernetes' edit role in team-a, which aggregates pail-edit.
func testTenantRoles(t *testing.T, adminCfg *rest.Config, admin client.Client) {
	ctx := t.Context()
	bind := func(ns, name, role string) {
		require.NoError(t, admin.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}},
		}))
	}
	bind("team-a", "alice-edit", "edit")
	cfg := rest.CopyConfig(adminCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	alice, err := client.New(cfg, client.Options{Scheme: scheme})
	require.NoError(t, err)

	bucket := func(ns, name string) *pailv1.Bucket {
		return &pailv1.Bucket{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "storage"}, BucketName: ns + "-" + name},
		}
	}
	providerIn := func(ns, name string) *pailv1.Provider {
		return &pailv1.Provider{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: pailv1.ProviderSpec{
				Driver: "minio", Endpoint: "http://127.0.0.1:1", Region: "us-east-1",
				CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "creds"},
			},
		}
	}
	// kube-controller-manager aggregates pail-edit into edit a moment
	// after both exist; RBAC then takes a moment more.
	waitFor(t, time.Minute, "alice to create a Bucket in team-a through edit", func() (bool, string) {
		if err := alice.Create(ctx, bucket("team-a", "photos")); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	var list pailv1.BucketList
	require.NoError(t, alice.List(ctx, &list, client.InNamespace("team-a")), "view covers the tenant kinds")
	assert.Len(t, list.Items, 1)

	err = alice.Create(ctx, providerIn("team-a", "own"))
	assert.True(t, apierrors.IsForbidden(err), "edit gives no Providers: %v", err)
	err = alice.Create(ctx, bucket("team-b", "photos"))
	assert.True(t, apierrors.IsForbidden(err), "nothing in a namespace alice has no role in: %v", err)

	// The admin lets team-a manage its own Providers, there only.
	bind("team-a", "alice-providers", "pail-provider-editor")
	waitFor(t, 30*time.Second, "alice to create a Provider in team-a through provider-editor", func() (bool, string) {
		if err := alice.Create(ctx, providerIn("team-a", "own")); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	err = alice.Create(ctx, providerIn("team-b", "own"))
	assert.True(t, apierrors.IsForbidden(err), "provider-editor bound in team-a gives nothing in team-b: %v", err)
}
