package integration

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestProviderRateLimit puts a Provider's requests through a recording proxy
// in front of MinIO: with rateLimit 2/s and a burst of 2, no second of the
// run sees more than 4 requests (a full bucket plus a second's refill), and
// every Bucket still becomes Ready.
func TestProviderRateLimit(t *testing.T) {
	target, err := url.Parse(suite.minio.Endpoint)
	require.NoError(t, err)
	var mu sync.Mutex
	var arrivals []time.Time
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		r.SetURL(target)
		r.Out.Host = r.In.Host // SigV4 signed the proxy's host
	}})
	defer proxy.Close()

	ns := namespace(t)
	ctx := context.Background()
	sec := credentialsSecret(ns, "creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "limited", "minio", proxy.URL, sec.Name)
	p.Spec.RateLimit = &pailv1.RateLimit{RequestsPerSecond: 2, Burst: 2}
	require.NoError(t, suite.k8s.Create(ctx, p))
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)

	var buckets []*pailv1.Bucket
	for i := range 6 {
		b := newBucket(ns, fmt.Sprintf("b%d", i), p.Name, uniqueBucket(fmt.Sprintf("limited%d", i)), "")
		require.NoError(t, suite.k8s.Create(ctx, b))
		buckets = append(buckets, b)
	}
	for _, b := range buckets {
		waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 3*time.Minute)
	}

	mu.Lock()
	times := append([]time.Time(nil), arrivals...)
	mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	// The busiest one-second window, with 100 ms of slack for the proxy.
	busiest := 0
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) < 900*time.Millisecond {
			j++
		}
		busiest = max(busiest, j-i)
	}
	t.Logf("%d requests through the proxy over %s; busiest second: %d", len(times), times[len(times)-1].Sub(times[0]).Round(time.Second), busiest)
	assert.GreaterOrEqual(t, len(times), 12, "six buckets cost at least two requests each")
	assert.LessOrEqual(t, busiest, 4, "2 requests/s with a burst of 2")
	// And the limiter really spread them: after the burst, one per 500 ms.
	span := times[len(times)-1].Sub(times[0])
	assert.GreaterOrEqual(t, span, time.Duration(len(times)-2)*500*time.Millisecond-500*time.Millisecond)
}
