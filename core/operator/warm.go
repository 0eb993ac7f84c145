package operator

import (
	"context"
	"errors"
	"fmt"

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
