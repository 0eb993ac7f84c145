package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/operator"
	miniodriver "github.com/pail-dev/pail/plugins/minio/driver"
	"github.com/pail-dev/pail/sdk/driver"
)

// createResync is long enough that no periodic resync happens while Buckets
// are created or while a resync (an operator start) is being counted.
const createResync = 10 * time.Minute

// runningOperator is one in-process operator.
type runningOperator struct {
	op     *operator.Operator
	cancel context.CancelFunc
	done   chan error
	closed bool
}

// startOperator starts an operator serving the MinIO driver in mode. In wasm
// mode the module is loaded (compiled, or read from the compilation cache)
// before the operator starts, so load time never counts against a measurement.
func (b *bench) startOperator(ctx context.Context, mode string) (*runningOperator, error) {
	opts := operator.Options{
		RestConfig:              b.opCfg,
		CacheDir:                operator.DefaultCacheDir(),
		MaxConcurrentReconciles: b.o.concurrency,
		DriverPoolSize:          b.o.pool,
		BucketResync:            createResync,
		BucketRetryMax:          5 * time.Second,
		ProviderRetryBase:       time.Second,
		ProviderRecheck:         time.Hour,
		Logger:                  b.logger,
	}
	switch mode {
	case modeWasm:
		opts.DriverDir = b.o.driverDir
		opts.Preload = []string{driverName}
	case modeNative:
		opts.Native = map[string]driver.Driver{driverName: miniodriver.New(hosthttp.Transport{})}
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	octx, cancel := context.WithCancel(ctx)
	op, err := operator.New(octx, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("operator: %w", err)
	}
	if mode == modeWasm {
		// Load before the manager starts: no reconcile ever sees the driver
		// still loading (which would flip Buckets to DriverLoading and back).
		lctx, lcancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err := op.Registry.Load(lctx, driverName)
		lcancel()
		if err != nil {
			// Start on a cancelled context only releases the wasm host.
			cancel()
			_ = op.Start(octx)
			return nil, fmt.Errorf("load %s driver: %w", driverName, err)
		}
	}
	r := &runningOperator{op: op, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- op.Start(octx) }()
	return r, nil
}

// stop stops the operator and waits for it; it is idempotent and nil-safe.
func (r *runningOperator) stop() error {
	if r == nil || r.closed {
		return nil
	}
	r.closed = true
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("operator stopped with: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("operator did not stop within 30s")
	}
}

// running reports whether the operator was started and not stopped.
func (r *runningOperator) running() bool { return r != nil && !r.closed }

// counters are the host-side counts the bench reads, for driver "minio".
type counters struct {
	writes, reads float64            // host HTTP requests: PUT/POST/DELETE and GET/HEAD
	readsByOp     map[string]float64 // GET/HEAD by driver operation
	observeOK     float64            // ObserveBucket operations that succeeded
	failed        float64            // driver operations with a result other than ok
}

// gatherCounters reads Pail's driver metrics from controller-runtime's
// registry, where every operator in this process records.
func gatherCounters() (counters, error) {
	c := counters{readsByOp: map[string]float64{}}
	mfs, err := crmetrics.Registry.Gather()
	if err != nil {
		return c, fmt.Errorf("gather metrics: %w", err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "pail_driver_http_requests_total":
			for _, m := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range m.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				if l["driver"] != driverName {
					continue
				}
				v := m.GetCounter().GetValue()
				switch l["method"] {
				case "PUT", "POST", "DELETE":
					c.writes += v
				case "GET", "HEAD":
					c.reads += v
					c.readsByOp[l["operation"]] += v
				}
			}
		case "pail_driver_operations_total":
			for _, m := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range m.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				if l["driver"] != driverName {
					continue
				}
				v := m.GetCounter().GetValue()
				switch {
				case l["result"] != "ok":
					c.failed += v
				case l["operation"] == "ObserveBucket":
					c.observeOK += v
				}
			}
		}
	}
	return c, nil
}

// rssMiB reads VmRSS of this process, which hosts the operator(s).
func rssMiB() (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		rest, ok := strings.CutPrefix(s.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", s.Text())
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, err
		}
		return kb / 1024, nil
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// ringBuffer keeps the last lines written to it.
type ringBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

func newRingBuffer(maxLines int) *ringBuffer { return &ringBuffer{max: maxLines} }

func (r *ringBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.part + string(p)
	parts := strings.Split(s, "\n")
	r.part = parts[len(parts)-1]
	r.lines = append(r.lines, parts[:len(parts)-1]...)
	if over := len(r.lines) - r.max; over > 0 {
		r.lines = append(r.lines[:0:0], r.lines[over:]...)
	}
	return len(p), nil
}

func (r *ringBuffer) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) == 0 && r.part == "" {
		return ""
	}
	out := strings.Join(r.lines, "\n") + "\n"
	if r.part != "" {
		out += r.part + "\n"
	}
	return out
}
