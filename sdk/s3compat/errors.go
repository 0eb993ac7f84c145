package s3compat

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driverkit"
)

// s3Codes maps S3 error codes to ABI codes. Codes missing here fall back to
// the HTTP status (401/403 AccessDenied, 404 NotFound, 501 Unimplemented)
// and then to Internal.
var s3Codes = map[string]abi.Code{
	"InvalidAccessKeyId":      abi.CodeAccessDenied,
	"SignatureDoesNotMatch":   abi.CodeAccessDenied,
	"AccessDenied":            abi.CodeAccessDenied,
	"InvalidToken":            abi.CodeAccessDenied,
	"ExpiredToken":            abi.CodeAccessDenied,
	"NoSuchBucket":            abi.CodeNotFound,
	"BucketNotEmpty":          abi.CodeConflict,
	"BucketAlreadyExists":     abi.CodeAlreadyExists,
	"BucketAlreadyOwnedByYou": abi.CodeAlreadyExists,
	"NotImplemented":          abi.CodeUnimplemented,
	// versitygw in single-account mode (no IAM configured) answers an
	// unknown access key with this admin-API code and a 404 instead of
	// InvalidAccessKeyId.
	"XAdminUserNotFound": abi.CodeAccessDenied,
	// A 403, but about the clock, not the credentials: SigV4 needs the
	// guest to see the real time (a wazero host must grant a wall clock).
	"RequestTimeTooSkewed":               abi.CodeInternal,
	"InvalidBucketName":                  abi.CodeInvalidArgument,
	"InvalidLocationConstraint":          abi.CodeInvalidArgument,
	"IllegalLocationConstraintException": abi.CodeInvalidArgument,
	"InvalidArgument":                    abi.CodeInvalidArgument,
	"MalformedPolicy":                    abi.CodeInvalidArgument,
	// The bucket or the credentials belong to another region than the
	// Provider's: its configuration is wrong, retrying will not help.
	"PermanentRedirect":            abi.CodeInvalidArgument,
	"TemporaryRedirect":            abi.CodeInvalidArgument,
	"MovedPermanently":             abi.CodeInvalidArgument,
	"AuthorizationHeaderMalformed": abi.CodeInvalidArgument,
	"InvalidTag":                   abi.CodeInvalidArgument,
}

// providerError is what the server answered: its error code, message and
// HTTP status. ok is false when err carries no response.
func providerError(err error) (code, msg string, status int, ok bool) {
	// The SDK wraps transport failures in a ResponseError too, one without a
	// response (status 0): that is not an answer.
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.HTTPStatusCode() != 0 {
		status, ok = re.HTTPStatusCode(), true
	}
	if ae, isAPI := errors.AsType[smithy.APIError](err); isAPI {
		code, msg, ok = ae.ErrorCode(), ae.ErrorMessage(), true
	}
	return code, msg, status, ok
}

// mapError turns an error from the S3 client, the transport or the context
// into an *abi.Error. nil stays nil and an *abi.Error passes through unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	return toABI(err)
}

// toABI is mapError for a non-nil err.
func toABI(err error) *abi.Error { return s3Answers.toABI(err) }

// answers maps the error answers of one API, S3's or IAM's, onto ABI
// errors; both APIs answer in the same shape, so one mapping serves both.
type answers struct {
	// codes maps the API's error codes to ABI codes.
	codes map[string]abi.Code
	// fallback is the ABI code of an answer whose error code is not in
	// codes, when its status is none of 401, 403 (AccessDenied) and 501
	// (Unimplemented).
	fallback func(code string, status int) abi.Code
	// retryable says whether an answer with this ABI code and status may
	// succeed when simply tried again.
	retryable func(code abi.Code, status int) bool
	// refuser names who refused the credentials in an AccessDenied message.
	refuser string
}

// s3Answers: a 404 is NotFound only without a code (HEAD) or with
// NotFound, since S3 answers a missing sub-resource configuration with a
// 404 and its own code; a 5xx is an Internal the host may retry.
var s3Answers = answers{
	codes: s3Codes,
	fallback: func(code string, status int) abi.Code {
		if status == http.StatusNotFound && (code == "" || code == "NotFound") {
			return abi.CodeNotFound
		}
		return abi.CodeInternal
	},
	retryable: func(code abi.Code, status int) bool { return code == abi.CodeInternal && status >= 500 },
	refuser:   "the provider",
}

// toABI turns a non-nil error from the API's client, the transport or the
// context into an *abi.Error; an *abi.Error passes through unchanged.
func (a answers) toABI(err error) *abi.Error {
	var ae *abi.Error
	if errors.As(err, &ae) && ae != nil {
		return ae
	}
	// A response from the server, even one without a code, comes first: it
	// proves the endpoint was reached.
	if code, msg, status, ok := providerError(err); ok {
		return a.answer(code, msg, status)
	}
	if e := driverkit.NoResponse(err); e != nil {
		return e
	}
	return &abi.Error{Code: abi.CodeInternal, Message: err.Error()}
}

// answer builds the *abi.Error for the server's answer.
func (a answers) answer(code, msg string, status int) *abi.Error {
	if msg == code { // the SDK's placeholder when the body had no message
		msg = ""
	}
	if code == "UnknownError" { // the SDK's placeholder when the body had no code
		code = ""
	}
	c, ok := a.codes[code]
	if !ok {
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden:
			c = abi.CodeAccessDenied
		case http.StatusNotImplemented:
			c = abi.CodeUnimplemented
		default:
			c = a.fallback(code, status)
		}
	}
	label := code
	if label == "" {
		label = fmt.Sprintf("HTTP %d", status)
	}
	if msg == "" {
		if t := http.StatusText(status); t != "" {
			msg = t
		} else {
			msg = "no message"
		}
	}
	out := &abi.Error{Code: c, ProviderCode: code, HTTPStatus: status, Retryable: a.retryable(c, status)}
	if c == abi.CodeAccessDenied {
		out.Message = fmt.Sprintf("%s refused the credentials: %s: %s", a.refuser, label, msg)
	} else {
		out.Message = fmt.Sprintf("%s: %s", label, msg)
	}
	return out
}

// wrap maps a non-nil err and prefixes its message with what was being
// done; the result is a fresh *abi.Error.
func (a answers) wrap(err error, what string) *abi.Error {
	ae := *a.toABI(err)
	ae.Message = what + ": " + ae.Message
	return &ae
}

// hasCode reports whether err is a provider answer with one of codes.
func hasCode(err error, codes ...string) bool {
	code, _, _, ok := providerError(err)
	if !ok {
		return false
	}
	return slices.Contains(codes, code)
}

// unsupported reports whether err says the server does not implement the
// API that was called, and if so returns the server's answer as
// "<code>: <message>".
func (d *Driver) unsupported(err error) (string, bool) {
	code, msg, status, ok := providerError(err)
	if !ok {
		return "", false
	}
	if code == "UnknownError" {
		code = ""
	}
	match := status == http.StatusNotImplemented || code == "NotImplemented"
	for _, c := range d.opts.Quirks.UnsupportedCodes {
		match = match || code == c
	}
	if !match {
		return "", false
	}
	return answerText(code, msg, status), true
}

// answerText is the server's answer as "<code>: <message>", for an
// unsupported report.
func answerText(code, msg string, status int) string {
	if code == "" || code == "UnknownError" {
		code = fmt.Sprintf("HTTP %d", status)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return code + ": " + msg
}

// wrap maps err and prefixes its message with what was being done, e.g.
// "cors: NotImplemented: …". nil stays nil.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return wrapABI(err, what)
}

// wrapABI is wrap for a non-nil err; the result is a fresh *abi.Error.
func wrapABI(err error, what string) *abi.Error { return s3Answers.wrap(err, what) }
