package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pail-dev/pail/sdk/abi"
)

// Dispatch runs one abi.Request against d and builds the abi.Response. The
// guest runtime uses it behind the call export; native mode skips it.
func Dispatch(ctx context.Context, d Driver, req abi.Request) abi.Response {
	result, err := dispatch(ctx, d, req)
	if err != nil {
		return abi.Response{Error: AsABIError(err)}
	}
	return abi.Response{Result: result}
}

func dispatch(ctx context.Context, d Driver, req abi.Request) ([]byte, error) {
	if isUserOp(req.Op) {
		u, ok := d.(UserDriver)
		if !ok {
			return nil, abi.Errorf(abi.CodeUnimplemented, "operation %q is not implemented by driver %s", req.Op, d.Describe().Name)
		}
		return dispatchUser(ctx, u, req)
	}
	var b abi.BucketArgs
	if len(req.Args) > 0 {
		if err := json.Unmarshal(req.Args, &b); err != nil {
			return nil, abi.Errorf(abi.CodeInvalidArgument, "decode %s args: %v", req.Op, err)
		}
	}
	switch req.Op {
	case abi.OpCheckProvider:
		res, err := CheckProviderAccount(ctx, d, req.Provider)
		if err != nil || res == (abi.ProviderCheck{}) {
			return nil, err
		}
		return json.Marshal(res)
	case abi.OpObserveBucket:
		obs, err := d.ObserveBucket(ctx, req.Provider, b)
		if err != nil {
			return nil, err
		}
		return json.Marshal(obs)
	case abi.OpApplyBucket:
		return nil, d.ApplyBucket(ctx, req.Provider, b)
	case abi.OpDeleteBucket:
		return nil, d.DeleteBucket(ctx, req.Provider, b)
	default:
		return nil, abi.Errorf(abi.CodeUnimplemented, "operation %q is not implemented by driver %s", req.Op, d.Describe().Name)
	}
}

// AsABIError converts any error to an *abi.Error, keeping one that already is.
func AsABIError(err error) *abi.Error {
	var e *abi.Error
	if errors.As(err, &e) {
		if e == nil { // a typed nil must not read as success
			return &abi.Error{Code: abi.CodeInternal, Message: "driver returned a nil *abi.Error"}
		}
		return e
	}
	return &abi.Error{Code: abi.CodeInternal, Message: fmt.Sprint(err)}
}

func isUserOp(op string) bool {
	switch op {
	case abi.OpObserveUser, abi.OpApplyUser, abi.OpDeleteUser, abi.OpCreateAccessKey, abi.OpUpdateAccessKey, abi.OpDeleteAccessKey:
		return true
	}
	return false
}

func dispatchUser(ctx context.Context, d UserDriver, req abi.Request) ([]byte, error) {
	decode := func(v any) error {
		if len(req.Args) == 0 {
			return nil
		}
		if err := json.Unmarshal(req.Args, v); err != nil {
			return abi.Errorf(abi.CodeInvalidArgument, "decode %s args: %v", req.Op, err)
		}
		return nil
	}
	switch req.Op {
	case abi.OpObserveUser, abi.OpApplyUser, abi.OpDeleteUser:
		var u abi.UserArgs
		if err := decode(&u); err != nil {
			return nil, err
		}
		switch req.Op {
		case abi.OpObserveUser:
			obs, err := d.ObserveUser(ctx, req.Provider, u)
			if err != nil {
				return nil, err
			}
			return json.Marshal(obs)
		case abi.OpApplyUser:
			return nil, d.ApplyUser(ctx, req.Provider, u)
		default:
			return nil, d.DeleteUser(ctx, req.Provider, u)
		}
	default:
		var k abi.AccessKeyArgs
		if err := decode(&k); err != nil {
			return nil, err
		}
		switch req.Op {
		case abi.OpCreateAccessKey:
			key, err := d.CreateAccessKey(ctx, req.Provider, k)
			if err != nil {
				return nil, err
			}
			return json.Marshal(key)
		case abi.OpUpdateAccessKey:
			return nil, d.UpdateAccessKey(ctx, req.Provider, k)
		default:
			return nil, d.DeleteAccessKey(ctx, req.Provider, k)
		}
	}
}
