package registry

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// Instrument wraps a driver so every operation runs under the Provider's
// network policy (taken from ctx) and is measured, identically for wasm and
// native drivers: one interceptor around the driver's single call path
// (driver.Serve), so every operation of the abi table is measured alike.
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
	// A pointer: each load is one driver value, handed out as itself.
	f := driver.Through(&instrumented{next: driver.Serve(d), name: name, m: m, log: log.Named("http").With("driver", name)})
	return &f
}

// instrumented is a driver.Caller around another.
type instrumented struct {
	next driver.Caller
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

func (i *instrumented) Describe() abi.DriverInfo { return i.next.Describe() }

// Call runs op under the network policy and records it.
func (i *instrumented) Call(ctx context.Context, op abi.Operation, p abi.ProviderConfig, args any) (any, error) {
	name := op.Name
	ctx, err := i.begin(ctx, name)
	if err != nil {
		return nil, err
	}
	res, err := i.next.Call(ctx, op, p, args)
	return res, i.end(name, err)
}
