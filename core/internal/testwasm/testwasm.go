// Package testwasm builds the test drivers that core's tests load, once per
// test binary, and names the compilation cache they share across runs.
package testwasm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles the driver package pkg (relative to the repository root,
// e.g. "./test/drivers/rogue") to wasm in dir and returns the module.
// repoRoot is relative to the calling test's directory.
func Build(repoRoot, dir, pkg string) ([]byte, error) {
	out := filepath.Join(dir, filepath.Base(pkg)+".wasm")
	// A build runs to completion: TestMain, the usual caller, has no context.
	cmd := exec.CommandContext(context.Background(), "go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %w\n%s", pkg, err, b)
	}
	return os.ReadFile(out)
}

// CacheDir is the wazero compilation cache the tests share: under the user
// cache directory when there is one, so reruns skip the compile.
func CacheDir(tmp string) string {
	if base, err := os.UserCacheDir(); err == nil {
		return filepath.Join(base, "pail", "wasm-test")
	}
	return filepath.Join(tmp, "wasm-cache")
}
