package chart

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/test/env"
)

// demoReady is the line pail-demo prints once everything runs and the
// quickstart is Ready.
const demoReady = "Press Ctrl-C to stop everything."

var (
	metricsLine = regexp.MustCompile(`metrics:\s+(http://127\.0\.0\.1:\d+/metrics)`)
	minioLine   = regexp.MustCompile(`MinIO:\s+(http://\S+)`)
	nodeLine    = regexp.MustCompile(`node: running deployment pail-system/pail as a local process \(pid (\d+)\)`)
)

// TestNewcomerWalkthrough follows docs/install.md "Try it on the demo
// apiserver" as a new user would: pail-demo --chart (what make demo-chart
// runs) installs the chart with helm and runs its Deployment as the chart's
// ServiceAccount; then kubectl, from the repository root, applies an example
// of each kind, waits for Ready, reads the AccessKey's Secret, and the
// operator's metrics show every kind's controller and driver at work.
func TestNewcomerWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, MinIO and the operator")
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not in PATH; the walk-through uses it as the docs do")
	}
	root := repoRoot()
	op := env.OperatorForTest(t, root)
	drivers := env.DriverDirForTest(t, root)
	demoBin := filepath.Join(t.TempDir(), "pail-demo")
	build := exec.Command("go", "build", "-o", demoBin, "./cmd/pail-demo")
	build.Dir = filepath.Join(root, "test")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/pail-demo: %s", out)

	state := t.TempDir()
	demoOut := &syncBuffer{}
	cmd := exec.Command(demoBin,
		"--chart", chartDir(), "--helm", helm(t),
		"--operator", op, "--driver-dir", drivers, "--policy-dir", filepath.Join(root, "policies"),
		"--cache-dir", operator.DefaultCacheDir(), "--state-dir", state,
		"--examples", filepath.Join(root, "examples", "quickstart"))
	cmd.Stdout, cmd.Stderr = demoOut, demoOut
	demo, err := env.StartProcess("pail-demo", cmd)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = demo.Stop()
		if t.Failed() {
			t.Logf("pail-demo output:\n%s\noperator log (tail):\n%s", demoOut.String(), tail(filepath.Join(state, "operator.log"), 4096))
		}
	})
	waitFor(t, 5*time.Minute, "pail-demo --chart to be ready", func() (bool, string) {
		if exited, err := demo.Exited(); exited {
			t.Fatalf("pail-demo exited before it was ready (%v)", err)
		}
		return strings.Contains(demoOut.String(), demoReady), "not ready yet"
	})
	printed := demoOut.String()
	metricsURL := submatch(t, metricsLine, printed)
	minioEndpoint := submatch(t, minioLine, printed)
	opPid, err := strconv.Atoi(submatch(t, nodeLine, printed))
	require.NoError(t, err)

	// The second terminal: export KUBECONFIG=<state>/kubeconfig, in the
	// repository root.
	run := func(args ...string) string {
		t.Helper()
		c := exec.Command(kubectl, args...)
		c.Dir = root
		c.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(state, "kubeconfig"))
		var b bytes.Buffer
		c.Stdout, c.Stderr = &b, &b
		require.NoError(t, c.Run(), "kubectl %s:\n%s", strings.Join(args, " "), b.String())
		return b.String()
	}

	assert.Equal(t, "1", run("get", "deployment", "pail", "-n", "pail-system", "-o", "jsonpath={.status.readyReplicas}"),
		"the Deployment shows the local process as its ready replica")
	assert.Contains(t, run("-n", "pail-system", "rollout", "status", "deployment/pail", "--timeout=10s"), "successfully rolled out")
	assert.Equal(t, serviceAccountUser,
		run("--kubeconfig", filepath.Join(state, "serviceaccount", "kubeconfig"), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"),
		"the operator's kubeconfig is the chart's ServiceAccount, not an admin")

	kinds := []struct {
		kind, object, file, controller string
	}{
		// The demo applied examples/quickstart: the Secret, the Provider and two Buckets.
		{"Provider", "provider/local-minio", "", "provider"},
		{"Bucket", "bucket/photos", "", "bucket"},
		{"Bucket", "bucket/website", "examples/buckets/public-website.yaml", "bucket"},
		{"BucketPolicy", "bucketpolicy/photos-policy", "examples/bucketpolicy/website-policy.yaml", "bucketpolicy"},
		{"AccessKey", "accesskey/photos-app", "examples/accesskeys/app-readwrite.yaml", "accesskey"},
	}
	for _, k := range kinds {
		if k.file != "" {
			run("apply", "-f", k.file)
		}
		assert.Contains(t, run("wait", "--for=condition=Ready", "--timeout=3m", k.object), "condition met", k.kind)
	}

	// The AccessKey's Secret holds a key that works for its Bucket only.
	secret := func(key string) string {
		v, err := base64.StdEncoding.DecodeString(run("get", "secret", "photos-app", "-o", "jsonpath={.data."+key+"}"))
		require.NoError(t, err, key)
		return string(v)
	}
	endpoint := secret("AWS_ENDPOINT_URL")
	assert.Equal(t, minioEndpoint, endpoint, "AWS_ENDPOINT_URL is the Provider's endpoint")
	assert.Equal(t, "pail-demo-photos", secret("BUCKET_NAMES"))
	app, err := minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(secret("AWS_ACCESS_KEY_ID"), secret("AWS_SECRET_ACCESS_KEY"), ""),
	})
	require.NoError(t, err)
	ctx := context.Background()
	put := func(bucket string) error {
		_, err := app.PutObject(ctx, bucket, "hello.txt", strings.NewReader("hello"), 5, minio.PutObjectOptions{})
		return err
	}
	require.NoError(t, put("pail-demo-photos"), "the app key writes to its bucket")
	var denied minio.ErrorResponse
	require.ErrorAs(t, put("pail-demo-scratch"), &denied, "the app key cannot write to another bucket")
	assert.Equal(t, "AccessDenied", denied.Code)

	// The metrics of the chart-run operator show each kind's controller and
	// the driver at work.
	resp, err := http.Get(metricsURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	sum := func(name string, labels map[string]string) float64 {
		f, ok := families[name]
		if !ok {
			return 0
		}
		total := 0.0
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
		return total
	}
	type series struct {
		name   string
		labels map[string]string
		want   func(float64) bool
		what   string
	}
	expect := []series{
		{"pail_provider_ready", map[string]string{"namespace": "default", "provider": "local-minio"}, eq(1), "1: the Provider is Ready"},
		{"pail_driver_operations_total", map[string]string{"driver": "minio", "operation": "CheckProvider", "result": "ok"}, atLeast(1), "at least 1"},
		{"pail_driver_operations_total", map[string]string{"driver": "minio", "operation": "ApplyBucket", "result": "ok"}, atLeast(3), "at least 3: two quickstart Buckets and the website"},
		{"pail_driver_operations_total", map[string]string{"driver": "minio", "operation": "CreateAccessKey", "result": "ok"}, atLeast(1), "at least 1"},
		{"pail_access_key_rotations_total", map[string]string{"step": "created"}, atLeast(1), "at least 1"},
		{"pail_policy_evaluation_seconds", nil, atLeast(1), "at least 1 evaluation"},
		{"pail_driver_traps_total", nil, eq(0), "0: no driver trapped"},
	}
	for _, k := range kinds {
		expect = append(expect, series{"controller_runtime_reconcile_total", map[string]string{"controller": k.controller}, atLeast(1), "reconciles of the " + k.kind})
	}
	for _, s := range expect {
		got := sum(s.name, s.labels)
		assert.True(t, s.want(got), "%s %v = %v, want %s", s.name, s.labels, got, s.what)
	}
	opLog, err := os.ReadFile(filepath.Join(state, "operator.log"))
	require.NoError(t, err)
	assert.NotContains(t, string(opLog), "forbidden", "the chart's RBAC let the operator do all of it")

	// Ctrl-C stops everything pail-demo started.
	require.NoError(t, syscall.Kill(demo.Pid(), syscall.SIGINT))
	select {
	case <-demo.Done():
	case <-time.After(2 * time.Minute):
		t.Fatal("pail-demo did not stop within 2 minutes of Ctrl-C")
	}
	_, err = demo.Exited()
	require.NoError(t, err, "pail-demo exits 0 on Ctrl-C")
	assert.Contains(t, demoOut.String(), "stopping the operator")
	assert.ErrorIs(t, syscall.Kill(opPid, 0), syscall.ESRCH, "the operator process %d is gone", opPid)
}

func eq(want float64) func(float64) bool    { return func(v float64) bool { return v == want } }
func atLeast(lo float64) func(float64) bool { return func(v float64) bool { return v >= lo } }

func submatch(t *testing.T, re *regexp.Regexp, s string) string {
	t.Helper()
	m := re.FindStringSubmatch(s)
	require.Len(t, m, 2, "pail-demo printed no line matching %s", re)
	return m[1]
}

// tail returns the last n bytes of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(b[max(0, len(b)-n):])
}
