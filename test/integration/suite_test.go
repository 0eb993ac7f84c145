// Package integration runs the operator in-process, with its wasm drivers,
// against a real kube-apiserver + etcd and a real MinIO server.
package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pail-dev/pail/core/logging"
	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/test/env"
)

// minioKMSKey enables SSE-S3 and SSE-KMS in MinIO with the key id "pail-test-key".
const minioKMSKey = "pail-test-key:6fA/NTdKaMX/p4Td8fdgjy/mZCQ3I0KboV5uxBDKXoQ="

// resyncPeriod is short so drift tests see several resyncs quickly.
const resyncPeriod = 2 * time.Second

// pluginNamespace is the operator's namespace, where plugin ConfigMaps and
// policy-pack ConfigMaps live (operator.Options.Namespace).
const pluginNamespace = "pail-plugins"

// suite is shared by every test in the package: starting the servers takes
// seconds, and each test works in its own namespace.
var suite struct {
	kube    *env.Kube
	minio   *env.MinIO
	versity *env.VersityGW
	// iam is versitygw's IAM API, and iamGW a gateway that signs with the
	// keys it creates.
	iam       *env.VersityIAM
	iamGW     *env.VersityGW
	s3        *minio.Client
	k8s       client.Client
	op        *operator.Operator
	driverDir string
	logs      *logBuffer
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// driverDir returns the directory with the built drivers, building the
// MinIO and rogue drivers when they are missing so `go test` works alone.
func driverDir() (string, error) {
	dir := os.Getenv("PAIL_DRIVER_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(), "bin", "drivers")
	}
	for name, pkg := range map[string]string{"minio": "./plugins/minio", "aws": "./plugins/aws", "wasabi": "./plugins/wasabi", "rogue": "./test/drivers/rogue"} {
		out := filepath.Join(dir, name+".wasm")
		if name == "rogue" {
			out = filepath.Join(repoRoot(), "bin", "testdrivers", "rogue.wasm")
		}
		if _, err := os.Stat(out); err == nil {
			continue
		}
		args := []string{"build", "-trimpath", "-buildmode=c-shared"}
		if name == "minio" {
			args = append(args, "-tags", "fips") // as the Makefile: PBKDF2, not argon2id, in madmin-go
		}
		cmd := exec.Command("go", append(args, "-o", out, pkg)...)
		cmd.Dir = repoRoot()
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s driver: %w\n%s", name, err, b)
		}
	}
	return dir, nil
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration suite:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	built, err := driverDir()
	if err != nil {
		return 1, err
	}
	// The operator sees the built-in drivers plus the hostile test drivers,
	// each under its own name, as a platform team would install them.
	dir, err := os.MkdirTemp("", "pail-drivers-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	for name, src := range map[string]string{
		"minio":  filepath.Join(built, "minio.wasm"),
		"aws":    filepath.Join(built, "aws.wasm"),
		"wasabi": filepath.Join(built, "wasabi.wasm"),
		"rogue":  filepath.Join(repoRoot(), "bin", "testdrivers", "rogue.wasm"),
		// The third-party example driver, as `make example-driver` builds
		// and stamps it (TestExampleDriverInAProvider).
		"versity": exampleDriverPath(),
	} {
		if err := os.Symlink(src, filepath.Join(dir, name+".wasm")); err != nil {
			return 1, err
		}
	}
	suite.driverDir = dir
	fmt.Fprintln(os.Stderr, "integration: starting kube-apiserver + etcd and MinIO")
	kube, err := env.StartKube(ctx, env.KubeOptions{
		CRDDirs:      []string{filepath.Join(repoRoot(), "charts", "pail", "crds")},
		WebhookPaths: []string{filepath.Join(repoRoot(), "charts", "pail", "files", "manifests.yaml")},
	})
	if err != nil {
		return 1, err
	}
	defer kube.Stop()
	suite.kube = kube
	mio, err := env.StartMinIO(ctx, env.MinIOOptions{Env: []string{"MINIO_KMS_SECRET_KEY=" + minioKMSKey}})
	if err != nil {
		return 1, err
	}
	defer mio.Stop()
	suite.minio = mio
	if suite.s3, err = mio.Client(); err != nil {
		return 1, err
	}
	vgw, err := env.StartVersityGW(ctx, env.VersityGWOptions{Versioning: true})
	if err != nil {
		return 1, err
	}
	defer vgw.Stop()
	suite.versity = vgw
	if suite.iam, err = env.StartVersityIAM(ctx, env.VersityIAMOptions{PrivateSocket: true}); err != nil {
		return 1, err
	}
	defer suite.iam.Stop()
	if suite.iamGW, err = env.StartVersityGW(ctx, env.VersityGWOptions{IAM: suite.iam}); err != nil {
		return 1, err
	}
	defer suite.iamGW.Stop()

	scheme, err := operator.Scheme()
	if err != nil {
		return 1, err
	}
	if suite.k8s, err = client.New(kube.Config, client.Options{Scheme: scheme}); err != nil {
		return 1, err
	}

	stopGuard, err := startDialGuard()
	if err != nil {
		return 1, err
	}
	defer stopGuard()

	suite.logs = &logBuffer{}
	opCtx, stopOp := context.WithCancel(ctx)
	op, err := operator.New(opCtx, operator.Options{
		RestConfig:        kube.Config,
		DriverDir:         dir,
		PolicyDir:         filepath.Join(repoRoot(), "policies"),
		CacheDir:          operator.DefaultCacheDir(),
		Preload:           []string{"minio", "aws", "wasabi"},
		ProviderRetryBase: time.Second,
		ProviderRecheck:   time.Hour,
		BucketResync:      resyncPeriod,
		BucketRetryMax:    5 * time.Second,
		PluginNamespace:   pluginNamespace,
		// Names resolve through the suite's DNS server, and the dial-guard
		// trap is denied like the API server (TestDialGuard).
		Resolver:        dialGuard.dns.Resolver(),
		DeniedAddresses: []string{dialGuard.trap.Addr().String()},

		// The operator's own namespace, said explicitly though it is the
		// default: packs are loaded from here only, and ClusterProviders'
		// Secrets live here.
		Namespace: pluginNamespace,
		// A small breaker, so the drift-loop test needs few corrections;
		// other tests correct drift at most once per Bucket.
		DriftLoopThreshold: 3,
		DriftLoopWindow:    time.Minute,
		WebhookHost:        kube.Webhook.Host,
		WebhookPort:        kube.Webhook.Port,
		WebhookCertDir:     kube.Webhook.CertDir,
		Logger:             logging.New("pail", "debug", true, suite.logs),
	})
	if err != nil {
		stopOp()
		return 1, err
	}
	suite.op = op
	opDone := make(chan error, 1)
	go func() { opDone <- op.Start(opCtx) }()
	// Wait for the wasm driver before the first test; a cold compile of the
	// module can take tens of seconds, and must not count against a test's timeout.
	loadCtx, loadCancel := context.WithTimeout(ctx, 5*time.Minute)
	for _, name := range []string{"minio", "aws", "wasabi"} {
		if _, err = op.Registry.Load(loadCtx, name); err != nil {
			loadCancel()
			stopOp()
			return 1, fmt.Errorf("load %s driver: %w", name, err)
		}
	}
	loadCancel()

	watchCtx, stopWatch := context.WithCancel(ctx)
	go watchSecrets(watchCtx, suite.k8s)
	code := m.Run()
	stopWatch()
	if scan := secretScan(ctx); code == 0 {
		code = scan
	}
	stopOp()
	select {
	case err := <-opDone:
		if err != nil {
			fmt.Fprintln(os.Stderr, "operator stopped with:", err)
		}
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "operator did not stop within 30s")
		code = 1
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "---- operator log tail ----")
		fmt.Fprintln(os.Stderr, suite.logs.Tail(200))
	}
	return code, nil
}

// namespace creates a namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "it-"}}
	if err := suite.k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}
