package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Plugin is a driver installed by a plugin manifest rather than found in
// the driver directory. It takes precedence over a module of the same name
// there.
type Plugin struct {
	Name, Version string
	// SHA256 is the hex digest the module must have.
	SHA256 string
	// Path is the module file (a mounted volume); Module holds it inline
	// instead (a small module from the ConfigMap's binaryData).
	Path   string
	Module []byte
	Limits Limits
	// AllowedHosts are endpoints the driver may reach besides its
	// Providers' own (scheme://host[:port]).
	AllowedHosts []string
}

// Limits of one plugin; zero values keep the host's defaults.
type Limits struct {
	MemoryLimitPages    uint32
	PoolSize            int
	CallTimeout         time.Duration
	MaxCallsPerInstance int
	// MaxHTTPCallsPerOp caps the HTTP requests of one driver operation.
	MaxHTTPCallsPerOp int64
}

// ErrSHA256Mismatch refuses a module whose digest is not the manifest's.
var ErrSHA256Mismatch = errors.New("module sha256 does not match the manifest")

// PluginState is where an installed plugin stands.
type PluginState struct {
	// Serving is the version and digest Get hands out, "" while none is.
	ServingVersion, ServingSHA256 string
	// Pending is a version being compiled; Err is why the last one failed.
	PendingSHA256 string
	Err           error
}

// Install verifies p's module against its digest and loads it in the
// background. The version that serves keeps serving until the new one has
// loaded; if it fails to load, the old one stays. A digest mismatch is
// returned at once and changes nothing. Installing the digest that already
// serves (or is loading) is a no-op.
func (r *Registry) Install(p Plugin) error {
	wasm := p.Module
	if wasm == nil {
		b, err := os.ReadFile(p.Path)
		if err != nil {
			return fmt.Errorf("read module of plugin %s: %w", p.Name, err)
		}
		wasm = b
	}
	sum := sha256.Sum256(wasm)
	got := hex.EncodeToString(sum[:])
	if !strings.EqualFold(got, p.SHA256) {
		return fmt.Errorf("%w: plugin %s %s has sha256 %s, the manifest says %s", ErrSHA256Mismatch, p.Name, p.Version, got, p.SHA256)
	}
	p.SHA256 = got
	r.mu.Lock()
	st := r.plugins[p.Name]
	if st != nil && (st.serving == got || st.pending == got || st.failed == got) {
		// Already serving, loading, or known not to load: a module with
		// this digest is the same module, so trying again cannot help.
		st.plugin = p // limits and hosts apply from the next connection
		r.mu.Unlock()
		return nil
	}
	if st == nil {
		st = &pluginEntry{}
		r.plugins[p.Name] = st
	}
	st.plugin, st.pending, st.err, st.failed = p, got, nil, ""
	next := &entry{done: make(chan struct{})}
	if _, serving := r.entries[p.Name]; !serving || st.serving == "" {
		// Nothing of this name serves from a plugin yet: callers wait for it.
		r.entries[p.Name] = next
		r.gen[p.Name]++
	}
	r.mu.Unlock()
	go r.loadPlugin(p, wasm, next)
	return nil
}

func (r *Registry) loadPlugin(p Plugin, wasm []byte, next *entry) {
	cfg := r.host.Config()
	l := p.Limits
	if l.MemoryLimitPages > 0 {
		cfg = cfg.WithMemoryLimitPages(l.MemoryLimitPages)
	}
	if l.PoolSize > 0 {
		cfg = cfg.WithPoolSize(l.PoolSize)
	}
	if l.CallTimeout > 0 {
		cfg = cfg.WithCallTimeout(l.CallTimeout)
	}
	if l.MaxCallsPerInstance > 0 {
		cfg = cfg.WithMaxCallsPerInstance(l.MaxCallsPerInstance)
	}
	start := time.Now()
	d, err := r.host.LoadWith(r.loadCtx, p.Name, wasm, cfg)
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.plugins[p.Name]
	if st == nil || st.pending != p.SHA256 {
		// Uninstalled or superseded while compiling.
		if d != nil {
			go func() { _ = d.Close(context.Background()) }()
		}
		next.err = fmt.Errorf("plugin %s %s was replaced while it loaded", p.Name, p.Version)
		close(next.done)
		return
	}
	st.pending = ""
	if err != nil {
		st.err, st.failed = err, p.SHA256
		r.log.Error("plugin failed to load; the serving version stays", "driver", p.Name, "version", p.Version, "error", err)
		if r.entries[p.Name] == next {
			next.err = err
			close(next.done)
		}
		return
	}
	if r.metrics != nil {
		r.metrics.DriverLoadSeconds.WithLabelValues(p.Name).Set(time.Since(start).Seconds())
		r.metrics.DriverCompileSeconds.WithLabelValues(p.Name).Set(d.CompileTime().Seconds())
	}
	next.wasm, next.drv = d, InstrumentWithLog(d, p.Name, r.metrics, r.log)
	old := r.entries[p.Name]
	if old != next {
		r.entries[p.Name] = next
		r.gen[p.Name]++
		r.retire(old)
	}
	close(next.done)
	st.serving, st.version = p.SHA256, p.Version
	r.log.Info("plugin serving", "driver", p.Name, "version", p.Version, "sha256", p.SHA256, "load_ms", time.Since(start).Milliseconds())
}

// retire closes a replaced driver once calls already in flight are done
// with it: they hold its instances, not the registry's entry.
func (r *Registry) retire(e *entry) {
	if e == nil {
		return
	}
	time.AfterFunc(2*time.Minute, func() {
		select {
		case <-e.done:
			if e.wasm != nil {
				_ = e.wasm.Close(context.Background())
			}
		default:
		}
	})
}

// Uninstall removes a plugin: Providers using it get DriverNotFound, unless
// the driver directory has a module of that name.
func (r *Registry) Uninstall(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.plugins[name]; !ok {
		return
	}
	delete(r.plugins, name)
	r.retire(r.entries[name])
	delete(r.entries, name)
	r.gen[name]++
}

// PluginStatus reports an installed plugin's state; ok is false when no
// plugin of that name is installed.
func (r *Registry) PluginStatus(name string) (PluginState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.plugins[name]
	if !ok {
		return PluginState{}, false
	}
	s := PluginState{ServingSHA256: st.serving, PendingSHA256: st.pending, Err: st.err}
	if st.serving != "" {
		s.ServingVersion = st.version
	}
	return s, true
}

// PluginOf returns the manifest of an installed plugin.
func (r *Registry) PluginOf(name string) (Plugin, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.plugins[name]
	if !ok {
		return Plugin{}, false
	}
	return st.plugin, true
}

// Generation changes whenever the driver Get returns for name may have
// changed (installed, upgraded, uninstalled), so cached connections know to
// resolve again.
func (r *Registry) Generation(name string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen[name]
}

type pluginEntry struct {
	plugin  Plugin
	serving string // digest of the version in entries, "" before the first load
	version string
	pending string // digest being compiled
	failed  string // digest that failed to load (err says why)
	err     error
}
