package env

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pail-dev/pail/test/tools"
)

// ControllerManagerReadyTimeout bounds how long StartControllerManager waits
// for /healthz.
const ControllerManagerReadyTimeout = 60 * time.Second

// ControllerManagerOptions configures StartControllerManager.
type ControllerManagerOptions struct {
	// Controllers are the controllers to run (kube-controller-manager's
	// --controllers); empty means just "namespace", which deletes the
	// contents of a namespace being deleted and then the namespace.
	Controllers []string
	// Log receives kube-controller-manager's output. nil discards it (the
	// tail is still kept for error messages).
	Log io.Writer
}

// ControllerManager is a running kube-controller-manager started by
// StartControllerManager.
type ControllerManager struct {
	// Port is its secure (healthz) port on 127.0.0.1.
	Port int

	dir  string
	tail *tail
	proc *Process
}

// StartControllerManager runs kube-controller-manager (built and cached by
// the tools module) against kube, with only the controllers asked for, no
// leader election, a private certificate directory and a free port on
// 127.0.0.1, and waits until it serves /healthz. Stop it when done; it also
// dies with the test process.
func StartControllerManager(ctx context.Context, kube *Kube, opts ControllerManagerOptions) (_ *ControllerManager, retErr error) {
	paths, err := tools.Ensure(ensureLog(tools.KubeControllerManager), tools.KubeControllerManager)
	if err != nil {
		return nil, err
	}
	controllers := opts.Controllers
	if len(controllers) == 0 {
		controllers = []string{"namespace"}
	}
	cm := &ControllerManager{tail: newTail(16 << 10)}
	defer func() {
		if retErr != nil {
			_ = cm.Stop()
		}
	}()
	if cm.dir, err = os.MkdirTemp("", "pail-kcm-"); err != nil {
		return nil, err
	}
	if cm.Port, err = FreePort(); err != nil {
		return nil, err
	}
	cmd := exec.Command(paths[tools.KubeControllerManager], //nolint:noctx // the server outlives ctx, which bounds only its start; Stop ends it
		"--kubeconfig="+kube.Kubeconfig,
		"--controllers="+strings.Join(controllers, ","),
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(cm.Port),
		"--cert-dir="+cm.dir,
		"--v=2",
	)
	cmd.Dir = cm.dir
	out := io.MultiWriter(logWriter(opts.Log), cm.tail)
	cmd.Stdout, cmd.Stderr = out, out
	if cm.proc, err = StartProcess("kube-controller-manager", cmd); err != nil {
		return nil, err
	}
	if err := cm.waitHealthy(ctx); err != nil {
		return nil, fmt.Errorf("kube-controller-manager: %w\n--- kube-controller-manager log (tail) ---\n%s", err, cm.tail.String())
	}
	return cm, nil
}

// waitHealthy polls /healthz, which kube-controller-manager serves without
// authentication, over its self-signed certificate.
func (cm *ControllerManager) waitHealthy(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a local test server's self-signed certificate
	}}
	defer hc.CloseIdleConnections()
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", cm.Port)
	return cm.proc.WaitReady(ctx, "healthy", ControllerManagerReadyTimeout, 200*time.Millisecond, HTTPOK(hc, url))
}

// LogTail returns the last few KiB kube-controller-manager wrote.
func (cm *ControllerManager) LogTail() string { return cm.tail.String() }

// Stop stops kube-controller-manager (its whole process group) and removes
// its directory. It is idempotent.
func (cm *ControllerManager) Stop() error {
	var errs []error
	if cm.proc != nil {
		errs = append(errs, cm.proc.Stop())
	}
	if cm.dir != "" {
		errs = append(errs, os.RemoveAll(cm.dir))
		cm.dir = ""
	}
	return errors.Join(errs...)
}
