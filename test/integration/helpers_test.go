package integration

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// logBuffer collects the operator's logs so tests can scan them.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) Tail(n int) string {
	lines := strings.Split(l.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func credentialsSecret(ns, name, id, secret string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret},
	}
}

func newProvider(ns, name, driver, endpoint, secretName string) *pailv1.Provider {
	return &pailv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: pailv1.ProviderSpec{
			Driver:               driver,
			Endpoint:             endpoint,
			Region:               "us-east-1",
			PathStyle:            true,
			CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: secretName},
		},
	}
}

// minioProvider creates a Secret with MinIO's root credentials and a
// Provider for it.
func minioProvider(t *testing.T, ns, name string) *pailv1.Provider {
	t.Helper()
	ctx := context.Background()
	sec := credentialsSecret(ns, name+"-creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, name, "minio", suite.minio.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	return p
}

func newBucket(ns, name, provider, bucketName string, policy pailv1.DeletionPolicy) *pailv1.Bucket {
	return &pailv1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: pailv1.BucketSpec{
			ProviderRef:    pailv1.ProviderReference{Name: provider},
			BucketName:     bucketName,
			DeletionPolicy: policy,
		},
	}
}

// uniqueBucket returns a bucket name no other test uses.
func uniqueBucket(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// waitFor polls until cond returns true, reporting the last state on timeout.
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
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
}

func condition(conds []metav1.Condition, typ string) *metav1.Condition {
	return meta.FindStatusCondition(conds, typ)
}

func describeConds(conds []metav1.Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

// waitProviderCondition waits for a Provider condition to reach status.
func waitProviderCondition(t *testing.T, key types.NamespacedName, typ string, st metav1.ConditionStatus, timeout time.Duration) *pailv1.Provider {
	t.Helper()
	var p pailv1.Provider
	waitFor(t, timeout, fmt.Sprintf("Provider %s %s=%s", key, typ, st), func() (bool, string) {
		if err := suite.k8s.Get(context.Background(), key, &p); err != nil {
			return false, err.Error()
		}
		c := condition(p.Status.Conditions, typ)
		return c != nil && c.Status == st, describeConds(p.Status.Conditions)
	})
	return &p
}

// waitBucket waits until the Bucket's condition typ has status st (and reason, when given).
func waitBucket(t *testing.T, key types.NamespacedName, typ string, st metav1.ConditionStatus, reason string, timeout time.Duration) *pailv1.Bucket {
	t.Helper()
	var b pailv1.Bucket
	waitFor(t, timeout, fmt.Sprintf("Bucket %s %s=%s %s", key, typ, st, reason), func() (bool, string) {
		if err := suite.k8s.Get(context.Background(), key, &b); err != nil {
			return false, err.Error()
		}
		c := condition(b.Status.Conditions, typ)
		return c != nil && c.Status == st && (reason == "" || c.Reason == reason), describeConds(b.Status.Conditions)
	})
	return &b
}

func waitGone(t *testing.T, obj client.Object, timeout time.Duration) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	waitFor(t, timeout, fmt.Sprintf("%T %s to be deleted", obj, key), func() (bool, string) {
		err := suite.k8s.Get(context.Background(), key, obj)
		if client.IgnoreNotFound(err) == nil && err != nil {
			return true, ""
		}
		return false, fmt.Sprintf("still present, finalizers %v", obj.GetFinalizers())
	})
}

func bucketExists(t *testing.T, name string) bool {
	t.Helper()
	ok, err := suite.s3.BucketExists(context.Background(), name)
	require.NoError(t, err)
	return ok
}

func bytesReader(s string) *bytes.Reader { return bytes.NewReader([]byte(s)) }
