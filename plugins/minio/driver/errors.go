package driver

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/minio/minio-go/v7"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driverkit"
)

// s3Codes maps S3 error codes to ABI codes. Codes missing here fall back to
// the HTTP status (401/403 are AccessDenied) and then to Internal.
var s3Codes = map[string]abi.Code{
	"InvalidAccessKeyId":          abi.CodeAccessDenied,
	"SignatureDoesNotMatch":       abi.CodeAccessDenied,
	"AccessDenied":                abi.CodeAccessDenied,
	"InvalidToken":                abi.CodeAccessDenied,
	"ExpiredToken":                abi.CodeAccessDenied,
	minio.NoSuchBucket:            abi.CodeNotFound,
	minio.BucketNotEmpty:          abi.CodeConflict,
	minio.BucketAlreadyExists:     abi.CodeAlreadyExists,
	minio.BucketAlreadyOwnedByYou: abi.CodeAlreadyExists,
	// A 403, but about the clock, not the credentials: SigV4 needs the
	// guest to see the real time (a wazero host must grant a wall clock).
	"RequestTimeTooSkewed":               abi.CodeInternal,
	"InvalidBucketName":                  abi.CodeInvalidArgument,
	"InvalidLocationConstraint":          abi.CodeInvalidArgument,
	"IllegalLocationConstraintException": abi.CodeInvalidArgument,
	// Sub-resource writes the server refused as invalid: the desired
	// configuration has to change, retrying cannot help.
	"InvalidArgument":     abi.CodeInvalidArgument, // also minio-go's own argument checks
	"MalformedPolicy":     abi.CodeInvalidArgument,
	"InvalidStorageClass": abi.CodeInvalidArgument,
	"InvalidTag":          abi.CodeInvalidArgument,
	"kms:KeyNotFound":     abi.CodeInvalidArgument, // SSE-KMS with a key the KMS does not have
	// e.g. suspending versioning on an object-lock bucket.
	"InvalidBucketState": abi.CodeConflict,
	// Also what MinIO answers to SSE without a KMS configured.
	minio.NotImplemented: abi.CodeUnimplemented,
}

// mapError turns an error from minio-go, the transport or the context into
// an *abi.Error. nil stays nil and an *abi.Error passes through unchanged.
func mapError(err error) error {
	return toABI(err, func(err error) *abi.Error {
		var er minio.ErrorResponse
		if errors.As(err, &er) && (er.Code != "" || er.StatusCode != 0) {
			return mapS3Error(er)
		}
		return nil
	})
}

// toABI is what mapError and mapAdminError share: nil stays nil, an
// *abi.Error passes through unchanged, answer maps the server's answer when
// err carries one (it comes first: it proves the endpoint was reached), and
// anything else failed to reach the server or is Internal.
func toABI(err error, answer func(error) *abi.Error) error {
	if err == nil {
		return nil
	}
	if ae, ok := errors.AsType[*abi.Error](err); ok {
		return ae
	}
	if out := answer(err); out != nil {
		return out
	}
	if e := driverkit.NoResponse(err); e != nil {
		return e
	}
	return &abi.Error{Code: abi.CodeInternal, Message: err.Error()}
}

// answerMessage words the message of a server's answer: an AccessDenied
// says the credentials were refused.
func answerMessage(code abi.Code, label, detail string) string {
	if code == abi.CodeAccessDenied {
		return fmt.Sprintf("the provider refused the credentials: %s: %s", label, detail)
	}
	return fmt.Sprintf("%s: %s", label, detail)
}

func mapS3Error(er minio.ErrorResponse) *abi.Error {
	code, ok := s3Codes[er.Code]
	if !ok {
		switch {
		case er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden:
			code = abi.CodeAccessDenied
		case er.StatusCode == http.StatusNotFound && er.Code == "":
			code = abi.CodeNotFound
		default:
			code = abi.CodeInternal
		}
	}
	label := er.Code
	if label == "" {
		label = fmt.Sprintf("HTTP %d", er.StatusCode)
	}
	detail := er.Message
	if detail == "" && er.Code != "" {
		detail = er.Error() // minio-go's text for a known code
	}
	if detail == "" {
		detail = http.StatusText(er.StatusCode)
	}
	return &abi.Error{
		Code:         code,
		Message:      answerMessage(code, label, detail),
		ProviderCode: er.Code,
		HTTPStatus:   er.StatusCode,
		Retryable:    code == abi.CodeInternal && er.StatusCode >= 500,
	}
}

// subError maps err like mapError and names the sub-resource it concerns at
// the head of the message, e.g. "encryption: kms:KeyNotFound: …".
func subError(sub string, err error) error { return withPart(sub, mapError(err)) }

// withPart names part at the head of the message of mapped, an error
// mapError or mapAdminError returned; nil stays nil.
func withPart(part string, mapped error) error {
	var ae *abi.Error
	if !errors.As(mapped, &ae) {
		return mapped
	}
	out := *ae
	out.Message = part + ": " + ae.Message
	return &out
}
