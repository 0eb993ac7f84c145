//go:build !wasip1

package guest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// use registers d for the duration of the test; registered is a package
// global, so these tests never run in parallel.
func use(t *testing.T, d driver.Driver) {
	t.Helper()
	prev := registered
	registered = d
	t.Cleanup(func() { registered = prev })
}

func decodeResponse(t *testing.T, out []byte) abi.Response {
	t.Helper()
	var resp abi.Response
	require.NoError(t, json.Unmarshal(out, &resp), "handleCall must always answer valid JSON: %q", out)
	return resp
}

func TestHandleDescribe(t *testing.T) {
	info := abi.DriverInfo{Name: "d", Version: "1.2.3", ABI: "0.9", Capabilities: []string{abi.CapBuckets}, Operations: []string{abi.OpCheckProvider}}
	tests := []struct {
		name string
		drv  driver.Driver
		in   []byte
		want abi.DriverInfo
	}{
		{"nothing registered", nil, []byte(`{"abi":"1.0","host":"pail"}`), abi.DriverInfo{ABI: abi.Version}},
		{"registered, ABI forced to the runtime's", driver.Funcs{Info: info}, []byte(`{"abi":"1.0","host":"pail"}`),
			abi.DriverInfo{Name: "d", Version: "1.2.3", ABI: abi.Version, Capabilities: []string{abi.CapBuckets}, Operations: []string{abi.OpCheckProvider}}},
		{"garbage host info is informational", driver.Funcs{Info: info}, []byte(`not json`),
			abi.DriverInfo{Name: "d", Version: "1.2.3", ABI: abi.Version, Capabilities: []string{abi.CapBuckets}, Operations: []string{abi.OpCheckProvider}}},
		{"nil input", driver.Funcs{Info: info}, nil,
			abi.DriverInfo{Name: "d", Version: "1.2.3", ABI: abi.Version, Capabilities: []string{abi.CapBuckets}, Operations: []string{abi.OpCheckProvider}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			use(t, tt.drv)
			var got abi.DriverInfo
			require.NoError(t, json.Unmarshal(handleDescribe(tt.in), &got))
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHandleCall(t *testing.T) {
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var seen struct {
		id          string
		deadline    time.Time
		hasDeadline bool
		bucket      string
		secret      string
	}
	d := driver.Funcs{
		Info: abi.DriverInfo{Name: "g"},
		ObserveFn: func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
			seen.id = RequestID(ctx)
			seen.deadline, seen.hasDeadline = ctx.Deadline()
			seen.bucket = b.Name
			seen.secret = p.Credentials.SecretAccessKey
			if b.Name == "missing" {
				return abi.BucketObservation{}, abi.Errorf(abi.CodeNotFound, "no %s", b.Name)
			}
			return abi.BucketObservation{Exists: true}, nil
		},
	}
	tests := []struct {
		name         string
		drv          driver.Driver
		in           string
		wantCode     abi.Code
		wantResult   string
		wantID       string
		wantDeadline bool
	}{
		{name: "nothing registered", drv: nil, in: `{"op":"ObserveBucket"}`, wantCode: abi.CodeInternal},
		{name: "undecodable envelope", drv: d, in: `{"op":`, wantCode: abi.CodeInvalidArgument},
		{name: "empty envelope", drv: d, in: ``, wantCode: abi.CodeInvalidArgument},
		{name: "wrong envelope type", drv: d, in: `[1]`, wantCode: abi.CodeInvalidArgument},
		{name: "bad deadline", drv: d, in: `{"op":"ObserveBucket","deadline":"tomorrow"}`, wantCode: abi.CodeInvalidArgument},
		{name: "unknown op", drv: d, in: `{"op":"Explode"}`, wantCode: abi.CodeUnimplemented},
		{name: "nil func", drv: d, in: `{"op":"DeleteBucket"}`, wantCode: abi.CodeUnimplemented},
		{name: "domain error", drv: d, in: `{"op":"ObserveBucket","args":{"name":"missing"}}`, wantCode: abi.CodeNotFound},
		{
			name:       "success with id, deadline and credentials",
			drv:        d,
			in:         `{"op":"ObserveBucket","id":"rec-1","deadline":"2030-01-02T03:04:05Z","provider":{"credentials":{"secretAccessKey":"sk"}},"args":{"name":"b1"}}`,
			wantResult: `{"exists":true}`, wantID: "rec-1", wantDeadline: true,
		},
		{name: "success without deadline", drv: d, in: `{"op":"ObserveBucket","args":{"name":"b2"}}`, wantResult: `{"exists":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			use(t, tt.drv)
			seen.id, seen.hasDeadline = "unset", false
			resp := decodeResponse(t, handleCall([]byte(tt.in)))
			if tt.wantCode != "" {
				require.NotNil(t, resp.Error)
				assert.Equal(t, tt.wantCode, resp.Error.Code)
				assert.Empty(t, resp.Result)
				return
			}
			require.Nil(t, resp.Error)
			assert.JSONEq(t, tt.wantResult, string(resp.Result))
			assert.Equal(t, tt.wantID, seen.id)
			assert.Equal(t, tt.wantDeadline, seen.hasDeadline)
			if tt.wantDeadline {
				assert.True(t, deadline.Equal(seen.deadline), "ctx deadline %v, want %v", seen.deadline, deadline)
				assert.Equal(t, "sk", seen.secret)
			}
		})
	}
}

func TestRequestIDWithoutRequest(t *testing.T) {
	assert.Empty(t, RequestID(context.Background()))
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestTransportWithoutHost(t *testing.T) {
	body := &closeRecorder{Reader: strings.NewReader("payload")}
	req, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:9/b/k", body)
	require.NoError(t, err)
	resp, err := Transport().RoundTrip(req)
	if resp != nil {
		_ = resp.Body.Close()
	}
	require.ErrorIs(t, err, errNoHost)
	assert.Nil(t, resp)
	assert.True(t, body.closed, "RoundTrip must close the request body")
}

func TestHostError(t *testing.T) {
	var err error = &HostError{Message: "host not allowed: http://x:1", Refused: true}
	assert.Equal(t, "host: host not allowed: http://x:1", err.Error())
	var he *HostError
	require.ErrorAs(t, err, &he)
	assert.True(t, he.Refused)
}

func FuzzHandleCall(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `{"op":"ObserveBucket","args":{"name":"b"}}`,
		`{"op":"CheckProvider","deadline":"2000-01-01T00:00:00Z"}`,
		`{"op":"ApplyBucket","args":{"name":"b","config":{"versioning":{"status":"Enabled"}}}}`,
		`{"op":"DeleteBucket","args":"x"}`, `{"op":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	d := driver.Funcs{
		Info: abi.DriverInfo{Name: "fuzz"},
		CheckFn: func(ctx context.Context, _ abi.ProviderConfig) error {
			return ctx.Err() // a past deadline yields an error, not a hang
		},
		ObserveFn: func(_ context.Context, _ abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
			return abi.BucketObservation{Exists: b.Name != ""}, nil
		},
		ApplyFn: func(context.Context, abi.ProviderConfig, abi.BucketArgs) error { return errors.New("plain") },
	}
	prev := registered
	registered = d
	f.Cleanup(func() { registered = prev })
	f.Fuzz(func(t *testing.T, in []byte) {
		var resp abi.Response
		out := handleCall(in)
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("invalid response %q: %v", out, err)
		}
		if resp.Error != nil && resp.Result != nil {
			t.Fatalf("both result and error: %q", out)
		}
		if resp.Error != nil && resp.Error.Code == "" {
			t.Fatalf("error without code: %q", out)
		}
	})
}
