// Package crash kills the operator process with SIGKILL at random points
// while it creates and rotates access keys, and checks that afterwards
// exactly the expected keys exist, the Secret's credentials work, and no key
// leaked. It runs the real operator binary against its own kube-apiserver
// and MinIO, so no other operator reconciles the same objects.
package crash

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/test/env"
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func TestAccessKeySurvivesSIGKILL(t *testing.T) {
	ctx := context.Background()
	bin := env.OperatorForTest(t, repoRoot())
	drivers := env.DriverDirForTest(t, repoRoot())
	kube := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{filepath.Join(repoRoot(), "charts", "pail", "crds")}})
	mio := env.MinIOForTest(t, env.MinIOOptions{})
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	k8s, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)
	u, err := url.Parse(mio.Endpoint)
	require.NoError(t, err)
	adm, err := madmin.NewWithOptions(u.Host, &madmin.Options{Creds: credentials.NewStaticV4(mio.AccessKey, mio.SecretKey, ""), Secure: false})
	require.NoError(t, err)

	ns := "crash"
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
	bucketName := fmt.Sprintf("crash-%d", time.Now().UnixNano())
	require.NoError(t, k8s.Create(ctx, &pailv1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"},
		Spec:       pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "minio"}, BucketName: bucketName},
	}))
	// A new rotation trigger before every start keeps the operator inside a
	// create or a rotation most of the time, so the kills land in the middle
	// of them. (An interval cannot do it: admission refuses one below 1h.)
	ak := &pailv1.AccessKey{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: pailv1.AccessKeySpec{
			ProviderRef: pailv1.ProviderReference{Name: "minio"},
			Buckets:     []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "data"}, Access: pailv1.AccessReadWrite}},
			Rotation:    &pailv1.Rotation{Trigger: "kill-0", Retention: pailv1.NewDuration(time.Second)},
		},
	}
	require.NoError(t, k8s.Create(ctx, ak))

	logDir := t.TempDir()
	start := func(i int) *env.Process {
		f, err := os.Create(filepath.Join(logDir, fmt.Sprintf("operator-%02d.log", i)))
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
			"--bucket-resync-period", "2s",
			"--log-level", "debug",
		)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig)
		cmd.Stdout, cmd.Stderr = f, f
		p, err := env.StartProcess("operator", cmd)
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Stop() })
		return p
	}
	user := func() string {
		var got pailv1.AccessKey
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ak), &got); err != nil {
			return ""
		}
		return got.Status.UserName
	}
	keysAtMinIO := func(user string) []string {
		if user == "" {
			return nil
		}
		resp, err := adm.ListServiceAccounts(ctx, user)
		if err != nil {
			return nil // the user does not exist yet
		}
		var ids []string
		for _, a := range resp.Accounts {
			ids = append(ids, a.AccessKey)
		}
		slices.Sort(ids)
		return ids
	}
	secret := func() (current, previous string, data map[string][]byte) {
		var s corev1.Secret
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &s); err != nil {
			return "", "", nil
		}
		return string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_ACCESS_KEY_ID_PREVIOUS"]), s.Data
	}

	// rotate asks for a rotation, while the operator is down, so that one is
	// due as soon as the next process starts.
	rotate := func(trigger string) {
		var got pailv1.AccessKey
		require.NoError(t, k8s.Get(ctx, client.ObjectKeyFromObject(ak), &got))
		patch := client.MergeFrom(got.DeepCopy())
		got.Spec.Rotation.Trigger = trigger
		require.NoError(t, k8s.Patch(ctx, &got, patch))
	}

	seed := time.Now().UnixNano()
	t.Logf("random kill points from seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	const kills = 12
	interrupted, midCreate := 0, 0
	var seen []string
	for i := range kills {
		if i > 0 {
			rotate(fmt.Sprintf("kill-%d", i))
		}
		op := start(i)
		// Kill at a random point after the operator starts to create a key
		// (the first key, or the rotation the new trigger asks for):
		// in the create call, between it and the Secret write, or after.
		logPath := filepath.Join(logDir, fmt.Sprintf("operator-%02d.log", i))
		waitFor(t, 2*time.Minute, "a key creation to begin", func() bool {
			return bytes.Contains(readFile(logPath), []byte("creating access key"))
		})
		delay := time.Duration(rng.Int64N(int64(3 * time.Second)))
		time.Sleep(delay)
		stored := bytes.Contains(readFile(logPath), []byte("stored access key"))
		require.NoError(t, op.Kill())
		cur, prev, data := secret()
		seen = recordSecrets(seen, data)
		keys := keysAtMinIO(user())
		var unknown []string
		for _, k := range keys {
			if k != cur && k != prev {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			interrupted++
		}
		if !stored {
			midCreate++
		}
		t.Logf("kill %2d, %-6s after a create began (stored before the kill: %v): keys at MinIO %v, Secret holds %q and previous %q, not in the Secret %v",
			i+1, delay.Round(10*time.Millisecond), stored, keys, cur, prev, unknown)
	}
	t.Logf("%d of %d kills came before the new key was stored; %d left a key that no Secret holds, which the restart must remove", midCreate, kills, interrupted)
	require.Positive(t, midCreate, "some kills must interrupt a creation, or the test proves nothing")

	// Stop rotating, restart, and let the operator converge.
	op := start(kills)
	defer op.Stop()
	var got pailv1.AccessKey
	require.NoError(t, k8s.Get(ctx, client.ObjectKeyFromObject(ak), &got))
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Rotation = &pailv1.Rotation{Retention: pailv1.NewDuration(time.Second)}
	require.NoError(t, k8s.Patch(ctx, &got, patch))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		require.NoError(t, k8s.Get(ctx, client.ObjectKeyFromObject(ak), &got))
		cur, prev, _ := secret()
		ready := apimeta.IsStatusConditionTrue(got.Status.Conditions, pailv1.ConditionReady)
		if ready && got.Status.ObservedGeneration == got.Generation && prev == "" && cur != "" &&
			got.Status.AccessKeyID == cur && slices.Equal(keysAtMinIO(got.Status.UserName), []string{cur}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no convergence: status %+v, Secret %q/%q, keys at MinIO %v\noperator log tail:\n%s", got.Status, cur, prev, keysAtMinIO(got.Status.UserName), tailOf(filepath.Join(logDir, fmt.Sprintf("operator-%02d.log", kills))))
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Exactly one key exists, it is the Secret's, and it works.
	cur, _, data := secret()
	assert.Equal(t, []string{cur}, keysAtMinIO(got.Status.UserName), "exactly the Secret's key exists: nothing leaked")
	s3, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(cur, string(data["AWS_SECRET_ACCESS_KEY"]), ""), Secure: false})
	require.NoError(t, err)
	_, err = s3.PutObject(ctx, bucketName, "after-the-crashes", bytes.NewReader([]byte("ok")), 2, minio.PutObjectOptions{})
	require.NoError(t, err, "the Secret's credentials work")

	// No secret reached a log line, in any of the runs.
	seen = recordSecrets(seen, data)
	logs, err := filepath.Glob(filepath.Join(logDir, "*.log"))
	require.NoError(t, err)
	for _, f := range logs {
		text := readFile(f)
		for _, v := range seen {
			assert.False(t, bytes.Contains(text, []byte(v)), "a secret access key appears in %s", filepath.Base(f))
		}
	}
	t.Logf("%d secret values checked against %d operator logs", len(seen), len(logs))
}

func recordSecrets(seen []string, data map[string][]byte) []string {
	for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY_PREVIOUS"} {
		if v := string(data[k]); v != "" && !slices.Contains(seen, v) {
			seen = append(seen, v)
		}
	}
	return seen
}

func tailOf(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func readFile(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
