package chart

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/tags"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/inuse"
	"github.com/pail-dev/pail/core/logging"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/test/env"
)

// serviceAccountUser is the user name the apiserver gives the chart's
// ServiceAccount; impersonating it makes every request of the in-process
// operator go through the RBAC the chart grants, as in a real pod.
const serviceAccountUser = "system:serviceaccount:" + releaseNS + ":pail"

// syncBuffer collects the operator's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// refusals records the requests the apiserver refused (403), as seen on the
// operator's own connection. controller-runtime's log is no witness: when no
// logger is set within 30 s of process start it discards its logs for good,
// which happens when this test runs after slower ones.
type refusals struct {
	mu   sync.Mutex
	urls []string
}

func (r *refusals) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusForbidden {
			r.mu.Lock()
			r.urls = append(r.urls, req.Method+" "+req.URL.Path)
			r.mu.Unlock()
		}
		return resp, err
	})
}

func (r *refusals) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.urls)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// minioDriverDir returns a directory holding only minio.wasm (from
// make plugins, which builds it with its build tags): the operator loads
// nothing it does not need.
func minioDriverDir(t *testing.T) string {
	t.Helper()
	only := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(env.DriverDirForTest(t, repoRoot()), "minio.wasm"), filepath.Join(only, "minio.wasm")))
	return only
}

// runOperator starts the operator in-process as the chart's ServiceAccount,
// with leader election in the release namespace as the chart configures it
// for more than one replica, and stops it when the test ends. tweaks change
// the options before the operator is built.
func runOperator(t *testing.T, admin *rest.Config, driverDir string, refused *refusals, tweaks ...func(*operator.Options)) *operator.Operator {
	t.Helper()
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser}
	cfg.WrapTransport = refused.wrap
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	o := operator.Options{
		RestConfig:              cfg,
		DriverDir:               driverDir,
		CacheDir:                operator.DefaultCacheDir(),
		LeaderElect:             true,
		LeaderElectionNamespace: releaseNS,
		ProviderRetryBase:       time.Second,
		ProviderRetryMax:        2 * time.Second,
		BucketRetryMax:          2 * time.Second,
		// Short, so a change behind Pail's back is seen within the test.
		BucketResync: 2 * time.Second,
		Logger:       logging.New("pail", "debug", true, logs),
	}
	for _, tweak := range tweaks {
		tweak(&o)
	}
	op, err := operator.New(ctx, o)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() { done <- op.Start(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				var buf bytes.Buffer
				_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
				t.Errorf("operator did not stop within 30s; goroutines:\n%s", buf.String())
			}
		})
	}
	t.Cleanup(stop)
	// Cleanups run last-in first-out: this prints the log before the stop.
	t.Cleanup(func() {
		if t.Failed() {
			l := logs.String()
			t.Logf("operator log (last 8 KiB; empty when controller-runtime discarded it):\n%s", l[max(0, len(l)-8192):])
		}
	})
	return op
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
}

func conds(cs []metav1.Condition) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	return strings.Join(parts, " ")
}

// TestOperatorWithChartRBAC proves the chart's RBAC is enough and needed:
// the operator, acting as the chart's ServiceAccount on a real apiserver
// with RBAC on, reconciles a Provider and a Bucket on a real MinIO with
// exactly the chart's Roles and bindings, and reconciles nothing without the
// ClusterRoleBinding.
func TestOperatorWithChartRBAC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd and MinIO")
	}
	drivers := minioDriverDir(t)
	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{filepath.Join(chartDir(), "crds")}})
	mio := env.MinIOForTest(t, env.MinIOOptions{})
	s3, err := mio.Client()
	require.NoError(t, err)
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	admin, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)
	ctx := context.Background()

	// The chart's identity and permissions, as rendered from default values.
	objs := renderObjects(t)
	for _, ns := range []string{releaseNS, "apps"} {
		require.NoError(t, admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	var binding *unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRoleBinding":
			binding = o
		case "ServiceAccount", "ClusterRole", "Role", "RoleBinding":
			require.NoError(t, admin.Create(ctx, o.DeepCopy()), "%s/%s", o.GetKind(), o.GetName())
		}
	}
	require.NotNil(t, binding)

	// What a user applies: credentials, a Provider and a Bucket.
	bucketName := fmt.Sprintf("chart-rbac-%d", time.Now().UnixNano())
	require.NoError(t, admin.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "minio-creds"},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": mio.AccessKey, "AWS_SECRET_ACCESS_KEY": mio.SecretKey},
	}))
	provider := &pailv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "minio"},
		Spec: pailv1.ProviderSpec{
			Driver: "minio", Endpoint: mio.Endpoint, Region: "us-east-1", PathStyle: true,
			CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "minio-creds"},
		},
	}
	require.NoError(t, admin.Create(ctx, provider))
	bucket := &pailv1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "photos"},
		Spec: pailv1.BucketSpec{
			ProviderRef: pailv1.ProviderReference{Name: "minio"}, BucketName: bucketName,
			Tags: map[string]string{"team": "storage"},
		},
	}
	require.NoError(t, admin.Create(ctx, bucket))

	saCfg := rest.CopyConfig(kube.Config)
	saCfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser}
	asSA, err := client.New(saCfg, client.Options{Scheme: scheme})
	require.NoError(t, err)

	// One operator for both steps: without the binding it cannot even fill
	// its caches (and controller-runtime's manager cannot be stopped until
	// they sync, so it is not stopped there); once the binding exists the same
	// process recovers, as it would when a cluster admin fixes the RBAC.
	refused := &refusals{}
	runOperator(t, kube.Config, drivers, refused)

	t.Run("without the ClusterRoleBinding nothing is reconciled", func(t *testing.T) {
		// The apiserver itself refuses the ServiceAccount.
		err := asSA.List(ctx, &pailv1.ProviderList{})
		require.True(t, apierrors.IsForbidden(err), "list Providers as the ServiceAccount: %v", err)

		waitFor(t, 60*time.Second, "the apiserver to refuse the operator's list of Buckets", func() (bool, string) {
			if slices.Contains(refused.list(), "GET /apis/pail.dev/v1alpha1/buckets") {
				return true, ""
			}
			return false, fmt.Sprintf("refused so far: %v", refused.list())
		})
		t.Logf("requests of the operator the apiserver refused: %v", refused.list())
		// Give it a few more seconds in which it could have done something.
		time.Sleep(5 * time.Second)

		var p pailv1.Provider
		require.NoError(t, admin.Get(ctx, client.ObjectKeyFromObject(provider), &p))
		assert.Empty(t, p.Status.Conditions, "the Provider was never checked")
		var b pailv1.Bucket
		require.NoError(t, admin.Get(ctx, client.ObjectKeyFromObject(bucket), &b))
		assert.Empty(t, b.Status.Conditions, "the Bucket was never reconciled")
		assert.Empty(t, b.Finalizers)
		exists, err := s3.BucketExists(ctx, bucketName)
		require.NoError(t, err)
		assert.False(t, exists, "no bucket was created in MinIO")
		var lease coordinationv1.Lease
		err = admin.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "pail-operator.pail.dev"}, &lease)
		assert.True(t, apierrors.IsNotFound(err), "no leader was elected before the caches synced: %v", err)
	})

	t.Run("with the chart's RBAC a Provider and a Bucket are reconciled end to end", func(t *testing.T) {
		require.NoError(t, admin.Create(ctx, binding.DeepCopy()))
		// The apiserver's RBAC authorizer learns of the binding through its
		// own informer, a moment after the create returns.
		waitFor(t, 30*time.Second, "the binding to let the ServiceAccount list Providers", func() (bool, string) {
			if err := asSA.List(ctx, &pailv1.ProviderList{}); err != nil {
				return false, err.Error()
			}
			return true, ""
		})

		var p pailv1.Provider
		waitFor(t, 3*time.Minute, "Provider Ready", func() (bool, string) {
			if err := admin.Get(ctx, client.ObjectKeyFromObject(provider), &p); err != nil {
				return false, err.Error()
			}
			return meta.IsStatusConditionTrue(p.Status.Conditions, pailv1.ConditionReady), conds(p.Status.Conditions)
		})
		var b pailv1.Bucket
		waitFor(t, 2*time.Minute, "Bucket Ready", func() (bool, string) {
			if err := admin.Get(ctx, client.ObjectKeyFromObject(bucket), &b); err != nil {
				return false, err.Error()
			}
			return meta.IsStatusConditionTrue(b.Status.Conditions, pailv1.ConditionReady), conds(b.Status.Conditions)
		})
		exists, err := s3.BucketExists(ctx, bucketName)
		require.NoError(t, err)
		assert.True(t, exists, "the bucket exists in MinIO")
		assert.NotEmpty(t, b.Finalizers, "the finalizer was written (buckets/finalizers)")
		// In-use protection patched the Provider and its Secret (metadata only).
		waitFor(t, 30*time.Second, "the in-use finalizer on the Provider and its Secret", func() (bool, string) {
			var p pailv1.Provider
			var sec corev1.Secret
			if err := admin.Get(ctx, client.ObjectKeyFromObject(provider), &p); err != nil {
				return false, err.Error()
			}
			if err := admin.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "minio-creds"}, &sec); err != nil {
				return false, err.Error()
			}
			return slices.Contains(p.Finalizers, inuse.Finalizer) && slices.Contains(sec.Finalizers, inuse.Finalizer),
				fmt.Sprintf("Provider %v, Secret %v", p.Finalizers, sec.Finalizers)
		})

		// Leader election ran through the namespaced Role.
		var lease coordinationv1.Lease
		require.NoError(t, admin.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "pail-operator.pail.dev"}, &lease))
		require.NotNil(t, lease.Spec.HolderIdentity)
		assert.NotEmpty(t, *lease.Spec.HolderIdentity)

		// Events were accepted: the recorder fails silently, so check the apiserver.
		waitFor(t, 30*time.Second, "an event about the Bucket", func() (bool, string) {
			var evs eventsv1.EventList
			if err := admin.List(ctx, &evs, client.InNamespace("apps")); err != nil {
				return false, err.Error()
			}
			var seen []string
			for _, e := range evs.Items {
				if e.Regarding.Kind == "Bucket" && e.Regarding.Name == "photos" {
					return true, ""
				}
				seen = append(seen, e.Regarding.Kind+"/"+e.Regarding.Name+":"+e.Reason)
			}
			return false, strings.Join(seen, ", ")
		})

		// The alerting metrics are served for what the chart's alerts watch.
		families, err := crmetrics.Registry.Gather()
		require.NoError(t, err)
		got := map[string]float64{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if f.GetName() == metrics.ProviderReadyName && labels["namespace"] == "apps" && labels["provider"] == "minio" {
					got[f.GetName()] = m.GetGauge().GetValue()
				}
				if f.GetName() == "controller_runtime_reconcile_errors_total" && labels["controller"] == "bucket" {
					got[f.GetName()] = m.GetCounter().GetValue()
				}
			}
		}
		assert.Equal(t, 1.0, got[metrics.ProviderReadyName], "pail_provider_ready for the Ready Provider") //nolint:testifylint // a gauge: the exact value is the point

		// A change behind Pail's back is corrected, and counted for the drift-loop alert.
		drift := func() float64 {
			fams, err := crmetrics.Registry.Gather()
			require.NoError(t, err)
			for _, f := range fams {
				if f.GetName() != "pail_bucket_drift_corrections_total" {
					continue
				}
				for _, m := range f.GetMetric() {
					l := map[string]string{}
					for _, p := range m.GetLabel() {
						l[p.GetName()] = p.GetValue()
					}
					if l["namespace"] == "apps" && l["bucket"] == "photos" {
						return m.GetCounter().GetValue()
					}
				}
			}
			return 0
		}
		before := drift()
		intruder, err := tags.NewTags(map[string]string{"team": "intruder"}, false)
		require.NoError(t, err)
		require.NoError(t, s3.SetBucketTagging(ctx, bucketName, intruder))
		waitFor(t, 30*time.Second, "the drift correction to be counted", func() (bool, string) {
			return drift() == before+1, fmt.Sprintf("pail_bucket_drift_corrections_total %.0f (was %.0f)", drift(), before)
		})
		tg, err := s3.GetBucketTagging(ctx, bucketName)
		require.NoError(t, err)
		// The intruder also removed the ownership mark, which the operator,
		// as the chart's ServiceAccount, names this cluster in.
		var kubeSystem corev1.Namespace
		require.NoError(t, admin.Get(ctx, client.ObjectKey{Name: "kube-system"}, &kubeSystem))
		require.NoError(t, admin.Get(ctx, client.ObjectKeyFromObject(bucket), bucket))
		want := bucketdiff.Owner{Cluster: string(kubeSystem.UID), Namespace: "apps", Name: "photos", UID: string(bucket.UID)}.Mark()
		want["team"] = "storage"
		assert.Equal(t, want, tg.ToMap(), "the tags and the ownership mark were written back")
		assert.Contains(t, got, "controller_runtime_reconcile_errors_total", "controller-runtime's per-controller error counter is served")
	})
}
