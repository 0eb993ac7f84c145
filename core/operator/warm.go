package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/pail-dev/pail/core/registry"
	"github.com/pail-dev/pail/core/wasmhost"
)

// WarmCache compiles every driver in driverDir into the compilation cache at
// cacheDir and returns the names it loaded. The image build runs it (pail
// --warm-cache) so a pod's first driver load reads compiled code instead of
// compiling a 13 MB module for several seconds. A driver that fails to load
// fails the warm-up: an image must not ship a driver the operator refuses.
func WarmCache(ctx context.Context, driverDir, cacheDir string, log hclog.Logger) ([]string, error) {
	if cacheDir == "" {
		return nil, errors.New("warm cache: no cache directory")
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	host, err := wasmhost.New(wasmhost.NewConfig().WithCacheDir(cacheDir).WithPoolSize(1).WithLogger(log))
	if err != nil {
		return nil, err
	}
	defer func() { _ = host.Close(context.WithoutCancel(ctx)) }()
	reg := registry.New(ctx, host, driverDir, nil, log)
	defer reg.Close(context.WithoutCancel(ctx))
	names := reg.Available()
	if len(names) == 0 {
		return nil, fmt.Errorf("warm cache: no <name>.wasm drivers in %s", driverDir)
	}
	var errs []error
	for _, name := range names {
		if _, err := reg.Load(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("driver %s: %w", name, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("warm cache: %w", errors.Join(errs...))
	}
	return names, nil
}

// SeedCache copies the compiled modules under seedDir (the cache the image
// build warmed, read-only in the image) into cacheDir (a writable volume),
// skipping files already there, and returns how many it copied. The cache
// has to be writable for drivers the image did not ship, so the chart mounts
// an emptyDir over it; seeding keeps the image's compile work anyway.
func SeedCache(seedDir, cacheDir string) (int, error) {
	n := 0
	err := filepath.WalkDir(seedDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(seedDir, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(cacheDir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if _, err := os.Stat(dst); err == nil {
			return nil
		}
		if err := copyFile(path, dst); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("seed compilation cache from %s: %w", seedDir, err)
	}
	return n, nil
}

// copyFile writes src to dst through a temporary file, so a crash never
// leaves a truncated module that wazero would read as compiled code.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".seed-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		_ = tmp.Close() // the copy's error is the one to report
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
