package wasmhost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/abi"
)

// Layout of the frame-fuzzing module's page.
const (
	fuzzFrameAt  = 0x2000 // the request frame handed to http_request, up to 16 KiB
	fuzzFrameMax = 0x4000
	fuzzLogAt    = 0x6000 // the record handed to log, up to 8 KiB
	fuzzLogMax   = 0x2000
	fuzzReadAt   = 0xc000 // where http_response_read copies the response, 16 KiB
	fuzzReadMax  = 0x4000
)

// frameModule is a driver whose call passes record to the log import and
// frame to http_request, reads the response back and returns `{}`: the
// host parses both exactly as it would parse a hostile guest's.
func frameModule(frame, record []byte) []byte {
	const ok = `{}`
	return wasmModule{
		imports: []wasmImport{
			{module: "pail_host_v1", field: "log", params: []byte{i32, i32}},                                // 0
			{module: "pail_host_v1", field: "http_request", params: []byte{i32, i32}, results: []byte{i64}}, // 1
			{module: "pail_host_v1", field: "http_response_read", params: []byte{i32, i32}, results: []byte{i32}},
		},
		funcs: []wasmFunc{
			{exports: []string{"pail_abi_v1", "_initialize"}},
			{params: []byte{i32}, results: []byte{i32}, body: i32Const(tinyAllocAt), exports: []string{"alloc"}},
			{params: []byte{i32}, exports: []string{"free"}},
			{params: []byte{i32, i32}, results: []byte{i64}, body: packed(tinyInfoAt, uint32(len(tinyInfo))), exports: []string{"describe"}},
			{params: []byte{i32, i32}, results: []byte{i64}, exports: []string{"call"}, body: code(
				i32Const(fuzzLogAt), i32Const(int32(len(record))), []byte{opCall, 0},
				i32Const(fuzzFrameAt), i32Const(int32(len(frame))), []byte{opCall, 1, opDrop},
				i32Const(fuzzReadAt), i32Const(fuzzReadMax), []byte{opCall, 2, opDrop},
				packed(tinyResponseAt, uint32(len(ok))),
			)},
		},
		memoryPages: 1,
		data: map[uint32][]byte{
			tinyInfoAt:     []byte(tinyInfo),
			tinyResponseAt: []byte(ok),
			fuzzFrameAt:    frame,
			fuzzLogAt:      record,
		},
	}.bytes()
}

func fuzzFrame(method, url string, headers [][2]string, body string) []byte {
	head, _ := json.Marshal(abi.HTTPRequestHead{Method: method, URL: url, Headers: headers})
	return abi.EncodeFrame(head, []byte(body))
}

// FuzzGuestFrames feeds arbitrary request frames and log records from a
// guest to the host. The host must neither trap nor panic, and no request
// may reach a server outside the policy. "SRV" and "OTHER" in the input
// stand for the allowed and the forbidden server's host:port.
func FuzzGuestFrames(f *testing.F) {
	f.Add(fuzzFrame("GET", "http://SRV/b", nil, ""), []byte(`{"level":"info","msg":"hi"}`))
	f.Add(fuzzFrame("PUT", "http://SRV/b/k", [][2]string{{"Content-Length", "3"}, {"Host", "b.SRV"}}, "abc"), []byte(`{"level":"debug","msg":"m","fields":{"a":1,"b":[1,"x"],"c":{"d":null}}}`))
	f.Add(fuzzFrame("GET", "http://OTHER/steal", nil, ""), []byte(`{}`))
	f.Add(fuzzFrame("GET", "http://SRV@OTHER/", [][2]string{{"Host", "SRV"}}, ""), []byte(`null`))
	f.Add(fuzzFrame("GET", "http://OTHER#@SRV/", nil, ""), []byte(`[]`))
	f.Add(fuzzFrame("CONNECT", "OTHER", nil, ""), []byte(`{"level":"nope","msg":"`+strings.Repeat("x", 100)+`"}`))
	f.Add(fuzzFrame("G\nET", "http://SRV/\x00", [][2]string{{"X\r\nInjected", "v"}, {"X-A", "v\r\nInjected: 1"}}, ""), []byte(`{"level":"error"}`))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f}, []byte{})
	f.Add([]byte{}, []byte("not json"))

	var srvHits, otherHits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srvHits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "response body")
	}))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { otherHits.Add(1) }))
	defer other.Close()
	srvHost, otherHost := strings.TrimPrefix(srv.URL, "http://"), strings.TrimPrefix(other.URL, "http://")

	policy, err := hosthttp.NewPolicy([]string{srv.URL}, hosthttp.TLSOptions{})
	if err != nil {
		f.Fatal(err)
	}
	policy = policy.WithLimits(1<<16, 0, 5*time.Second)
	defer policy.Close()
	// No cache directory: thousands of one-off modules stay in memory.
	host, err := wasmhost.New(wasmhost.NewConfig().WithCallTimeout(20 * time.Second).WithLogger(new(logBuffer).logger()))
	if err != nil {
		f.Fatal(err)
	}
	defer host.Close(context.Background())

	f.Fuzz(func(t *testing.T, frame, record []byte) {
		frame = bytes.ReplaceAll(bytes.ReplaceAll(frame, []byte("OTHER"), []byte(otherHost)), []byte("SRV"), []byte(srvHost))
		record = bytes.ReplaceAll(record, []byte("SRV"), []byte(srvHost))
		if len(frame) > fuzzFrameMax || len(record) > fuzzLogMax {
			return
		}
		d, err := host.Load(context.Background(), "fuzz", frameModule(frame, record))
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		defer d.Close(context.Background())

		op := policy.NewOp(nil)
		err = d.CheckProvider(hosthttp.WithOp(context.Background(), op), abi.ProviderConfig{Endpoint: srv.URL})
		if err != nil {
			t.Fatalf("the host failed on a guest frame: %v", err)
		}
		if d.Traps() != 0 {
			t.Fatalf("%d traps", d.Traps())
		}
		if op.Calls() > 1 {
			t.Fatalf("one http_request made %d calls", op.Calls())
		}
		if n := otherHits.Load(); n != 0 {
			t.Fatalf("a server outside the policy received %d requests; frame %q", n, frame)
		}
	})
}
