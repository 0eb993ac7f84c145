package s3compattest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/drivertest"
	"github.com/pail-dev/pail/sdk/s3compat"
)

// EnvKMSKeyID, when set, makes the suite also round-trip SSE-KMS default
// encryption with that key (only a real AWS account has one).
const EnvKMSKeyID = "PAIL_S3_KMS_KEY_ID"

// New builds the driver under test on a transport; the suite wraps the
// transport to count requests. plugins/*/driver.New has this shape.
type New func(rt http.RoundTripper) *s3compat.Driver

// Run is the integration suite of an s3compat driver against tgt. It runs
// natively, on a plain http.Transport.
func Run(t *testing.T, newDriver New, tgt Target) {
	rt := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
	d := newDriver(rt)
	info := d.Describe()
	p := tgt.Provider
	plain := Client(p)
	t.Logf("driver %s %s against %s (%s)", info.Name, info.Version, tgt.Server, p.Endpoint)

	t.Run("Describe", func(t *testing.T) {
		assert.Equal(t, abi.Version, info.ABI)
		assert.True(t, info.Supports(abi.CapBuckets))
		assert.True(t, info.Supports(abi.CapForceDelete))
		for _, op := range abi.OperationsOf(abi.CapBuckets) {
			assert.True(t, info.Implements(op), op)
		}
	})

	t.Run("CheckProvider", func(t *testing.T) { checkProvider(t, d, p) })

	t.Run("bucket lifecycle", func(t *testing.T) {
		ctx := t.Context()
		b := abi.BucketArgs{Name: drivertest.BucketName(info.Name + "-life")}
		cleanup(t, d, p, b.Name)
		create := b
		create.Create = true
		steps := []struct {
			name string
			run  func() error
			want abi.Code
		}{
			{"observe absent", observeExists(ctx, d, p, b, false), ""},
			{"delete absent", func() error { return d.DeleteBucket(ctx, p, b) }, abi.CodeNotFound},
			{"apply creates", func() error { return d.ApplyBucket(ctx, p, create) }, ""},
			{"observe present", observeExists(ctx, d, p, b, true), ""},
			{"apply create again is a no-op", func() error { return d.ApplyBucket(ctx, p, create) }, ""},
			{"apply without changes", func() error { return d.ApplyBucket(ctx, p, b) }, ""},
			{"delete empty", func() error { return d.DeleteBucket(ctx, p, b) }, ""},
			{"observe gone", observeExists(ctx, d, p, b, false), ""},
			{"delete gone", func() error { return d.DeleteBucket(ctx, p, b) }, abi.CodeNotFound},
		}
		for _, s := range steps {
			err := s.run()
			if s.want == "" {
				require.NoError(t, err, s.name)
			} else {
				require.Equal(t, s.want, abi.CodeOf(err), "%s: %v", s.name, err)
			}
		}
	})

	t.Run("sub-resources round-trip", func(t *testing.T) {
		ctx := t.Context()
		name := drivertest.BucketName(info.Name + "-sub")
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: name, Create: true}))
		cleanup(t, d, p, name)
		for _, c := range subCases(name) {
			t.Run(c.name, func(t *testing.T) { roundTrip(t, d, rt, p, tgt, name, c) })
		}
	})

	t.Run("object lock at creation", func(t *testing.T) {
		ctx := t.Context()
		name := drivertest.BucketName(info.Name + "-lock")
		lock := &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 1}}
		err := d.ApplyBucket(ctx, p, abi.BucketArgs{Name: name, Create: true, ObjectLock: lock})
		if !info.Supports(abi.SubObjectLock) {
			require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%v", err)
			return
		}
		require.NoError(t, err)
		cleanup(t, d, p, name)
		obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: name, Observe: []string{abi.SubObjectLock, abi.SubVersioning}})
		require.NoError(t, err)
		assert.Equal(t, lock, obs.Config.ObjectLock)
		assert.Equal(t, &abi.Versioning{Status: "Enabled"}, obs.Config.Versioning, "object lock turns versioning on")

		plainName := drivertest.BucketName(info.Name + "-nolock")
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: plainName, Create: true}))
		cleanup(t, d, p, plainName)
		obs, err = d.ObserveBucket(ctx, p, abi.BucketArgs{Name: plainName, Observe: []string{abi.SubObjectLock}})
		require.NoError(t, err)
		assert.Equal(t, &abi.ObjectLock{}, obs.Config.ObjectLock)
	})

	t.Run("delete of a non-empty bucket", func(t *testing.T) {
		ctx := t.Context()
		b := abi.BucketArgs{Name: drivertest.BucketName(info.Name + "-full")}
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: b.Name, Create: true}))
		cleanup(t, d, p, b.Name)
		putObject(t, plain, b.Name, "dir/object.txt", "hello")

		requireNotEmpty(t, d.DeleteBucket(ctx, p, b))
		obs, err := d.ObserveBucket(ctx, p, b)
		require.NoError(t, err)
		assert.True(t, obs.Exists, "a refused delete leaves the bucket in place")

		b.Force = true
		require.NoError(t, d.DeleteBucket(ctx, p, b))
		assertGone(t, d, p, b.Name)
	})

	t.Run("force delete of a versioned bucket", func(t *testing.T) {
		if !tgt.Versioning {
			t.Skipf("%s cannot version buckets", tgt.Server)
		}
		ctx := t.Context()
		b := abi.BucketArgs{Name: drivertest.BucketName(info.Name + "-vers")}
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{
			Name: b.Name, Create: true,
			Config: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}},
		}))
		cleanup(t, d, p, b.Name)
		putObject(t, plain, b.Name, "object.txt", "v1")
		putObject(t, plain, b.Name, "object.txt", "v2")
		// A delete marker on top of both versions: a plain listing is empty.
		_, err := plain.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.Name, Key: aws.String("object.txt")})
		require.NoError(t, err)
		vs, err := plain.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b.Name})
		require.NoError(t, err)
		require.Len(t, vs.Versions, 2, "two versions")
		require.Len(t, vs.DeleteMarkers, 1, "one delete marker")
		objs, err := plain.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b.Name})
		require.NoError(t, err)
		require.Empty(t, objs.Contents, "the delete marker hides the object")

		requireNotEmpty(t, d.DeleteBucket(ctx, p, b))
		b.Force = true
		require.NoError(t, d.DeleteBucket(ctx, p, b))
		assertGone(t, d, p, b.Name)
		assert.Equal(t, abi.CodeNotFound, abi.CodeOf(d.DeleteBucket(ctx, p, b)), "force delete of a gone bucket")
	})

	t.Run("wrong credentials on bucket operations", func(t *testing.T) {
		bad := p
		bad.Credentials.SecretAccessKey = "not-the-secret"
		ctx := t.Context()
		b := abi.BucketArgs{Name: drivertest.BucketName(info.Name + "-denied")}
		_, err := d.ObserveBucket(ctx, bad, b)
		assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(err), "observe: %v", err)
		create := b
		create.Create = true
		assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(d.ApplyBucket(ctx, bad, create)))
		assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(d.DeleteBucket(ctx, bad, b)))
	})

	t.Run("through the dispatch envelope", func(t *testing.T) {
		ctx := t.Context()
		name := drivertest.BucketName(info.Name + "-disp")
		call := func(op string, b abi.BucketArgs) abi.Response {
			args, err := json.Marshal(b)
			require.NoError(t, err)
			return sdkdriver.Dispatch(ctx, d, abi.Request{Op: op, ID: "it", Provider: p, Args: args})
		}
		require.Nil(t, call(abi.OpCheckProvider, abi.BucketArgs{}).Error)
		require.Nil(t, call(abi.OpApplyBucket, abi.BucketArgs{Name: name, Create: true,
			Config: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"via": "dispatch"}}}}).Error)
		cleanup(t, d, p, name)
		resp := call(abi.OpObserveBucket, abi.BucketArgs{Name: name, Observe: []string{abi.SubTagging}})
		require.Nil(t, resp.Error)
		assert.JSONEq(t, `{"exists":true,"config":{"tagging":{"tags":{"via":"dispatch"}}}}`, string(resp.Result))
		require.Nil(t, call(abi.OpDeleteBucket, abi.BucketArgs{Name: name}).Error)
		resp = call(abi.OpDeleteBucket, abi.BucketArgs{Name: name})
		require.NotNil(t, resp.Error)
		assert.Equal(t, abi.CodeNotFound, resp.Error.Code)
	})
}

func checkProvider(t *testing.T, d *s3compat.Driver, good abi.ProviderConfig) {
	wrongSecret := good
	wrongSecret.Credentials.SecretAccessKey = "not-the-secret"
	unknownKey := good
	unknownKey.Credentials.AccessKeyID = "PAILUNKNOWNKEY000000"
	closed := good
	closed.Endpoint = "http://" + closedAddr(t)
	tests := []struct {
		name         string
		p            abi.ProviderConfig
		want         abi.Code
		providerCode string
		msgContains  []string
	}{
		{name: "ok", p: good},
		{
			name: "wrong secret", p: wrongSecret, want: abi.CodeAccessDenied, providerCode: "SignatureDoesNotMatch",
			msgContains: []string{"the provider refused the credentials: SignatureDoesNotMatch: "},
		},
		{
			name: "unknown access key", p: unknownKey, want: abi.CodeAccessDenied, providerCode: "InvalidAccessKeyId",
			msgContains: []string{"the provider refused the credentials: InvalidAccessKeyId: "},
		},
		{
			name: "closed port", p: closed, want: abi.CodeUnavailable,
			msgContains: []string{"the endpoint could not be reached", "connection refused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := d.CheckProvider(t.Context(), tt.p)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			// One attempt only: the host owns retries.
			assert.Less(t, time.Since(start), 5*time.Second, "failed slowly; is the SDK retrying?")
			var ae *abi.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.want, ae.Code, ae.Message)
			assert.Equal(t, tt.providerCode, ae.ProviderCode)
			switch tt.want {
			case abi.CodeAccessDenied:
				assert.Equal(t, http.StatusForbidden, ae.HTTPStatus)
				assert.False(t, ae.Retryable)
			case abi.CodeUnavailable:
				assert.True(t, ae.Retryable)
			}
			for _, s := range tt.msgContains {
				assert.Contains(t, ae.Message, s)
			}
			assert.NotContains(t, ae.Message, good.Credentials.SecretAccessKey)
		})
	}
}

// subCase writes set and then reset, observing after each. A nil reset
// skips the second half.
type subCase struct {
	name       string
	set, reset abi.BucketConfig
	// resetAlso lists other observations that count as reset, e.g. AWS's
	// default SSE-S3 encryption after DeleteBucketEncryption.
	resetAlso []abi.BucketConfig
}

func subCases(bucket string) []subCase {
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"DenySecret","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/secret/*"}]}`
	cases := []subCase{
		{
			name:  abi.SubVersioning,
			set:   abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}},
			reset: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Suspended"}},
		},
		{
			name:      abi.SubEncryption,
			set:       abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "AES256"}},
			reset:     abi.BucketConfig{Encryption: &abi.Encryption{}},
			resetAlso: []abi.BucketConfig{{Encryption: &abi.Encryption{Algorithm: "AES256"}}},
		},
		{
			name: abi.SubPublicAccessBlock,
			set: abi.BucketConfig{PublicAccessBlock: &abi.PublicAccessBlock{
				BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: true,
			}},
			reset: abi.BucketConfig{PublicAccessBlock: &abi.PublicAccessBlock{}},
		},
		{
			name: abi.SubLifecycle,
			set: abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: []abi.LifecycleRule{
				{ID: "logs", Status: "Enabled", Prefix: "logs/", Expiration: &abi.LifecycleExpiration{Days: 30}},
				{ID: "tmp-tag", Status: "Enabled", Tags: map[string]string{"class": "tmp"}, Expiration: &abi.LifecycleExpiration{Days: 7}},
				{ID: "both", Status: "Disabled", Prefix: "x/", Tags: map[string]string{"a": "1", "b": "2"},
					NoncurrentVersionExpiration: &abi.NoncurrentVersionExpiration{NoncurrentDays: 10, NewerNoncurrentVersions: 2}},
				{ID: "mpu", Status: "Enabled", AbortIncompleteMultipartUpload: &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: 3},
					Expiration: &abi.LifecycleExpiration{ExpiredObjectDeleteMarker: true}},
				{ID: "dated", Status: "Enabled", Prefix: "old/", Expiration: &abi.LifecycleExpiration{Date: "2031-01-01"}},
			}}},
			reset: abi.BucketConfig{Lifecycle: &abi.Lifecycle{}},
		},
		{
			name: abi.SubCORS,
			// "b" before "a": the order is kept, not sorted.
			set: abi.BucketConfig{CORS: &abi.CORS{Rules: []abi.CORSRule{
				{ID: "b", AllowedMethods: []string{"GET", "HEAD"}, AllowedOrigins: []string{"https://b.example"},
					AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: 300},
				{ID: "a", AllowedMethods: []string{"PUT"}, AllowedOrigins: []string{"https://a.example", "https://c.example"}},
			}}},
			reset: abi.BucketConfig{CORS: &abi.CORS{}},
		},
		{
			name:  abi.SubTagging,
			set:   abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"env": "test", "team": "pail"}}},
			reset: abi.BucketConfig{Tagging: &abi.Tagging{}},
		},
		{
			name:  abi.SubPolicy,
			set:   abi.BucketConfig{Policy: &abi.Policy{Document: policy}},
			reset: abi.BucketConfig{Policy: &abi.Policy{}},
		},
	}
	if key := os.Getenv(EnvKMSKeyID); key != "" {
		cases = append(cases, subCase{
			name:      abi.SubEncryption + "/" + abi.SubSSEKMS,
			set:       abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms", KMSKeyID: key, BucketKeyEnabled: true}},
			reset:     abi.BucketConfig{Encryption: &abi.Encryption{}},
			resetAlso: []abi.BucketConfig{{Encryption: &abi.Encryption{Algorithm: "AES256"}}},
		})
	}
	return cases
}

// roundTrip applies c.set, observes it, then c.reset. A sub-resource the
// driver does not declare must be refused without a request; one the server
// does not implement must read as Unsupported and fail to apply with
// Unimplemented.
func roundTrip(t *testing.T, d *s3compat.Driver, rt *countingTransport, p abi.ProviderConfig, tgt Target, bucket string, c subCase) {
	ctx := t.Context()
	sub, capability, _ := strings.Cut(c.name, "/")
	if capability == "" {
		capability = sub
	}
	observe := abi.BucketArgs{Name: bucket, Observe: []string{sub}}

	if !d.Supports(capability) {
		before := rt.n.Load()
		err := d.ApplyBucket(ctx, p, abi.BucketArgs{Name: bucket, Config: c.set})
		assert.Equal(t, int64(0), rt.n.Load()-before, "an undeclared capability must not reach the server")
		require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%v", err)
		if capability == sub {
			obs, err := d.ObserveBucket(ctx, p, observe)
			require.NoError(t, err)
			assert.Contains(t, obs.Unsupported[sub], "does not support", "undeclared %s must read as unsupported", sub)
			assert.Nil(t, field(obs.Config, sub))
		}
		return
	}

	expectUnsupported := tgt.Unsupported != nil && slices.Contains(tgt.Unsupported, sub)
	err := d.ApplyBucket(ctx, p, abi.BucketArgs{Name: bucket, Config: c.set})
	if abi.CodeOf(err) == abi.CodeUnimplemented || expectUnsupported {
		require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%s does not implement %s: apply must say so (%v)", tgt.Server, sub, err)
		obs, err := d.ObserveBucket(ctx, p, observe)
		require.NoError(t, err)
		require.Contains(t, obs.Unsupported, sub, "%s does not implement %s: observe must say so", tgt.Server, sub)
		assert.Nil(t, field(obs.Config, sub))
		t.Logf("%s does not implement %s: %s", tgt.Server, sub, obs.Unsupported[sub])
		return
	}
	require.NoError(t, err)
	obs, err := d.ObserveBucket(ctx, p, observe)
	require.NoError(t, err)
	assert.Empty(t, obs.Unsupported)
	assert.Equal(t, field(c.set, sub), field(obs.Config, sub), "observed %s differs from what was written", sub)

	require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: bucket, Config: c.reset}), "reset")
	obs, err = d.ObserveBucket(ctx, p, observe)
	require.NoError(t, err)
	got := field(obs.Config, sub)
	for _, alt := range c.resetAlso {
		if assert.ObjectsAreEqual(field(alt, sub), got) {
			return
		}
	}
	assert.Equal(t, field(c.reset, sub), got, "observed %s after reset", sub)
}

// field returns the sub-resource name of cfg, typed, for comparisons.
func field(cfg abi.BucketConfig, name string) any {
	s, ok := abi.SubResourceNamed(name)
	if !ok {
		return nil
	}
	return s.Get(cfg)
}

func observeExists(ctx context.Context, d *s3compat.Driver, p abi.ProviderConfig, b abi.BucketArgs, want bool) func() error {
	return func() error {
		obs, err := d.ObserveBucket(ctx, p, b)
		if err != nil {
			return err
		}
		if obs.Exists != want {
			return abi.Errorf(abi.CodeInternal, "observed exists=%v, want %v", obs.Exists, want)
		}
		return nil
	}
}

func requireNotEmpty(t *testing.T, err error) {
	t.Helper()
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeConflict, ae.Code, ae.Message)
	assert.Equal(t, "BucketNotEmpty", ae.ProviderCode)
	assert.False(t, ae.Retryable)
}

func assertGone(t *testing.T, d *s3compat.Driver, p abi.ProviderConfig, name string) {
	t.Helper()
	obs, err := d.ObserveBucket(t.Context(), p, abi.BucketArgs{Name: name})
	require.NoError(t, err)
	assert.False(t, obs.Exists, "bucket %s still exists", name)
}

func putObject(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	_, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, Body: strings.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	})
	require.NoError(t, err)
}

// cleanup force-deletes the bucket when the test ends, whatever happened.
func cleanup(t *testing.T, d *s3compat.Driver, p abi.ProviderConfig, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := d.DeleteBucket(ctx, p, abi.BucketArgs{Name: name, Force: true})
		if err != nil && abi.CodeOf(err) != abi.CodeNotFound {
			t.Errorf("clean up bucket %s: %v", name, err)
		}
	})
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// countingTransport counts the requests the driver sends.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}
