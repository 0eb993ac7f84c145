package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestDriverCannotReachOtherHosts runs the rogue wasm driver, which asks the
// host for a URL that is not its Provider's endpoint, and proves the host
// refuses it before any packet leaves: the other server sees no request.
func TestDriverCannotReachOtherHosts(t *testing.T) {
	var hits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()

	ns := namespace(t)
	ctx := context.Background()
	sec := credentialsSecret(ns, "creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	// The rogue driver fetches the URL in spec.region instead of its endpoint.
	p := newProvider(ns, "rogue", "rogue", suite.minio.Endpoint, sec.Name)
	p.Spec.Region = other.URL + "/steal"
	require.NoError(t, suite.k8s.Create(ctx, p))

	got := waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionEndpointReachable, metav1.ConditionFalse, 120*time.Second)
	msg := condition(got.Status.Conditions, pailv1.ConditionEndpointReachable).Message
	assert.Contains(t, msg, "host not allowed")
	assert.Contains(t, msg, other.Listener.Addr().String())
	assert.Zero(t, hits.Load(), "the host refused the request before sending it")
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status)
}

// TestHostileDriversAreContained runs one Provider per misbehaviour of the
// rogue wasm driver: it traps, loops forever, allocates without limit,
// floods the log, calls a host that is not allowed, follows an allowed host
// that redirects to one that is not, and reads a gigantic response. Each
// call fails cleanly (a trap discards the instance), each Provider shows a
// condition naming the cause, and meanwhile the operator keeps reconciling
// another Provider's Buckets.
func TestHostileDriversAreContained(t *testing.T) {
	var otherHits, redirects atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, _ *http.Request) {
		otherHits.Add(1)
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, other.URL+"/stolen", http.StatusFound)
	}))
	defer redirector.Close()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 1<<20)
		for range 1024 { // 1 GiB, unless the reader gives up
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer huge.Close()

	ns := namespace(t)
	ctx := context.Background()
	sec := credentialsSecret(ns, "creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	trapsBefore := testutil.ToFloat64(suite.op.Metrics.DriverTraps.WithLabelValues("rogue"))

	tests := []struct {
		name, endpoint, region string
		want                   []string // in the condition's message
		trap                   bool     // DriverReady=False (DriverTrapped), else EndpointReachable=False
	}{
		{name: "trap", endpoint: suite.minio.Endpoint, region: "trap", want: []string{"trapped during CheckProvider (instance discarded)"}, trap: true},
		{name: "spin", endpoint: suite.minio.Endpoint, region: "spin", want: []string{"call exceeded its deadline"}, trap: true},
		{name: "alloc", endpoint: suite.minio.Endpoint, region: "alloc", want: []string{"trapped during CheckProvider (instance discarded)"}, trap: true},
		{name: "flood", endpoint: suite.minio.Endpoint, region: "flood", want: []string{"flooded the log"}, trap: true},
		{name: "other-host", endpoint: suite.minio.Endpoint, region: other.URL + "/steal", want: []string{"host not allowed"}},
		{name: "redirect", endpoint: redirector.URL, region: redirector.URL + "/go", want: []string{"answered 302"}},
		{name: "huge", endpoint: huge.URL, region: huge.URL + "/big", want: []string{"response body exceeds 16777216 bytes"}},
	}
	for _, tc := range tests {
		p := newProvider(ns, tc.name, "rogue", tc.endpoint, sec.Name)
		p.Spec.Region = tc.region
		require.NoError(t, suite.k8s.Create(ctx, p))
	}

	// While the hostile Providers fail, a healthy one's Bucket is reconciled.
	healthy := minioProvider(t, ns, "healthy")
	b := newBucket(ns, "fine", healthy.Name, uniqueBucket("fine"), "")
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := pailv1.ConditionEndpointReachable
			if tc.trap {
				typ = pailv1.ConditionDriverReady
			}
			got := waitProviderCondition(t, client.ObjectKey{Namespace: ns, Name: tc.name}, typ, metav1.ConditionFalse, 120*time.Second)
			c := condition(got.Status.Conditions, typ)
			if tc.trap {
				assert.Equal(t, pailv1.ReasonDriverTrapped, c.Reason)
			}
			msg := c.Message
			t.Logf("%s: %s", tc.name, msg)
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
			assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status)
		})
	}
	assert.Zero(t, otherHits.Load(), "neither the disallowed host nor the redirect target saw a request")
	assert.Positive(t, redirects.Load(), "the allowed host was asked, and its redirect not followed")
	assert.GreaterOrEqual(t, testutil.ToFloat64(suite.op.Metrics.DriverTraps.WithLabelValues("rogue"))-trapsBefore, 4.0, "trap, spin, alloc and flood each discarded an instance")

	// After all that, the healthy Provider still serves new work.
	b2 := newBucket(ns, "still-fine", healthy.Name, uniqueBucket("still"), "")
	require.NoError(t, suite.k8s.Create(ctx, b2))
	waitBucket(t, client.ObjectKeyFromObject(b2), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
}
