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

// AccountReporter is implemented by a driver whose check can also name the
// account or deployment behind the credentials. When a driver implements
// it, CheckProvider calls go to CheckProviderAccount and its result is
// CheckProvider's optional result (abi.ProviderCheck).
type AccountReporter interface {
	CheckProviderAccount(ctx context.Context, p abi.ProviderConfig) (abi.ProviderCheck, error)
}

// CheckProviderAccount runs d's check, with the account when d reports one.
func CheckProviderAccount(ctx context.Context, d Driver, p abi.ProviderConfig) (abi.ProviderCheck, error) {
	if ar, ok := d.(AccountReporter); ok {
		return ar.CheckProviderAccount(ctx, p)
	}
	return abi.ProviderCheck{}, d.CheckProvider(ctx, p)
}

// Funcs is a Driver, UserDriver and AccountReporter made of one function
// per operation of the abi table: the one typed face of that table. Test
// doubles are Funcs literals, and Through makes the Funcs of any Caller
// (the host's wasm invoke, an interceptor). A nil function answers
// Unimplemented.
type Funcs struct {
	Info    abi.DriverInfo
	CheckFn func(ctx context.Context, p abi.ProviderConfig) error
	// CheckAccountFn, when set, serves CheckProvider with the account
	// (AccountReporter) instead of CheckFn.
	CheckAccountFn func(ctx context.Context, p abi.ProviderConfig) (abi.ProviderCheck, error)
	ObserveFn      func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error)
	ApplyFn        func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error
	DeleteFn       func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error

	ObserveUserFn     func(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error)
	ApplyUserFn       func(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error
	DeleteUserFn      func(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error
	CreateAccessKeyFn func(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) (abi.NewAccessKey, error)
	UpdateAccessKeyFn func(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error
	DeleteAccessKeyFn func(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error
}

var _ interface {
	Driver
	UserDriver
	AccountReporter
} = Funcs{}

// Describe returns f.Info.
func (f Funcs) Describe() abi.DriverInfo { return f.Info }

// CheckProvider checks the Provider with CheckAccountFn or CheckFn.
func (f Funcs) CheckProvider(ctx context.Context, p abi.ProviderConfig) error {
	_, err := f.CheckProviderAccount(ctx, p)
	return err
}

// CheckProviderAccount calls CheckAccountFn, else CheckFn with no account;
// with neither the operation is unimplemented.
func (f Funcs) CheckProviderAccount(ctx context.Context, p abi.ProviderConfig) (abi.ProviderCheck, error) {
	switch {
	case f.CheckAccountFn != nil:
		return f.CheckAccountFn(ctx, p)
	case f.CheckFn != nil:
		return abi.ProviderCheck{}, f.CheckFn(ctx, p)
	}
	return abi.ProviderCheck{}, unimplemented(abi.OpCheckProvider)
}

// ObserveBucket calls ObserveFn; when it is nil the operation is unimplemented.
func (f Funcs) ObserveBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
	return fn(abi.ObserveBucket, f.ObserveFn)(ctx, p, b)
}

// ApplyBucket calls ApplyFn; when it is nil the operation is unimplemented.
func (f Funcs) ApplyBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	return errFn(abi.ApplyBucket, f.ApplyFn)(ctx, p, b)
}

// DeleteBucket calls DeleteFn; when it is nil the operation is unimplemented.
func (f Funcs) DeleteBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	return errFn(abi.DeleteBucket, f.DeleteFn)(ctx, p, b)
}

// ObserveUser calls ObserveUserFn; when it is nil the operation is unimplemented.
func (f Funcs) ObserveUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error) {
	return fn(abi.ObserveUser, f.ObserveUserFn)(ctx, p, u)
}

// ApplyUser calls ApplyUserFn; when it is nil the operation is unimplemented.
func (f Funcs) ApplyUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	return errFn(abi.ApplyUser, f.ApplyUserFn)(ctx, p, u)
}

// DeleteUser calls DeleteUserFn; when it is nil the operation is unimplemented.
func (f Funcs) DeleteUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	return errFn(abi.DeleteUser, f.DeleteUserFn)(ctx, p, u)
}

// CreateAccessKey calls CreateAccessKeyFn; when it is nil the operation is unimplemented.
func (f Funcs) CreateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) (abi.NewAccessKey, error) {
	return fn(abi.CreateAccessKey, f.CreateAccessKeyFn)(ctx, p, k)
}

// UpdateAccessKey calls UpdateAccessKeyFn; when it is nil the operation is unimplemented.
func (f Funcs) UpdateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	return errFn(abi.UpdateAccessKey, f.UpdateAccessKeyFn)(ctx, p, k)
}

// DeleteAccessKey calls DeleteAccessKeyFn; when it is nil the operation is unimplemented.
func (f Funcs) DeleteAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	return errFn(abi.DeleteAccessKey, f.DeleteAccessKeyFn)(ctx, p, k)
}

func unimplemented(op string) error {
	return abi.Errorf(abi.CodeUnimplemented, "%s is not implemented", op)
}

// UserDriver is implemented by drivers that declare abi.CapAccessKeys. The
// host owns the protocol around it (which keys to create, when to retire
// one, what to clean up after a crash); the driver maps each call to the
// provider's IAM or admin API.
type UserDriver interface {
	// ObserveUser reports whether the user exists and the parts named in
	// u.Observe. Keys lists every key of the user, so the host can find keys
	// that a crash left unrecorded.
	ObserveUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error)
	// ApplyUser creates the user when u.Create is set, then writes exactly the
	// non-nil parts of u (Policy, Tags).
	ApplyUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error
	// DeleteUser deletes the user's inline policy and then the user. The host
	// deletes the keys first; a user that still has keys yields CodeConflict.
	// A missing user is success.
	DeleteUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error
	// CreateAccessKey creates a new active key for k.User.
	CreateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) (abi.NewAccessKey, error)
	// UpdateAccessKey sets k.ID's status to k.Status.
	UpdateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error
	// DeleteAccessKey deletes k.ID. A missing key is success.
	DeleteAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error
}

// WithUsers combines a Driver and a UserDriver into one value that is both,
// for drivers (and test doubles) assembled from parts.
func WithUsers(d Driver, u UserDriver) interface {
	Driver
	UserDriver
} {
	return struct {
		Driver
		UserDriver
	}{d, u}
}
