// Package tolerance checks that one AccessKey the apiserver stored with a
// value the operator cannot use stops only that AccessKey, not every one.
// Such objects exist wherever they were stored before the CRD validated
// durations, so the test installs the AccessKey CRD with that validation
// stripped, on its own kube-apiserver, MinIO and in-process operator.
package tolerance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/logging"
	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/test/env"
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// preValidationCRDs copies the chart's CRDs into a directory, with every
// check on spec.rotation's durations removed from the AccessKey CRD, as an
// older CRD had them.
func preValidationCRDs(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(), "charts", "pail", "crds")
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	require.NoError(t, err)
	stripped := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if strings.HasSuffix(f, "pail.dev_accesskeys.yaml") {
			var crd map[string]any
			require.NoError(t, yaml.Unmarshal(b, &crd))
			for _, v := range crd["spec"].(map[string]any)["versions"].([]any) {
				props := dig(v, "schema", "openAPIV3Schema", "properties", "spec", "properties", "rotation", "properties")
				for _, field := range []string{"interval", "retention"} {
					f := props[field].(map[string]any)
					delete(f, "x-kubernetes-validations")
					delete(f, "maxLength")
					stripped++
				}
			}
			b, err = yaml.Marshal(crd)
			require.NoError(t, err)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600))
	}
	require.Positive(t, stripped, "the AccessKey CRD has rotation durations")
	return dir
}

func dig(v any, path ...string) map[string]any {
	m := v.(map[string]any)
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

// TestOneBadObjectStopsOnlyItself: an AccessKey with rotation.interval
// "banana" and a Provider whose status holds an odd time are stored;
// another namespace's Provider, AccessKey and Bucket still become Ready,
// the bad AccessKey gets InvalidSpec naming the field, and the Provider's
// status is rebuilt.
func TestOneBadObjectStopsOnlyItself(t *testing.T) {
	ctx := context.Background()
	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{preValidationCRDs(t)}})
	mio := env.MinIOForTest(t, env.MinIOOptions{})
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	k8s, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)

	// The bad object goes in first, as it would sit in etcd at an upgrade.
	for _, ns := range []string{"bad", "good"} {
		require.NoError(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
		require.NoError(t, k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "minio-root"},
			StringData: map[string]string{"AWS_ACCESS_KEY_ID": mio.AccessKey, "AWS_SECRET_ACCESS_KEY": mio.SecretKey},
		}))
		require.NoError(t, k8s.Create(ctx, &pailv1.Provider{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "minio"},
			Spec: pailv1.ProviderSpec{Driver: "minio", Endpoint: mio.Endpoint, PathStyle: true,
				CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "minio-root"}},
		}))
	}
	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "pail.dev/v1alpha1",
		"kind":       "AccessKey",
		"metadata":   map[string]any{"namespace": "bad", "name": "app"},
		"spec": map[string]any{
			"providerRef": map[string]any{"name": "minio"},
			"rotation":    map[string]any{"interval": "banana", "retention": "1 day"},
		},
	}}
	require.NoError(t, k8s.Create(ctx, bad), "the stripped CRD lets the bad durations in")
	good := &pailv1.AccessKey{
		ObjectMeta: metav1.ObjectMeta{Namespace: "good", Name: "app"},
		Spec:       pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: "minio"}},
	}
	require.NoError(t, k8s.Create(ctx, good))

	// A Provider whose status holds a condition time the apiserver's
	// date-time check accepts but metav1.Time does not: it once stopped
	// every Provider.
	goodBucket := &pailv1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: "good", Name: "data"},
		Spec:       pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "minio"}, BucketName: fmt.Sprintf("tolerance-%d", time.Now().UnixNano())},
	}
	require.NoError(t, k8s.Create(ctx, goodBucket))
	odd := &pailv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bad", Name: "odd-status"},
		Spec: pailv1.ProviderSpec{Driver: "minio", Endpoint: mio.Endpoint, PathStyle: true,
			CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "minio-root"}},
	}
	require.NoError(t, k8s.Create(ctx, odd))
	oddStatus := &unstructured.Unstructured{}
	oddStatus.SetGroupVersionKind(pailv1.GroupVersion.WithKind("Provider"))
	oddStatus.SetNamespace("bad")
	oddStatus.SetName("odd-status")
	require.NoError(t, k8s.Status().Patch(ctx, oddStatus, client.RawPatch(types.MergePatchType, []byte(
		`{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Unknown","message":"Written by hand.","lastTransitionTime":"2026-01-01t00:00:00z"}]}}`))),
		"the apiserver accepts a lower-case t and z in a date-time")

	logs := &lockedWriter{w: &strings.Builder{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("operator log tail:\n%s", logs.String())
		}
	})
	opCtx, stop := context.WithCancel(ctx)
	op, err := operator.New(opCtx, operator.Options{
		RestConfig: kube.Config,
		DriverDir:  env.DriverDirForTest(t, repoRoot()),
		PolicyDir:  filepath.Join(repoRoot(), "policies"),
		CacheDir:   operator.DefaultCacheDir(),
		Preload:    []string{"minio"},
		Logger:     logging.New("pail", "info", true, logs),
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- op.Start(opCtx) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the operator did not stop within 30s")
		}
	})

	var got pailv1.AccessKey
	waitFor(t, 2*time.Minute, "the good AccessKey in the other namespace to be Ready", func() (bool, string) {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(good), &got); err != nil {
			return false, err.Error()
		}
		return meta.IsStatusConditionTrue(got.Status.Conditions, pailv1.ConditionReady) && got.Status.AccessKeyID != "", fmt.Sprintf("%+v", got.Status.Conditions)
	})
	waitFor(t, time.Minute, "the bad AccessKey to get InvalidSpec naming the field", func() (bool, string) {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "bad", Name: "app"}, &got); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(got.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason == pailv1.ReasonInvalidSpec && strings.Contains(c.Message, "spec.rotation.interval") && strings.Contains(c.Message, "banana"),
			fmt.Sprintf("%+v", got.Status.Conditions)
	})
	require.Empty(t, got.Status.AccessKeyID, "nothing is created for the bad AccessKey")
	require.Nil(t, got.Status.Location, "nothing is established for the bad AccessKey")
	waitFor(t, 30*time.Second, "a Warning event on the bad AccessKey", func() (bool, string) {
		var list corev1.EventList
		if err := k8s.List(ctx, &list, client.InNamespace("bad")); err != nil {
			return false, err.Error()
		}
		for _, e := range list.Items {
			if e.Reason == pailv1.ReasonInvalidSpec && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "spec.rotation.interval") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(list.Items))
	})
	waitFor(t, time.Minute, "the good Bucket to be Ready", func() (bool, string) {
		var b pailv1.Bucket
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(goodBucket), &b); err != nil {
			return false, err.Error()
		}
		return meta.IsStatusConditionTrue(b.Status.Conditions, pailv1.ConditionReady), fmt.Sprintf("%+v", b.Status.Conditions)
	})
	waitFor(t, time.Minute, "the Provider with the odd status time to be checked and Ready", func() (bool, string) {
		var p pailv1.Provider
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(odd), &p); err != nil {
			return false, err.Error()
		}
		return meta.IsStatusConditionTrue(p.Status.Conditions, pailv1.ConditionReady), fmt.Sprintf("%+v", p.Status.Conditions)
	})

	// The stored text is kept as it was: the operator's status writes did
	// not rewrite the spec.
	require.NoError(t, k8s.Get(ctx, client.ObjectKey{Namespace: "bad", Name: "app"}, bad))
	iv, _, _ := unstructured.NestedString(bad.Object, "spec", "rotation", "interval")
	require.Equal(t, "banana", iv)
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
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
}

// lockedWriter collects the operator's log for a failing test's report.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.w.String()
	if len(s) > 6000 {
		s = s[len(s)-6000:]
	}
	return s
}
