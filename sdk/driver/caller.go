package driver

import (
	"context"

	"github.com/pail-dev/pail/sdk/abi"
)

// Caller runs any operation of the abi table through one path: the host's
// wasm invoke, the dispatch to a native Driver, or an interceptor around
// another Caller that measures every operation alike. args is the
// operation's A and the result its R (abi.Op).
type Caller interface {
	Describe() abi.DriverInfo
	Call(ctx context.Context, op abi.Operation, p abi.ProviderConfig, args any) (any, error)
}

// Call runs op through c with typed args and result.
func Call[A, R any](ctx context.Context, c Caller, op abi.Op[A, R], p abi.ProviderConfig, args A) (R, error) {
	res, err := c.Call(ctx, op.Operation, p, args)
	r, ok := res.(R)
	if !ok && err == nil {
		return r, abi.Errorf(abi.CodeInternal, "%s answered a %T, not a %T", op.Name, res, r)
	}
	return r, err
}

// Through returns the Funcs whose every function is one Call of c: the
// typed methods of any Caller (the host's wasm invoke, an interceptor).
func Through(c Caller) Funcs {
	return Funcs{
		Info: c.Describe(),
		CheckAccountFn: func(ctx context.Context, p abi.ProviderConfig) (abi.ProviderCheck, error) {
			return Call(ctx, c, abi.CheckProvider, p, abi.BucketArgs{})
		},
		ObserveFn:         via(c, abi.ObserveBucket),
		ApplyFn:           viaErr(c, abi.ApplyBucket),
		DeleteFn:          viaErr(c, abi.DeleteBucket),
		ObserveUserFn:     via(c, abi.ObserveUser),
		ApplyUserFn:       viaErr(c, abi.ApplyUser),
		DeleteUserFn:      viaErr(c, abi.DeleteUser),
		CreateAccessKeyFn: via(c, abi.CreateAccessKey),
		UpdateAccessKeyFn: viaErr(c, abi.UpdateAccessKey),
		DeleteAccessKeyFn: viaErr(c, abi.DeleteAccessKey),
	}
}

// via is the function of op that calls c.
func via[A, R any](c Caller, op abi.Op[A, R]) func(context.Context, abi.ProviderConfig, A) (R, error) {
	return func(ctx context.Context, p abi.ProviderConfig, a A) (R, error) { return Call(ctx, c, op, p, a) }
}

// viaErr is via for an operation that answers only an error.
func viaErr[A any](c Caller, op abi.Op[A, abi.None]) func(context.Context, abi.ProviderConfig, A) error {
	return func(ctx context.Context, p abi.ProviderConfig, a A) error {
		_, err := Call(ctx, c, op, p, a)
		return err
	}
}

// Serve returns the Caller that runs operations on d: d itself when it is
// one, else the binding of each operation to d's method.
func Serve(d Driver) Caller {
	if c, ok := d.(Caller); ok {
		return c
	}
	return served{d}
}

type served struct{ d Driver }

func (s served) Describe() abi.DriverInfo { return s.d.Describe() }

func (s served) Call(ctx context.Context, op abi.Operation, p abi.ProviderConfig, args any) (any, error) {
	m, ok := methods[op.Name]
	if !ok {
		return nil, notImplemented(op.Name, s.d)
	}
	return m(ctx, s.d, p, args)
}

func notImplemented(op string, d Driver) error {
	return abi.Errorf(abi.CodeUnimplemented, "operation %q is not implemented by driver %s", op, d.Describe().Name)
}

// method runs one operation on a Driver; args is the operation's A.
type method func(ctx context.Context, d Driver, p abi.ProviderConfig, args any) (any, error)

// methods binds each operation of the abi table to the Go method that
// serves it, the one place an operation meets its method. The compiler
// checks the types: an operation bound to a method of other args or result
// does not build. TestEveryOperationRoundTrips fails for one left out.
var methods = table(
	bind(abi.CheckProvider, checkProvider),
	bind(abi.ObserveBucket, Driver.ObserveBucket),
	bindErr(abi.ApplyBucket, Driver.ApplyBucket),
	bindErr(abi.DeleteBucket, Driver.DeleteBucket),
	bind(abi.ObserveUser, UserDriver.ObserveUser),
	bindErr(abi.ApplyUser, UserDriver.ApplyUser),
	bindErr(abi.DeleteUser, UserDriver.DeleteUser),
	bind(abi.CreateAccessKey, UserDriver.CreateAccessKey),
	bindErr(abi.UpdateAccessKey, UserDriver.UpdateAccessKey),
	bindErr(abi.DeleteAccessKey, UserDriver.DeleteAccessKey),
)

// binding is one row of methods.
type binding struct {
	op string
	m  method
}

func table(rows ...binding) map[string]method {
	out := make(map[string]method, len(rows))
	for _, r := range rows {
		out[r.op] = r.m
	}
	return out
}

// checkProvider serves CheckProvider, whose args carry nothing, with the
// account when d reports one.
func checkProvider(d Driver, ctx context.Context, p abi.ProviderConfig, _ abi.BucketArgs) (abi.ProviderCheck, error) { //nolint:revive // the shape of a method expression, which bind takes
	return CheckProviderAccount(ctx, d, p)
}

// bind adapts fn, a method of the interface D, to op. A driver that is not
// a D does not implement op. The generic parts are kept small: a driver's
// module carries them once per operation.
func bind[D, A, R any](op abi.Op[A, R], fn func(D, context.Context, abi.ProviderConfig, A) (R, error)) binding {
	return binding{op.Name, func(ctx context.Context, d Driver, p abi.ProviderConfig, args any) (any, error) {
		dd, isD := d.(D)
		a, isA := args.(A)
		if !isD || !isA {
			return nil, mismatch(op.Operation, d, isD, args)
		}
		return fn(dd, ctx, p, a)
	}}
}

// bindErr is bind for a method that answers only an error.
func bindErr[D, A any](op abi.Op[A, abi.None], fn func(D, context.Context, abi.ProviderConfig, A) error) binding {
	return binding{op.Name, func(ctx context.Context, d Driver, p abi.ProviderConfig, args any) (any, error) {
		dd, isD := d.(D)
		a, isA := args.(A)
		if !isD || !isA {
			return nil, mismatch(op.Operation, d, isD, args)
		}
		return abi.None{}, fn(dd, ctx, p, a)
	}}
}

// mismatch is the error of a binding whose driver or args are not its own.
func mismatch(op abi.Operation, d Driver, isD bool, args any) error {
	if !isD {
		return notImplemented(op.Name, d)
	}
	return abi.Errorf(abi.CodeInternal, "%s args are a %T", op.Name, args)
}

// fn returns f, or one that answers Unimplemented for op when f is nil:
// what Funcs runs.
func fn[A, R any](op abi.Op[A, R], f func(context.Context, abi.ProviderConfig, A) (R, error)) func(context.Context, abi.ProviderConfig, A) (R, error) {
	if f == nil {
		return func(context.Context, abi.ProviderConfig, A) (R, error) {
			var zero R
			return zero, unimplemented(op.Name)
		}
	}
	return f
}

// errFn is fn for a function that answers only an error.
func errFn[A any](op abi.Op[A, abi.None], f func(context.Context, abi.ProviderConfig, A) error) func(context.Context, abi.ProviderConfig, A) error {
	if f == nil {
		return func(context.Context, abi.ProviderConfig, A) error { return unimplemented(op.Name) }
	}
	return f
}
