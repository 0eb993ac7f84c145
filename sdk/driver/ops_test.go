package driver_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// loopback is the host's side of the call export, in-process: it encodes a
// call as core/wasmhost does (the op's args in an abi.Request, as JSON),
// hands it to Dispatch as the guest runtime does, and decodes the response.
type loopback struct{ d driver.Driver }

func (l loopback) Describe() abi.DriverInfo { return l.d.Describe() }

func (l loopback) Call(ctx context.Context, op abi.Operation, p abi.ProviderConfig, args any) (any, error) {
	raw, err := op.EncodeArgs(args)
	if err != nil {
		return nil, err
	}
	var req abi.Request
	if err := roundTripJSON(abi.Request{Op: op.Name, Provider: p, Args: raw}, &req); err != nil {
		return nil, err
	}
	var resp abi.Response
	if err := roundTripJSON(driver.Dispatch(ctx, l.d, req), &resp); err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	return op.DecodeResult(resp.Result)
}

func roundTripJSON(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// seen is what the everything double saw of one call: the args cross
// intact, and each result (results) comes back whole.
type seen struct {
	op   string
	args any
}

// everything is a driver that serves every operation through one Funcs,
// records each call and answers results[op].
func everything(calls *[]seen) driver.Funcs {
	return driver.Funcs{
		Info: abi.DriverInfo{Name: "everything"},
		CheckAccountFn: func(context.Context, abi.ProviderConfig) (abi.ProviderCheck, error) {
			*calls = append(*calls, seen{op: abi.OpCheckProvider})
			return results[abi.OpCheckProvider].(abi.ProviderCheck), nil
		},
		ObserveFn:         record(calls, abi.ObserveBucket),
		ApplyFn:           recordErr(calls, abi.ApplyBucket),
		DeleteFn:          recordErr(calls, abi.DeleteBucket),
		ObserveUserFn:     record(calls, abi.ObserveUser),
		ApplyUserFn:       recordErr(calls, abi.ApplyUser),
		DeleteUserFn:      recordErr(calls, abi.DeleteUser),
		CreateAccessKeyFn: record(calls, abi.CreateAccessKey),
		UpdateAccessKeyFn: recordErr(calls, abi.UpdateAccessKey),
		DeleteAccessKeyFn: recordErr(calls, abi.DeleteAccessKey),
	}
}

// record is the function of op that records its call and answers results[op].
func record[A, R any](calls *[]seen, op abi.Op[A, R]) func(context.Context, abi.ProviderConfig, A) (R, error) {
	return func(_ context.Context, _ abi.ProviderConfig, a A) (R, error) {
		*calls = append(*calls, seen{op.Name, a})
		return results[op.Name].(R), nil
	}
}

// recordErr is record for an operation that answers only an error.
func recordErr[A any](calls *[]seen, op abi.Op[A, abi.None]) func(context.Context, abi.ProviderConfig, A) error {
	return func(_ context.Context, _ abi.ProviderConfig, a A) error {
		*calls = append(*calls, seen{op.Name, a})
		return nil
	}
}

// sampleArgs decodes as every args type with a field set in each, so the
// test sees the args cross intact.
const sampleArgs = `{"name":"n1","user":"u1","id":"AK1","status":"Inactive","create":true}`

// results are what everything answers, per operation; none for the rest.
var results = map[string]any{
	abi.OpCheckProvider:   abi.ProviderCheck{Account: "acct-1"},
	abi.OpObserveBucket:   abi.BucketObservation{Exists: true, Unsupported: map[string]string{"name": "b"}},
	abi.OpObserveUser:     abi.UserObservation{Exists: true, Unsupported: map[string]string{"name": "u"}},
	abi.OpCreateAccessKey: abi.NewAccessKey{ID: "key-1", Secret: "s3cr3t"},
}

// TestEveryOperationRoundTrips calls every operation of the abi table
// through the typed method of Through (what the host calls), the host's
// encoding and the guest's Dispatch, and checks it reaches the driver's
// function of that operation with its args, and its result comes back. An
// operation added to the table without a typed method, a binding in
// Dispatch or a function in Funcs fails here.
func TestEveryOperationRoundTrips(t *testing.T) {
	for _, op := range abi.Operations() {
		name := op.Name
		t.Run(name, func(t *testing.T) {
			var calls []seen
			m := reflect.ValueOf(driver.Through(loopback{everything(&calls)})).MethodByName(name)
			require.True(t, m.IsValid(), "driver.Funcs has no method %s", name)
			args, err := op.DecodeArgs(json.RawMessage(sampleArgs))
			require.NoError(t, err)
			in := []reflect.Value{reflect.ValueOf(context.Background()), reflect.ValueOf(testProvider)}
			if m.Type().NumIn() == 3 {
				in = append(in, reflect.ValueOf(args))
			}
			out := m.Call(in)
			require.Nil(t, out[len(out)-1].Interface(), "%s fails", name)
			require.Len(t, calls, 1, "exactly one call reaches the driver")
			assert.Equal(t, name, calls[0].op, "the method of %s reached", name)
			if name != abi.OpCheckProvider { // CheckProvider takes no args
				assert.Equal(t, args, calls[0].args)
			}
			if len(out) == 2 {
				assert.Equal(t, results[name], out[0].Interface())
			} else if name != abi.OpCheckProvider { // CheckProviderAccount carries its result
				assert.NotContains(t, results, name, "%s answers a result its method drops", name)
			}
		})
	}
}

// TestThroughCheckProviderAccount: the account crosses the ABI too.
func TestThroughCheckProviderAccount(t *testing.T) {
	var calls []seen
	res, err := driver.Through(loopback{everything(&calls)}).CheckProviderAccount(context.Background(), testProvider)
	require.NoError(t, err)
	assert.Equal(t, abi.ProviderCheck{Account: "acct-1"}, res)
	assert.Equal(t, []seen{{op: abi.OpCheckProvider}}, calls)
}

// TestEveryOperationOfNilFuncs: the closure adapters answer Unimplemented,
// naming the operation, for every operation whose function is nil.
func TestEveryOperationOfNilFuncs(t *testing.T) {
	d := driver.Funcs{Info: abi.DriverInfo{Name: "empty"}}
	for _, op := range abi.Operations() {
		name := op.Name
		t.Run(name, func(t *testing.T) {
			args, err := op.DecodeArgs(nil)
			require.NoError(t, err)
			_, err = driver.Serve(d).Call(context.Background(), op, testProvider, args)
			require.Error(t, err)
			assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err))
			assert.Contains(t, err.Error(), name)
		})
	}
}

// bucketsOnly is a Driver and nothing else.
type bucketsOnly struct{ driver.Driver }

// TestUserOperationsOfADriverWithout: a driver that is no UserDriver does
// not implement the user operations.
func TestUserOperationsOfADriverWithout(t *testing.T) {
	var r recorder
	d := bucketsOnly{r.funcs(nil, abi.BucketObservation{})}
	for _, name := range abi.OperationsOf(abi.CapAccessKeys) {
		t.Run(name, func(t *testing.T) {
			resp := driver.Dispatch(context.Background(), d, abi.Request{Op: name, Args: json.RawMessage(`{"name":"u"}`)})
			require.NotNil(t, resp.Error)
			assert.Equal(t, abi.CodeUnimplemented, resp.Error.Code)
			assert.Contains(t, resp.Error.Message, name)
			assert.Contains(t, resp.Error.Message, "double", "the message names the driver")
			assert.Empty(t, r.calls)
		})
	}
}

// callerDriver is a Driver that is also a Caller, as the host's is.
type callerDriver struct {
	driver.Funcs
	loopback
}

func (c callerDriver) Describe() abi.DriverInfo { return c.Info }

// TestServeKeepsACaller: a driver that already is a Caller is not wrapped,
// so an interceptor around the host's driver sees its one call path.
func TestServeKeepsACaller(t *testing.T) {
	c := callerDriver{Funcs: driver.Funcs{Info: abi.DriverInfo{Name: "c"}}, loopback: loopback{driver.Funcs{}}}
	assert.Equal(t, driver.Caller(c), driver.Serve(c))
	var r recorder
	s := driver.Serve(r.funcs(nil, abi.BucketObservation{}))
	assert.Equal(t, "double", s.Describe().Name)
	_, err := s.Call(context.Background(), abi.ApplyBucket.Operation, testProvider, abi.BucketArgs{Name: "b"})
	require.NoError(t, err)
	assert.Equal(t, []string{abi.OpApplyBucket}, r.calls, "a plain Driver is served through its methods")
	assert.Equal(t, "b", r.bucket.Name)
}

// TestCallWrongResult: a Caller that answers the wrong type is an internal
// error, never a zero result read as success.
func TestCallWrongResult(t *testing.T) {
	_, err := driver.Call(context.Background(), wrongCaller{}, abi.ObserveBucket, testProvider, abi.BucketArgs{})
	require.Error(t, err)
	assert.Equal(t, abi.CodeInternal, abi.CodeOf(err))
}

type wrongCaller struct{}

func (wrongCaller) Describe() abi.DriverInfo { return abi.DriverInfo{} }
func (wrongCaller) Call(context.Context, abi.Operation, abi.ProviderConfig, any) (any, error) {
	return "not an observation", nil
}
