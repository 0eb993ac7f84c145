// Package failover runs two operator processes against one apiserver with
// leader election, kills the leader with SIGKILL, and measures how long the
// standby takes to take over and reconcile.
package failover

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/test/env"
)

const leaseName = "pail-operator.pail.dev"

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func TestLeaderFailover(t *testing.T) {
	ctx := context.Background()
	bin := env.OperatorForTest(t, repoRoot())
	drivers := env.DriverDirForTest(t, repoRoot())

	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{filepath.Join(repoRoot(), "charts", "pail", "crds")}})
	mio := env.MinIOForTest(t, env.MinIOOptions{})
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	k8s, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)

	logDir := t.TempDir()
	start := func(name string) *env.Process {
		f, err := os.Create(filepath.Join(logDir, name+".log"))
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		cmd := exec.Command(bin,
			"--kubeconfig", kube.Kubeconfig,
			"--driver-dir", drivers,
			"--policy-dir", filepath.Join(repoRoot(), "policies"),
			"--cache-dir", operator.DefaultCacheDir(),
			"--preload", "minio",
			"--metrics-bind-address", "0",
			"--health-probe-bind-address", "0",
			"--webhook-port", "0",
			"--leader-elect", "--leader-election-namespace", "default",
		)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig)
		cmd.Stdout, cmd.Stderr = f, f
		p, err := env.StartProcess(name, cmd)
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Stop() })
		return p
	}
	holder := func() string {
		var l coordinationv1.Lease
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "default", Name: leaseName}, &l); err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	logOf := func(name string) []byte {
		b, _ := os.ReadFile(filepath.Join(logDir, name+".log"))
		return b
	}
	waitFor := func(timeout time.Duration, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s\n--- a.log ---\n%s\n--- b.log ---\n%s", timeout, what, tail(logOf("a")), tail(logOf("b")))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// started reports whether a controller started its workers.
	started := func(name, controller string) bool {
		for line := range bytes.Lines(logOf(name)) {
			if bytes.Contains(line, []byte("Starting workers")) && bytes.Contains(line, []byte(`"controller":"`+controller+`"`)) {
				return true
			}
		}
		return false
	}
	// Only the leader starts the controllers that write (the Bucket one
	// stands for them all); the policy-pack controller runs on every
	// replica, so that each one's webhook judges with the same packs.
	reconciling := func(name string) bool { return started(name, "bucket") }

	a := start("a")
	waitFor(time.Minute, "a to lead", func() bool { return holder() != "" && reconciling("a") })
	leaderA := holder()
	b := start("b")
	defer b.Stop()

	require.NoError(t, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "minio"},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": mio.AccessKey, "AWS_SECRET_ACCESS_KEY": mio.SecretKey}}))
	require.NoError(t, k8s.Create(ctx, &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "minio"},
		Spec: pailv1.ProviderSpec{Driver: "minio", Endpoint: mio.Endpoint, PathStyle: true, CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "minio"}}}))
	bucket := func(name string) *pailv1.Bucket {
		b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "minio"}, BucketName: fmt.Sprintf("%s-%d", name, time.Now().UnixNano())}}
		require.NoError(t, k8s.Create(ctx, b))
		return b
	}
	ready := func(b *pailv1.Bucket) bool {
		var got pailv1.Bucket
		return k8s.Get(ctx, client.ObjectKeyFromObject(b), &got) == nil && apimeta.IsStatusConditionTrue(got.Status.Conditions, pailv1.ConditionReady)
	}
	first := bucket("first")
	waitFor(time.Minute, "the first Bucket to be Ready", func() bool { return ready(first) })
	time.Sleep(3 * time.Second)
	assert.False(t, reconciling("b"), "the standby does not reconcile while a leads")
	assert.True(t, started("b", "policypack"), "the standby loads the policy packs while a leads")
	assert.Equal(t, leaderA, holder())

	// Kill the leader without a chance to release the lease.
	killed := time.Now()
	require.NoError(t, a.Kill())
	second := bucket("second")
	waitFor(time.Minute, "b to take over", func() bool { h := holder(); return h != "" && h != leaderA })
	takeover := time.Since(killed)
	waitFor(time.Minute, "the second Bucket to be Ready", func() bool { return ready(second) })
	converged := time.Since(killed)
	assert.True(t, reconciling("b"))
	t.Logf("leader killed with SIGKILL: standby took the lease after %s, and a Bucket created at the kill was Ready after %s",
		takeover.Round(100*time.Millisecond), converged.Round(100*time.Millisecond))
	assert.Less(t, takeover, 20*time.Second, "takeover within the 20 s goal")
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// TestGracefulShutdown stops the operator with SIGTERM in the middle of
// creating Buckets: it exits cleanly (status 0, no panic, within the grace
// period the chart gives it) with driver calls finished or cancelled, and a
// restarted operator brings every Bucket to Ready.
func TestGracefulShutdown(t *testing.T) {
	ctx := context.Background()
	bin := env.OperatorForTest(t, repoRoot())
	drivers := env.DriverDirForTest(t, repoRoot())
	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{filepath.Join(repoRoot(), "charts", "pail", "crds")}})
	mio := env.MinIOForTest(t, env.MinIOOptions{})
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	k8s, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)
	logDir := t.TempDir()
	run := func(name string) (*exec.Cmd, chan error) {
		f, err := os.Create(filepath.Join(logDir, name+".log"))
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		cmd := exec.Command(bin, "--kubeconfig", kube.Kubeconfig, "--driver-dir", drivers,
			"--policy-dir", filepath.Join(repoRoot(), "policies"), "--cache-dir", operator.DefaultCacheDir(),
			"--preload", "minio", "--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--webhook-port", "0")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig)
		cmd.Stdout, cmd.Stderr = f, f
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, done
	}

	require.NoError(t, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "minio"},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": mio.AccessKey, "AWS_SECRET_ACCESS_KEY": mio.SecretKey}}))
	require.NoError(t, k8s.Create(ctx, &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "minio"},
		Spec: pailv1.ProviderSpec{Driver: "minio", Endpoint: mio.Endpoint, PathStyle: true, CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "minio"}}}))
	cmd, done := run("first")
	var buckets []*pailv1.Bucket
	for i := range 30 {
		b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("b%02d", i)},
			Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "minio"}, BucketName: fmt.Sprintf("graceful-%02d-%d", i, time.Now().UnixNano())}}
		require.NoError(t, k8s.Create(ctx, b))
		buckets = append(buckets, b)
	}
	// Stop as soon as the first Bucket is Ready: the rest are in flight.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var got pailv1.Bucket
		if k8s.Get(ctx, client.ObjectKeyFromObject(buckets[0]), &got) == nil && apimeta.IsStatusConditionTrue(got.Status.Conditions, pailv1.ConditionReady) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the first Bucket never became Ready")
		time.Sleep(50 * time.Millisecond)
	}
	stopped := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "exit status after SIGTERM\n%s", tail(readLog(logDir, "first")))
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM (the chart's grace period)\n%s", tail(readLog(logDir, "first")))
	}
	t.Logf("exited %s after SIGTERM", time.Since(stopped).Round(10*time.Millisecond))
	log := readLog(logDir, "first")
	assert.NotContains(t, string(log), "panic")
	assert.Contains(t, string(log), "All workers finished", "controllers drained their workers")

	_, _ = run("second")
	for _, b := range buckets {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var got pailv1.Bucket
			if k8s.Get(ctx, client.ObjectKeyFromObject(b), &got) == nil && apimeta.IsStatusConditionTrue(got.Status.Conditions, pailv1.ConditionReady) {
				break
			}
			require.True(t, time.Now().Before(deadline), "Bucket %s never became Ready after the restart", b.Name)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func readLog(dir, name string) []byte {
	b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
	return b
}

// TestAPIServerRestart restarts kube-apiserver under a running operator:
// its connections drop and its watches end, then the same apiserver comes
// back. The operator keeps running, recovers, and converges Buckets created
// before and after the restart.
func TestAPIServerRestart(t *testing.T) {
	ctx := context.Background()
	bin := env.OperatorForTest(t, repoRoot())
	drivers := env.DriverDirForTest(t, repoRoot())
	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{filepath.Join(repoRoot(), "charts", "pail", "crds")}})
	mio := env.MinIOForTest(t, env.MinIOOptions{})
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	k8s, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)
	logPath := filepath.Join(t.TempDir(), "operator.log")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	defer f.Close()
	cmd := exec.Command(bin, "--kubeconfig", kube.Kubeconfig, "--driver-dir", drivers,
		"--policy-dir", filepath.Join(repoRoot(), "policies"), "--cache-dir", operator.DefaultCacheDir(),
		"--preload", "minio", "--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--webhook-port", "0")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig)
	cmd.Stdout, cmd.Stderr = f, f
	op, err := env.StartProcess("operator", cmd)
	require.NoError(t, err)
	defer op.Stop()

	require.NoError(t, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "minio"},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": mio.AccessKey, "AWS_SECRET_ACCESS_KEY": mio.SecretKey}}))
	require.NoError(t, k8s.Create(ctx, &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "minio"},
		Spec: pailv1.ProviderSpec{Driver: "minio", Endpoint: mio.Endpoint, PathStyle: true, CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "minio"}}}))
	newBucket := func(name string) *pailv1.Bucket {
		b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "minio"}, BucketName: fmt.Sprintf("%s-%d", name, time.Now().UnixNano())}}
		require.NoError(t, k8s.Create(ctx, b))
		return b
	}
	waitReady := func(b *pailv1.Bucket) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var got pailv1.Bucket
			if k8s.Get(ctx, client.ObjectKeyFromObject(b), &got) == nil && apimeta.IsStatusConditionTrue(got.Status.Conditions, pailv1.ConditionReady) {
				return
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(logPath)
				t.Fatalf("Bucket %s not Ready: %+v\n%s", b.Name, got.Status.Conditions, tail(log))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	before := newBucket("before")
	waitReady(before)

	require.NoError(t, kube.RestartAPIServer(5*time.Second))
	exited, _ := op.Exited()
	require.False(t, exited, "the operator survives the apiserver going away")

	after := newBucket("after")
	waitReady(after)
	// A change to the Bucket from before the restart is seen through the new watch.
	var got pailv1.Bucket
	require.NoError(t, k8s.Get(ctx, client.ObjectKeyFromObject(before), &got))
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Tags = map[string]string{"after": "restart"}
	require.NoError(t, k8s.Patch(ctx, &got, patch))
	deadline := time.Now().Add(time.Minute)
	for {
		require.NoError(t, k8s.Get(ctx, client.ObjectKeyFromObject(before), &got))
		if got.Status.ObservedGeneration == got.Generation && apimeta.IsStatusConditionTrue(got.Status.Conditions, pailv1.ConditionReady) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the change after the restart was not reconciled: %+v", got.Status.Conditions)
		time.Sleep(200 * time.Millisecond)
	}
	exited, _ = op.Exited()
	assert.False(t, exited)
}

// TestHealthAndReadiness: /healthz answers as soon as the operator runs;
// /readyz refuses while a driver compiles cold and answers once it loaded.
func TestHealthAndReadiness(t *testing.T) {
	bin := env.OperatorForTest(t, repoRoot())
	drivers := env.DriverDirForTest(t, repoRoot())
	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{filepath.Join(repoRoot(), "charts", "pail", "crds")}})
	port, err := env.FreePort()
	require.NoError(t, err)
	probes := fmt.Sprintf("http://127.0.0.1:%d", port)
	logPath := filepath.Join(t.TempDir(), "operator.log")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	defer f.Close()
	// An empty compilation cache: the preload compiles minio.wasm cold.
	cmd := exec.Command(bin, "--kubeconfig", kube.Kubeconfig, "--driver-dir", drivers,
		"--policy-dir", filepath.Join(repoRoot(), "policies"), "--cache-dir", t.TempDir(),
		"--preload", "minio", "--metrics-bind-address", "0", "--webhook-port", "0",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig)
	cmd.Stdout, cmd.Stderr = f, f
	op, err := env.StartProcess("operator", cmd)
	require.NoError(t, err)
	defer op.Stop()

	status := func(path string) int {
		resp, err := http.Get(probes + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(time.Minute)
	for status("/healthz") != http.StatusOK {
		require.True(t, time.Now().Before(deadline), "healthz never answered")
		time.Sleep(50 * time.Millisecond)
	}
	assert.NotEqual(t, http.StatusOK, status("/readyz"), "not ready while the driver compiles")
	started := time.Now()
	deadline = time.Now().Add(3 * time.Minute)
	for status("/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("readyz never answered 200\n%s", tail(b))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("ready %s after healthz, once minio.wasm compiled", time.Since(started).Round(100*time.Millisecond))
	assert.Equal(t, http.StatusOK, status("/healthz"))
}
