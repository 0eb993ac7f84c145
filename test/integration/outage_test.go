package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/test/env"
)

// createBuckets creates n Buckets in parallel and returns them.
func createBuckets(t *testing.T, ns, provider, prefix string, n int) []*pailv1.Bucket {
	t.Helper()
	out, err := tryCreateBuckets(ns, provider, prefix, n)
	require.NoError(t, err)
	return out
}

// tryCreateBuckets is createBuckets for a goroutine other than the test's,
// where require (t.FailNow) must not be called.
func tryCreateBuckets(ns, provider, prefix string, n int) ([]*pailv1.Bucket, error) {
	out := make([]*pailv1.Bucket, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				b := newBucket(ns, fmt.Sprintf("%s-%03d", prefix, i), provider, fmt.Sprintf("%s-%s-%03d", prefix, ns, i), "")
				if err := suite.k8s.Create(context.Background(), b); err != nil {
					errs <- err
					return
				}
				out[i] = b
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return out, errors.Join(all...)
}

func waitAllReady(t *testing.T, ns string, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d Buckets Ready in %s", n, ns), func() (bool, string) {
		var list pailv1.BucketList
		if err := suite.k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		ready := 0
		reasons := map[string]int{}
		for _, b := range list.Items {
			c := condition(b.Status.Conditions, pailv1.ConditionReady)
			if c != nil && c.Status == metav1.ConditionTrue {
				ready++
			} else if c != nil {
				reasons[c.Reason]++
			}
		}
		return ready == n, fmt.Sprintf("%d/%d ready, others: %v", ready, n, reasons)
	})
}

// TestBackendOutageDuringCreation kills the S3 server while 200 Buckets are
// being created, restarts it, and expects every Bucket Ready with exactly one
// bucket each and nothing failed left behind.
func TestBackendOutageDuringCreation(t *testing.T) {
	ctx := context.Background()
	mio := env.MinIOForTest(t, env.MinIOOptions{Dir: t.TempDir()})
	s3, err := mio.Client()
	require.NoError(t, err)
	ns := namespace(t)
	sec := credentialsSecret(ns, "outage-creds", mio.AccessKey, mio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "outage", "minio", mio.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 30*time.Second)

	const n = 200
	done := make(chan error, 1)
	go func() {
		_, err := tryCreateBuckets(ns, p.Name, "out", n)
		done <- err
	}()
	// Kill the server once some buckets exist, mid-creation.
	waitFor(t, 60*time.Second, "the first buckets to be created", func() (bool, string) {
		bs, err := s3.ListBuckets(ctx)
		if err != nil {
			return false, err.Error()
		}
		return len(bs) >= 20, fmt.Sprintf("%d buckets", len(bs))
	})
	require.NoError(t, mio.Kill())
	t.Log("MinIO killed")
	time.Sleep(3 * time.Second)
	require.NoError(t, mio.Restart(ctx))
	t.Log("MinIO restarted")
	require.NoError(t, <-done, "create the Buckets")

	waitAllReady(t, ns, n, 3*time.Minute)
	bs, err := s3.ListBuckets(ctx)
	require.NoError(t, err)
	assert.Len(t, bs, n, "exactly one bucket per Bucket, no duplicates")
	var list pailv1.BucketList
	require.NoError(t, suite.k8s.List(ctx, &list, client.InNamespace(ns)))
	for _, b := range list.Items {
		for _, c := range b.Status.Conditions {
			assert.NotEqual(t, pailv1.ReasonBackendError, c.Reason, "%s: %s", b.Name, c.Message)
		}
		assert.Equal(t, pailv1.OwnershipCreated, b.Status.Ownership, b.Name)
	}
}

// TestManyBucketsOnSeveralProvidersInParallel reconciles Buckets on three
// Providers at once and expects no update conflicts in the operator's logs.
func TestManyBucketsOnSeveralProvidersInParallel(t *testing.T) {
	ns := namespace(t)
	var providers []string
	for i := range 3 {
		p := minioProvider(t, ns, fmt.Sprintf("p%d", i))
		providers = append(providers, p.Name)
	}
	const per = 40
	for _, p := range providers {
		createBuckets(t, ns, p, "par"+p, per)
	}
	waitAllReady(t, ns, per*len(providers), 3*time.Minute)
	time.Sleep(2 * resyncPeriod) // a couple of resyncs on top
	logs := suite.logs.String()
	assert.NotContains(t, logs, "the object has been modified", "no update conflicts in the logs")
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `"@level":"error"`) && strings.Contains(line, ns) {
			t.Errorf("error logged for this test's namespace: %s", line)
		}
	}
}
