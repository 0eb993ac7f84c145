package abi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// Operation names dispatched through the call export.
const (
	OpCheckProvider = "CheckProvider"
	OpObserveBucket = "ObserveBucket"
	OpApplyBucket   = "ApplyBucket"
	OpDeleteBucket  = "DeleteBucket"

	// OpObserveUser and the operations after it act on users and their
	// access keys (ABI 1.1). A driver that serves them declares
	// CapAccessKeys; the host never sends them to one that doesn't.
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
// CheckProvider takes no args; a driver still decodes any it is sent as
// BucketArgs, as every bucket operation's, and refuses malformed ones.
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

// Whether a driver may answer an operation with no result (Operation.OptionalResult).
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
	return Op[A, R]{register(Operation{Name: name, Capability: capability, OptionalResult: optional,
		args: reflect.TypeFor[A](), result: reflect.TypeFor[R]()})}
}

// register adds op to the table; def's generic part stays this small
// because a driver's module carries it once per operation.
func register(op Operation) Operation {
	operations = append(operations, op)
	byName[op.Name] = op
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
		if slices.Contains(caps, op.Capability) {
			out = append(out, op.Name)
		}
	}
	return out
}

// Operation is an operation with its types erased: what the paths that
// carry every operation alike (the host's invoke, the guest's dispatch, an
// interceptor) hold. Its args and results are its Op's A and R, checked at
// run time. Its code is not generic, so a driver's module does not carry
// it once per operation. Only the table makes operations.
type Operation struct {
	// Name is the operation's name on the wire (Request.Op).
	Name string
	// Capability is the capability under which a driver declares the
	// operation: CapBuckets for those every driver serves.
	Capability string
	// OptionalResult: a driver may answer success with no result, which
	// reads as the zero result, and a zero result is sent as none. So a
	// result can be added to such an operation without a version bump.
	OptionalResult bool

	args, result reflect.Type
}

// Op is one operation, with its args type A and result type R.
type Op[A, R any] struct{ Operation }

// None is the result of an operation that answers only success or an error.
// Whatever a driver sends as its result is ignored.
type None struct{}

var noneType = reflect.TypeFor[None]()

// EncodeArgs encodes args (an A) for Request.Args; zero args are sent as
// none, which DecodeArgs reads back as zero.
func (o Operation) EncodeArgs(args any) (json.RawMessage, error) {
	if err := o.is("args", o.args, args); err != nil {
		return nil, err
	}
	if reflect.ValueOf(args).IsZero() {
		return nil, nil
	}
	return json.Marshal(args)
}

// DecodeArgs decodes Request.Args into an A; undecodable args are an
// InvalidArgument *Error that names the operation.
func (o Operation) DecodeArgs(raw json.RawMessage) (any, error) {
	a := reflect.New(o.args)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, a.Interface()); err != nil {
			return nil, Errorf(CodeInvalidArgument, "decode %s args: %v", o.Name, err)
		}
	}
	return a.Elem().Interface(), nil
}

// EncodeResult encodes res (an R) for Response.Result.
func (o Operation) EncodeResult(res any) (json.RawMessage, error) {
	if err := o.is("result", o.result, res); err != nil {
		return nil, err
	}
	if o.result == noneType || (o.OptionalResult && reflect.ValueOf(res).IsZero()) {
		return nil, nil
	}
	return json.Marshal(res)
}

// DecodeResult decodes Response.Result into an R.
func (o Operation) DecodeResult(raw json.RawMessage) (any, error) {
	r := reflect.New(o.result)
	if o.result == noneType || (o.OptionalResult && (len(raw) == 0 || string(raw) == "null")) {
		return r.Elem().Interface(), nil
	}
	if err := json.Unmarshal(raw, r.Interface()); err != nil {
		return nil, fmt.Errorf("undecodable %s result: %w", o.Name, err)
	}
	return r.Elem().Interface(), nil
}

// is checks that v, the operation's what, is of type t.
func (o Operation) is(what string, t reflect.Type, v any) error {
	if reflect.TypeOf(v) != t {
		return fmt.Errorf("%s %s: got a %T, want a %v", o.Name, what, v, t)
	}
	return nil
}
