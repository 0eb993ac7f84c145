package wasmhost_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
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
	tmp, err := os.MkdirTemp("", "pail-wasmhost-test-")
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

// newHost returns a Host on the shared compilation cache.
func newHost(t *testing.T, cfg wasmhost.Config) *wasmhost.Host {
	t.Helper()
	h, err := wasmhost.New(cfg.WithCacheDir(cacheDir))
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// load loads wasm as name and closes it when the test ends.
func load(t *testing.T, cfg wasmhost.Config, name string, wasm []byte) *wasmhost.Driver {
	t.Helper()
	d, err := newHost(t, cfg).Load(context.Background(), name, wasm)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// logBuffer is an hclog output that tests can read while drivers write.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Output: b, Level: hclog.Trace})
}
