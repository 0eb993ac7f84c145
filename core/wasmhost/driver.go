package wasmhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"golang.org/x/time/rate"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// Driver is a loaded module. It implements driver.Driver and
// driver.UserDriver through driver.Through, whose every operation comes to
// Call, so controllers cannot tell it from a native driver.
type Driver struct {
	driver.Funcs
	name        string
	cfg         Config
	runtime     wazero.Runtime
	compiled    wazero.CompiledModule
	info        abi.DriverInfo
	pool        *pool
	log         hclog.Logger
	logLimiter  *rate.Limiter
	compileTime time.Duration
	loadTime    time.Duration

	traps     atomic.Int64
	instances atomic.Int64
	dropped   atomic.Int64
}

var (
	_ driver.Driver     = (*Driver)(nil)
	_ driver.UserDriver = (*Driver)(nil)
	_ driver.Caller     = (*Driver)(nil)
)

// Info is what the module declared in the handshake.
func (d *Driver) Info() abi.DriverInfo { return d.info }

// CompileTime is how long compiling the module took (from the compilation
// cache: reading it back).
func (d *Driver) CompileTime() time.Duration { return d.compileTime }

// LoadTime is how long Load took, compile included.
func (d *Driver) LoadTime() time.Duration { return d.loadTime }

// Traps counts instances discarded after a failed call.
func (d *Driver) Traps() int64 { return d.traps.Load() }

// Instances is the number of live instances.
func (d *Driver) Instances() int64 { return d.instances.Load() }

// Close closes every instance and the runtime.
func (d *Driver) Close(ctx context.Context) error {
	d.pool.closeAll(ctx)
	return d.runtime.Close(ctx)
}

type instance struct {
	mod    api.Module
	alloc  api.Function
	free   api.Function
	desc   api.Function
	call   api.Function
	calls  int
	state  atomic.Pointer[callState]
	stderr *stderrLog
}

func (i *instance) close(ctx context.Context) { _ = i.mod.Close(ctx) }

// callState is what the host imports see of the call in progress on an
// instance. One call at a time runs per instance, so it needs no lock.
type callState struct {
	op      *hosthttp.Op
	info    hosthttp.CallInfo
	opName  string
	pending []byte
	// logs counts log records of this call; past MaxLogsPerCall the call
	// is aborted, since a driver that floods cannot be doing its job.
	logs int
	// refused is set when the host refused a request (a host not allowed,
	// a cap exceeded): the instance that asked is not trusted again.
	refused bool
}

// MaxLogsPerCall aborts a driver call that writes more log records (kept or
// rate-limited away) than this: the instance is discarded like a trap.
const MaxLogsPerCall = 10000

// errLogFlood aborts a call from inside the log import.
var errLogFlood = errors.New("driver flooded the log: more than 10000 records in one call")

// countLog counts one log record of the call and aborts it past
// MaxLogsPerCall: wazero turns the panic into the call's error, which
// discards the instance.
func (s *callState) countLog() {
	if s == nil {
		return
	}
	s.logs++
	if s.logs > MaxLogsPerCall {
		panic(errLogFlood)
	}
}

func (s *callState) redact(v string) string {
	if s == nil {
		return v
	}
	for _, sec := range s.info.Secrets {
		if len(sec) >= 4 {
			v = strings.ReplaceAll(v, sec, "[REDACTED]")
		}
	}
	return v
}

type stateKey struct{}

func (d *Driver) newInstance(ctx context.Context) (*instance, error) {
	inst := &instance{}
	inst.stderr = &stderrLog{d: d, inst: inst}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		// wazero's defaults are a fake clock and deterministic randomness,
		// which break request signing and TLS-grade nonces.
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithStderr(inst.stderr).
		WithStdout(inst.stderr)
	mod, err := d.runtime.InstantiateModule(ctx, d.compiled, mc)
	if err != nil {
		return nil, err
	}
	inst.mod = mod
	inst.alloc = mod.ExportedFunction("alloc")
	inst.free = mod.ExportedFunction("free")
	inst.desc = mod.ExportedFunction("describe")
	inst.call = mod.ExportedFunction("call")
	d.instances.Add(1)
	return inst, nil
}

func (d *Driver) discard(ctx context.Context, inst *instance) {
	inst.close(context.WithoutCancel(ctx))
	d.instances.Add(-1)
	d.pool.remove(inst)
}

// roundTrip writes in into the instance, calls fn and returns its buffer.
func roundTrip(ctx context.Context, inst *instance, fn api.Function, in []byte) ([]byte, error) {
	mem := inst.mod.Memory()
	if mem == nil {
		return nil, errors.New("protocol: the module has no linear memory")
	}
	res, err := inst.alloc.Call(ctx, uint64(len(in)))
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, errors.New("protocol: alloc returned no pointer")
	}
	ptr := api.DecodeU32(res[0]) // an i32 result: the low 32 bits
	if !mem.Write(ptr, in) {
		return nil, fmt.Errorf("protocol: alloc returned %d, outside memory", ptr)
	}
	res, err = fn.Call(ctx, uint64(ptr), uint64(len(in)))
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, errors.New("protocol: the export returned no packed result")
	}
	if _, err := inst.free.Call(ctx, uint64(ptr)); err != nil {
		return nil, err
	}
	outPtr, outLen := abi.Unpack(res[0])
	view, ok := mem.Read(outPtr, outLen)
	if !ok {
		return nil, fmt.Errorf("protocol: result %d+%d outside memory", outPtr, outLen)
	}
	out := bytes.Clone(view)
	if _, err := inst.free.Call(ctx, uint64(outPtr)); err != nil {
		return nil, err
	}
	return out, nil
}

func (d *Driver) describe(ctx context.Context, inst *instance) (abi.DriverInfo, error) {
	in, err := json.Marshal(abi.HostInfo{ABI: abi.Version, Host: "pail"})
	if err != nil {
		return abi.DriverInfo{}, fmt.Errorf("encode host info: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.callTimeout)
	defer cancel()
	out, err := roundTrip(ctx, inst, inst.desc, in)
	if err != nil {
		return abi.DriverInfo{}, err
	}
	var info abi.DriverInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return abi.DriverInfo{}, fmt.Errorf("protocol: undecodable DriverInfo: %w", err)
	}
	return info, nil
}

// Call implements driver.Caller: every operation, typed by the abi table,
// takes this one path to the module.
func (d *Driver) Call(ctx context.Context, op abi.Operation, p abi.ProviderConfig, args any) (any, error) {
	raw, err := op.EncodeArgs(args)
	if err != nil {
		return nil, err
	}
	out, err := d.invoke(ctx, op.Name, p, raw)
	if err != nil {
		return nil, err
	}
	res, err := op.DecodeResult(out)
	if err != nil {
		return nil, fmt.Errorf("driver %s: %w", d.name, err)
	}
	return res, nil
}

// invoke runs one operation on a pooled instance.
func (d *Driver) invoke(ctx context.Context, op string, p abi.ProviderConfig, args json.RawMessage) ([]byte, error) {
	if !d.info.Implements(op) {
		return nil, abi.Errorf(abi.CodeUnimplemented, "driver %s does not implement %s", d.name, op)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.callTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	ci := hosthttp.CallInfoFrom(ctx)
	req := abi.Request{Op: op, ID: ci.ReconcileID, Deadline: deadline, Provider: p, Args: args}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	inst, err := d.pool.get(ctx, d)
	if err != nil {
		return nil, err
	}
	st := &callState{op: hosthttp.OpFrom(ctx), info: ci, opName: op}
	st.info.Secrets = append(append([]string(nil), ci.Secrets...), p.Credentials.SecretAccessKey, p.Credentials.SessionToken)
	inst.state.Store(st)
	out, err := roundTrip(context.WithValue(ctx, stateKey{}, st), inst, inst.call, in)
	inst.state.Store(nil)
	inst.calls++
	if err != nil {
		d.traps.Add(1)
		d.discard(ctx, inst)
		cause := err
		if ctx.Err() != nil {
			cause = fmt.Errorf("call exceeded its deadline: %w", err)
		}
		d.log.Warn("driver instance discarded", "op", op, "provider", ci.Provider, "reconcile_id", ci.ReconcileID, "error", st.redact(cause.Error()))
		return nil, &TrapError{Driver: d.name, Op: op, Cause: errors.New(st.redact(cause.Error()))}
	}
	var resp abi.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		// A protocol violation: the instance is not trusted again.
		d.traps.Add(1)
		d.discard(ctx, inst)
		return nil, &TrapError{Driver: d.name, Op: op, Cause: fmt.Errorf("protocol: undecodable response: %w", err)}
	}
	if inst.calls >= d.cfg.maxCallsPerInst || st.refused {
		d.discard(ctx, inst)
	} else {
		d.pool.put(inst)
	}
	if resp.Error != nil {
		resp.Error.Message = st.redact(resp.Error.Message)
		resp.Error.ProviderCode = st.redact(resp.Error.ProviderCode)
		return nil, resp.Error
	}
	return resp.Result, nil
}

// Describe returns the handshake result.
func (d *Driver) Describe() abi.DriverInfo { return d.info }

// pool hands out instances, never one to two goroutines at once.
type pool struct {
	idle chan *instance
	sem  chan struct{}
	mu   sync.Mutex
	all  map[*instance]struct{}
}

func newPool(n int) *pool {
	return &pool{idle: make(chan *instance, n), sem: make(chan struct{}, n), all: map[*instance]struct{}{}}
}

func (p *pool) get(ctx context.Context, d *Driver) (*instance, error) {
	select {
	case inst := <-p.idle:
		return inst, nil
	default:
	}
	select {
	case inst := <-p.idle:
		return inst, nil
	case p.sem <- struct{}{}:
		start := time.Now()
		inst, err := d.newInstance(ctx)
		if err == nil && d.cfg.onInstantiate != nil {
			d.cfg.onInstantiate(d.name, time.Since(start))
		}
		if err != nil {
			<-p.sem
			return nil, fmt.Errorf("instantiate driver %s: %w", d.name, err)
		}
		p.mu.Lock()
		p.all[inst] = struct{}{}
		p.mu.Unlock()
		return inst, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free %s instance: %w", d.name, ctx.Err())
	}
}

// put returns a healthy instance. The first instance (from Load) did not
// take a slot yet, so put claims one for it when needed.
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	if _, ok := p.all[inst]; !ok {
		p.all[inst] = struct{}{}
		p.mu.Unlock()
		p.sem <- struct{}{}
	} else {
		p.mu.Unlock()
	}
	p.idle <- inst
}

func (p *pool) remove(inst *instance) {
	p.mu.Lock()
	delete(p.all, inst)
	p.mu.Unlock()
	<-p.sem
}

func (p *pool) closeAll(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for inst := range p.all {
		inst.close(ctx)
	}
	p.all = map[*instance]struct{}{}
}

// stderrLog turns the guest's stderr (Go panics, runtime errors) into host
// log lines, redacted with the credentials of the call in progress.
type stderrLog struct {
	d    *Driver
	inst *instance
}

func (w *stderrLog) Write(b []byte) (int, error) {
	w.inst.state.Load().countLog()
	if !w.d.logAllowed() {
		return len(b), nil
	}
	msg := strings.TrimRight(string(b), "\n")
	if len(msg) > 4096 {
		msg = msg[:4096] + "…(truncated)"
	}
	w.d.log.Warn("driver stderr", "output", w.inst.state.Load().redact(msg))
	return len(b), nil
}

func (d *Driver) logAllowed() bool {
	if d.logLimiter == nil {
		return true
	}
	if d.logLimiter.Allow() {
		return true
	}
	d.dropped.Add(1)
	return false
}
