// Package restart restarts the operator over an estate that is in sync and
// counts what the new process does: it must write nothing to the apiserver,
// flip no condition, log no reconcile error, and read each Bucket's managed
// sub-resources at most once. It runs the operator in-process (as the
// integration suite does) against its own kube-apiserver and MinIO, so no
// other operator reconciles the objects and every request can be counted.
package restart

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/logging"
	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/test/env"
)

const (
	ns       = "restart"
	nBuckets = 200
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// TestRestartOverInSyncEstate runs operator A until 200 Buckets (some with
// versioning, tags or both), an AccessKey and a BucketPolicy are Ready,
// stops it, starts operator B and waits until B has observed every one of
// them once and gone quiet.
func TestRestartOverInSyncEstate(t *testing.T) {
	ctx := context.Background()
	drivers := env.DriverDirForTest(t, repoRoot())
	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{filepath.Join(repoRoot(), "charts", "pail", "crds")}})
	mio := env.MinIOForTest(t, env.MinIOOptions{})
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	k8s, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)

	require.NoError(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	require.NoError(t, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "minio"},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": mio.AccessKey, "AWS_SECRET_ACCESS_KEY": mio.SecretKey}}))
	require.NoError(t, k8s.Create(ctx, &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "minio"},
		Spec: pailv1.ProviderSpec{Driver: "minio", Endpoint: mio.Endpoint, Region: "us-east-1", PathStyle: true,
			CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "minio"}}}))
	stamp := time.Now().UnixNano()
	managedReads := createBuckets(t, k8s, stamp)
	// One AccessKey and one BucketPolicy, so the other controllers that
	// refer to the Provider restart over an in-sync state too.
	require.NoError(t, k8s.Create(ctx, &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: "minio"},
			Buckets: []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "b001"}, Access: pailv1.AccessReadWrite}}}}))
	require.NoError(t, k8s.Create(ctx, &pailv1.BucketPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "public"},
		Spec: pailv1.BucketPolicySpec{BucketRef: pailv1.BucketReference{Name: "b002"},
			Policy: runtime.RawExtension{Raw: []byte(publicRead(fmt.Sprintf("restart-002-%d", stamp)))}}}))

	logA := &syncWriter{}
	stopA := start(t, kube.Config, drivers, logA)
	waitInSync(t, k8s, 2*time.Minute, func() string { return tail(logA.String()) })
	stopA()
	before := snapshot(t, k8s)
	m0 := gather(t)

	counter := &requestCounter{counts: map[string]int{}}
	cfg := rest.CopyConfig(kube.Config)
	cfg.WrapTransport = counter.wrap
	logB := &syncWriter{}
	restarted := time.Now()
	stopB := start(t, cfg, drivers, logB)
	defer stopB()

	// B has reconciled every object once when it observed each Bucket and
	// the BucketPolicy's bucket (an in-sync object is observed exactly once)
	// and the AccessKey's user, and is done when its controllers are idle
	// and their counters stop moving.
	observes := func() (float64, float64) {
		m := gather(t)
		return m.delta(m0, "pail_driver_operations_total", "operation", "ObserveBucket"),
			m.delta(m0, "pail_driver_operations_total", "operation", "ObserveUser")
	}
	deadline := time.Now().Add(time.Minute)
	for b, u := observes(); b < nBuckets+1 || u < 1; b, u = observes() {
		if time.Now().After(deadline) {
			t.Fatalf("in a minute operator B observed %v of %d buckets and %v of 1 users\n%s", b, nBuckets+1, u, tail(logB.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	observed := time.Since(restarted)
	waitQuiet(t, 2*time.Second)
	stopB()
	m1 := gather(t)
	after := snapshot(t, k8s)

	writes := counter.writes()
	t.Logf("restart over %d in-sync Buckets, an AccessKey and a BucketPolicy: B had observed all of them %s after it started", nBuckets, observed.Round(10*time.Millisecond))
	t.Logf("apiserver requests from B by verb and resource: %s", counter.String())
	t.Logf("writes: %d %v", total(writes), writes)
	reconciles := map[string]float64{}
	errs := map[string]float64{}
	for _, c := range []string{"bucket", "provider", "accesskey", "bucketpolicy"} {
		reconciles[c] = m1.delta(m0, "controller_runtime_reconcile_total", "controller", c)
		errs[c] = m1.delta(m0, "controller_runtime_reconcile_errors_total", "controller", c)
	}
	t.Logf("reconciles: %v, reconcile errors: %v", reconciles, errs)
	s3Reads := m1.delta(m0, "pail_driver_http_requests_total", "operation", "ObserveBucket")
	s3Writes := m1.delta(m0, "pail_driver_operations_total", "operation", "ApplyBucket") + m1.delta(m0, "pail_driver_operations_total", "operation", "DeleteBucket")
	checks := m1.delta(m0, "pail_driver_operations_total", "operation", "CheckProvider")
	t.Logf("S3: %v requests observing %d Buckets (%d managed sub-resources in all) and the policy, %v writes, %v Provider checks", s3Reads, nBuckets, managedReads, s3Writes, checks)

	assert.Zero(t, total(writes), "a restart over an in-sync estate writes nothing to the apiserver: %v", writes)
	for c, n := range errs {
		assert.Zero(t, n, "reconcile errors in the %s controller", c)
	}
	assert.Zero(t, s3Writes, "no S3 writes")
	assert.LessOrEqual(t, s3Reads, float64(nBuckets+managedReads+1), "at most one read per managed sub-resource, plus the existence check, per Bucket (and the BucketPolicy's one)")
	assert.Zero(t, checks, "a Provider checked within its recheck interval is not checked again at start")
	flips := 0
	for key, was := range before {
		now := after[key]
		if was != now {
			flips++
			if flips <= 5 {
				t.Errorf("%s changed across the restart:\n  before %s\n  after  %s", key, was, now)
			}
		}
	}
	assert.Zero(t, flips, "objects whose status changed across the restart")
	if t.Failed() {
		t.Logf("operator B log tail:\n%s", tail(logB.String()))
	}
}

// createBuckets creates the estate and returns how many sub-resources its
// Buckets manage in all.
func createBuckets(t *testing.T, k8s client.Client, stamp int64) int {
	t.Helper()
	managed := 0
	var buckets []*pailv1.Bucket
	for i := range nBuckets {
		b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("b%03d", i)},
			Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "minio"}, BucketName: fmt.Sprintf("restart-%03d-%d", i, stamp)}}
		if i%10 == 0 {
			b.Spec.Versioning = &pailv1.VersioningSpec{Status: "Enabled"}
		}
		if i%7 == 0 {
			b.Spec.Tags = map[string]string{"team": "storage", "index": strconv.Itoa(i)}
		}
		if i == 2 { // the BucketPolicy's bucket opts into public read
			b.Annotations = map[string]string{pailv1.AnnotationPublic: "true"}
		}
		desired, err := bucketdiff.Desired(&b.Spec)
		require.NoError(t, err)
		managed += len(bucketdiff.Managed(desired))
		if !bucketdiff.Has(desired, abi.SubTagging) {
			managed++ // the ownership mark is read with the tags, also when the spec sets none
		}
		buckets = append(buckets, b)
	}
	var wg sync.WaitGroup
	errs := make(chan error, nBuckets)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < nBuckets; i += 8 {
				if err := k8s.Create(context.Background(), buckets[i]); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return managed
}

// publicRead is a bucket policy the built-in packs allow (with warnings)
// on a Bucket that opts into being public.
func publicRead(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
 {"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
 {"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%[1]s/*"}]}`, bucket)
}

// start runs an operator in-process and returns a function that stops it
// and waits until it has stopped (safe to call twice).
func start(t *testing.T, cfg *rest.Config, drivers string, log *syncWriter) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	op, err := operator.New(ctx, operator.Options{
		RestConfig: cfg,
		DriverDir:  drivers,
		PolicyDir:  filepath.Join(repoRoot(), "policies"),
		CacheDir:   operator.DefaultCacheDir(),
		Preload:    []string{"minio"},
		Logger:     logging.New("pail", "info", true, log),
	})
	if err != nil {
		cancel()
		t.Fatalf("operator: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- op.Start(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err, "operator stopped with an error") //nolint:testifylint // stop also runs as a cleanup; it reports like the timeout beside it
			case <-time.After(30 * time.Second):
				t.Errorf("operator did not stop within 30 s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitInSync waits until every Bucket and the Provider are Ready for their
// current generation.
func waitInSync(t *testing.T, k8s client.Client, timeout time.Duration, log func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var list pailv1.BucketList
		require.NoError(t, k8s.List(context.Background(), &list, client.InNamespace(ns)))
		ready := 0
		reasons := map[string]int{}
		for _, b := range list.Items {
			c := apimeta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionReady)
			if c != nil && c.Status == metav1.ConditionTrue && b.Status.ObservedGeneration == b.Generation {
				ready++
			} else if c != nil {
				reasons[c.Reason]++
			}
		}
		if ready == nBuckets && othersReady(k8s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Buckets Ready after %s; the others: %v\n%s", ready, nBuckets, timeout, reasons, log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// othersReady reports whether the AccessKey and the BucketPolicy are Ready
// for their current generation.
func othersReady(k8s client.Client) bool {
	var ak pailv1.AccessKey
	var bp pailv1.BucketPolicy
	if k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "app"}, &ak) != nil ||
		k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "public"}, &bp) != nil {
		return false
	}
	return apimeta.IsStatusConditionTrue(ak.Status.Conditions, pailv1.ConditionReady) && ak.Status.ObservedGeneration == ak.Generation &&
		apimeta.IsStatusConditionTrue(bp.Status.Conditions, pailv1.ConditionReady) && bp.Status.ObservedGeneration == bp.Generation
}

// snapshot records, per object, what a restart must not change: its
// resourceVersion (any write changes it) and each condition's status,
// reason and lastTransitionTime.
func snapshot(t *testing.T, k8s client.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	describe := func(rv string, conds []metav1.Condition) string {
		parts := []string{"resourceVersion " + rv}
		for _, c := range conds {
			parts = append(parts, fmt.Sprintf("%s=%s/%s since %s", c.Type, c.Status, c.Reason, c.LastTransitionTime.UTC().Format(time.RFC3339)))
		}
		return strings.Join(parts, ", ")
	}
	var buckets pailv1.BucketList
	require.NoError(t, k8s.List(context.Background(), &buckets, client.InNamespace(ns)))
	require.Len(t, buckets.Items, nBuckets)
	for _, b := range buckets.Items {
		out["Bucket "+b.Name] = describe(b.ResourceVersion, b.Status.Conditions)
	}
	var keys pailv1.AccessKeyList
	require.NoError(t, k8s.List(context.Background(), &keys, client.InNamespace(ns)))
	for _, k := range keys.Items {
		out["AccessKey "+k.Name] = describe(k.ResourceVersion, k.Status.Conditions)
	}
	var policies pailv1.BucketPolicyList
	require.NoError(t, k8s.List(context.Background(), &policies, client.InNamespace(ns)))
	for _, p := range policies.Items {
		out["BucketPolicy "+p.Name] = describe(p.ResourceVersion, p.Status.Conditions)
	}
	var secrets corev1.SecretList
	require.NoError(t, k8s.List(context.Background(), &secrets, client.InNamespace(ns)))
	for _, sec := range secrets.Items {
		out["Secret "+sec.Name] = "resourceVersion " + sec.ResourceVersion
	}
	var providers pailv1.ProviderList
	require.NoError(t, k8s.List(context.Background(), &providers, client.InNamespace(ns)))
	for _, p := range providers.Items {
		out["Provider "+p.Name] = describe(p.ResourceVersion, p.Status.Conditions)
	}
	return out
}

// waitQuiet waits until no controller is working and no reconcile counter
// has moved for quiet.
func waitQuiet(t *testing.T, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last, since := gather(t).sum("controller_runtime_reconcile_total"), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("the operator never went quiet: %v reconciles and counting", last)
		}
		time.Sleep(100 * time.Millisecond)
		m := gather(t)
		if n := m.sum("controller_runtime_reconcile_total"); n != last || m.sum("controller_runtime_active_workers") > 0 {
			last, since = n, time.Now()
		}
	}
}

// requestCounter counts the apiserver requests of one rest.Config.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int // "VERB resource[/subresource]"
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		verb := req.Method
		if verb == http.MethodGet && req.URL.Query().Get("watch") == "true" {
			verb = "WATCH"
		}
		c.mu.Lock()
		c.counts[verb+" "+resourceOf(req.URL.Path)]++
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// writes returns the counts of POST, PUT, PATCH and DELETE requests.
func (c *requestCounter) writes() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, n := range c.counts {
		switch strings.Fields(k)[0] {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			out[k] = n
		}
	}
	return out
}

func (c *requestCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, c.counts[k]))
	}
	return strings.Join(parts, ", ")
}

// resourceOf turns an API path into its resource and subresource:
// /apis/pail.dev/v1alpha1/namespaces/ns/buckets/b/status is buckets/status.
func resourceOf(path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	i := 2 // api/v1/...
	if len(seg) > 0 && seg[0] == "apis" {
		i = 3 // apis/group/version/...
	}
	if len(seg) > i+1 && seg[i] == "namespaces" && len(seg) > i+2 {
		i += 2
	}
	if len(seg) <= i {
		return path
	}
	res := seg[i]
	if len(seg) > i+2 {
		res += "/" + seg[i+2]
	}
	return res
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// metricsSnapshot is the process's controller-runtime registry, which every
// in-process operator registers its metrics in.
type metricsSnapshot []*dto.MetricFamily

func gather(t *testing.T) metricsSnapshot {
	t.Helper()
	mfs, err := crmetrics.Registry.Gather()
	require.NoError(t, err)
	return mfs
}

// value sums the counters or gauges of family name whose label key is
// value (every series when key is "").
func (s metricsSnapshot) value(name, key, value string) float64 {
	sum := 0.0
	for _, mf := range s {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if key != "" && !hasLabel(m, key, value) {
				continue
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func (s metricsSnapshot) sum(name string) float64 { return s.value(name, "", "") }

func (s metricsSnapshot) delta(before metricsSnapshot, name, key, value string) float64 {
	return s.value(name, key, value) - before.value(name, key, value)
}

func hasLabel(m *dto.Metric, key, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == key && l.GetValue() == value {
			return true
		}
	}
	return false
}

// syncWriter keeps an operator's log; its goroutines write concurrently.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}
