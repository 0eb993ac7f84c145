// Package abi holds the wire types of Pail's host ABI v1, shared by the host
// (core) and the guest runtime (sdk/guest). ABI.md at the root of this module
// is the specification; this package is its only implementation.
package abi

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Version is the ABI version this package implements. The major version is
// also carried by the marker export and the host import module name.
const (
	VersionMajor = 1
	VersionMinor = 1
	Version      = "1.1"

	// MarkerExport is exported by every v1 module; its absence, or the
	// presence of another pail_abi_vN, makes the host refuse the module.
	MarkerExport = "pail_abi_v1"
	// MarkerPrefix identifies version markers of any major version.
	MarkerPrefix = "pail_abi_v"
	// HostModule is the import module name the guest links against.
	HostModule = "pail_host_v1"
)

// Capabilities a driver may declare.
const (
	CapBuckets = "buckets"
)

// Pack combines a pointer and a length into the i64 returned by exports.
func Pack(ptr, size uint32) uint64 { return uint64(ptr)<<32 | uint64(size) }

// Unpack splits a packed i64 into pointer and length.
func Unpack(v uint64) (ptr, size uint32) { return uint32(v >> 32), uint32(v) } //nolint:gosec // taking the two halves is the point

// HostInfo is the input of the describe export.
type HostInfo struct {
	ABI         string `json:"abi"`
	Host        string `json:"host"`
	HostVersion string `json:"hostVersion,omitempty"`
}

// DriverInfo is the output of the describe export.
type DriverInfo struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	ABI          string   `json:"abi"`
	Capabilities []string `json:"capabilities"`
	Operations   []string `json:"operations"`
	// DefaultIAMEndpoint is the IAM endpoint used for user and key operations
	// when the Provider names none (ABI 1.1). The host allows it for that
	// Provider only then.
	DefaultIAMEndpoint string `json:"defaultIAMEndpoint,omitempty"`
}

// Supports reports whether the driver declared capability c.
func (d DriverInfo) Supports(c string) bool {
	return slices.Contains(d.Capabilities, c)
}

// Implements reports whether the driver declared operation op.
func (d DriverInfo) Implements(op string) bool {
	return slices.Contains(d.Operations, op)
}

// Credentials sign the driver's requests. They are redacted wherever the host
// prints anything; String keeps them out of accidental %v formatting.
type Credentials struct {
	AccessKeyID     string `json:"accessKeyID"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken,omitempty"`
}

func (c Credentials) String() string { return "Credentials{REDACTED}" }

// GoString keeps credentials out of %#v as well.
func (c Credentials) GoString() string { return c.String() }

// Format keeps credentials out of every other verb (%d, %x, %q, …).
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// ProviderConfig is what a driver knows about the Provider it serves.
type ProviderConfig struct {
	Name        string      `json:"name"`
	Endpoint    string      `json:"endpoint"`
	Region      string      `json:"region"`
	PathStyle   bool        `json:"pathStyle"`
	Credentials Credentials `json:"credentials"`
	// IAMEndpoint is the IAM API URL for user and key operations (ABI 1.1):
	// the Provider's spec.iamEndpoint, or else the driver's DefaultIAMEndpoint.
	IAMEndpoint string `json:"iamEndpoint,omitempty"`
}

// Request is the input of the call export.
type Request struct {
	Op       string          `json:"op"`
	ID       string          `json:"id,omitempty"`
	Deadline time.Time       `json:"deadline,omitzero"`
	Provider ProviderConfig  `json:"provider"`
	Args     json.RawMessage `json:"args,omitempty"`
}

// Response is the output of the call export: exactly one of Result or Error.
type Response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// BucketArgs are the arguments of every bucket operation.
type BucketArgs struct {
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`

	// Observe lists the sub-resources ObserveBucket should read.
	Observe []string `json:"observe,omitempty"`

	// Create asks ApplyBucket to create the bucket first; ObjectLock is
	// honoured only then.
	Create     bool        `json:"create,omitempty"`
	ObjectLock *ObjectLock `json:"objectLock,omitempty"`
	// Config holds the sub-resources ApplyBucket writes: exactly the non-nil
	// ones, which the host chose by diffing. The driver writes nothing else.
	Config BucketConfig `json:"config,omitzero"`
	// MFA is "<device serial> <code>" for a versioning change with MFA delete.
	MFA string `json:"mfa,omitempty"`

	// Force asks DeleteBucket to delete every object version and delete
	// marker first. Without it a non-empty bucket yields Conflict.
	Force bool `json:"force,omitempty"`
}

// ProviderCheck is the optional result of CheckProvider: what the check
// learnt about the provider beyond "reachable, credentials accepted". A
// driver that learns nothing returns no result; a host that does not read
// it ignores it. So it needs no version negotiation.
type ProviderCheck struct {
	// Account identifies the account or deployment behind the credentials
	// (MinIO: its deployment ID). It must be stable for as long as the
	// buckets and users there are the same ones, and change when they are
	// not (another account, a wiped and re-created deployment). Empty when
	// the driver cannot tell cheaply.
	Account string `json:"account,omitempty"`
}

// BucketObservation is what ObserveBucket reports.
type BucketObservation struct {
	Exists bool         `json:"exists"`
	Config BucketConfig `json:"config,omitzero"`
	// Unsupported maps a requested sub-resource the server does not
	// implement to the server's answer; the rest is still observed.
	Unsupported map[string]string `json:"unsupported,omitempty"`
}

// Code classifies a domain error.
type Code string

// The error codes of ABI v1.
const (
	CodeNotFound        Code = "NotFound"
	CodeAlreadyExists   Code = "AlreadyExists"
	CodeAccessDenied    Code = "AccessDenied"
	CodeInvalidArgument Code = "InvalidArgument"
	CodeConflict        Code = "Conflict"
	CodeUnavailable     Code = "Unavailable"
	CodeUnimplemented   Code = "Unimplemented"
	CodeInternal        Code = "Internal"
)

// ProviderCodeNotS3 is the provider code of a CheckProvider failure where
// the endpoint answered, but not as S3: for example a web server's 200 with
// an HTML page where a ListAllMyBucketsResult belongs. The host reports it
// as its own condition reason instead of a generic backend error.
const ProviderCodeNotS3 = "NotS3Endpoint"

// MessageOf returns the driver's message of an *Error in err's chain, or
// err's text for any other error.
func MessageOf(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return err.Error()
}

// Error is a domain error reported by a driver.
type Error struct {
	Code         Code   `json:"code"`
	Message      string `json:"message"`
	Retryable    bool   `json:"retryable,omitempty"`
	ProviderCode string `json:"providerCode,omitempty"`
	HTTPStatus   int    `json:"httpStatus,omitempty"`
}

func (e *Error) Error() string {
	if e.ProviderCode != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.ProviderCode, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error.
func Errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...), Retryable: code == CodeUnavailable}
}

// CodeOf returns the ABI code of err, or "" when err is not an *Error.
func CodeOf(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ""
}

// HTTPRequestHead is the JSON head of a request frame.
type HTTPRequestHead struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers,omitempty"`
}

// HTTPResponseHead is the JSON head of a response frame. Error is set, and
// Status is 0, when the host refused or failed the request; Refused tells a
// policy refusal (host not allowed, a cap exceeded), which retrying cannot
// fix, from a network failure, which it may.
type HTTPResponseHead struct {
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers,omitempty"`
	Error   string      `json:"error,omitempty"`
	Refused bool        `json:"refused,omitempty"`
}

// LogRecord is the payload of the log import.
type LogRecord struct {
	Level   string         `json:"level"`
	Message string         `json:"msg"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// ErrShortFrame reports a frame whose head length exceeds the buffer.
var ErrShortFrame = errors.New("abi: frame shorter than its head length")

// EncodeFrame lays out a length-prefixed head followed by the raw body.
func EncodeFrame(head, body []byte) []byte {
	out := make([]byte, 4+len(head)+len(body))
	binary.LittleEndian.PutUint32(out, uint32(len(head))) //nolint:gosec // heads are request metadata, far below 4 GiB
	copy(out[4:], head)
	copy(out[4+len(head):], body)
	return out
}

// DecodeFrame splits a frame into its head and body without copying.
func DecodeFrame(frame []byte) (head, body []byte, err error) {
	if len(frame) < 4 {
		return nil, nil, ErrShortFrame
	}
	n := binary.LittleEndian.Uint32(frame)
	if uint64(n) > uint64(len(frame)-4) { //nolint:gosec // len(frame) >= 4 was checked above
		return nil, nil, ErrShortFrame
	}
	return frame[4 : 4+n], frame[4+n:], nil
}
