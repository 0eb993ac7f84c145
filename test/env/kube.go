package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pail-dev/pail/test/tools"
)

// KubeStartTimeout is how long etcd and kube-apiserver each get to become
// healthy, unless KUBEBUILDER_CONTROLPLANE_START_TIMEOUT says otherwise.
const KubeStartTimeout = 60 * time.Second

// KubeOptions configures StartKube.
type KubeOptions struct {
	// CRDDirs are directories (or files) of CRD manifests to install. Each
	// must exist.
	CRDDirs []string
	// WebhookPaths are files or directories of webhook configurations
	// (charts/pail/files/manifests.yaml). Each is installed pointing at
	// Kube.Webhook, with a CA envtest generates; serve the webhook there.
	WebhookPaths []string
	// Log receives the output of etcd and kube-apiserver. nil discards it
	// (the tail is still kept for error messages).
	Log io.Writer
}

// Kube is a running etcd + kube-apiserver pair started by StartKube.
type Kube struct {
	// Config is an admin (system:masters) REST config.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for the same admin user.
	Kubeconfig string
	// Dir is a temporary directory holding Kubeconfig; Stop removes it.
	Dir string

	// Webhook says where to serve the webhooks of KubeOptions.WebhookPaths.
	Webhook WebhookServing

	env     *envtest.Environment
	tail    *tail
	certDir string
	done    bool
}

// WebhookServing is where the apiserver expects a webhook server.
type WebhookServing struct {
	Host string
	Port int
	// CertDir holds tls.crt and tls.key, signed by the CA the apiserver trusts.
	CertDir string
}

// StartKube starts etcd and kube-apiserver (built and cached by the tools
// module) on 127.0.0.1 ephemeral ports, installs the CRDs in opts.CRDDirs and
// writes an admin kubeconfig.
func StartKube(ctx context.Context, opts KubeOptions) (_ *Kube, retErr error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, d := range opts.CRDDirs {
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("CRD directory: %w", err)
		}
	}
	binDir, err := tools.EnvtestDir(ensureLog(tools.Etcd, tools.KubeAPIServer))
	if err != nil {
		return nil, err
	}
	etcdPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	certDir, err := os.MkdirTemp("", "pail-apiserver-")
	if err != nil {
		return nil, err
	}
	k := &Kube{tail: newTail(16 << 10), certDir: certDir}
	out := io.MultiWriter(logWriter(opts.Log), k.tail)
	te := newEnvtest(opts, binDir, etcdPort, apiPort, certDir, out)
	k.env = te
	defer func() {
		if retErr != nil {
			_ = k.Stop()
		}
	}()

	if k.Config, err = startEnvtest(ctx, te, k.tail); err != nil {
		return nil, err
	}
	if w := te.WebhookInstallOptions; len(opts.WebhookPaths) > 0 {
		k.Webhook = WebhookServing{Host: w.LocalServingHost, Port: w.LocalServingPort, CertDir: w.LocalServingCertDir}
	}

	k.Dir, err = os.MkdirTemp("", "pail-kube-")
	if err != nil {
		return nil, err
	}
	admin, err := te.AddUser(envtest.User{Name: "pail-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("provision admin user: %w", err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return nil, fmt.Errorf("admin kubeconfig: %w", err)
	}
	k.Kubeconfig = filepath.Join(k.Dir, "kubeconfig")
	if err := os.WriteFile(k.Kubeconfig, kc, 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// newEnvtest describes the control plane StartKube runs: etcd and
// kube-apiserver on the given ports, logging to out.
func newEnvtest(opts KubeOptions, binDir string, etcdPort, apiPort int, certDir string, out io.Writer) *envtest.Environment {
	te := &envtest.Environment{
		BinaryAssetsDirectory: binDir,
		CRDDirectoryPaths:     opts.CRDDirs,
		ErrorIfCRDPathMissing: true,
		ControlPlane: envtest.ControlPlane{
			Etcd: &envtest.Etcd{
				URL: &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(etcdPort))},
				Out: out,
				Err: out,
			},
			APIServer: &envtest.APIServer{
				// A directory of our own (not envtest's throwaway one) keeps
				// the serving certificate across RestartAPIServer, so clients
				// keep trusting the apiserver after a restart.
				CertDir: certDir,
				SecureServing: envtest.SecureServing{
					ListenAddr: envtest.ListenAddr{Address: "127.0.0.1", Port: strconv.Itoa(apiPort)},
				},
				Out: out,
				Err: out,
			},
		},
	}
	if len(opts.WebhookPaths) > 0 {
		te.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: opts.WebhookPaths, LocalServingHost: "127.0.0.1"}
	}
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		te.ControlPlaneStartTimeout = KubeStartTimeout
	}
	return te
}

// startEnvtest starts te; a failure carries the tail of its log. envtest's
// Start takes no context; it runs aside so a cancelled ctx returns promptly
// (StartKube's deferred Stop then cleans up).
func startEnvtest(ctx context.Context, te *envtest.Environment, log *tail) (*rest.Config, error) {
	type result struct {
		cfg *rest.Config
		err error
	}
	ch := make(chan result, 1)
	go func() {
		cfg, err := te.Start()
		ch <- result{cfg, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("start kube-apiserver: %w\n--- etcd/kube-apiserver log (tail) ---\n%s", r.err, log.String())
		}
		return r.cfg, nil
	case <-ctx.Done():
		<-ch
		return nil, ctx.Err()
	}
}

// Stop stops kube-apiserver and etcd and removes Dir. It is idempotent.
func (k *Kube) Stop() error {
	if k.done {
		return nil
	}
	k.done = true
	var errs []error
	if k.env != nil {
		errs = append(errs, k.env.Stop())
	}
	if k.Dir != "" {
		errs = append(errs, os.RemoveAll(k.Dir))
	}
	if k.certDir != "" {
		errs = append(errs, os.RemoveAll(k.certDir))
	}
	return errors.Join(errs...)
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port
// with the same certificates and etcd: clients see connections drop and
// watches end, then the same apiserver come back.
func (k *Kube) RestartAPIServer(down time.Duration) error {
	api := k.env.ControlPlane.APIServer
	// SIGKILL first: a graceful stop waits for the operator's watches to
	// drain, longer than envtest's stop timeout, and a crash is the harder
	// case anyway. Stop then only reaps the process.
	if pid := apiserverPID(api.Port); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err := api.Stop(); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	time.Sleep(down)
	if err := api.Start(); err != nil {
		return fmt.Errorf("start kube-apiserver again: %w\n%s", err, k.tail.String())
	}
	return nil
}

// LogTail returns the last few KiB etcd and kube-apiserver wrote.
func (k *Kube) LogTail() string { return k.tail.String() }

// apiserverPID finds the kube-apiserver serving on port by its command
// line in /proc; 0 when there is none (or no /proc).
func apiserverPID(port string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != "kube-apiserver" {
			continue
		}
		if slices.Contains(args, "--secure-port="+port) {
			return pid
		}
	}
	return 0
}
