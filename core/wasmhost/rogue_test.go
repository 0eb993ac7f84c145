package wasmhost_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

const secret = "s3cr3t-value-123"

func provider(region string) abi.ProviderConfig {
	return abi.ProviderConfig{
		Name:        "ns/rogue",
		Endpoint:    "http://127.0.0.1:1",
		Region:      region,
		PathStyle:   true,
		Credentials: abi.Credentials{AccessKeyID: "AKIDROGUE", SecretAccessKey: secret},
	}
}

// opContext attaches a fresh Op of a policy allowing only endpoints.
func opContext(t *testing.T, endpoints ...string) (context.Context, *hosthttp.Op) {
	t.Helper()
	p, err := hosthttp.NewPolicy(endpoints, hosthttp.TLSOptions{})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	op := p.NewOp(nil)
	return hosthttp.WithOp(context.Background(), op), op
}

// countingServer counts the requests it receives.
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

func TestLoadRogue(t *testing.T) {
	d := load(t, wasmhost.NewConfig(), "rogue", rogueWasm)
	info := d.Info()
	assert.Equal(t, "rogue", info.Name)
	assert.Equal(t, "0.0.1", info.Version)
	assert.Equal(t, abi.Version, info.ABI)
	assert.True(t, info.Supports(abi.CapBuckets))
	for _, op := range []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket} {
		assert.True(t, info.Implements(op), op)
	}
	assert.Equal(t, info, d.Describe())
	assert.EqualValues(t, 1, d.Instances(), "Load keeps the handshake instance")
	assert.Zero(t, d.Traps())
	assert.Positive(t, d.LoadTime())

	var _ driver.Driver = d
}

func TestTrapDiscardsInstance(t *testing.T) {
	var logs logBuffer
	// One instance: if the trapped instance's slot were not released, the
	// next call would wait for it until its context expired.
	d := load(t, wasmhost.NewConfig().WithPoolSize(1).WithLogger(logs.logger()), "rogue", rogueWasm)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	_, err := d.ObserveBucket(ctx, provider(""), abi.BucketArgs{Name: "trap"})
	require.Error(t, err)
	assert.True(t, wasmhost.IsTrap(err), "a panic is a trap: %v", err)
	var te *wasmhost.TrapError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "rogue", te.Driver)
	assert.Equal(t, abi.OpObserveBucket, te.Op)
	assert.Contains(t, err.Error(), "instance discarded")
	assert.Empty(t, abi.CodeOf(err), "a trap is not a domain error")
	assert.EqualValues(t, 1, d.Traps())
	assert.Zero(t, d.Instances(), "the trapped instance is closed")
	assert.Contains(t, logs.String(), "rogue: trap requested", "the guest's panic reaches the host log through stderr")

	_, err = d.ObserveBucket(ctx, provider(""), abi.BucketArgs{Name: "echo-secret"})
	require.Error(t, err)
	assert.False(t, wasmhost.IsTrap(err), "the next call runs on a fresh instance: %v", err)
	assert.Equal(t, abi.CodeInternal, abi.CodeOf(err))
	assert.EqualValues(t, 1, d.Traps())
	assert.EqualValues(t, 1, d.Instances())
}

func TestCallTimeout(t *testing.T) {
	d := load(t, wasmhost.NewConfig().WithPoolSize(1).WithCallTimeout(time.Second), "rogue", rogueWasm)

	done := make(chan error, 1)
	go func() {
		_, err := d.ObserveBucket(context.Background(), provider(""), abi.BucketArgs{Name: "spin"})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a 1 s call timeout did not stop a spinning guest within 20 s")
	}
	require.Error(t, err)
	assert.True(t, wasmhost.IsTrap(err), "%v", err)
	assert.Contains(t, err.Error(), "deadline")
	assert.EqualValues(t, 1, d.Traps())

	_, err = d.ObserveBucket(context.Background(), provider(""), abi.BucketArgs{Name: "echo-secret"})
	require.Error(t, err)
	assert.False(t, wasmhost.IsTrap(err), "a fresh instance serves the next call: %v", err)
	assert.Equal(t, abi.CodeInternal, abi.CodeOf(err))
}

func TestCallerContextCanceled(t *testing.T) {
	d := load(t, wasmhost.NewConfig().WithPoolSize(1), "rogue", rogueWasm)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := d.ObserveBucket(ctx, provider(""), abi.BucketArgs{Name: "spin"})
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.True(t, wasmhost.IsTrap(err), "%v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("canceling the caller's context did not stop a spinning guest within 20 s")
	}
}

func TestRedactsEchoedSecret(t *testing.T) {
	var logs logBuffer
	d := load(t, wasmhost.NewConfig().WithLogger(logs.logger()), "rogue", rogueWasm)

	_, err := d.ObserveBucket(context.Background(), provider(""), abi.BucketArgs{Name: "echo-secret"})
	require.Error(t, err)
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeInternal, ae.Code)
	assert.NotContains(t, ae.Message, secret)
	assert.Contains(t, ae.Message, "[REDACTED]")
	assert.Contains(t, ae.Message, "rogue: secret", "only the secret is cut out")
	assert.NotContains(t, err.Error(), secret)
	assert.NotContains(t, logs.String(), secret)
}

func TestRedactsSessionTokenAndCallInfoSecrets(t *testing.T) {
	d := load(t, wasmhost.NewConfig(), "rogue", rogueWasm)
	tests := []struct {
		name   string
		ctx    context.Context
		p      abi.ProviderConfig
		hidden string
	}{
		{
			name:   "session token is a secret too",
			ctx:    context.Background(),
			p:      abi.ProviderConfig{Credentials: abi.Credentials{SecretAccessKey: secret, SessionToken: "tok-" + secret}},
			hidden: "tok-" + secret,
		},
		{
			name:   "secrets from the call info",
			ctx:    hosthttp.WithCallInfo(context.Background(), hosthttp.CallInfo{Provider: "ns/p", Secrets: []string{"value-1"}}),
			p:      abi.ProviderConfig{Credentials: abi.Credentials{SecretAccessKey: "other-" + secret}},
			hidden: "value-1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.ObserveBucket(tt.ctx, tt.p, abi.BucketArgs{Name: "echo-secret"})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), tt.hidden)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

func TestShortSecretsAreNotRedacted(t *testing.T) {
	// Secrets under 4 characters would redact half of every message; the
	// host leaves them alone (documents the threshold).
	d := load(t, wasmhost.NewConfig(), "rogue", rogueWasm)
	_, err := d.ObserveBucket(context.Background(), abi.ProviderConfig{Credentials: abi.Credentials{SecretAccessKey: "xyz"}}, abi.BucketArgs{Name: "echo-secret"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rogue: secret xyz")
}

func TestRedactsLoggedSecret(t *testing.T) {
	var logs logBuffer
	d := load(t, wasmhost.NewConfig().WithLogger(logs.logger()), "rogue", rogueWasm)
	ctx := hosthttp.WithCallInfo(context.Background(), hosthttp.CallInfo{Provider: "ns/rogue", ReconcileID: "rec-42"})

	obs, err := d.ObserveBucket(ctx, provider(""), abi.BucketArgs{Name: "leak-secret"})
	require.NoError(t, err)
	assert.False(t, obs.Exists)

	out := logs.String()
	assert.Contains(t, out, "the secret is [REDACTED]", "the driver's log line reaches the host log")
	assert.Contains(t, out, "driver.secret=[REDACTED]")
	assert.Contains(t, out, "rec-42", "the host adds the reconcile id")
	assert.Contains(t, out, "ns/rogue", "the host adds the Provider")
	assert.NotContains(t, out, secret)
}

func TestNetworkPolicyFromContext(t *testing.T) {
	d := load(t, wasmhost.NewConfig(), "rogue", rogueWasm)
	srv, hits := countingServer(t)

	t.Run("host outside the policy is refused", func(t *testing.T) {
		ctx, op := opContext(t, "http://127.0.0.1:1")
		err := d.CheckProvider(ctx, provider(srv.URL+"/steal"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "host not allowed")
		assert.Contains(t, err.Error(), strings.TrimPrefix(srv.URL, "http://"), "the error names the refused host")
		assert.Equal(t, abi.CodeUnavailable, abi.CodeOf(err))
		assert.False(t, wasmhost.IsTrap(err))
		assert.Zero(t, hits.Load(), "the refused server sees no request")
		assert.Zero(t, op.Calls())
		assert.Zero(t, d.Instances(), "the instance that asked for a refused host is discarded, not pooled")
	})

	t.Run("no operation in the context means no network", func(t *testing.T) {
		err := d.CheckProvider(context.Background(), provider(srv.URL))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no network outside a driver operation")
		assert.Zero(t, hits.Load())
	})

	t.Run("the allowed host is reached through the host", func(t *testing.T) {
		ctx, op := opContext(t, srv.URL)
		require.NoError(t, d.CheckProvider(ctx, provider(srv.URL+"/health")))
		obs, err := d.ObserveBucket(ctx, provider(srv.URL+"/b"), abi.BucketArgs{Name: "b"})
		require.NoError(t, err)
		assert.True(t, obs.Exists)
		require.NoError(t, d.ApplyBucket(ctx, provider(srv.URL+"/b"), abi.BucketArgs{Name: "b"}))
		require.NoError(t, d.DeleteBucket(ctx, provider(srv.URL+"/b"), abi.BucketArgs{Name: "b"}))
		assert.EqualValues(t, 4, hits.Load())
		assert.EqualValues(t, 4, op.Calls(), "every request went through the Op")
	})
}

func TestPoolHammer(t *testing.T) {
	const poolSize, workers, calls = 2, 8, 10
	d := load(t, wasmhost.NewConfig().WithPoolSize(poolSize), "rogue", rogueWasm)

	var maxSeen atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			if n := d.Instances(); n > maxSeen.Load() {
				maxSeen.Store(n)
			}
			select {
			case <-stop:
				return
			default:
				time.Sleep(100 * time.Microsecond)
			}
		}
	})

	errs := make(chan error, workers*calls)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range calls {
				_, err := d.ObserveBucket(context.Background(), provider(""), abi.BucketArgs{Name: "echo-secret"})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	close(errs)

	n := 0
	for err := range errs {
		n++
		require.Error(t, err)
		require.False(t, wasmhost.IsTrap(err), "%v", err)
		var ae *abi.Error
		require.ErrorAs(t, err, &ae, "want the driver's domain error, got %T %v", err, err)
		require.Equal(t, abi.CodeInternal, ae.Code)
		require.NotContains(t, ae.Message, secret)
	}
	assert.Equal(t, workers*calls, n)
	assert.Zero(t, d.Traps())
	assert.LessOrEqual(t, d.Instances(), int64(poolSize))
	assert.LessOrEqual(t, maxSeen.Load(), int64(poolSize), "never more instances than the pool size")
}

func TestRecycleAfterMaxCalls(t *testing.T) {
	d := load(t, wasmhost.NewConfig().WithPoolSize(1).WithMaxCallsPerInstance(3), "rogue", rogueWasm)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 10 {
		_, err := d.ObserveBucket(ctx, provider(""), abi.BucketArgs{Name: "echo-secret"})
		require.Equal(t, abi.CodeInternal, abi.CodeOf(err), "call %d: %v", i+1, err)
	}
	assert.Zero(t, d.Traps(), "recycling is not a trap")
	assert.EqualValues(t, 1, d.Instances())
}

func TestCloseDriver(t *testing.T) {
	d, err := newHost(t, wasmhost.NewConfig()).Load(context.Background(), "rogue", rogueWasm)
	require.NoError(t, err)
	require.NoError(t, d.Close(context.Background()))
	_, err = d.ObserveBucket(context.Background(), provider(""), abi.BucketArgs{Name: "echo-secret"})
	require.Error(t, err, "a closed driver serves nothing")
}
