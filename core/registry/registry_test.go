package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

func loadCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// policyCtx returns a context carrying a policy that allows endpoints.
func policyCtx(t testing.TB, endpoints ...string) context.Context {
	t.Helper()
	p, err := hosthttp.NewPolicy(endpoints, hosthttp.TLSOptions{})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return hosthttp.WithPolicy(context.Background(), p)
}

func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}

func TestAvailable(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		want  []string
	}{
		{"empty directory", nil, nil},
		{"only .wasm files, sorted, without extension", map[string][]byte{
			"wasabi.wasm": nil, "aws.wasm": nil, "minio.wasm": nil, "README.md": nil, "minio.wasm.bak": nil,
		}, []string{"aws", "minio", "wasabi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(context.Background(), nil, driverDir(t, tt.files), nil, nil)
			assert.Equal(t, tt.want, r.Available())
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		r := New(context.Background(), nil, filepath.Join(t.TempDir(), "nope"), nil, nil)
		assert.Empty(t, r.Available())
	})
}

func TestGetMissingModule(t *testing.T) {
	dir := driverDir(t, map[string][]byte{"aws.wasm": []byte("x"), "minio.wasm": []byte("x")})
	r := New(loadCtx(t), newHost(t), dir, nil, nil)

	_, err := r.Get("ceph")
	// Get never waits: the load runs in the background. Reading a missing
	// file is quick enough that, in theory, it may already be done.
	if !errors.Is(err, ErrLoading) {
		require.ErrorIs(t, err, ErrNotFound)
	}

	d, err := r.Load(loadCtx(t), "ceph")
	require.ErrorIs(t, err, ErrNotFound)
	assert.Nil(t, d)
	assert.Contains(t, err.Error(), "ceph.wasm")
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "available: aws, minio")

	d, err = r.Get("ceph")
	require.ErrorIs(t, err, ErrNotFound, "the failure is remembered, not retried on every Get")
	assert.Nil(t, d)
	assert.True(t, r.Loaded())
}

func TestGetWhileLoading(t *testing.T) {
	dir := t.TempDir()
	// Reading a FIFO blocks until someone writes to it: the load stays in
	// progress for as long as the test wants.
	fifo := filepath.Join(dir, "slow.wasm")
	mkfifo(t, fifo)
	r := New(loadCtx(t), newHost(t), dir, nil, nil)

	for range 3 {
		d, err := r.Get("slow")
		require.ErrorIs(t, err, ErrLoading)
		assert.Nil(t, d)
	}
	assert.False(t, r.Loaded())

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := r.Load(ctx, "slow")
	require.ErrorIs(t, err, context.DeadlineExceeded, "Load gives up with its context, the load continues")

	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = w.WriteString("not wasm")
	require.NoError(t, err)
	require.NoError(t, w.Close())

	_, err = r.Load(loadCtx(t), "slow")
	var le *wasmhost.LoadError
	require.ErrorAs(t, err, &le)
	assert.Contains(t, err.Error(), "not a valid wasm module")
	assert.True(t, r.Loaded())
	_, err = r.Get("slow")
	require.ErrorAs(t, err, &le, "Get returns the load error once loading is done")
}

// A preload counts as loading from the moment Preload returns, not from
// whenever its goroutine first runs: readyz must not answer before it.
func TestPreloadIsLoadingAtOnce(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "slow.wasm")
	mkfifo(t, fifo)
	r := New(loadCtx(t), newHost(t), dir, nil, nil)
	require.True(t, r.Loaded(), "nothing started yet")
	r.Preload("slow")
	assert.False(t, r.Loaded())

	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	_, err = r.Load(loadCtx(t), "slow")
	require.Error(t, err)
	assert.True(t, r.Loaded(), "a failed load is finished")
}

func TestLoadRogue(t *testing.T) {
	m, err := metrics.New(prometheus.NewRegistry())
	require.NoError(t, err)
	r := New(loadCtx(t), newHost(t), driverDir(t, map[string][]byte{"rogue.wasm": rogueWasm}), m, nil)
	t.Cleanup(func() { r.Close(context.Background()) })

	// Many reconciles asking at once start a single load.
	var wg sync.WaitGroup
	drivers := make(chan driver.Driver, 10)
	for range 10 {
		wg.Go(func() {
			d, err := r.Load(loadCtx(t), "rogue")
			if err == nil {
				drivers <- d
			}
		})
	}
	wg.Wait()
	close(drivers)
	var first driver.Driver
	n := 0
	for d := range drivers {
		n++
		if first == nil {
			first = d
		}
		assert.Same(t, first, d)
	}
	require.Equal(t, 10, n)

	d, err := r.Get("rogue")
	require.NoError(t, err)
	assert.Same(t, first, d)
	assert.Equal(t, "rogue", d.Describe().Name)
	assert.Positive(t, gauge(t, m.DriverLoadSeconds.WithLabelValues("rogue")))
	assert.Positive(t, gauge(t, m.DriverCompileSeconds.WithLabelValues("rogue")))
	assert.LessOrEqual(t, gauge(t, m.DriverCompileSeconds.WithLabelValues("rogue")), gauge(t, m.DriverLoadSeconds.WithLabelValues("rogue")), "compiling is part of loading")

	srv, hits := countingServer(t)
	p := abi.ProviderConfig{Name: "ns/p", Endpoint: srv.URL, Region: srv.URL, Credentials: abi.Credentials{SecretAccessKey: "secret-1234"}}

	err = d.CheckProvider(context.Background(), p)
	require.ErrorIs(t, err, errNoPolicy)
	assert.Zero(t, hits.Load())

	require.NoError(t, d.CheckProvider(policyCtx(t, srv.URL), p))
	assert.EqualValues(t, 1, hits.Load())
	assert.InDelta(t, 1, counter(t, m.DriverOperations.WithLabelValues("rogue", abi.OpCheckProvider, "ok")), 0)
	assert.InDelta(t, 1, counter(t, m.DriverRequests.WithLabelValues("rogue", abi.OpCheckProvider, http.MethodGet, "200")), 0)

	err = d.CheckProvider(policyCtx(t, "http://127.0.0.1:1"), p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "host not allowed")
	assert.EqualValues(t, 1, hits.Load())
	assert.InDelta(t, 1, counter(t, m.DriverOperations.WithLabelValues("rogue", abi.OpCheckProvider, string(abi.CodeUnavailable))), 0)
	assert.InDelta(t, 1, counter(t, m.DriverRequests.WithLabelValues("rogue", abi.OpCheckProvider, http.MethodGet, "0")), 0,
		"refused requests are counted with code 0")

	_, err = d.ObserveBucket(policyCtx(t, srv.URL), p, abi.BucketArgs{Name: "trap"})
	require.True(t, wasmhost.IsTrap(err), "%v", err)
	assert.InDelta(t, 1, counter(t, m.DriverTraps.WithLabelValues("rogue")), 0)
	assert.InDelta(t, 1, counter(t, m.DriverOperations.WithLabelValues("rogue", abi.OpObserveBucket, "Trap")), 0)
}

func TestLoadRogueWithoutMetrics(t *testing.T) {
	r := New(loadCtx(t), newHost(t), driverDir(t, map[string][]byte{"rogue.wasm": rogueWasm}), nil, nil)
	t.Cleanup(func() { r.Close(context.Background()) })
	d, err := r.Load(loadCtx(t), "rogue")
	require.NoError(t, err)
	srv, hits := countingServer(t)
	p := abi.ProviderConfig{Region: srv.URL}
	require.NotPanics(t, func() { err = d.CheckProvider(policyCtx(t, srv.URL), p) })
	require.NoError(t, err)
	assert.EqualValues(t, 1, hits.Load())
	require.NotPanics(t, func() { _, err = d.ObserveBucket(policyCtx(t, srv.URL), p, abi.BucketArgs{Name: "trap"}) })
	assert.True(t, wasmhost.IsTrap(err))
}

func TestLoadBrokenModule(t *testing.T) {
	r := New(loadCtx(t), newHost(t), driverDir(t, map[string][]byte{"broken.wasm": []byte("\x00asm\x01\x00\x00\x00")}), nil, nil)
	_, err := r.Load(loadCtx(t), "broken")
	var le *wasmhost.LoadError
	require.ErrorAs(t, err, &le)
	assert.Contains(t, err.Error(), "pail_abi_v1")
	assert.NotErrorIs(t, err, ErrNotFound)
}

func TestLoadUnreadableModule(t *testing.T) {
	// A directory named like a module exists but cannot be read as one.
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "odd.wasm"), 0o700))
	r := New(loadCtx(t), newHost(t), dir, nil, nil)
	_, err := r.Load(loadCtx(t), "odd")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read driver module")
	assert.NotErrorIs(t, err, ErrNotFound)
}

// nativeDouble is a driver.Funcs that records the context of each call and
// fetches p.Region through the host's native transport.
func nativeDouble(calls *atomic.Int64, sawOp *atomic.Bool) driver.Funcs {
	fetch := func(ctx context.Context, p abi.ProviderConfig) error {
		calls.Add(1)
		sawOp.Store(hosthttp.OpFrom(ctx) != nil)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Region, nil)
		if err != nil {
			return abi.Errorf(abi.CodeInvalidArgument, "%v", err)
		}
		resp, err := (&http.Client{Transport: hosthttp.Transport{}}).Do(req)
		if err != nil {
			return abi.Errorf(abi.CodeUnavailable, "%v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return abi.Errorf(abi.CodeNotFound, "no such bucket")
		}
		return nil
	}
	return driver.Funcs{
		Info:    abi.DriverInfo{Name: "double", Version: "9.9.9", ABI: abi.Version, Operations: []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket}},
		CheckFn: fetch,
		ObserveFn: func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
			if b.Name == "trap" {
				calls.Add(1)
				return abi.BucketObservation{}, &wasmhost.TrapError{Driver: "double", Op: abi.OpObserveBucket, Cause: errors.New("boom")}
			}
			if b.Name == "plain" {
				calls.Add(1)
				return abi.BucketObservation{}, errors.New("plain failure")
			}
			if err := fetch(ctx, p); err != nil {
				return abi.BucketObservation{}, err
			}
			return abi.BucketObservation{Exists: true}, nil
		},
		ApplyFn:  func(ctx context.Context, p abi.ProviderConfig, _ abi.BucketArgs) error { return fetch(ctx, p) },
		DeleteFn: func(ctx context.Context, p abi.ProviderConfig, _ abi.BucketArgs) error { return fetch(ctx, p) },
	}
}

func TestRegisterNative(t *testing.T) {
	srv, hits := countingServer(t)
	other, otherHits := countingServer(t)
	var calls atomic.Int64
	var sawOp atomic.Bool
	r := New(context.Background(), nil, t.TempDir(), nil, nil)
	r.RegisterNative("double", nativeDouble(&calls, &sawOp))

	d, err := r.Get("double")
	require.NoError(t, err, "a native driver is ready at once")
	assert.Equal(t, "double", d.Describe().Name)
	assert.Equal(t, "9.9.9", d.Describe().Version)
	assert.True(t, r.Loaded())

	p := abi.ProviderConfig{Endpoint: srv.URL, Region: srv.URL + "/b"}
	b := abi.BucketArgs{Name: "b"}
	ops := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{abi.OpCheckProvider, func(ctx context.Context) error { return d.CheckProvider(ctx, p) }},
		{abi.OpObserveBucket, func(ctx context.Context) error { _, err := d.ObserveBucket(ctx, p, b); return err }},
		{abi.OpApplyBucket, func(ctx context.Context) error { return d.ApplyBucket(ctx, p, b) }},
		{abi.OpDeleteBucket, func(ctx context.Context) error { return d.DeleteBucket(ctx, p, b) }},
	}
	for _, op := range ops {
		t.Run(op.name+"/without a policy", func(t *testing.T) {
			before := calls.Load()
			err := op.call(context.Background())
			require.ErrorIs(t, err, errNoPolicy)
			assert.Contains(t, err.Error(), "without a network policy")
			assert.Equal(t, before, calls.Load(), "the driver is not called")
		})
		t.Run(op.name+"/with a policy", func(t *testing.T) {
			before, beforeHits := calls.Load(), hits.Load()
			sawOp.Store(false)
			require.NoError(t, op.call(policyCtx(t, srv.URL)))
			assert.Equal(t, before+1, calls.Load())
			assert.True(t, sawOp.Load(), "the driver runs under an Op")
			assert.Equal(t, beforeHits+1, hits.Load())
		})
		t.Run(op.name+"/host outside the policy", func(t *testing.T) {
			err := op.call(policyCtx(t, other.URL))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "host not allowed")
			assert.Zero(t, otherHits.Load())
		})
	}
}

func TestInstrumentMetrics(t *testing.T) {
	m, err := metrics.New(prometheus.NewRegistry())
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	var calls atomic.Int64
	var sawOp atomic.Bool
	d := Instrument(nativeDouble(&calls, &sawOp), "double", m)
	ctx := policyCtx(t, srv.URL)

	tests := []struct {
		name   string
		bucket string
		region string
		result string
		reqs   map[string]float64 // HTTP status code -> requests counted
	}{
		{"ok", "b", srv.URL, "ok", map[string]float64{"200": 1}},
		{"domain error", "b", srv.URL + "/missing", string(abi.CodeNotFound), map[string]float64{"200": 1, "404": 1}},
		{"plain error", "plain", srv.URL, "Error", map[string]float64{"200": 1, "404": 1}},
		{"trap", "trap", srv.URL, "Trap", map[string]float64{"200": 1, "404": 1}},
		{"refused", "b", "http://127.0.0.1:1/", string(abi.CodeUnavailable), map[string]float64{"200": 1, "404": 1, "0": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _ = d.ObserveBucket(ctx, abi.ProviderConfig{Region: tt.region}, abi.BucketArgs{Name: tt.bucket})
			assert.InDelta(t, 1, counter(t, m.DriverOperations.WithLabelValues("double", abi.OpObserveBucket, tt.result)), 0)
			for code, want := range tt.reqs {
				assert.InDelta(t, want, counter(t, m.DriverRequests.WithLabelValues("double", abi.OpObserveBucket, http.MethodGet, code)), 0, "code %s", code)
			}
		})
	}
	assert.InDelta(t, 1, counter(t, m.DriverTraps.WithLabelValues("double")), 0)
}

func TestRegisterNativeReplaces(t *testing.T) {
	r := New(context.Background(), nil, t.TempDir(), nil, nil)
	r.RegisterNative("x", driver.Funcs{Info: abi.DriverInfo{Name: "first"}})
	r.RegisterNative("x", driver.Funcs{Info: abi.DriverInfo{Name: "second"}})
	d, err := r.Get("x")
	require.NoError(t, err)
	assert.Equal(t, "second", d.Describe().Name)
}

// TestRequestLogCarriesReconcileID: every request a driver makes is logged at
// debug level with the Provider and the id of the reconcile that made it.
func TestRequestLogCarriesReconcileID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: &buf, JSONFormat: true})
	var calls atomic.Int64
	var sawOp atomic.Bool
	d := InstrumentWithLog(nativeDouble(&calls, &sawOp), "double", nil, log)
	ctx := hosthttp.WithCallInfo(policyCtx(t, srv.URL), hosthttp.CallInfo{Provider: "team-a/minio", ReconcileID: "rec-7"})
	_, err := d.ObserveBucket(ctx, abi.ProviderConfig{Region: srv.URL}, abi.BucketArgs{Name: "b"})
	require.NoError(t, err)
	var line map[string]any
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line), buf.String())
	assert.Equal(t, "driver http request", line["@message"])
	assert.Equal(t, "rec-7", line["reconcile_id"])
	assert.Equal(t, "team-a/minio", line["provider"])
	assert.Equal(t, abi.OpObserveBucket, line["op"])
	assert.EqualValues(t, 200, line["status"])
	assert.Equal(t, strings.TrimPrefix(srv.URL, "http://"), line["host"])
}

// TestInstrumentEveryOperation: the one interceptor puts every operation of
// the abi table under the network policy and measures it, for a real wasm
// driver that serves them all (rogue).
func TestInstrumentEveryOperation(t *testing.T) {
	m, err := metrics.New(prometheus.NewRegistry())
	require.NoError(t, err)
	r := New(loadCtx(t), newHost(t), driverDir(t, map[string][]byte{"rogue.wasm": rogueWasm}), m, nil)
	t.Cleanup(func() { r.Close(context.Background()) })
	d, err := r.Load(loadCtx(t), "rogue")
	require.NoError(t, err)
	srv, hits := countingServer(t)
	p := abi.ProviderConfig{Name: "ns/p", Endpoint: srv.URL, Region: srv.URL}
	for _, op := range abi.Operations() {
		name := op.Name
		t.Run(name, func(t *testing.T) {
			method := reflect.ValueOf(d).MethodByName(name)
			require.True(t, method.IsValid(), "an instrumented driver has no method %s", name)
			args, err := op.DecodeArgs(nil)
			require.NoError(t, err)
			call := func(ctx context.Context) error {
				in := []reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(p)}
				if method.Type().NumIn() == 3 {
					in = append(in, reflect.ValueOf(args))
				}
				out := method.Call(in)
				err, _ := reflect.TypeAssert[error](out[len(out)-1])
				return err
			}
			before := hits.Load()
			require.ErrorIs(t, call(context.Background()), errNoPolicy)
			assert.Equal(t, before, hits.Load(), "without a policy the driver is not called")

			require.NoError(t, call(policyCtx(t, srv.URL)))
			assert.Equal(t, before+1, hits.Load())
			assert.InDelta(t, 1, counter(t, m.DriverOperations.WithLabelValues("rogue", name, "ok")), 0)
			assert.InDelta(t, 1, counter(t, m.DriverRequests.WithLabelValues("rogue", name, http.MethodGet, "200")), 0)
		})
	}
}
