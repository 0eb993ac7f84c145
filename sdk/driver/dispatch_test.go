package driver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

type ctxKey struct{}

// recorder is a driver.Funcs double that remembers what each closure saw.
type recorder struct {
	calls    []string
	provider abi.ProviderConfig
	bucket   abi.BucketArgs
	ctxValue any
}

func (r *recorder) funcs(err error, obs abi.BucketObservation) driver.Funcs {
	see := func(op string, ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) {
		r.calls = append(r.calls, op)
		r.provider, r.bucket, r.ctxValue = p, b, ctx.Value(ctxKey{})
	}
	return driver.Funcs{
		Info: abi.DriverInfo{Name: "double", Operations: []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket}},
		CheckFn: func(ctx context.Context, p abi.ProviderConfig) error {
			see(abi.OpCheckProvider, ctx, p, abi.BucketArgs{})
			return err
		},
		ObserveFn: func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
			see(abi.OpObserveBucket, ctx, p, b)
			return obs, err
		},
		ApplyFn: func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
			see(abi.OpApplyBucket, ctx, p, b)
			return err
		},
		DeleteFn: func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
			see(abi.OpDeleteBucket, ctx, p, b)
			return err
		},
	}
}

var testProvider = abi.ProviderConfig{
	Name: "ns/p", Endpoint: "http://127.0.0.1:9000", Region: "eu-west-1", PathStyle: true,
	Credentials: abi.Credentials{AccessKeyID: "ak", SecretAccessKey: "sk"},
}

func TestDispatchEveryOp(t *testing.T) {
	args := json.RawMessage(`{"name":"b1","region":"eu-west-2"}`)
	tests := []struct {
		op         string
		obs        abi.BucketObservation
		wantResult string // JSON; "" means no result
		wantBucket abi.BucketArgs
	}{
		{op: abi.OpCheckProvider},
		{op: abi.OpObserveBucket, obs: abi.BucketObservation{Exists: true}, wantResult: `{"exists":true}`, wantBucket: abi.BucketArgs{Name: "b1", Region: "eu-west-2"}},
		{op: abi.OpApplyBucket, wantBucket: abi.BucketArgs{Name: "b1", Region: "eu-west-2"}},
		{op: abi.OpDeleteBucket, wantBucket: abi.BucketArgs{Name: "b1", Region: "eu-west-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/ok", func(t *testing.T) {
			var r recorder
			ctx := context.WithValue(context.Background(), ctxKey{}, "marker")
			resp := driver.Dispatch(ctx, r.funcs(nil, tt.obs), abi.Request{Op: tt.op, Provider: testProvider, Args: args})
			require.Nil(t, resp.Error)
			if tt.wantResult == "" {
				assert.Empty(t, resp.Result)
			} else {
				assert.JSONEq(t, tt.wantResult, string(resp.Result))
			}
			assert.Equal(t, []string{tt.op}, r.calls, "exactly the requested operation runs")
			assert.Equal(t, testProvider, r.provider)
			assert.Equal(t, tt.wantBucket, r.bucket)
			assert.Equal(t, "marker", r.ctxValue, "the caller's context reaches the driver")
		})
		t.Run(tt.op+"/domain error", func(t *testing.T) {
			var r recorder
			want := &abi.Error{Code: abi.CodeAccessDenied, Message: "denied", ProviderCode: "InvalidAccessKeyId", HTTPStatus: 403}
			resp := driver.Dispatch(context.Background(), r.funcs(want, abi.BucketObservation{Exists: true}), abi.Request{Op: tt.op, Args: args})
			assert.Same(t, want, resp.Error, "an *abi.Error is passed through untouched")
			assert.Empty(t, resp.Result, "no result alongside an error")
		})
		t.Run(tt.op+"/plain error", func(t *testing.T) {
			var r recorder
			resp := driver.Dispatch(context.Background(), r.funcs(errors.New("disk on fire"), abi.BucketObservation{}), abi.Request{Op: tt.op})
			require.NotNil(t, resp.Error)
			assert.Equal(t, abi.CodeInternal, resp.Error.Code)
			assert.Equal(t, "disk on fire", resp.Error.Message)
			assert.Empty(t, resp.Result)
		})
		t.Run(tt.op+"/typed nil error", func(t *testing.T) {
			var r recorder
			var typedNil *abi.Error
			resp := driver.Dispatch(context.Background(), r.funcs(typedNil, abi.BucketObservation{Exists: true}), abi.Request{Op: tt.op})
			require.NotNil(t, resp.Error, "a typed-nil *abi.Error must not read as success")
			assert.Equal(t, abi.CodeInternal, resp.Error.Code)
			assert.Empty(t, resp.Result)
		})
	}
}

func TestDispatchArgs(t *testing.T) {
	tests := []struct {
		name       string
		args       string
		wantCode   abi.Code // "" means success
		wantBucket abi.BucketArgs
	}{
		{name: "absent", args: ""},
		{name: "null", args: `null`},
		{name: "empty object", args: `{}`},
		{name: "unknown fields ignored", args: `{"name":"b","color":"blue"}`, wantBucket: abi.BucketArgs{Name: "b"}},
		{name: "not JSON", args: `{name:b}`, wantCode: abi.CodeInvalidArgument},
		{name: "truncated", args: `{"name":"b"`, wantCode: abi.CodeInvalidArgument},
		{name: "wrong type", args: `{"name":5}`, wantCode: abi.CodeInvalidArgument},
		{name: "array", args: `["b"]`, wantCode: abi.CodeInvalidArgument},
		{name: "string", args: `"b"`, wantCode: abi.CodeInvalidArgument},
	}
	for _, op := range []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket} {
		for _, tt := range tests {
			t.Run(op+"/"+tt.name, func(t *testing.T) {
				var r recorder
				resp := driver.Dispatch(context.Background(), r.funcs(nil, abi.BucketObservation{}), abi.Request{Op: op, Args: json.RawMessage(tt.args)})
				if tt.wantCode == "" {
					require.Nil(t, resp.Error)
					assert.Equal(t, []string{op}, r.calls)
					if op != abi.OpCheckProvider { // CheckProvider takes no bucket
						assert.Equal(t, tt.wantBucket, r.bucket)
					}
					return
				}
				require.NotNil(t, resp.Error)
				assert.Equal(t, tt.wantCode, resp.Error.Code)
				assert.Contains(t, resp.Error.Message, op, "the message names the operation")
				assert.Empty(t, r.calls, "the driver is not called with undecodable args")
			})
		}
	}
}

func TestDispatchUnknownOp(t *testing.T) {
	tests := []struct{ name, op string }{
		{"empty", ""},
		{"unknown", "ListObjects"},
		{"wrong case", "observebucket"},
		{"trailing space", abi.OpObserveBucket + " "},
		{"describe is not an op", "Describe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			resp := driver.Dispatch(context.Background(), r.funcs(nil, abi.BucketObservation{}), abi.Request{Op: tt.op})
			require.NotNil(t, resp.Error)
			assert.Equal(t, abi.CodeUnimplemented, resp.Error.Code)
			assert.Contains(t, resp.Error.Message, fmt.Sprintf("%q", tt.op))
			assert.Contains(t, resp.Error.Message, "double", "the message names the driver")
			assert.False(t, resp.Error.Retryable)
			assert.Empty(t, r.calls)
		})
	}
}

func TestDispatchNilFuncs(t *testing.T) {
	for _, op := range []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket} {
		t.Run(op, func(t *testing.T) {
			resp := driver.Dispatch(context.Background(), driver.Funcs{}, abi.Request{Op: op, Args: json.RawMessage(`{"name":"b"}`)})
			require.NotNil(t, resp.Error)
			assert.Equal(t, abi.CodeUnimplemented, resp.Error.Code)
			assert.Contains(t, resp.Error.Message, op)
			assert.Empty(t, resp.Result)
		})
	}
}

func TestFuncsDescribe(t *testing.T) {
	info := abi.DriverInfo{Name: "n", Version: "1.2.3", ABI: abi.Version, Capabilities: []string{abi.CapBuckets}}
	assert.Equal(t, info, driver.Funcs{Info: info}.Describe())
}

func TestAsABIError(t *testing.T) {
	domain := &abi.Error{Code: abi.CodeNotFound, Message: "no bucket", HTTPStatus: 404}
	var typedNil *abi.Error
	tests := []struct {
		name        string
		err         error
		same        *abi.Error // when set, the result must be this pointer
		wantCode    abi.Code
		wantMessage string
	}{
		{name: "plain error", err: errors.New("boom"), wantCode: abi.CodeInternal, wantMessage: "boom"},
		{name: "wrapped plain error", err: fmt.Errorf("ctx: %w", errors.New("boom")), wantCode: abi.CodeInternal, wantMessage: "ctx: boom"},
		{name: "abi error", err: domain, same: domain},
		{name: "wrapped abi error", err: fmt.Errorf("observe b1: %w", domain), same: domain},
		{name: "doubly wrapped abi error", err: fmt.Errorf("a: %w", fmt.Errorf("b: %w", domain)), same: domain},
		{name: "joined abi error", err: errors.Join(errors.New("x"), domain), same: domain},
		{name: "typed nil", err: typedNil, wantCode: abi.CodeInternal, wantMessage: "nil *abi.Error"},
		{name: "wrapped typed nil", err: fmt.Errorf("w: %w", typedNil), wantCode: abi.CodeInternal, wantMessage: "nil *abi.Error"},
		{name: "context canceled", err: context.Canceled, wantCode: abi.CodeInternal, wantMessage: "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := driver.AsABIError(tt.err)
			require.NotNil(t, got)
			if tt.same != nil {
				assert.Same(t, tt.same, got)
				return
			}
			assert.Equal(t, tt.wantCode, got.Code)
			assert.Contains(t, got.Message, tt.wantMessage)
			assert.False(t, got.Retryable)
		})
	}
}

func FuzzDispatchRequest(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`,
		`{"op":"CheckProvider"}`,
		`{"op":"ObserveBucket","args":{"name":"b"}}`,
		`{"op":"ApplyBucket","args":{"name":"b","region":"r"},"deadline":"2026-11-25T20:00:00Z"}`,
		`{"op":"DeleteBucket","args":null}`,
		`{"op":"DeleteBucket","args":[1,2]}`,
		`{"op":"Nope","id":"r","provider":{"name":"n","credentials":{"secretAccessKey":"s"}}}`,
		`{"op":"ObserveBucket","args":{"name":"err"}}`,
		`{"op":"ObserveBucket","args":{"name":"nil"}}`,
	} {
		f.Add([]byte(s))
	}
	var typedNil *abi.Error
	d := driver.Funcs{
		Info: abi.DriverInfo{Name: "fuzz"},
		CheckFn: func(context.Context, abi.ProviderConfig) error {
			return nil
		},
		ObserveFn: func(_ context.Context, _ abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
			switch {
			case strings.HasPrefix(b.Name, "err"):
				return abi.BucketObservation{}, fmt.Errorf("wrapped: %w", abi.Errorf(abi.CodeConflict, "%s", b.Name))
			case strings.HasPrefix(b.Name, "nil"):
				return abi.BucketObservation{}, typedNil
			}
			return abi.BucketObservation{Exists: b.Name != ""}, nil
		},
		ApplyFn: func(context.Context, abi.ProviderConfig, abi.BucketArgs) error { return errors.New("plain") },
		// DeleteFn left nil: Unimplemented.
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req abi.Request
		if err := json.Unmarshal(data, &req); err != nil {
			return
		}
		resp := driver.Dispatch(context.Background(), d, req)
		if resp.Error != nil && resp.Result != nil {
			t.Fatalf("op %q: both result %q and error %v", req.Op, resp.Result, resp.Error)
		}
		if resp.Error != nil && resp.Error.Code == "" {
			t.Fatalf("op %q: error without a code: %+v", req.Op, resp.Error)
		}
		switch req.Op {
		case abi.OpObserveBucket:
			if resp.Error == nil {
				var obs abi.BucketObservation
				if err := json.Unmarshal(resp.Result, &obs); err != nil {
					t.Fatalf("ObserveBucket result %q: %v", resp.Result, err)
				}
			}
		case abi.OpCheckProvider:
			if resp.Error != nil && resp.Error.Code != abi.CodeInvalidArgument {
				t.Fatalf("CheckProvider: unexpected error %v", resp.Error)
			}
		default: // ApplyBucket fails, DeleteBucket is nil, anything else is unknown
			if resp.Error == nil {
				t.Fatalf("op %q succeeded", req.Op)
			}
		}
		if _, err := json.Marshal(resp); err != nil {
			t.Fatalf("response does not marshal: %v", err)
		}
	})
}

// accountDriver reports an account with its check.
type accountDriver struct {
	driver.Funcs
	res   abi.ProviderCheck
	err   error
	calls *[]seen // when set, records each check
}

func (a accountDriver) CheckProviderAccount(context.Context, abi.ProviderConfig) (abi.ProviderCheck, error) {
	if a.calls != nil {
		*a.calls = append(*a.calls, seen{op: abi.OpCheckProvider})
	}
	return a.res, a.err
}

func TestDispatchCheckProviderAccount(t *testing.T) {
	req := abi.Request{Op: abi.OpCheckProvider, Provider: testProvider}
	resp := driver.Dispatch(context.Background(), accountDriver{res: abi.ProviderCheck{Account: "dep-1"}}, req)
	require.Nil(t, resp.Error)
	assert.JSONEq(t, `{"account":"dep-1"}`, string(resp.Result), "the account is CheckProvider's result")

	resp = driver.Dispatch(context.Background(), accountDriver{}, req)
	require.Nil(t, resp.Error)
	assert.Empty(t, resp.Result, "no account, no result: what a 1.1 host expects")

	denied := &abi.Error{Code: abi.CodeAccessDenied, Message: "denied"}
	resp = driver.Dispatch(context.Background(), accountDriver{res: abi.ProviderCheck{Account: "dep-1"}, err: denied}, req)
	assert.Same(t, denied, resp.Error)
	assert.Empty(t, resp.Result)

	// A driver whose check reports none checks as before and reports no account.
	var r recorder
	res, err := driver.CheckProviderAccount(context.Background(), r.funcs(nil, abi.BucketObservation{}), testProvider)
	require.NoError(t, err)
	assert.Equal(t, abi.ProviderCheck{}, res)
	assert.Equal(t, []string{abi.OpCheckProvider}, r.calls)
}
