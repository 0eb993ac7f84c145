package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(ns, name string, generation int64, conds ...map[string]any) unstructured.Unstructured {
	u := unstructured.Unstructured{Object: map[string]any{}}
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetGeneration(generation)
	if len(conds) > 0 {
		list := make([]any, len(conds))
		for i, c := range conds {
			list[i] = c
		}
		_ = unstructured.SetNestedSlice(u.Object, list, "status", "conditions")
	}
	return u
}

func ready(status, reason string, og int64) map[string]any {
	return map[string]any{"type": "Ready", "status": status, "reason": reason, "observedGeneration": og}
}

func TestSummarize(t *testing.T) {
	line, done := summarize(nil, nil)
	require.Equal(t, "  providers 0/0 Ready, buckets 0/0 Ready", line)
	require.False(t, done, "nothing applied yet is not done")

	providers := []unstructured.Unstructured{obj("default", "minio", 1, ready("True", "Available", 1))}
	buckets := []unstructured.Unstructured{
		obj("default", "logs", 1, ready("True", "Created", 1)),
		obj("default", "photos", 1, ready("False", "ProviderNotReady", 1)),
	}
	line, done = summarize(providers, buckets)
	require.Equal(t, "  providers 1/1 Ready, buckets 1/2 Ready (waiting: photos: ProviderNotReady)", line)
	require.False(t, done)

	buckets[1] = obj("team", "photos", 2, ready("True", "Created", 1))
	line, done = summarize(providers, buckets)
	require.Equal(t, "  providers 1/1 Ready, buckets 1/2 Ready (waiting: team/photos: Created (stale))", line)
	require.False(t, done)

	buckets[1] = obj("default", "photos", 2)
	line, _ = summarize(providers, buckets)
	require.Contains(t, line, "photos: NoReadyCondition")

	buckets[1] = obj("default", "photos", 2, ready("True", "Created", 2))
	line, done = summarize(providers, buckets)
	require.Equal(t, "  providers 1/1 Ready, buckets 2/2 Ready", line)
	require.True(t, done)
}

func TestRewriteEndpoint(t *testing.T) {
	src := t.TempDir()
	f := filepath.Join(src, "provider.yaml")
	require.NoError(t, os.WriteFile(f, []byte("endpoint: http://127.0.0.1:9000\n"), 0o644))
	files, err := yamlFiles(src)
	require.NoError(t, err)
	require.Equal(t, []string{f}, files)

	dst := filepath.Join(t.TempDir(), "out")
	out, err := rewriteEndpoint(files, dst, quickstartEndpoint, "http://127.0.0.1:34567")
	require.NoError(t, err)
	b, err := os.ReadFile(out[0])
	require.NoError(t, err)
	require.Equal(t, "endpoint: http://127.0.0.1:34567\n", string(b))
}
