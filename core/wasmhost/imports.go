package wasmhost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero/api"
	"golang.org/x/time/rate"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/sdk/abi"
)

// maxRequestFrame caps what a guest may ask the host to send in one request.
const maxRequestFrame = 32 << 20

func (d *Driver) instantiateHostModule(ctx context.Context) error {
	if d.cfg.logRate > 0 {
		d.logLimiter = rate.NewLimiter(rate.Limit(d.cfg.logRate), d.cfg.logBurst)
	}
	_, err := d.runtime.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().WithFunc(d.hostHTTPRequest).Export("http_request").
		NewFunctionBuilder().WithFunc(d.hostHTTPResponseRead).Export("http_response_read").
		NewFunctionBuilder().WithFunc(d.hostLog).Export("log").
		Instantiate(ctx)
	return err
}

func stateFrom(ctx context.Context) *callState { s, _ := ctx.Value(stateKey{}).(*callState); return s }

func (d *Driver) hostHTTPRequest(ctx context.Context, m api.Module, ptr, size uint32) uint64 {
	st := stateFrom(ctx)
	respond := func(head abi.HTTPResponseHead, body []byte) uint64 {
		hb, _ := json.Marshal(head) //nolint:errchkjson // ints, strings and bools always encode
		frame := abi.EncodeFrame(hb, body)
		if st != nil {
			st.pending = frame
		}
		return uint64(len(frame))
	}
	if st == nil || st.op == nil {
		return respond(abi.HTTPResponseHead{Error: "no network outside a driver operation"}, nil)
	}
	if size > maxRequestFrame {
		return respond(abi.HTTPResponseHead{Error: fmt.Sprintf("request frame of %d bytes exceeds %d", size, maxRequestFrame)}, nil)
	}
	raw, ok := m.Memory().Read(ptr, size)
	if !ok {
		return respond(abi.HTTPResponseHead{Error: "request frame outside guest memory"}, nil)
	}
	hb, body, err := abi.DecodeFrame(raw)
	if err != nil {
		return respond(abi.HTTPResponseHead{Error: err.Error()}, nil)
	}
	var head abi.HTTPRequestHead
	if err := json.Unmarshal(hb, &head); err != nil {
		return respond(abi.HTTPResponseHead{Error: "undecodable request head"}, nil)
	}
	// Body bytes are copied out of guest memory: the view is invalidated if
	// the guest grows its memory, and the transport reads it later.
	req, err := http.NewRequestWithContext(ctx, head.Method, head.URL, bytes.NewReader(bytes.Clone(body)))
	if err != nil {
		return respond(abi.HTTPResponseHead{Error: "invalid request: " + st.redact(err.Error())}, nil)
	}
	req.ContentLength = int64(len(body))
	for _, kv := range head.Headers {
		switch http.CanonicalHeaderKey(kv[0]) {
		case "Host":
			req.Host = kv[1]
		case "Content-Length":
			// set from the body above; the frame carries the exact bytes
		default:
			req.Header.Add(kv[0], kv[1])
		}
	}
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	resp, rb, err := st.op.Do(ctx, req) //nolint:bodyclose // Do reads and closes the body; rb holds it

	if err != nil {
		refused := hosthttp.IsRefused(err)
		if refused {
			st.refused = true
		}
		return respond(abi.HTTPResponseHead{Error: st.redact(err.Error()), Refused: refused}, nil)
	}
	out := abi.HTTPResponseHead{Status: resp.StatusCode}
	for k, vs := range resp.Header {
		for _, v := range vs {
			out.Headers = append(out.Headers, [2]string{k, v})
		}
	}
	return respond(out, rb)
}

func (d *Driver) hostHTTPResponseRead(ctx context.Context, m api.Module, ptr, size uint32) int32 {
	st := stateFrom(ctx)
	if st == nil || st.pending == nil || int(size) < len(st.pending) {
		return -1
	}
	n := len(st.pending)
	if n > math.MaxInt32 { // the result is an i32
		return -1
	}
	if !m.Memory().Write(ptr, st.pending) {
		return -1
	}
	st.pending = nil
	return int32(n)
}

// redactValue redacts secrets at any depth of a decoded JSON value.
func redactValue(st *callState, v any) any {
	switch x := v.(type) {
	case string:
		return st.redact(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(st, e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[st.redact(k)] = redactValue(st, e)
		}
		return out
	}
	return v
}

func (d *Driver) hostLog(ctx context.Context, m api.Module, ptr, size uint32) {
	stateFrom(ctx).countLog()
	if size > 64<<10 || !d.logAllowed() {
		return
	}
	raw, ok := m.Memory().Read(ptr, size)
	if !ok {
		return
	}
	var rec abi.LogRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return
	}
	st := stateFrom(ctx)
	args := []any{"op", "", "provider", "", "reconcile_id", ""}
	if st != nil {
		args = []any{"op", st.opName, "provider", st.info.Provider, "reconcile_id", st.info.ReconcileID}
	}
	for k, v := range rec.Fields {
		args = append(args, "driver."+st.redact(k), redactValue(st, v))
	}
	d.log.Log(hclog.LevelFromString(rec.Level), st.redact(rec.Message), args...)
}
