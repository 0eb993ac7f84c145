// Package registry finds, loads and hands out drivers by name. Loading a
// wasm module can take tens of seconds when it is not in the compilation
// cache, so it never happens on a reconcile path: Get starts a load in the
// background and reports ErrLoading until it is done.
package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/driver"
)

// Errors Get returns.
var (
	ErrLoading  = errors.New("driver is loading")
	ErrNotFound = errors.New("driver not found")
)

// Registry holds the loaded drivers.
type Registry struct {
	host    *wasmhost.Host
	dir     string
	log     hclog.Logger
	metrics *metrics.Metrics
	// loadCtx outlives single reconciles: a load started by one reconcile
	// must finish even when that reconcile returns.
	loadCtx context.Context

	mu      sync.Mutex
	entries map[string]*entry
	plugins map[string]*pluginEntry
	gen     map[string]uint64
}

type entry struct {
	done chan struct{}
	drv  driver.Driver
	wasm *wasmhost.Driver
	err  error
}

// New returns a registry that loads <dir>/<name>.wasm with host.
func New(ctx context.Context, host *wasmhost.Host, dir string, m *metrics.Metrics, log hclog.Logger) *Registry {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Registry{host: host, dir: dir, log: log.Named("registry"), metrics: m, loadCtx: ctx,
		entries: map[string]*entry{}, plugins: map[string]*pluginEntry{}, gen: map[string]uint64{}}
}

// RegisterNative serves name with an in-process driver (benchmarks, debugging).
func (r *Registry) RegisterNative(name string, d driver.Driver) {
	e := &entry{done: make(chan struct{}), drv: InstrumentWithLog(d, name, r.metrics, r.log)}
	close(e.done)
	r.mu.Lock()
	r.entries[name] = e
	r.mu.Unlock()
}

// Available lists the drivers found in the driver directory.
func (r *Registry) Available() []string {
	matches, _ := filepath.Glob(filepath.Join(r.dir, "*.wasm"))
	var out []string //nolint:prealloc // stays nil, not empty, when there is no module
	for _, m := range matches {
		out = append(out, strings.TrimSuffix(filepath.Base(m), ".wasm"))
	}
	sort.Strings(out)
	return out
}

// Get returns the driver, ErrLoading while it loads, ErrNotFound when no
// module of that name exists, or the load error.
func (r *Registry) Get(name string) (driver.Driver, error) {
	e := r.start(name)
	select {
	case <-e.done:
		return e.drv, e.err
	default:
		return nil, ErrLoading
	}
}

// Load loads name and waits for it (startup preloading and tests).
func (r *Registry) Load(ctx context.Context, name string) (driver.Driver, error) {
	e := r.start(name)
	select {
	case <-e.done:
		return e.drv, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Preload starts loading name in the background and returns at once; from
// then on Loaded is false until that load finished. The operator preloads
// this way before its manager serves readyz, so readiness never answers
// before a preload has even begun.
func (r *Registry) Preload(name string) { r.start(name) }

// Loaded reports whether every load started so far has finished.
func (r *Registry) Loaded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		select {
		case <-e.done:
		default:
			return false
		}
	}
	return true
}

func (r *Registry) start(name string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[name]; ok {
		return e
	}
	e := &entry{done: make(chan struct{})}
	r.entries[name] = e
	go r.load(name, e)
	return e
}

func (r *Registry) load(name string, e *entry) {
	defer close(e.done)
	path := filepath.Join(r.dir, name+".wasm")
	wasm, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			e.err = fmt.Errorf("%w: no module %s in the driver directory %s (available: %s)", ErrNotFound, name+".wasm", r.dir, strings.Join(r.Available(), ", "))
		} else {
			e.err = fmt.Errorf("read driver module: %w", err)
		}
		r.log.Error("driver unavailable", "driver", name, "error", e.err)
		// Forget the failure after a while, so a module copied in later is found.
		time.AfterFunc(30*time.Second, func() { r.forget(name, e) })
		return
	}
	start := time.Now()
	d, err := r.host.Load(r.loadCtx, name, wasm)
	if err != nil {
		e.err = err
		r.log.Error("driver failed to load", "driver", name, "path", path, "error", err)
		return
	}
	if r.metrics != nil {
		r.metrics.DriverLoadSeconds.WithLabelValues(name).Set(time.Since(start).Seconds())
		r.metrics.DriverCompileSeconds.WithLabelValues(name).Set(d.CompileTime().Seconds())
	}
	e.wasm = d
	e.drv = InstrumentWithLog(d, name, r.metrics, r.log)
}

func (r *Registry) forget(name string, e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries[name] == e {
		delete(r.entries, name)
	}
}

// Close unloads every wasm driver.
func (r *Registry) Close(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		select {
		case <-e.done:
			if e.wasm != nil {
				_ = e.wasm.Close(ctx)
			}
		default:
		}
	}
}
