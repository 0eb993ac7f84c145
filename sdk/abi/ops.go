package abi

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Operation names dispatched through the call export.
const (
	OpCheckProvider = "CheckProvider"
	OpObserveBucket = "ObserveBucket"
	OpApplyBucket   = "ApplyBucket"
	OpDeleteBucket  = "DeleteBucket"

	// Operations on users and their access keys (ABI 1.1). A driver that
	// serves them declares CapAccessKeys; the host never sends them to one
	// that doesn't.
	OpObserveUser     = "ObserveUser"
	OpApplyUser       = "ApplyUser"
	OpDeleteUser      = "DeleteUser"
	OpCreateAccessKey = "CreateAccessKey"
	OpUpdateAccessKey = "UpdateAccessKey"
	OpDeleteAccessKey = "DeleteAccessKey"
)

// The operations of ABI 1.1, described once: name, capability, args and
// result type. The host's invoke, the guest's dispatch, the closure
// adapters, the host's instrumentation and the lists drivers declare are
// all derived from this table (sdk/driver binds each to its Go method).
var (
	CheckProvider   = def[BucketArgs, ProviderCheck](OpCheckProvider, CapBuckets, resultOptional)
	ObserveBucket   = def[BucketArgs, BucketObservation](OpObserveBucket, CapBuckets, resultRequired)
	ApplyBucket     = def[BucketArgs, None](OpApplyBucket, CapBuckets, resultRequired)
	DeleteBucket    = def[BucketArgs, None](OpDeleteBucket, CapBuckets, resultRequired)
	ObserveUser     = def[UserArgs, UserObservation](OpObserveUser, CapAccessKeys, resultRequired)
	ApplyUser       = def[UserArgs, None](OpApplyUser, CapAccessKeys, resultRequired)
	DeleteUser      = def[UserArgs, None](OpDeleteUser, CapAccessKeys, resultRequired)
	CreateAccessKey = def[AccessKeyArgs, NewAccessKey](OpCreateAccessKey, CapAccessKeys, resultRequired)
	UpdateAccessKey = def[AccessKeyArgs, None](OpUpdateAccessKey, CapAccessKeys, resultRequired)
	DeleteAccessKey = def[AccessKeyArgs, None](OpDeleteAccessKey, CapAccessKeys, resultRequired)
)

// Whether a driver may answer an operation with no result (OpInfo.OptionalResult).
const (
	resultOptional = true
	resultRequired = false
)

// operations is the table in declaration order; byName indexes it.
var (
	operations []Operation
	byName     = map[string]Operation{}
)

func def[A, R any](name, capability string, optional bool) Op[A, R] {
	op := Op[A, R]{OpInfo{Name: name, Capability: capability, OptionalResult: optional}}
	operations = append(operations, op)
	byName[name] = op
	return op
}

// Operations returns every operation, in the order drivers list them.
func Operations() []Operation { return append([]Operation(nil), operations...) }

// Lookup returns the operation named name.
func Lookup(name string) (Operation, bool) {
	op, ok := byName[name]
	return op, ok
}

// OperationsOf returns the names of the operations that the capabilities
// caps bring (CapBuckets: the bucket ones every driver serves;
// CapAccessKeys: the user and key ones), in table order: what a driver
// lists in DriverInfo.Operations.
func OperationsOf(caps ...string) []string {
	var out []string
	for _, op := range operations {
		for _, c := range caps {
			if op.Info().Capability == c {
				out = append(out, op.Info().Name)
				break
			}
		}
	}
	return out
}

// OpInfo is what an operation is, without its Go types.
type OpInfo struct {
	// Name is the operation's name on the wire (Request.Op).
	Name string
	// Capability is the capability under which a driver declares the
	// operation: CapBuckets for those every driver serves.
	Capability string
	// OptionalResult: a driver may answer success with no result, which
	// reads as the zero result, and a zero result is sent as none. So a
	// result can be added to such an operation without a version bump.
	OptionalResult bool
}

// Info returns o itself; Op[A, R] inherits it, so the erased Operation has it.
func (o OpInfo) Info() OpInfo { return o }

// None is the result of an operation that answers only success or an error.
// Whatever a driver sends as its result is ignored.
type None struct{}

// Op is one operation, with its args type A and result type R.
type Op[A, R any] struct{ OpInfo }

// Operation is an Op with its types erased: what the paths that carry every
// operation alike (the host's invoke, the guest's dispatch, an interceptor)
// hold. Its args and results are an Op's A and R.
type Operation interface {
	Info() OpInfo
	// EncodeArgs encodes args (an A) for Request.Args; zero args are sent
	// as none, which DecodeArgs reads back as zero.
	EncodeArgs(args any) (json.RawMessage, error)
	// DecodeArgs decodes Request.Args; an undecodable one is an
	// InvalidArgument *Error that names the operation.
	DecodeArgs(raw json.RawMessage) (any, error)
	// EncodeResult encodes res (an R) for Response.Result.
	EncodeResult(res any) (json.RawMessage, error)
	// DecodeResult decodes Response.Result into an R.
	DecodeResult(raw json.RawMessage) (any, error)
}

var _ Operation = Op[BucketArgs, None]{}

func (o Op[A, R]) EncodeArgs(args any) (json.RawMessage, error) {
	a, ok := args.(A)
	if !ok {
		return nil, fmt.Errorf("%s: args are %T, want %T", o.Name, args, a)
	}
	if isZero(a) {
		return nil, nil
	}
	return json.Marshal(a)
}

func (o Op[A, R]) DecodeArgs(raw json.RawMessage) (any, error) {
	var a A
	if len(raw) == 0 {
		return a, nil
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, Errorf(CodeInvalidArgument, "decode %s args: %v", o.Name, err)
	}
	return a, nil
}

func (o Op[A, R]) EncodeResult(res any) (json.RawMessage, error) {
	r, ok := res.(R)
	if !ok {
		return nil, fmt.Errorf("%s: result is %T, want %T", o.Name, res, r)
	}
	if _, none := res.(None); none || (o.OptionalResult && isZero(r)) {
		return nil, nil
	}
	return json.Marshal(r)
}

func (o Op[A, R]) DecodeResult(raw json.RawMessage) (any, error) {
	var r R
	if _, none := any(r).(None); none || (o.OptionalResult && (len(raw) == 0 || string(raw) == "null")) {
		return r, nil
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("undecodable %s result: %w", o.Name, err)
	}
	return r, nil
}

func isZero(v any) bool { return reflect.ValueOf(v).IsZero() }
