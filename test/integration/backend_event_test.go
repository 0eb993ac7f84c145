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

// TestBackendErrorEmitsEvent stops the MinIO of a Bucket and an AccessKey:
// their next resync fails, they leave Ready with BackendError, and a
// Warning event says so on each (the docs promise an event on every
// transition). Once MinIO is back both are Ready again.
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
	ak := newAccessKey(ns, "flaky", p.Name)
	require.NoError(t, suite.k8s.Create(ctx, ak))
	akKey := client.ObjectKeyFromObject(ak)
	waitAccessKey(t, akKey, 2*time.Minute, "Ready", akReady)

	require.NoError(t, mio.Kill())
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonBackendError, 30*time.Second)
	assertEvent(t, ns, b.Name, pailv1.ReasonBackendError, "Could not observe bucket "+b.Spec.BucketName)
	waitAccessKey(t, akKey, 30*time.Second, "Ready=False BackendError", func(ak *pailv1.AccessKey) bool {
		c := condition(ak.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason == pailv1.ReasonBackendError
	})
	assertEvent(t, ns, ak.Name, pailv1.ReasonBackendError, "Could not manage user")

	require.NoError(t, mio.Restart(ctx))
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	waitAccessKey(t, akKey, time.Minute, "Ready again", akReady)
}
