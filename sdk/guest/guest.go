// Package guest is the runtime a driver module links in. A driver calls
// Register from init() (main never runs in a c-shared wasm module); the
// package provides the ABI v1 exports and an http.RoundTripper that sends
// every request through the host, which owns the network.
//
// Off wasm (native mode, tests) the package still builds, but there is no
// host: Transport's requests fail with "no host". Native mode gives the
// driver a real http.RoundTripper instead.
package guest

import (
	"context"
	"encoding/json"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

var registered driver.Driver

// Register installs the driver this module serves. Call it from init().
func Register(d driver.Driver) { registered = d }

// handleDescribe implements the describe export over bytes.
func handleDescribe(in []byte) []byte {
	var host abi.HostInfo
	_ = json.Unmarshal(in, &host) // the handshake input is informational in 1.0
	info := abi.DriverInfo{ABI: abi.Version}
	if registered != nil {
		info = registered.Describe()
		info.ABI = abi.Version
	}
	out, _ := json.Marshal(info) //nolint:errchkjson // DriverInfo holds only strings and string lists
	return out
}

// handleCall implements the call export over bytes.
func handleCall(in []byte) []byte {
	var resp abi.Response
	var req abi.Request
	switch {
	case registered == nil:
		resp.Error = abi.Errorf(abi.CodeInternal, "driver module did not call guest.Register in init()")
	case json.Unmarshal(in, &req) != nil:
		resp.Error = abi.Errorf(abi.CodeInvalidArgument, "undecodable call envelope")
	default:
		ctx := context.Background()
		if !req.Deadline.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, req.Deadline)
			defer cancel()
		}
		ctx = withRequest(ctx, req)
		resp = driver.Dispatch(ctx, registered, req)
	}
	out, _ := json.Marshal(resp) //nolint:errchkjson // Dispatch validated the result; an empty answer reads as a protocol error on the host
	return out
}

type requestKey struct{}

func withRequest(ctx context.Context, r abi.Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r.ID)
}

// RequestID returns the correlation id of the call ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}

// Log sends one record to the host, which adds driver, Provider and reconcile
// ids, redacts credentials and rate-limits.
func Log(level, msg string, fields map[string]any) {
	b, _ := json.Marshal(abi.LogRecord{Level: level, Message: msg, Fields: fields}) //nolint:errchkjson // a log record that cannot encode is dropped, as the host drops rate-limited ones
	hostLog(b)
}
