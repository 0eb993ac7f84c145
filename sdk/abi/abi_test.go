package abi_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
)

func TestPackUnpack(t *testing.T) {
	tests := []struct {
		name      string
		ptr, size uint32
		want      uint64
	}{
		{"zero", 0, 0, 0},
		{"pointer only", 1, 0, 1 << 32},
		{"length only", 0, 1, 1},
		{"typical", 0x0001_0000, 42, 0x0001_0000_0000_002a},
		{"max pointer", math.MaxUint32, 0, 0xffff_ffff_0000_0000},
		{"max length", 0, math.MaxUint32, 0x0000_0000_ffff_ffff},
		{"both max", math.MaxUint32, math.MaxUint32, math.MaxUint64},
		{"distinct halves", 0xdead_beef, 0x0bad_f00d, 0xdead_beef_0bad_f00d},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			packed := abi.Pack(tt.ptr, tt.size)
			assert.Equal(t, tt.want, packed, "pointer must sit in the high 32 bits, length in the low 32")
			ptr, size := abi.Unpack(packed)
			assert.Equal(t, tt.ptr, ptr)
			assert.Equal(t, tt.size, size)
		})
	}
}

func TestFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		head, body []byte
	}{
		{"empty head and body", nil, nil},
		{"head only", []byte(`{"method":"GET","url":"http://h/"}`), nil},
		{"body only", nil, []byte("raw body")},
		{"head and body", []byte(`{"status":200}`), []byte("hello")},
		{"binary body with NULs", []byte(`{}`), []byte{0, 1, 2, 0xff, 0, 0, 0, 0}},
		{"body that looks like a frame", []byte(`{}`), abi.EncodeFrame([]byte("inner"), []byte("x"))},
		{"large body", []byte(`{"status":200}`), bytes.Repeat([]byte("ab"), 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := abi.EncodeFrame(tt.head, tt.body)
			require.Len(t, frame, 4+len(tt.head)+len(tt.body))
			assert.Equal(t, uint32(len(tt.head)), binary.LittleEndian.Uint32(frame), "little-endian head length prefix")

			head, body, err := abi.DecodeFrame(frame)
			require.NoError(t, err)
			assert.Equal(t, string(tt.head), string(head))
			assert.Equal(t, string(tt.body), string(body))
		})
	}
}

func TestDecodeFrameDoesNotCopy(t *testing.T) {
	frame := abi.EncodeFrame([]byte("head"), []byte("body"))
	head, body, err := abi.DecodeFrame(frame)
	require.NoError(t, err)
	frame[4] = 'H'
	frame[len(frame)-1] = 'Y'
	assert.Equal(t, "Head", string(head), "head must alias the frame")
	assert.Equal(t, "bodY", string(body), "body must alias the frame")
}

func TestDecodeFrameInvalid(t *testing.T) {
	le := func(n uint32, rest string) []byte {
		b := binary.LittleEndian.AppendUint32(nil, n)
		return append(b, rest...)
	}
	tests := []struct {
		name  string
		frame []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"one byte", []byte{0}},
		{"three bytes", []byte{0, 0, 0}},
		{"head length one past the end", le(5, "abcd")},
		{"head length with no head", le(1, "")},
		{"max head length", le(math.MaxUint32, "abc")},
		{"big-endian length", []byte{0, 0, 0, 2, 'h', 'i'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, body, err := abi.DecodeFrame(tt.frame)
			require.ErrorIs(t, err, abi.ErrShortFrame)
			assert.Nil(t, head)
			assert.Nil(t, body)
		})
	}
}

func TestDecodeFrameBoundaries(t *testing.T) {
	tests := []struct {
		name       string
		frame      []byte
		head, body string
	}{
		{"exactly four bytes, zero head", []byte{0, 0, 0, 0}, "", ""},
		{"head fills the frame", []byte{2, 0, 0, 0, 'h', 'i'}, "hi", ""},
		{"zero head, body follows", []byte{0, 0, 0, 0, 'b'}, "", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, body, err := abi.DecodeFrame(tt.frame)
			require.NoError(t, err)
			assert.Equal(t, tt.head, string(head))
			assert.Equal(t, tt.body, string(body))
		})
	}
}

func TestErrorf(t *testing.T) {
	tests := []struct {
		code      abi.Code
		retryable bool
	}{
		{abi.CodeNotFound, false},
		{abi.CodeAlreadyExists, false},
		{abi.CodeAccessDenied, false},
		{abi.CodeInvalidArgument, false},
		{abi.CodeConflict, false},
		{abi.CodeUnavailable, true},
		{abi.CodeUnimplemented, false},
		{abi.CodeInternal, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			e := abi.Errorf(tt.code, "bucket %q: %d", "b1", 7)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, `bucket "b1": 7`, e.Message)
			assert.Equal(t, tt.retryable, e.Retryable, "only Unavailable is retryable by default")
			assert.Empty(t, e.ProviderCode)
			assert.Zero(t, e.HTTPStatus)
			assert.Equal(t, tt.code, abi.CodeOf(e))
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *abi.Error
		want string
	}{
		{"code and message", &abi.Error{Code: abi.CodeNotFound, Message: "no bucket b1"}, "NotFound: no bucket b1"},
		{"with provider code", &abi.Error{Code: abi.CodeConflict, Message: "not empty", ProviderCode: "BucketNotEmpty", HTTPStatus: 409},
			"Conflict (BucketNotEmpty): not empty"},
		{"empty message", &abi.Error{Code: abi.CodeInternal}, "Internal: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.err.Error())
		})
	}
}

func TestCodeOf(t *testing.T) {
	denied := abi.Errorf(abi.CodeAccessDenied, "no")
	tests := []struct {
		name string
		err  error
		want abi.Code
	}{
		{"nil", nil, ""},
		{"plain error", errors.New("boom"), ""},
		{"abi error", denied, abi.CodeAccessDenied},
		{"wrapped once", fmt.Errorf("observe: %w", denied), abi.CodeAccessDenied},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", denied)), abi.CodeAccessDenied},
		{"joined", errors.Join(errors.New("x"), denied), abi.CodeAccessDenied},
		{"flattened with %v loses the type", fmt.Errorf("observe: %v", denied), ""}, //nolint:errorlint // deliberately not wrapped
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, abi.CodeOf(tt.err))
		})
	}
}

func TestErrorJSON(t *testing.T) {
	e := &abi.Error{Code: abi.CodeConflict, Message: "m", Retryable: true, ProviderCode: "BucketNotEmpty", HTTPStatus: 409}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{"code":"Conflict","message":"m","retryable":true,"providerCode":"BucketNotEmpty","httpStatus":409}`, string(b))

	b, err = json.Marshal(abi.Response{Error: &abi.Error{Code: abi.CodeNotFound, Message: "gone"}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"error":{"code":"NotFound","message":"gone"}}`, string(b), "zero optional fields are omitted")
}

func TestDriverInfoSupportsImplements(t *testing.T) {
	info := abi.DriverInfo{
		Name:         "minio",
		Capabilities: []string{abi.CapBuckets},
		Operations:   []string{abi.OpCheckProvider, abi.OpObserveBucket},
	}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"declared capability", info.Supports(abi.CapBuckets), true},
		{"undeclared capability", info.Supports("objects"), false},
		{"capability is case-sensitive", info.Supports("Buckets"), false},
		{"empty capability", info.Supports(""), false},
		{"operation name is not a capability", info.Supports(abi.OpCheckProvider), false},
		{"declared operation", info.Implements(abi.OpObserveBucket), true},
		{"other declared operation", info.Implements(abi.OpCheckProvider), true},
		{"undeclared operation", info.Implements(abi.OpDeleteBucket), false},
		{"operation is case-sensitive", info.Implements("observebucket"), false},
		{"capability is not an operation", info.Implements(abi.CapBuckets), false},
		{"zero info supports nothing", abi.DriverInfo{}.Supports(abi.CapBuckets), false},
		{"zero info implements nothing", abi.DriverInfo{}.Implements(abi.OpCheckProvider), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

const (
	testAccessKey = "AKIAEXAMPLEACCESS"
	testSecret    = "s3cr3t-value-123"
	testToken     = "session-token-xyz"
)

func TestCredentialsNeverPrinted(t *testing.T) {
	creds := abi.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: testToken}
	pc := abi.ProviderConfig{Name: "ns/p", Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", PathStyle: true, Credentials: creds}
	req := abi.Request{Op: abi.OpCheckProvider, ID: "r1", Provider: pc}

	tests := []struct {
		name string
		out  string
	}{
		{"String", creds.String()},
		{"GoString", creds.GoString()},
		{"%v credentials", fmt.Sprintf("%v", creds)},
		{"%+v credentials", fmt.Sprintf("%+v", creds)},
		{"%#v credentials", fmt.Sprintf("%#v", creds)},
		{"%s credentials", fmt.Sprintf("creds=%s", creds)},
		{"%q credentials", fmt.Sprintf("%q", creds)},
		{"%v pointer to credentials", fmt.Sprintf("%v", &creds)},
		{"%v provider", fmt.Sprintf("%v", pc)},
		{"%+v provider", fmt.Sprintf("%+v", pc)},
		{"%#v provider", fmt.Sprintf("%#v", pc)},
		{"%+v pointer to provider", fmt.Sprintf("%+v", &pc)},
		{"%#v pointer to provider", fmt.Sprintf("%#v", &pc)},
		{"%+v request", fmt.Sprintf("%+v", req)},
		{"%#v request", fmt.Sprintf("%#v", req)},
		{"Sprint", fmt.Sprint(pc)},
		{"Sprintln", fmt.Sprintln(pc)},
		{"%v slice of providers", fmt.Sprintf("%v", []abi.ProviderConfig{pc})},
		{"%+v map of providers", fmt.Sprintf("%+v", map[string]abi.ProviderConfig{"p": pc})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.NotContains(t, tt.out, testSecret)
			assert.NotContains(t, tt.out, testToken)
			assert.NotContains(t, tt.out, testAccessKey)
			assert.Contains(t, tt.out, "REDACTED")
		})
	}
}

// The redaction covers only the verbs that consult String/GoString; other
// verbs print the struct field by field.
func TestCredentialsNonStringVerbs(t *testing.T) {
	creds := abi.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: testToken}
	for _, verb := range []string{"%d", "%t", "%o", "%e"} {
		assert.NotContains(t, fmt.Sprintf(verb, creds), testSecret, verb)
		assert.NotContains(t, fmt.Sprintf(verb, abi.ProviderConfig{Credentials: creds}), testSecret, verb)
	}
}

func TestCredentialsStillMarshal(t *testing.T) {
	// The wire format must carry them: the driver signs with them.
	b, err := json.Marshal(abi.ProviderConfig{Credentials: abi.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}})
	require.NoError(t, err)
	var back abi.ProviderConfig
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, testSecret, back.Credentials.SecretAccessKey)
	assert.Equal(t, testAccessKey, back.Credentials.AccessKeyID)
	assert.NotContains(t, string(b), "sessionToken", "an empty session token is omitted")
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'x'})
	f.Add([]byte{5, 0, 0, 0, 'a', 'b', 'c', 'd'})
	f.Add(abi.EncodeFrame([]byte(`{"status":200}`), []byte("body")))
	f.Add(abi.EncodeFrame(nil, []byte{0, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, frame []byte) {
		head, body, err := abi.DecodeFrame(frame)
		if err != nil {
			if !errors.Is(err, abi.ErrShortFrame) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if len(frame) >= 4 && uint64(binary.LittleEndian.Uint32(frame)) <= uint64(len(frame)-4) {
				t.Fatalf("valid frame of %d bytes rejected", len(frame))
			}
			return
		}
		if len(head)+len(body)+4 != len(frame) {
			t.Fatalf("head %d + body %d + 4 != frame %d", len(head), len(body), len(frame))
		}
		if re := abi.EncodeFrame(head, body); !bytes.Equal(re, frame) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", re, frame)
		}
	})
}
