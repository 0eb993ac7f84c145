package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
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

func TestLocalArgs(t *testing.T) {
	p := localPaths{
		driverDir: "/repo/bin/drivers", policyDir: "/repo/policies", cacheDir: "/cache/wasm",
		metricsAddr: "127.0.0.1:40001", probeAddr: "127.0.0.1:40002",
	}
	mapped := []string{
		"--driver-dir=/repo/bin/drivers", "--policy-dir=/repo/policies", "--cache-dir=/cache/wasm",
		"--metrics-bind-address=127.0.0.1:40001", "--metrics-secure=false", "--health-probe-bind-address=127.0.0.1:40002", "--webhook-port=0",
	}
	tests := []struct {
		name  string
		args  []string
		want  []string
		notes int
	}{
		{
			name: "what the chart renders",
			args: []string{
				"--metrics-bind-address=:8080", "--metrics-secure=true", "--health-probe-bind-address=:8081", "--driver-dir=/drivers",
				"--policy-dir=/policies", "--cache-dir=/var/cache/pail/wasm", "--cache-seed-dir=/opt/pail/wasm-cache",
				"--log-level=info", "--plugin-namespace=pail-system", "--webhook-port=9443",
				"--webhook-cert-dir=/tmp/k8s-webhook-server/serving-certs",
			},
			want: []string{
				"--metrics-bind-address=127.0.0.1:40001", "--metrics-secure=false", "--health-probe-bind-address=127.0.0.1:40002",
				"--driver-dir=/repo/bin/drivers", "--policy-dir=/repo/policies", "--cache-dir=/cache/wasm",
				"--log-level=info", "--plugin-namespace=pail-system", "--webhook-port=0",
			},
			notes: 9,
		},
		{
			name:  "space-separated values and unknown flags pass through in order",
			args:  []string{"--leader-elect", "--driver-dir", "/drivers", "-kubeconfig", "/in/pod", "--preload=minio", "extra"},
			want:  append([]string{"--leader-elect", "--driver-dir=/repo/bin/drivers", "--preload=minio", "extra"}, mapped[1:]...),
			notes: 8,
		},
		{
			name:  "nothing given: the image's defaults are replaced too",
			args:  nil,
			want:  mapped,
			notes: 7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := localArgs(tt.args, p)
			require.Equal(t, tt.want, got)
			require.Len(t, notes, tt.notes, "one note per mapped, dropped or added flag: %q", notes)
		})
	}
	t.Run("a bare boolean flag takes no value from the next argument", func(t *testing.T) {
		got, _ := localArgs([]string{"--metrics-secure", "--preload=minio"}, p)
		require.Contains(t, got, "--preload=minio")
		require.Contains(t, got, "--metrics-secure=false")
	})
}

func TestContainerEnv(t *testing.T) {
	vars := []corev1.EnvVar{
		{Name: "GOMEMLIMIT", Value: "400MiB"},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "t"}}},
	}
	env, skipped := containerEnv(vars, "pail-system", "pail-local")
	require.Equal(t, []string{"GOMEMLIMIT=400MiB", "POD_NAMESPACE=pail-system", "POD_NAME=pail-local"}, env)
	require.Len(t, skipped, 1)
	require.Contains(t, skipped[0], "TOKEN")
}

func TestFlagValue(t *testing.T) {
	args := []string{"--metrics-bind-address=:8080", "--health-probe-bind-address", ":8081", "--log-level=info", "--metrics-bind-address=:9090"}
	tests := []struct{ name, want string }{
		{"metrics-bind-address", ":9090"},
		{"health-probe-bind-address", ":8081"},
		{"webhook-port", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, flagValue(args, tt.name), tt.name)
	}
}
