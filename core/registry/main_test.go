package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/internal/testwasm"
	"github.com/pail-dev/pail/core/wasmhost"
)

var (
	// rogueWasm is test/drivers/rogue, built once per test binary.
	rogueWasm []byte
	// cacheDir keeps wazero's compiled code between runs of the tests.
	cacheDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "pail-registry-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	cacheDir = testwasm.CacheDir(tmp)
	if rogueWasm, err = testwasm.Build(filepath.Join("..", ".."), tmp, "./test/drivers/rogue"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func newHost(t *testing.T) *wasmhost.Host {
	t.Helper()
	h, err := wasmhost.New(wasmhost.NewConfig().WithCacheDir(cacheDir))
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// driverDir returns a directory holding the named files.
func driverDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	return dir
}
