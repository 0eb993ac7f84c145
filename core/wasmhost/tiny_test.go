package wasmhost_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/abi"
)

// Tests on hand-assembled drivers (see wasm_builder_test.go): each breaks the
// protocol in one precise way that a Go driver cannot.

func TestUnlistedOperationIsNotCalled(t *testing.T) {
	// tinyInfo lists CheckProvider and ObserveBucket only; its call export
	// traps, so any call that reaches the module shows up as a trap.
	d := load(t, wasmhost.NewConfig(), "tiny", tinyDriver(tinyInfo, callTraps, nil))
	p := provider("")

	tests := []struct {
		op   string
		call func() error
	}{
		{abi.OpApplyBucket, func() error { return d.ApplyBucket(context.Background(), p, abi.BucketArgs{Name: "b"}) }},
		{abi.OpDeleteBucket, func() error { return d.DeleteBucket(context.Background(), p, abi.BucketArgs{Name: "b"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err))
			assert.Contains(t, err.Error(), tt.op)
			assert.Contains(t, err.Error(), "tiny")
			assert.False(t, wasmhost.IsTrap(err))
			assert.Zero(t, d.Traps(), "the module was not called")
			assert.EqualValues(t, 1, d.Instances())
		})
	}

	// Control: a listed operation does reach the module, and traps.
	err := d.CheckProvider(context.Background(), p)
	assert.True(t, wasmhost.IsTrap(err), "%v", err)
	assert.Contains(t, err.Error(), "unreachable")
	assert.EqualValues(t, 1, d.Traps())
	assert.Zero(t, d.Instances())
}

func TestProtocolViolations(t *testing.T) {
	tests := []struct {
		name string
		call []byte
		data map[uint32][]byte
		want string
	}{
		{
			name: "result outside memory",
			call: callOutsideMemory,
			want: "outside memory",
		},
		{
			name: "undecodable response",
			call: callResponds("this is not json"),
			data: map[uint32][]byte{tinyResponseAt: []byte("this is not json")},
			want: "undecodable response",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := load(t, wasmhost.NewConfig(), "tiny", tinyDriver(tinyInfo, tt.call, tt.data))
			err := d.CheckProvider(context.Background(), provider(""))
			require.Error(t, err)
			assert.True(t, wasmhost.IsTrap(err), "%v", err)
			assert.Contains(t, err.Error(), tt.want)
			assert.EqualValues(t, 1, d.Traps())
			assert.Zero(t, d.Instances(), "the instance that broke the protocol is discarded")
		})
	}
}

func TestUndecodableObservation(t *testing.T) {
	resp := `{"result":"not an observation"}`
	d := load(t, wasmhost.NewConfig(), "tiny", tinyDriver(tinyInfo, callResponds(resp), map[uint32][]byte{tinyResponseAt: []byte(resp)}))
	_, err := d.ObserveBucket(context.Background(), provider(""), abi.BucketArgs{Name: "b"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "undecodable ObserveBucket result")
}

func TestDomainErrorFromResponse(t *testing.T) {
	resp := `{"error":{"code":"Conflict","message":"bucket not empty","providerCode":"BucketNotEmpty","httpStatus":409}}`
	d := load(t, wasmhost.NewConfig(), "tiny", tinyDriver(tinyInfo, callResponds(resp), map[uint32][]byte{tinyResponseAt: []byte(resp)}))
	for range 3 { // the instance is healthy and reused
		err := d.CheckProvider(context.Background(), provider(""))
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.Error{Code: abi.CodeConflict, Message: "bucket not empty", ProviderCode: "BucketNotEmpty", HTTPStatus: 409}, *ae)
	}
	assert.Zero(t, d.Traps())
	assert.EqualValues(t, 1, d.Instances())
}

func TestRedactsEveryErrorField(t *testing.T) {
	// The module cannot read the request, so it returns the secret the test
	// will send, as a constant.
	resp := `{"error":{"code":"Internal","message":"m ` + secret + `","providerCode":"` + secret + `"}}`
	d := load(t, wasmhost.NewConfig(), "tiny", tinyDriver(tinyInfo, callResponds(resp), map[uint32][]byte{tinyResponseAt: []byte(resp)}))
	err := d.CheckProvider(context.Background(), provider(""))
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "m [REDACTED]", ae.Message, "control: the message is redacted")

	assert.NotContains(t, ae.ProviderCode, secret)
	assert.NotContains(t, err.Error(), secret)
}

func TestRedactsDriverLogs(t *testing.T) {
	const ok = `{}`
	tests := []struct {
		name   string
		record string
		want   string // a redacted form that must appear
	}{
		{name: "message", record: `{"level":"info","msg":"key ` + secret + `"}`, want: "key [REDACTED]"},
		{name: "string field", record: `{"level":"warn","msg":"m","fields":{"k":"` + secret + `"}}`, want: "driver.k=[REDACTED]"},
		{
			name: "nested field", record: `{"level":"info","msg":"m","fields":{"creds":{"secret":"` + secret + `"}}}`,
		},
		{
			name: "list field", record: `{"level":"info","msg":"m","fields":{"list":["` + secret + `"]}}`,
		},
		{
			name: "field name", record: `{"level":"info","msg":"m","fields":{"` + secret + `":"v"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			wasm := tinyDriver(tinyInfo, callLogsThenResponds(tt.record, ok), map[uint32][]byte{
				tinyLogAt:      []byte(tt.record),
				tinyResponseAt: []byte(ok),
			})
			d := load(t, wasmhost.NewConfig().WithLogger(logs.logger()), "tiny", wasm)
			require.NoError(t, d.CheckProvider(context.Background(), provider("")))
			out := logs.String()
			assert.NotContains(t, out, secret)
			if tt.want != "" {
				assert.Contains(t, out, tt.want)
			}
			assert.Contains(t, out, "op=CheckProvider", "the host adds the operation")
		})
	}
}

func TestDriverLogRateLimit(t *testing.T) {
	const ok = `{}`
	rec := `{"level":"info","msg":"tiny says hello"}`
	wasm := tinyDriver(tinyInfo, callLogsThenResponds(rec, ok), map[uint32][]byte{tinyLogAt: []byte(rec), tinyResponseAt: []byte(ok)})
	var logs logBuffer
	// A burst of 2 and practically no refill.
	d := load(t, wasmhost.NewConfig().WithLogger(logs.logger()).WithLogRate(0.0001, 2), "tiny", wasm)
	for range 5 {
		require.NoError(t, d.CheckProvider(context.Background(), provider("")))
	}
	assert.Equal(t, 2, strings.Count(logs.String(), "tiny says hello"), "the log rate limit drops lines past the burst")
}

func TestPoolWaitsForAFreeInstance(t *testing.T) {
	rec := `{"level":"info","msg":"spinning now"}`
	// call logs, then loops forever.
	wasm := tinyDriver(tinyInfo,
		code(i32Const(tinyLogAt), i32Const(int32(len(rec))), []byte{opCall, 0x00}, callSpins),
		map[uint32][]byte{tinyLogAt: []byte(rec)})
	var logs logBuffer
	d := load(t, wasmhost.NewConfig().WithPoolSize(1).WithLogger(logs.logger()), "tiny", wasm)

	spinCtx, stopSpin := context.WithCancel(context.Background())
	defer stopSpin()
	spun := make(chan error, 1)
	go func() { spun <- d.CheckProvider(spinCtx, provider("")) }()

	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "spinning now") {
		require.True(t, time.Now().Before(deadline), "the spinning call never started")
		time.Sleep(10 * time.Millisecond)
	}

	// The only instance is busy: a second call waits, then gives up with its context.
	waitCtx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := d.CheckProvider(waitCtx, provider(""))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "waiting for a free tiny instance")
	assert.False(t, wasmhost.IsTrap(err), "waiting is not a trap")
	assert.EqualValues(t, 1, d.Instances(), "no instance beyond the pool size")

	stopSpin()
	select {
	case err := <-spun:
		assert.True(t, wasmhost.IsTrap(err), "%v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("canceling the context did not stop the spinning call within 20 s")
	}
	assert.EqualValues(t, 1, d.Traps())
}
