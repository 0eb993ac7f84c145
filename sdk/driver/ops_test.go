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
	if err := roundTripJSON(abi.Request{Op: op.Info().Name, Provider: p, Args: raw}, &req); err != nil {
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

// seen is what the everything double saw of one call.
type seen struct {
	op   string
	args any
}

// everythingDriver serves every operation, the check with an account.
type everythingDriver struct {
	accountDriver
	driver.UserFuncs
}

// everything is a driver that serves every operation through the closure
// adapters, records each call and answers a result that names the args.
func everything(calls *[]seen) driver.Driver {
	return everythingDriver{accountDriver{
		Funcs: driver.Funcs{
			Info: abi.DriverInfo{Name: "everything"},
			// CheckProvider goes to CheckProviderAccount, below.
			ObserveFn: func(_ context.Context, _ abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
				*calls = append(*calls, seen{abi.OpObserveBucket, b})
				return abi.BucketObservation{Exists: true, Unsupported: map[string]string{"name": b.Name}}, nil
			},
			ApplyFn: func(_ context.Context, _ abi.ProviderConfig, b abi.BucketArgs) error {
				*calls = append(*calls, seen{abi.OpApplyBucket, b})
				return nil
			},
			DeleteFn: func(_ context.Context, _ abi.ProviderConfig, b abi.BucketArgs) error {
				*calls = append(*calls, seen{abi.OpDeleteBucket, b})
				return nil
			},
		},
		res:   abi.ProviderCheck{Account: "acct-1"},
		calls: calls,
	}, driver.UserFuncs{
		ObserveUserFn: func(_ context.Context, _ abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error) {
			*calls = append(*calls, seen{abi.OpObserveUser, u})
			return abi.UserObservation{Exists: true, Unsupported: map[string]string{"name": u.Name}}, nil
		},
		ApplyUserFn: func(_ context.Context, _ abi.ProviderConfig, u abi.UserArgs) error {
			*calls = append(*calls, seen{abi.OpApplyUser, u})
			return nil
		},
		DeleteUserFn: func(_ context.Context, _ abi.ProviderConfig, u abi.UserArgs) error {
			*calls = append(*calls, seen{abi.OpDeleteUser, u})
			return nil
		},
		CreateAccessKeyFn: func(_ context.Context, _ abi.ProviderConfig, k abi.AccessKeyArgs) (abi.NewAccessKey, error) {
			*calls = append(*calls, seen{abi.OpCreateAccessKey, k})
			return abi.NewAccessKey{ID: "key-of-" + k.User, Secret: "s3cr3t"}, nil
		},
		UpdateAccessKeyFn: func(_ context.Context, _ abi.ProviderConfig, k abi.AccessKeyArgs) error {
			*calls = append(*calls, seen{abi.OpUpdateAccessKey, k})
			return nil
		},
		DeleteAccessKeyFn: func(_ context.Context, _ abi.ProviderConfig, k abi.AccessKeyArgs) error {
			*calls = append(*calls, seen{abi.OpDeleteAccessKey, k})
			return nil
		},
	}}
}

// sampleArgs decodes as every args type with a field set in each, so the
// test sees the args cross intact.
const sampleArgs = `{"name":"n1","user":"u1","id":"AK1","status":"Inactive","create":true}`

// results are what everything answers, per operation; none for the rest.
var results = map[string]any{
	abi.OpCheckProvider:   abi.ProviderCheck{Account: "acct-1"},
	abi.OpObserveBucket:   abi.BucketObservation{Exists: true, Unsupported: map[string]string{"name": "n1"}},
	abi.OpObserveUser:     abi.UserObservation{Exists: true, Unsupported: map[string]string{"name": "n1"}},
	abi.OpCreateAccessKey: abi.NewAccessKey{ID: "key-of-u1", Secret: "s3cr3t"},
}

// TestEveryOperationRoundTrips calls every operation of the abi table
// through Client's typed method, the host's encoding and the guest's
// Dispatch, and checks it reaches the driver method of that operation with
// its args, and its result comes back. An operation added to the table
// without a method on Client, a binding in Dispatch or a closure adapter
// fails here.
func TestEveryOperationRoundTrips(t *testing.T) {
	for _, op := range abi.Operations() {
		name := op.Info().Name
		t.Run(name, func(t *testing.T) {
			var calls []seen
			client := reflect.ValueOf(driver.Client{Caller: loopback{everything(&calls)}})
			m := client.MethodByName(name)
			require.True(t, m.IsValid(), "driver.Client has no method %s", name)
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

// TestClientCheckProviderAccount: the account crosses the ABI too.
func TestClientCheckProviderAccount(t *testing.T) {
	var calls []seen
	res, err := driver.Client{Caller: loopback{everything(&calls)}}.CheckProviderAccount(context.Background(), testProvider)
	require.NoError(t, err)
	assert.Equal(t, abi.ProviderCheck{Account: "acct-1"}, res)
	assert.Equal(t, []seen{{op: abi.OpCheckProvider}}, calls)
}

// TestEveryOperationOfNilFuncs: the closure adapters answer Unimplemented,
// naming the operation, for every operation whose function is nil.
func TestEveryOperationOfNilFuncs(t *testing.T) {
	d := driver.WithUsers(driver.Funcs{Info: abi.DriverInfo{Name: "empty"}}, driver.UserFuncs{})
	for _, op := range abi.Operations() {
		name := op.Info().Name
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

// TestUserOperationsOfADriverWithout: a driver that is no UserDriver does
// not implement the user operations, through Dispatch or Serve.
func TestUserOperationsOfADriverWithout(t *testing.T) {
	var r recorder
	d := r.funcs(nil, abi.BucketObservation{})
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

// TestServeKeepsACaller: a driver that already is a Caller is not wrapped
// again, so an interceptor around a Client sees one call path.
func TestServeKeepsACaller(t *testing.T) {
	c := driver.Client{Caller: loopback{driver.Funcs{}}}
	assert.Equal(t, c, driver.Serve(c))
	var r recorder
	_, wrapped := driver.Serve(r.funcs(nil, abi.BucketObservation{})).(driver.Client)
	assert.False(t, wrapped)
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
