package registry

import (
	"context"

	"errors"
	"github.com/hashicorp/go-hclog"
	"time"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// Instrument wraps a driver so every operation runs under the Provider's
// network policy (taken from ctx) and is measured, identically for wasm and
// native drivers.
func Instrument(d driver.Driver, name string, m *metrics.Metrics) driver.Driver {
	return InstrumentWithLog(d, name, m, nil)
}

// InstrumentWithLog is Instrument that also logs every HTTP request at debug
// level with the Provider and the reconcile id, so a request in the host's
// log can be tied to the reconcile that made it.
func InstrumentWithLog(d driver.Driver, name string, m *metrics.Metrics, log hclog.Logger) driver.Driver {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &instrumented{d: d, name: name, m: m, log: log.Named("http").With("driver", name)}
}

type instrumented struct {
	d    driver.Driver
	name string
	m    *metrics.Metrics
	log  hclog.Logger
}

var errNoPolicy = errors.New("pail host: driver operation without a network policy")

func (i *instrumented) begin(ctx context.Context, op string) (context.Context, error) {
	p := hosthttp.PolicyFrom(ctx)
	if p == nil {
		return ctx, errNoPolicy
	}
	ci := hosthttp.CallInfoFrom(ctx)
	o := p.NewOp(func(method, host string, status int, d time.Duration, err error) {
		i.m.ObserveRequest(i.name, op, method, status, d)
		if i.log.IsDebug() {
			args := []any{"op", op, "method", method, "host", host, "status", status, "duration_ms", d.Milliseconds(),
				"provider", ci.Provider, "reconcile_id", ci.ReconcileID}
			if err != nil {
				// Host errors name hosts and limits, never credentials.
				args = append(args, "error", err.Error())
			}
			i.log.Debug("driver http request", args...)
		}
	})
	return hosthttp.WithOp(ctx, o), nil
}

func (i *instrumented) end(op string, err error) error {
	if i.m == nil {
		return err
	}
	result := "ok"
	switch {
	case err == nil:
	case wasmhost.IsTrap(err):
		result = "Trap"
		i.m.DriverTraps.WithLabelValues(i.name).Inc()
	case abi.CodeOf(err) != "":
		result = string(abi.CodeOf(err))
	default:
		result = "Error"
	}
	i.m.DriverOperations.WithLabelValues(i.name, op, result).Inc()
	return err
}

func (i *instrumented) Describe() abi.DriverInfo { return i.d.Describe() }

func (i *instrumented) CheckProvider(ctx context.Context, p abi.ProviderConfig) error {
	ctx, err := i.begin(ctx, abi.OpCheckProvider)
	if err != nil {
		return err
	}
	return i.end(abi.OpCheckProvider, i.d.CheckProvider(ctx, p))
}

func (i *instrumented) CheckProviderAccount(ctx context.Context, p abi.ProviderConfig) (abi.ProviderCheck, error) {
	ctx, err := i.begin(ctx, abi.OpCheckProvider)
	if err != nil {
		return abi.ProviderCheck{}, err
	}
	res, err := driver.CheckProviderAccount(ctx, i.d, p)
	return res, i.end(abi.OpCheckProvider, err)
}

func (i *instrumented) ObserveBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
	ctx, err := i.begin(ctx, abi.OpObserveBucket)
	if err != nil {
		return abi.BucketObservation{}, err
	}
	obs, err := i.d.ObserveBucket(ctx, p, b)
	return obs, i.end(abi.OpObserveBucket, err)
}

func (i *instrumented) ApplyBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	ctx, err := i.begin(ctx, abi.OpApplyBucket)
	if err != nil {
		return err
	}
	return i.end(abi.OpApplyBucket, i.d.ApplyBucket(ctx, p, b))
}

func (i *instrumented) DeleteBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	ctx, err := i.begin(ctx, abi.OpDeleteBucket)
	if err != nil {
		return err
	}
	return i.end(abi.OpDeleteBucket, i.d.DeleteBucket(ctx, p, b))
}

// users returns the wrapped driver's user operations, or a double that
// answers Unimplemented when it has none.
func (i *instrumented) users() driver.UserDriver {
	if u, ok := i.d.(driver.UserDriver); ok {
		return u
	}
	return driver.UserFuncs{}
}

func (i *instrumented) ObserveUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error) {
	ctx, err := i.begin(ctx, abi.OpObserveUser)
	if err != nil {
		return abi.UserObservation{}, err
	}
	obs, err := i.users().ObserveUser(ctx, p, u)
	return obs, i.end(abi.OpObserveUser, err)
}

func (i *instrumented) ApplyUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	ctx, err := i.begin(ctx, abi.OpApplyUser)
	if err != nil {
		return err
	}
	return i.end(abi.OpApplyUser, i.users().ApplyUser(ctx, p, u))
}

func (i *instrumented) DeleteUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	ctx, err := i.begin(ctx, abi.OpDeleteUser)
	if err != nil {
		return err
	}
	return i.end(abi.OpDeleteUser, i.users().DeleteUser(ctx, p, u))
}

func (i *instrumented) CreateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) (abi.NewAccessKey, error) {
	ctx, err := i.begin(ctx, abi.OpCreateAccessKey)
	if err != nil {
		return abi.NewAccessKey{}, err
	}
	key, err := i.users().CreateAccessKey(ctx, p, k)
	return key, i.end(abi.OpCreateAccessKey, err)
}

func (i *instrumented) UpdateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	ctx, err := i.begin(ctx, abi.OpUpdateAccessKey)
	if err != nil {
		return err
	}
	return i.end(abi.OpUpdateAccessKey, i.users().UpdateAccessKey(ctx, p, k))
}

func (i *instrumented) DeleteAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	ctx, err := i.begin(ctx, abi.OpDeleteAccessKey)
	if err != nil {
		return err
	}
	return i.end(abi.OpDeleteAccessKey, i.users().DeleteAccessKey(ctx, p, k))
}
