// Package driver is the interface a Pail driver implements. It is as small as
// crossplane's ExternalClient: the host decides whether and when to call it,
// the driver only maps each operation to the provider's API.
//
// The same implementation runs as a sandboxed wasm module (registered with
// sdk/guest) or natively in-process for benchmarks and debugging.
package driver

import (
	"context"

	"github.com/pail-dev/pail/sdk/abi"
)

// Driver serves one kind of S3-compatible provider.
type Driver interface {
	// Describe declares the driver's name, version, capabilities and operations.
	Describe() abi.DriverInfo
	// CheckProvider proves the endpoint is reachable and the credentials are
	// accepted. It returns an *abi.Error with CodeUnavailable or CodeAccessDenied.
	CheckProvider(ctx context.Context, p abi.ProviderConfig) error
	// ObserveBucket reports whether the bucket exists and the sub-resources
	// named in b.Observe, exactly as a later write of the same values would
	// read back.
	ObserveBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error)
	// ApplyBucket creates the bucket when b.Create is set, then writes exactly
	// the non-nil sub-resources of b.Config; the host chose them by diffing.
	ApplyBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error
	// DeleteBucket deletes the bucket. Without b.Force a non-empty bucket
	// yields CodeConflict; with it every version and delete marker goes first.
	DeleteBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error
}

// Funcs adapts plain functions to Driver, so test doubles are closures.
// A nil function returns Unimplemented.
type Funcs struct {
	Info      abi.DriverInfo
	CheckFn   func(ctx context.Context, p abi.ProviderConfig) error
	ObserveFn func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error)
	ApplyFn   func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error
	DeleteFn  func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error
}

var _ Driver = Funcs{}

func (f Funcs) Describe() abi.DriverInfo { return f.Info }

func (f Funcs) CheckProvider(ctx context.Context, p abi.ProviderConfig) error {
	if f.CheckFn == nil {
		return abi.Errorf(abi.CodeUnimplemented, "CheckProvider is not implemented")
	}
	return f.CheckFn(ctx, p)
}

func (f Funcs) ObserveBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
	if f.ObserveFn == nil {
		return abi.BucketObservation{}, abi.Errorf(abi.CodeUnimplemented, "ObserveBucket is not implemented")
	}
	return f.ObserveFn(ctx, p, b)
}

func (f Funcs) ApplyBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if f.ApplyFn == nil {
		return abi.Errorf(abi.CodeUnimplemented, "ApplyBucket is not implemented")
	}
	return f.ApplyFn(ctx, p, b)
}

func (f Funcs) DeleteBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if f.DeleteFn == nil {
		return abi.Errorf(abi.CodeUnimplemented, "DeleteBucket is not implemented")
	}
	return f.DeleteFn(ctx, p, b)
}
