// Package wasmhost runs Pail drivers as sandboxed wasm modules with wazero.
//
// A Host compiles modules once (through an on-disk compilation cache) and
// serves each driver from a small pool of instances. An instance runs one
// call at a time; one that traps, times out, runs out of memory or breaks the
// protocol is closed and never reused.
package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/wasmmeta"
)

// Config is immutable: every With… returns a modified copy.
type Config struct {
	cacheDir         string
	memoryLimitPages uint32
	poolSize         int
	callTimeout      time.Duration
	maxCallsPerInst  int
	logger           hclog.Logger
	logRate          float64
	onInstantiate    func(driver string, d time.Duration)
	logBurst         int
}

// NewConfig returns the defaults: 8 instances per driver, 256 MiB of linear
// memory each, 30 s per call, instances recycled after 10,000 calls because
// linear memory never shrinks.
func NewConfig() Config {
	return Config{
		memoryLimitPages: 4096,
		poolSize:         8,
		callTimeout:      30 * time.Second,
		maxCallsPerInst:  10000,
		logger:           hclog.NewNullLogger(),
		logRate:          20,
		logBurst:         100,
	}
}

// WithCacheDir keeps compiled modules in dir, which must be private to the
// operator: wazero does not verify what it loads from there.
func (c Config) WithCacheDir(dir string) Config { c.cacheDir = dir; return c }

// WithMemoryLimitPages caps each instance's linear memory (64 KiB pages).
func (c Config) WithMemoryLimitPages(n uint32) Config { c.memoryLimitPages = n; return c }

// WithPoolSize sets the number of instances per driver.
func (c Config) WithPoolSize(n int) Config {
	if n > 0 {
		c.poolSize = n
	}
	return c
}

// WithCallTimeout bounds one driver call; the instance is closed when it expires.
func (c Config) WithCallTimeout(d time.Duration) Config {
	if d > 0 {
		c.callTimeout = d
	}
	return c
}

// WithMaxCallsPerInstance recycles an instance after n calls.
func (c Config) WithMaxCallsPerInstance(n int) Config {
	if n > 0 {
		c.maxCallsPerInst = n
	}
	return c
}

// WithLogger sets where driver logs and host diagnostics go.
func (c Config) WithLogger(l hclog.Logger) Config { c.logger = l; return c }

// WithInstantiateObserver returns a copy that reports how long each new
// instance took to instantiate (metrics; the first instance of a load is
// part of the load time).
func (c Config) WithInstantiateObserver(f func(driver string, d time.Duration)) Config {
	c.onInstantiate = f
	return c
}

// WithLogRate limits driver log lines per second (and burst) per driver.
func (c Config) WithLogRate(perSecond float64, burst int) Config {
	c.logRate, c.logBurst = perSecond, burst
	return c
}

// Host loads driver modules.
type Host struct {
	cfg   Config
	cache wazero.CompilationCache
}

// New creates a Host.
func New(cfg Config) (*Host, error) {
	h := &Host{cfg: cfg}
	if cfg.cacheDir != "" {
		if err := os.MkdirAll(cfg.cacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("compilation cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(cfg.cacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache: %w", err)
		}
		h.cache = c
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	return h, nil
}

// Close releases the compilation cache.
func (h *Host) Close(ctx context.Context) error { return h.cache.Close(ctx) }

// LoadError says why a module was refused; it is never retryable.
type LoadError struct{ Reason string }

func (e *LoadError) Error() string { return "driver module refused: " + e.Reason }

var requiredExports = []string{"_initialize", "alloc", "free", "describe", "call"}

// Load compiles a module, checks its ABI, instantiates it once and runs the
// describe handshake. It can take seconds for a large cold module, so call
// it at load time, never on a reconcile path.
func (h *Host) Load(ctx context.Context, name string, wasm []byte) (*Driver, error) {
	return h.LoadWith(ctx, name, wasm, h.cfg)
}

// Config returns the host's configuration, the base of LoadWith's.
func (h *Host) Config() Config { return h.cfg }

// LoadWith is Load with limits of the driver's own (a plugin manifest's):
// memory pages, pool size, call timeout and calls per instance come from
// cfg; the compilation cache and the logger stay the host's.
func (h *Host) LoadWith(ctx context.Context, name string, wasm []byte, cfg Config) (*Driver, error) {
	cfg.cacheDir, cfg.logger = h.cfg.cacheDir, h.cfg.logger
	start := time.Now()
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(h.cache).
		WithMemoryLimitPages(cfg.memoryLimitPages).
		WithCloseOnContextDone(true)
	r := wazero.NewRuntimeWithConfig(ctx, rc)
	d := &Driver{
		name:    name,
		cfg:     cfg,
		runtime: r,
		log:     h.cfg.logger.Named("driver").With("driver", name),
	}
	d.Funcs = driver.Through(d)
	ok := false
	defer func() {
		if !ok {
			_ = r.Close(ctx)
		}
	}()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		return nil, fmt.Errorf("wasi: %w", err)
	}
	if err := d.instantiateHostModule(ctx); err != nil {
		return nil, fmt.Errorf("host module: %w", err)
	}
	// The metadata section is read before compiling: a module that declares
	// another major ABI is refused without paying for a compile.
	meta, hasMeta, err := readMetadata(wasm)
	if err != nil {
		return nil, err
	}
	compiled, err := r.CompileModule(ctx, wasm)
	if err != nil {
		return nil, &LoadError{Reason: fmt.Sprintf("not a valid wasm module: %v", err)}
	}
	if err := checkABI(compiled); err != nil {
		return nil, err
	}
	d.compiled = compiled
	d.compileTime = time.Since(start)
	d.pool = newPool(cfg.poolSize)

	inst, err := d.newInstance(ctx)
	if err != nil {
		return nil, &LoadError{Reason: fmt.Sprintf("instantiate: %v", err)}
	}
	if err := checkSignatures(compiled); err != nil {
		inst.close(ctx)
		return nil, err
	}
	info, err := d.describe(ctx, inst)
	if err != nil {
		inst.close(ctx)
		return nil, &LoadError{Reason: fmt.Sprintf("describe handshake: %v", err)}
	}
	major, _, _ := strings.Cut(info.ABI, ".")
	if major != strconv.Itoa(abi.VersionMajor) {
		inst.close(ctx)
		return nil, &LoadError{Reason: fmt.Sprintf("describe reports ABI %q, this host speaks %s", info.ABI, abi.Version)}
	}
	if info.Name == "" {
		inst.close(ctx)
		return nil, &LoadError{Reason: "describe returned no driver name"}
	}
	if hasMeta {
		// Tools and people read the section without running the module; a
		// section that disagrees with the handshake would mislead them.
		if err := metadataAgrees(meta, info); err != nil {
			inst.close(ctx)
			return nil, err
		}
	}
	d.info = info
	d.pool.put(inst)
	d.loadTime = time.Since(start)
	ok = true
	d.log.Info("driver loaded", "version", info.Version, "abi", info.ABI, "capabilities", info.Capabilities, "metadata_section", hasMeta,
		"compile_ms", d.compileTime.Milliseconds(), "load_ms", d.loadTime.Milliseconds())
	return d, nil
}

// readMetadata reads the module's pail.driver custom section (sdk/ABI.md,
// "Metadata section"). A module without one is accepted; one whose section
// is undecodable, or declares another major ABI, is refused.
func readMetadata(wasm []byte) (wasmmeta.Metadata, bool, error) {
	meta, found, err := wasmmeta.Read(wasm)
	switch {
	case errors.Is(err, wasmmeta.ErrNotWasm), errors.Is(err, wasmmeta.ErrMalformed):
		return meta, false, &LoadError{Reason: fmt.Sprintf("not a valid wasm module: %v", err)}
	case err != nil:
		return meta, false, &LoadError{Reason: fmt.Sprintf("%s metadata section: %v", wasmmeta.SectionName, err)}
	case found && meta.Major() != strconv.Itoa(abi.VersionMajor):
		return meta, false, &LoadError{Reason: fmt.Sprintf("%s metadata section declares ABI %q, this host speaks %s", wasmmeta.SectionName, meta.ABI, abi.Version)}
	}
	return meta, found, nil
}

// metadataAgrees checks the section against the describe handshake: the
// name and the major ABI version must be the same.
func metadataAgrees(meta wasmmeta.Metadata, info abi.DriverInfo) error {
	var diffs []string
	if meta.Name != info.Name {
		diffs = append(diffs, fmt.Sprintf("name %q in the section, %q from describe", meta.Name, info.Name))
	}
	if len(diffs) > 0 {
		return &LoadError{Reason: fmt.Sprintf("%s metadata section disagrees with the describe handshake: %s", wasmmeta.SectionName, strings.Join(diffs, "; "))}
	}
	return nil
}

func checkABI(m wazero.CompiledModule) error {
	exports := m.ExportedFunctions()
	if _, ok := exports[abi.MarkerExport]; !ok {
		var other []string
		for n := range exports {
			if strings.HasPrefix(n, abi.MarkerPrefix) {
				other = append(other, n)
			}
		}
		if len(other) > 0 {
			sort.Strings(other)
			return &LoadError{Reason: fmt.Sprintf("module exports %s but this host speaks ABI v%d (%s)", strings.Join(other, ", "), abi.VersionMajor, abi.MarkerExport)}
		}
		return &LoadError{Reason: fmt.Sprintf("module has no %s export: it is not a Pail driver, or was built without sdk/guest", abi.MarkerExport)}
	}
	var missing []string
	for _, n := range requiredExports {
		if _, ok := exports[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return &LoadError{Reason: "module is missing required exports: " + strings.Join(missing, ", ")}
	}
	for _, f := range m.ImportedFunctions() {
		mod, fn, _ := f.Import()
		if mod != abi.HostModule && mod != wasi_snapshot_preview1.ModuleName {
			return &LoadError{Reason: fmt.Sprintf("module imports %s.%s; a driver may import only %s and %s", mod, fn, abi.HostModule, wasi_snapshot_preview1.ModuleName)}
		}
	}
	return nil
}

func sig(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// checkSignatures runs after instantiation, so a module that cannot even be
// instantiated says so first.
func checkSignatures(m wazero.CompiledModule) error {
	exports := m.ExportedFunctions()
	// Names are not enough: a wrong signature would break the protocol on
	// the first call.
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	for name, want := range map[string][2][]api.ValueType{
		"_initialize": {nil, nil},
		"alloc":       {{i32}, {i32}},
		"free":        {{i32}, nil},
		"describe":    {{i32, i32}, {i64}},
		"call":        {{i32, i32}, {i64}},
	} {
		f := exports[name]
		if !slices.Equal(f.ParamTypes(), want[0]) || !slices.Equal(f.ResultTypes(), want[1]) {
			return &LoadError{Reason: fmt.Sprintf("export %s has signature %s -> %s, want %s -> %s (see sdk/ABI.md)",
				name, sig(f.ParamTypes()), sig(f.ResultTypes()), sig(want[0]), sig(want[1]))}
		}
	}
	if len(m.ExportedMemories()) == 0 {
		return &LoadError{Reason: "module exports no linear memory"}
	}
	return nil
}

// TrapError reports a call that killed its instance: a panic, a timeout, an
// out-of-memory or a protocol violation. The instance was discarded.
type TrapError struct {
	Driver string
	Op     string
	Cause  error
}

func (e *TrapError) Error() string {
	return fmt.Sprintf("driver %s trapped during %s (instance discarded): %v", e.Driver, e.Op, e.Cause)
}

func (e *TrapError) Unwrap() error { return e.Cause }

// IsTrap reports whether err is a TrapError.
func IsTrap(err error) bool { var t *TrapError; return errors.As(err, &t) }
