package env

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds the ForTest helpers; building a missing binary is not
// covered by it (tools.Ensure takes no context), only starting the servers.
const startTimeout = 3 * time.Minute

// MinIOForTest starts MinIO for t, failing the test if it cannot, and stops
// it when the test finishes.
func MinIOForTest(t testing.TB, opts MinIOOptions) *MinIO {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	m, err := StartMinIO(ctx, opts)
	if err != nil {
		t.Fatalf("start minio: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stop minio: %v", err)
		}
	})
	return m
}

// KubeForTest starts etcd and kube-apiserver for t, failing the test if it
// cannot, and stops them when the test finishes.
func KubeForTest(t testing.TB, opts KubeOptions) *Kube {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	k, err := StartKube(ctx, opts)
	if err != nil {
		t.Fatalf("start kube: %v", err)
	}
	t.Cleanup(func() {
		if err := k.Stop(); err != nil {
			t.Errorf("stop kube: %v", err)
		}
	})
	return k
}

// OperatorForTest builds the operator binary of the repository at root the
// way `make build` does, into a directory t removes, and returns its path.
// The Go build cache makes every build after the first a link.
func OperatorForTest(t testing.TB, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pail")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./core/cmd/pail")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./core/cmd/pail: %v\n%s", err, out)
	}
	return bin
}

// DriverDirForTest returns $PAIL_DRIVER_DIR, or <root>/bin/drivers, and
// fails t when it holds no minio.wasm (run make plugins).
func DriverDirForTest(t testing.TB, root string) string {
	t.Helper()
	dir := os.Getenv("PAIL_DRIVER_DIR")
	if dir == "" {
		dir = filepath.Join(root, "bin", "drivers")
	}
	if _, err := os.Stat(filepath.Join(dir, "minio.wasm")); err != nil {
		t.Fatalf("the minio driver is needed (run make plugins): %v", err)
	}
	return dir
}

// helm is HelmForTest's answer, found once per test binary.
var helm struct {
	once sync.Once
	path string
	err  error
}

// HelmForTest returns the helm binary the chart tests use: $PAIL_HELM
// (which the Makefile exports) when it exists, else the one `make helm`
// puts in the tool cache of the repository at root.
func HelmForTest(t testing.TB, root string) string {
	t.Helper()
	helm.once.Do(func() {
		if p := os.Getenv("PAIL_HELM"); p != "" {
			if _, err := os.Stat(p); err == nil {
				helm.path = p
				return
			}
		}
		cmd := exec.CommandContext(t.Context(), "make", "-s", "helm", "-C", root)
		cmd.Env = append(os.Environ(), "PAIL_HELM=")
		if out, err := cmd.CombinedOutput(); err != nil {
			helm.err = fmt.Errorf("make helm: %w\n%s", err, out)
			return
		}
		out, err := exec.CommandContext(t.Context(), "make", "-s", "-C", root, "--eval", "print-helm: ; @echo $(HELM)", "print-helm").Output()
		if err != nil {
			helm.err = fmt.Errorf("find helm: %w", err)
			return
		}
		helm.path = strings.TrimSpace(string(out))
	})
	if helm.err != nil {
		t.Fatal(helm.err)
	}
	return helm.path
}

// HelmTemplate runs `helm template` with args and returns what it printed,
// or an error carrying helm's own message.
func HelmTemplate(ctx context.Context, helm string, args ...string) (string, error) {
	full := append([]string{"template"}, args...)
	cmd := exec.CommandContext(ctx, helm, full...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %w: %s", strings.Join(full, " "), err, stderr.String())
	}
	return stdout.String(), nil
}
