package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/guest"
)

func TestMapError(t *testing.T) {
	s3 := func(code string, status int, msg string) error {
		return minio.ErrorResponse{Code: code, StatusCode: status, Message: msg}
	}
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
			name: "unknown access key", err: s3("InvalidAccessKeyId", 403, "The Access Key Id you provided does not exist in our records."),
			want: abi.CodeAccessDenied, providerCode: "InvalidAccessKeyId", httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: InvalidAccessKeyId: The Access Key Id"},
		},
		{
			name: "wrong secret", err: s3("SignatureDoesNotMatch", 403, "bad signature"),
			want: abi.CodeAccessDenied, providerCode: "SignatureDoesNotMatch", httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: SignatureDoesNotMatch: bad signature"},
		},
		{
			name: "access denied without message uses minio-go's text", err: s3("AccessDenied", 403, ""),
			want: abi.CodeAccessDenied, providerCode: "AccessDenied", httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: AccessDenied: Access Denied."},
		},
		{
			name: "unknown code with 401", err: s3("Unauthorized", 401, "no"),
			want: abi.CodeAccessDenied, providerCode: "Unauthorized", httpStatus: 401,
			msgContains: []string{"the provider refused the credentials: Unauthorized: no"},
		},
		{
			name: "no code with 403", err: s3("", 403, ""),
			want: abi.CodeAccessDenied, httpStatus: 403,
			msgContains: []string{"the provider refused the credentials: HTTP 403: Forbidden"},
		},
		{
			name: "clock skew is not a credentials problem", err: s3("RequestTimeTooSkewed", 403, "The difference between the request time and the server's time is too large."),
			want: abi.CodeInternal, providerCode: "RequestTimeTooSkewed", httpStatus: 403,
			msgContains: []string{"RequestTimeTooSkewed: The difference"},
		},
		{
			name: "missing bucket", err: s3("NoSuchBucket", 404, "The specified bucket does not exist"),
			want: abi.CodeNotFound, providerCode: "NoSuchBucket", httpStatus: 404,
		},
		{
			name: "bucket not empty", err: s3("BucketNotEmpty", 409, "The bucket you tried to delete is not empty"),
			want: abi.CodeConflict, providerCode: "BucketNotEmpty", httpStatus: 409,
		},
		{
			name: "bucket owned by someone else", err: s3("BucketAlreadyExists", 409, "taken"),
			want: abi.CodeAlreadyExists, providerCode: "BucketAlreadyExists", httpStatus: 409,
		},
		{
			name: "invalid bucket name", err: s3("InvalidBucketName", 400, "bad name"),
			want: abi.CodeInvalidArgument, providerCode: "InvalidBucketName", httpStatus: 400,
		},
		{
			name: "server error is retryable", err: s3("InternalError", 500, "We encountered an internal error"),
			want: abi.CodeInternal, retryable: true, providerCode: "InternalError", httpStatus: 500,
			msgContains: []string{"InternalError: We encountered an internal error"},
		},
		{
			name: "bodyless 502 is retryable", err: s3("502 Bad Gateway", 502, "502 Bad Gateway"),
			want: abi.CodeInternal, retryable: true, providerCode: "502 Bad Gateway", httpStatus: 502,
		},
		{
			name: "client error is not retryable", err: s3("MalformedXML", 400, "bad xml"),
			want: abi.CodeInternal, providerCode: "MalformedXML", httpStatus: 400,
		},
		{
			name: "malformed policy", err: s3("MalformedPolicy", 400, "invalid version"),
			want: abi.CodeInvalidArgument, providerCode: "MalformedPolicy", httpStatus: 400,
		},
		{
			name: "unknown KMS key", err: s3("kms:KeyNotFound", 404, "key with given key ID does not exist"),
			want: abi.CodeInvalidArgument, providerCode: "kms:KeyNotFound", httpStatus: 404,
		},
		{
			name: "not implemented", err: s3("NotImplemented", 501, "A header you provided implies functionality that is not implemented"),
			want: abi.CodeUnimplemented, providerCode: "NotImplemented", httpStatus: 501,
		},
		{
			name: "invalid bucket state", err: s3("InvalidBucketState", 400, "versioning cannot be suspended"),
			want: abi.CodeConflict, providerCode: "InvalidBucketState", httpStatus: 400,
		},
		{
			name: "wrapped s3 error", err: fmt.Errorf("list: %w", s3("NoSuchBucket", 404, "gone")),
			want: abi.CodeNotFound, providerCode: "NoSuchBucket", httpStatus: 404,
		},
		{
			name: "host refused the request", err: &url.Error{Op: "Get", URL: "http://evil.example:80/", Err: &guest.HostError{Message: `host "evil.example:80" is not an endpoint of this Provider`}},
			want: abi.CodeUnavailable, retryable: true,
			msgContains: []string{"the endpoint could not be reached", "evil.example:80"},
		},
		{
			name: "bare host error", err: &guest.HostError{Message: "dial tcp 127.0.0.1:1: connect: connection refused"},
			want: abi.CodeUnavailable, retryable: true,
			msgContains: []string{"the endpoint could not be reached: host: dial tcp 127.0.0.1:1: connect: connection refused"},
		},
		{
			name: "connection refused", err: &url.Error{Op: "Get", URL: "http://127.0.0.1:1/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}},
			want: abi.CodeUnavailable, retryable: true,
			msgContains: []string{"the endpoint could not be reached", "connection refused"},
		},
		{
			name: "bare errno", err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
			want: abi.CodeUnavailable, retryable: true,
		},
		{
			name: "deadline", err: fmt.Errorf("list buckets: %w", context.DeadlineExceeded),
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
			assert.Equal(t, tt.want, ae.Code)
			assert.Equal(t, tt.retryable, ae.Retryable, "retryable")
			assert.Equal(t, tt.providerCode, ae.ProviderCode, "providerCode")
			assert.Equal(t, tt.httpStatus, ae.HTTPStatus, "httpStatus")
			for _, s := range tt.msgContains {
				assert.Contains(t, ae.Message, s)
			}
		})
	}
}

func TestSubError(t *testing.T) {
	require.NoError(t, subError("tagging", nil))
	err := subError("encryption", minio.ErrorResponse{Code: "kms:KeyNotFound", StatusCode: 404, Message: "key with given key ID does not exist"})
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeInvalidArgument, ae.Code)
	assert.Equal(t, "kms:KeyNotFound", ae.ProviderCode)
	assert.Equal(t, 404, ae.HTTPStatus)
	assert.Equal(t, "encryption: kms:KeyNotFound: key with given key ID does not exist", ae.Message)

	orig := &abi.Error{Code: abi.CodeConflict, Message: "busy"}
	require.ErrorAs(t, subError("versioning", orig), &ae)
	assert.Equal(t, "versioning: busy", ae.Message)
	assert.Equal(t, "busy", orig.Message, "the original error is not modified")
}

func TestDescribe(t *testing.T) {
	info := New(nil).Describe()
	assert.Equal(t, "minio", info.Name)
	assert.Equal(t, "0.1.0", info.Version)
	assert.Equal(t, abi.Version, info.ABI)
	assert.Equal(t, []string{
		abi.CapBuckets, abi.SubVersioning, abi.SubEncryption, abi.SubSSEKMS, abi.SubLifecycle,
		abi.SubTagging, abi.SubPolicy, abi.SubObjectLock, abi.CapForceDelete,
		abi.CapAccessKeys, abi.CapInlinePolicy,
	}, info.Capabilities)
	for _, c := range []string{abi.SubCORS, abi.SubPublicAccessBlock, abi.SubMFADelete, abi.CapUserTags, abi.CapKeyLastUsed} {
		assert.False(t, info.Supports(c), "%s must not be declared", c)
	}
	info.Capabilities[0] = "mutated"
	assert.Equal(t, abi.CapBuckets, New(nil).Describe().Capabilities[0], "Describe hands out a copy")
	for _, op := range []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket,
		abi.OpObserveUser, abi.OpApplyUser, abi.OpDeleteUser, abi.OpCreateAccessKey, abi.OpUpdateAccessKey, abi.OpDeleteAccessKey} {
		assert.True(t, info.Implements(op), op)
	}
	assert.Empty(t, info.DefaultIAMEndpoint, "the admin API is on the S3 endpoint")
}

// Arguments the driver can reject without a server.
func TestInvalidArguments(t *testing.T) {
	d := New(nil)
	good := abi.ProviderConfig{Endpoint: "http://127.0.0.1:9000", Region: "us-east-1"}
	tests := []struct {
		name string
		p    abi.ProviderConfig
		b    string
	}{
		{name: "bucket name too short", p: good, b: "ab"},
		{name: "bucket name with slash", p: good, b: "a/b/c"},
		{name: "endpoint without scheme", p: abi.ProviderConfig{Endpoint: "127.0.0.1:9000"}, b: "bucket"},
		{name: "endpoint with path", p: abi.ProviderConfig{Endpoint: "http://127.0.0.1:9000/s3"}, b: "bucket"},
		{name: "endpoint ftp", p: abi.ProviderConfig{Endpoint: "ftp://127.0.0.1"}, b: "bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			_, err := d.ObserveBucket(ctx, tt.p, abi.BucketArgs{Name: tt.b})
			assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "observe: %v", err)
			assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(d.ApplyBucket(ctx, tt.p, abi.BucketArgs{Name: tt.b})))
			assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(d.DeleteBucket(ctx, tt.p, abi.BucketArgs{Name: tt.b})))
		})
	}
}

func TestClientCache(t *testing.T) {
	d := New(nil)
	p := abi.ProviderConfig{Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", PathStyle: true,
		Credentials: abi.Credentials{AccessKeyID: "ak", SecretAccessKey: "s3cr3t-value"}}
	c1, err := d.client(p)
	require.NoError(t, err)
	c2, err := d.client(p)
	require.NoError(t, err)
	assert.Same(t, c1, c2, "same provider reuses the client")

	rotated := p
	rotated.Credentials.SecretAccessKey = "s3cr3t-value-2"
	c3, err := d.client(rotated)
	require.NoError(t, err)
	assert.NotSame(t, c1, c3, "a new secret builds a new client")
	assert.Equal(t, 2, d.clients.Len())
}
