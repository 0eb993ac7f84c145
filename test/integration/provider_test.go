package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/test/env"
)

func TestProviderWithRightCredentialsBecomesReady(t *testing.T) {
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	got := waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)

	for _, typ := range []string{pailv1.ConditionEndpointReachable, pailv1.ConditionAuthValid, pailv1.ConditionDriverReady} {
		c := condition(got.Status.Conditions, typ)
		require.NotNil(t, c, typ)
		assert.Equal(t, metav1.ConditionTrue, c.Status, typ)
		assert.Equal(t, got.Generation, c.ObservedGeneration, typ)
	}
	assert.Equal(t, "0.1.0", got.Status.DriverVersion)
	assert.NotNil(t, got.Status.LastCheckTime)
	assert.Zero(t, got.Status.ConsecutiveFailures)
}

func TestProviderWithWrongCredentialsBacksOff(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	sec := credentialsSecret(ns, "bad-creds", suite.minio.AccessKey, "definitely-not-the-secret")
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "bad", "minio", suite.minio.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	key := client.ObjectKeyFromObject(p)

	got := waitProviderCondition(t, key, pailv1.ConditionAuthValid, metav1.ConditionFalse, 60*time.Second)
	auth := condition(got.Status.Conditions, pailv1.ConditionAuthValid)
	assert.Equal(t, pailv1.ReasonCredentialsRefused, auth.Reason)
	assert.Contains(t, auth.Message, "refused the credentials")
	assert.Contains(t, auth.Message, "bad-creds", "the message names the Secret to fix")
	assert.NotContains(t, auth.Message, "definitely-not-the-secret", "the secret never appears in status")
	reach := condition(got.Status.Conditions, pailv1.ConditionEndpointReachable)
	require.NotNil(t, reach)
	assert.Equal(t, metav1.ConditionTrue, reach.Status, "the endpoint answered; only the credentials failed")
	ready := condition(got.Status.Conditions, pailv1.ConditionReady)
	assert.Equal(t, metav1.ConditionFalse, ready.Status)

	// Record when each failed check first shows up: with a 1 s base the
	// checks come 1 s, 2 s, then 4 s apart.
	seen := map[int32]time.Time{}
	waitFor(t, 30*time.Second, "four failed checks", func() (bool, string) {
		var cur pailv1.Provider
		if err := suite.k8s.Get(ctx, key, &cur); err != nil {
			return false, err.Error()
		}
		n := cur.Status.ConsecutiveFailures
		if _, ok := seen[n]; !ok && n > 0 {
			seen[n] = time.Now()
		}
		return n >= 4, fmt.Sprintf("failures=%d", n)
	})
	require.Contains(t, seen, int32(2))
	require.Contains(t, seen, int32(3))
	require.Contains(t, seen, int32(4))
	gap23 := seen[3].Sub(seen[2])
	gap34 := seen[4].Sub(seen[3])
	assert.Greater(t, gap34, gap23+gap23/2, "retries back off: gap 2→3 %s, gap 3→4 %s", gap23, gap34)
	var cur pailv1.Provider
	require.NoError(t, suite.k8s.Get(ctx, key, &cur))
	assert.Contains(t, condition(cur.Status.Conditions, pailv1.ConditionReady).Message, "next check in")

	// Fixing the Secret is enough: the Secret watch triggers a recheck at once,
	// without waiting out the backoff.
	fixed := sec.DeepCopy()
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(sec), fixed))
	fixed.Data["AWS_SECRET_ACCESS_KEY"] = []byte(suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Update(ctx, fixed))
	waitProviderCondition(t, key, pailv1.ConditionReady, metav1.ConditionTrue, 10*time.Second)
}

func TestProviderWithClosedPortIsUnreachable(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	port, err := env.FreePort() // free now, and nothing listens on it
	require.NoError(t, err)
	sec := credentialsSecret(ns, "creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "closed", "minio", fmt.Sprintf("http://127.0.0.1:%d", port), sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))

	got := waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionEndpointReachable, metav1.ConditionFalse, 60*time.Second)
	c := condition(got.Status.Conditions, pailv1.ConditionEndpointReachable)
	assert.Equal(t, pailv1.ReasonUnreachable, c.Reason)
	assert.Contains(t, c.Message, fmt.Sprintf("127.0.0.1:%d", port))
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status)
	assert.Equal(t, metav1.ConditionUnknown, condition(got.Status.Conditions, pailv1.ConditionAuthValid).Status)
}

func TestProviderWithUnknownDriverSaysSo(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	sec := credentialsSecret(ns, "creds", "a", "b")
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "nodriver", "no-such-driver", suite.minio.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	got := waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionDriverReady, metav1.ConditionFalse, 30*time.Second)
	waitFor(t, 10*time.Second, "DriverNotFound", func() (bool, string) {
		require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(p), got))
		c := condition(got.Status.Conditions, pailv1.ConditionDriverReady)
		return c.Reason == pailv1.ReasonDriverNotFound, describeConds(got.Status.Conditions)
	})
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionDriverReady).Message, "no-such-driver")
}

// TestProviderAgainstAPlainWebServerIsNotReady: a web server that answers
// 200 to everything (an HTML page, or nothing) is not an S3 endpoint. Every
// built-in driver says so, by reason, instead of reporting Ready; MinIO and
// versitygw stay Ready (TestProviderWithRightCredentialsBecomesReady,
// TestAWSAndWasabiDriversOnVersityGW).
func TestProviderAgainstAPlainWebServerIsNotReady(t *testing.T) {
	ctx := context.Background()
	for _, body := range []struct{ name, contentType, text string }{
		{"html", "text/html; charset=utf-8", "<!DOCTYPE html><html><head><title>Welcome</title></head><body>It works!</body></html>"},
		{"empty", "", ""},
	} {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if body.contentType != "" {
				w.Header().Set("Content-Type", body.contentType)
			}
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, body.text)
		}))
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv.Listener = l
		srv.Start()
		t.Cleanup(srv.Close)
		for _, driver := range []string{"aws", "wasabi", "minio"} {
			t.Run(body.name+"/"+driver, func(t *testing.T) {
				ns := namespace(t)
				sec := credentialsSecret(ns, "creds", "AKIAEXAMPLE", "not-checked-by-a-web-server")
				require.NoError(t, suite.k8s.Create(ctx, sec))
				p := newProvider(ns, "web", driver, srv.URL, sec.Name)
				require.NoError(t, suite.k8s.Create(ctx, p))
				key := client.ObjectKeyFromObject(p)
				var got pailv1.Provider
				waitFor(t, 60*time.Second, "Ready=False NotS3Endpoint", func() (bool, string) {
					require.NoError(t, suite.k8s.Get(ctx, key, &got))
					c := condition(got.Status.Conditions, pailv1.ConditionReady)
					return c != nil && c.Reason == pailv1.ReasonNotS3Endpoint, describeConds(got.Status.Conditions)
				})
				ready := condition(got.Status.Conditions, pailv1.ConditionReady)
				assert.Equal(t, metav1.ConditionFalse, ready.Status)
				assert.Contains(t, ready.Message, "not as an S3 API")
				assert.Contains(t, ready.Message, "ListAllMyBucketsResult")
				assert.Contains(t, ready.Message, "spec.endpoint")
				assert.NotContains(t, ready.Message, "..", "one full stop per sentence")
				assert.Equal(t, metav1.ConditionTrue, condition(got.Status.Conditions, pailv1.ConditionEndpointReachable).Status)
				assert.Equal(t, metav1.ConditionUnknown, condition(got.Status.Conditions, pailv1.ConditionAuthValid).Status,
					"a web server says nothing about the credentials")
				assertEvent(t, ns, "web", pailv1.ReasonNotS3Endpoint, "not as an S3 API")
			})
		}
	}
}
