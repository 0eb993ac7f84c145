package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/test/env"
)

// TestBackendErrorEmitsEvent stops the Bucket's MinIO: the next resync
// fails, the Bucket leaves Ready with BackendError, and a Warning event
// says so (the docs promise an event on every transition). Once MinIO is
// back the Bucket is Ready again.
func TestBackendErrorEmitsEvent(t *testing.T) {
	ctx := context.Background()
	mio := env.MinIOForTest(t, env.MinIOOptions{Dir: t.TempDir()})
	ns := namespace(t)
	sec := credentialsSecret(ns, "flaky-creds", mio.AccessKey, mio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "flaky", "minio", mio.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 30*time.Second)
	b := newBucket(ns, "flaky", p.Name, uniqueBucket("flaky"), "")
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	require.NoError(t, mio.Kill())
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonBackendError, 30*time.Second)
	assertEvent(t, ns, b.Name, pailv1.ReasonBackendError, "Could not observe bucket "+b.Spec.BucketName)

	require.NoError(t, mio.Restart(ctx))
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
}
