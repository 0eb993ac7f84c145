package s3compat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/guest"
)

// apiErr builds an error shaped like the SDK's: an OperationError around a
// ResponseError (with the HTTP status) around the API error.
func apiErr(code string, status int, msg string) error {
	var inner error = &smithy.GenericAPIError{Code: code, Message: msg}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "ListBuckets", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      inner,
		},
		RequestID: "req-1",
	}}
}

// sendErr is how the SDK reports a request that got no response: still a
// ResponseError, with an empty response (status 0).
func sendErr(err error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "ListBuckets", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{}},
			Err:      &smithyhttp.RequestSendError{Err: err},
		},
	}}
}

func TestMapError(t *testing.T) {
	passthrough := &abi.Error{Code: abi.CodeInvalidArgument, Message: "already mapped"}
	tests := []struct {
		name         string
		err          error
		want         abi.Code // "" means mapError returns nil
		retryable    bool
		providerCode string
		httpStatus   int
		msgContains  []string
	}{
		{name: "nil", err: nil},
		{name: "abi error passes through", err: fmt.Errorf("wrapped: %w", passthrough), want: abi.CodeInvalidArgument, msgContains: []string{"already mapped"}},
		{
			name: "unknown access key", err: apiErr("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."),
			want: abi.CodeAccessDenied, providerCode: "InvalidAccessKeyId", httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: InvalidAccessKeyId: The AWS Access Key Id"},
		},
		{
			name: "wrong secret", err: apiErr("SignatureDoesNotMatch", 403, "bad signature"),
			want: abi.CodeAccessDenied, providerCode: "SignatureDoesNotMatch", httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: SignatureDoesNotMatch: bad signature"},
		},
		{
			name: "access denied", err: apiErr("AccessDenied", 403, "Access Denied"),
			want: abi.CodeAccessDenied, providerCode: "AccessDenied", httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: AccessDenied: Access Denied"},
		},
		{
			name: "bodyless 403 (HEAD)", err: apiErr("Forbidden", 403, "Forbidden"),
			want: abi.CodeAccessDenied, providerCode: "Forbidden", httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: Forbidden: Forbidden"},
		},
		{
			name: "no code with 403", err: apiErr("UnknownError", 403, "UnknownError"),
			want: abi.CodeAccessDenied, httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: HTTP 403: Forbidden"},
		},
		{
			name: "versitygw single-account unknown key", err: apiErr("XAdminUserNotFound", 404, "No user exists with the provided access key ID."),
			want: abi.CodeAccessDenied, providerCode: "XAdminUserNotFound", httpStatus: 404,
		},
		{
			name: "clock skew is not a credentials problem", err: apiErr("RequestTimeTooSkewed", 403, "The difference between the request time and the server's time is too large."),
			want: abi.CodeInternal, providerCode: "RequestTimeTooSkewed", httpStatus: 403,
			msgContains: []string{"RequestTimeTooSkewed: The difference"},
		},
		{
			name: "missing bucket", err: apiErr("NoSuchBucket", 404, "The specified bucket does not exist"),
			want: abi.CodeNotFound, providerCode: "NoSuchBucket", httpStatus: 404,
		},
		{
			name: "bodyless 404 (HEAD)", err: apiErr("NotFound", 404, "NotFound"),
			want: abi.CodeNotFound, providerCode: "NotFound", httpStatus: 404, msgContains: []string{"NotFound: Not Found"},
		},
		{
			name: "bucket not empty", err: apiErr("BucketNotEmpty", 409, "The bucket you tried to delete is not empty"),
			want: abi.CodeConflict, providerCode: "BucketNotEmpty", httpStatus: 409,
		},
		{
			name: "bucket owned by someone else", err: apiErr("BucketAlreadyExists", 409, "taken"),
			want: abi.CodeAlreadyExists, providerCode: "BucketAlreadyExists", httpStatus: 409,
		},
		{
			name: "not implemented", err: apiErr("NotImplemented", 501, "A header you provided implies functionality that is not implemented."),
			want: abi.CodeUnimplemented, providerCode: "NotImplemented", httpStatus: 501,
			msgContains: []string{"NotImplemented: A header you provided"},
		},
		{
			name: "bodyless 501", err: apiErr("NotImplemented", 501, ""),
			want: abi.CodeUnimplemented, providerCode: "NotImplemented", httpStatus: 501,
		},
		{
			name: "other code with 501", err: apiErr("XNotSupported", 501, "no"),
			want: abi.CodeUnimplemented, providerCode: "XNotSupported", httpStatus: 501,
		},
		{
			name: "invalid bucket name", err: apiErr("InvalidBucketName", 400, "bad name"),
			want: abi.CodeInvalidArgument, providerCode: "InvalidBucketName", httpStatus: 400,
		},
		{
			name: "malformed policy", err: apiErr("MalformedPolicy", 400, "Policy has invalid resource"),
			want: abi.CodeInvalidArgument, providerCode: "MalformedPolicy", httpStatus: 400,
		},
		{
			name: "server error is retryable", err: apiErr("InternalError", 500, "We encountered an internal error"),
			want: abi.CodeInternal, retryable: true, providerCode: "InternalError", httpStatus: 500,
			msgContains: []string{"InternalError: We encountered an internal error"},
		},
		{
			name: "slow down is retryable", err: apiErr("SlowDown", 503, "Please reduce your request rate."),
			want: abi.CodeInternal, retryable: true, providerCode: "SlowDown", httpStatus: 503,
		},
		{
			name: "bodyless 502 is retryable", err: apiErr("BadGateway", 502, ""),
			want: abi.CodeInternal, retryable: true, providerCode: "BadGateway", httpStatus: 502,
			msgContains: []string{"BadGateway: Bad Gateway"},
		},
		{
			name: "client error is not retryable", err: apiErr("MalformedXML", 400, "bad xml"),
			want: abi.CodeInternal, providerCode: "MalformedXML", httpStatus: 400,
		},
		{
			name: "host refused the request", err: sendErr(&url.Error{Op: "Get", URL: "http://evil.example:80/", Err: &guest.HostError{Message: `host not allowed: http://evil.example:80`, Refused: true}}),
			want: abi.CodeUnavailable, retryable: false,
			msgContains: []string{"the endpoint could not be reached", "evil.example:80"},
		},
		{
			name: "host could not connect", err: sendErr(&url.Error{Op: "Get", URL: "http://127.0.0.1:1/", Err: &guest.HostError{Message: "dial tcp 127.0.0.1:1: connect: connection refused"}}),
			want: abi.CodeUnavailable, retryable: true,
			msgContains: []string{"the endpoint could not be reached", "connection refused"},
		},
		{
			name: "connection refused", err: sendErr(&url.Error{Op: "Get", URL: "http://127.0.0.1:1/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}),
			want: abi.CodeUnavailable, retryable: true,
			msgContains: []string{"the endpoint could not be reached", "connection refused"},
		},
		{
			name: "bare errno", err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
			want: abi.CodeUnavailable, retryable: true,
		},
		{
			name: "deadline", err: sendErr(fmt.Errorf("list buckets: %w", context.DeadlineExceeded)),
			want: abi.CodeUnavailable, retryable: true, msgContains: []string{"did not answer in time"},
		},
		{
			name: "anything else", err: errors.New("boom"),
			want: abi.CodeInternal, msgContains: []string{"boom"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapError(tt.err)
			if tt.want == "" {
				require.NoError(t, got)
				return
			}
			var ae *abi.Error
			require.ErrorAs(t, got, &ae)
			assert.Equal(t, tt.want, ae.Code, ae.Message)
			assert.Equal(t, tt.retryable, ae.Retryable, "retryable")
			assert.Equal(t, tt.providerCode, ae.ProviderCode, "providerCode")
			assert.Equal(t, tt.httpStatus, ae.HTTPStatus, "httpStatus")
			for _, s := range tt.msgContains {
				assert.Contains(t, ae.Message, s)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	d := New(nil, Options{Name: "t", Quirks: Quirks{UnsupportedCodes: []string{"XNoSuchFeature"}}})
	tests := []struct {
		name string
		err  error
		want string // "" means supported
	}{
		{"NotImplemented", apiErr("NotImplemented", 501, "not here"), "NotImplemented: not here"},
		{"any 501", apiErr("Whatever", 501, "nope"), "Whatever: nope"},
		{"bodyless 501", apiErr("UnknownError", 501, ""), "HTTP 501: Not Implemented"},
		{"quirk code", apiErr("XNoSuchFeature", 400, "feature off"), "XNoSuchFeature: feature off"},
		{"access denied is not", apiErr("AccessDenied", 403, "no"), ""},
		{"transport error is not", sendErr(syscall.ECONNREFUSED), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := d.unsupported(tt.err)
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
