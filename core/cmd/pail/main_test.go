package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/internal/testwasm"
)

// TestWarmCacheFlag runs the real binary the way the Dockerfile does
// (--warm-cache), then the way a pod starts (--cache-seed-dir into an empty
// volume), with no cluster anywhere: the image build has none.
func TestWarmCacheFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the operator and a wasm driver")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "pail")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	drivers := filepath.Join(tmp, "drivers")
	require.NoError(t, os.MkdirAll(drivers, 0o755))
	_, err = testwasm.Build(filepath.Join("..", "..", ".."), drivers, "./test/drivers/rogue")
	require.NoError(t, err)

	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		// No kubeconfig may be needed: point it at nothing.
		cmd.Env = append(os.Environ(), "KUBECONFIG=/nonexistent", "PAIL_CACHE_SEED_DIR=")
		b, err := cmd.CombinedOutput()
		return string(b), err
	}

	image := filepath.Join(tmp, "image-cache")
	pod := filepath.Join(tmp, "pod-cache")
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    string
		cache   string
	}{
		{name: "image build: compiles every driver and exits 0", args: []string{"--warm-cache", "--driver-dir", drivers, "--cache-dir", image}, want: "compiled rogue into " + image, cache: image},
		{name: "pod start: seeds an empty cache from the image's", args: []string{"--warm-cache", "--driver-dir", drivers, "--cache-seed-dir", image, "--cache-dir", pod, "--log-json=false"}, want: "seeded the compilation cache", cache: pod},
		{name: "no drivers fails the build", args: []string{"--warm-cache", "--driver-dir", t.TempDir(), "--cache-dir", filepath.Join(tmp, "none")}, wantErr: true, want: "no <name>.wasm drivers"},
		{name: "a missing seed is an error, not a silent cold start", args: []string{"--warm-cache", "--driver-dir", drivers, "--cache-seed-dir", filepath.Join(tmp, "missing"), "--cache-dir", filepath.Join(tmp, "x")}, wantErr: true, want: "seed compilation cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.args...)
			if tt.wantErr {
				require.Error(t, err, out)
			} else {
				require.NoError(t, err, out)
			}
			assert.Contains(t, out, tt.want)
			if tt.cache != "" {
				var files int
				require.NoError(t, filepath.Walk(tt.cache, func(_ string, fi os.FileInfo, err error) error {
					if err == nil && !fi.IsDir() {
						files++
					}
					return err
				}))
				assert.Positive(t, files, "compiled code is in %s", tt.cache)
			}
		})
	}
}
