package operator

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/internal/testwasm"
)

func TestWarmCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a wasm driver")
	}
	rogue, err := testwasm.Build(filepath.Join("..", ".."), t.TempDir(), "./test/drivers/rogue")
	require.NoError(t, err)

	tests := []struct {
		name    string
		files   map[string][]byte
		want    []string
		wantErr string
	}{
		{name: "every driver is compiled into the cache", files: map[string][]byte{"rogue.wasm": rogue, "README": []byte("not a driver")}, want: []string{"rogue"}},
		{name: "no drivers is an error, not an empty cache", files: map[string][]byte{}, wantErr: "no <name>.wasm drivers"},
		{name: "a module the host refuses fails the warm-up", files: map[string][]byte{"rogue.wasm": rogue, "broken.wasm": []byte("\x00asm garbage")}, wantErr: "driver broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tt.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
			}
			// A fresh cache per case, so a file in it can only come from this warm-up.
			cache := filepath.Join(t.TempDir(), "wasm")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			got, err := WarmCache(ctx, dir, cache, nil)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			var size int64
			require.NoError(t, filepath.Walk(cache, func(_ string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					size += fi.Size()
				}
				return err
			}))
			require.Greater(t, size, int64(len(rogue)/2), "the compiled module is in the cache directory")
		})
	}
}

func TestSeedCache(t *testing.T) {
	seed := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(seed, "wazero-v1", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(seed, "wazero-v1", "a"), []byte("compiled a"), 0o444))
	require.NoError(t, os.WriteFile(filepath.Join(seed, "wazero-v1", "sub", "b"), []byte("compiled b"), 0o444))

	cache := filepath.Join(t.TempDir(), "wasm")
	require.NoError(t, os.MkdirAll(filepath.Join(cache, "wazero-v1"), 0o700))
	// A module compiled in the pod already is newer than the seed: keep it.
	require.NoError(t, os.WriteFile(filepath.Join(cache, "wazero-v1", "a"), []byte("pod's own a"), 0o600))

	n, err := SeedCache(seed, cache)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the missing file is copied")
	b, err := os.ReadFile(filepath.Join(cache, "wazero-v1", "sub", "b"))
	require.NoError(t, err)
	require.Equal(t, "compiled b", string(b))
	a, err := os.ReadFile(filepath.Join(cache, "wazero-v1", "a"))
	require.NoError(t, err)
	require.Equal(t, "pod's own a", string(a))

	_, err = SeedCache(filepath.Join(seed, "missing"), cache)
	require.Error(t, err, "a seed directory that is not there is reported, not ignored")
}
