package wasmhost_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pail-dev/pail/core/wasmhost"
)

// BenchmarkDriverLoad measures what the design notes ask of driver loads:
// a cold compile (an empty compilation cache, as on a fresh node) and a load
// from a warm cache (every later start), for each built-in driver in
// $PAIL_DRIVER_DIR (make plugins). `make bench` runs it:
//
//	cd core && go test -run XXX -bench BenchmarkDriverLoad -benchtime 2x ./wasmhost/
func BenchmarkDriverLoad(b *testing.B) {
	dir := os.Getenv("PAIL_DRIVER_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "drivers")
	}
	ctx := context.Background()
	for _, name := range []string{"minio", "aws", "wasabi"} {
		wasm, err := os.ReadFile(filepath.Join(dir, name+".wasm"))
		if err != nil {
			b.Fatalf("%v (run make plugins)", err)
		}
		load := func(b *testing.B, cacheDir string) {
			h, err := wasmhost.New(wasmhost.NewConfig().WithCacheDir(cacheDir).WithPoolSize(1))
			if err != nil {
				b.Fatal(err)
			}
			d, err := h.Load(ctx, name, wasm)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = d.Close(ctx)
			_ = h.Close(ctx)
			b.StartTimer()
		}
		b.Run(name+"/cold", func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				cache := b.TempDir()
				b.StartTimer()
				load(b, cache)
			}
			b.ReportMetric(float64(len(wasm))/1e6, "MB")
		})
		b.Run(name+"/cached", func(b *testing.B) {
			cache := b.TempDir()
			b.StopTimer()
			load(b, cache) // warm it
			b.StartTimer()
			for range b.N {
				load(b, cache)
			}
		})
	}
}
