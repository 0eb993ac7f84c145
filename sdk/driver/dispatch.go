package driver

import (
	"context"
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

// dispatch decodes the args of the operation req names, runs it on d and
// encodes its result, all as the abi table says.
func dispatch(ctx context.Context, d Driver, req abi.Request) ([]byte, error) {
	op, ok := abi.Lookup(req.Op)
	if !ok {
		return nil, notImplemented(req.Op, d)
	}
	args, err := op.DecodeArgs(req.Args)
	if err != nil {
		return nil, err
	}
	res, err := Serve(d).Call(ctx, op, req.Provider, args)
	if err != nil {
		return nil, err
	}
	return op.EncodeResult(res)
}

// AsABIError converts any error to an *abi.Error, keeping one that already is.
func AsABIError(err error) *abi.Error {
	if e, ok := errors.AsType[*abi.Error](err); ok {
		if e == nil { // a typed nil must not read as success
			return &abi.Error{Code: abi.CodeInternal, Message: "driver returned a nil *abi.Error"}
		}
		return e
	}
	return &abi.Error{Code: abi.CodeInternal, Message: fmt.Sprint(err)}
}
