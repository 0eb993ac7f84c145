package drivertest

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// quickFailure bounds one failing call against a closed port: the host owns
// retries, and a driver that retries inside one call holds a pooled instance
// and the reconcile for nothing.
const quickFailure = 5 * time.Second

func errorCodes(t *testing.T, d driver.Driver, info abi.DriverInfo, tgt Target) {
	o, p := tgt.Objects, tgt.Provider
	t.Run("wrong credentials are AccessDenied", func(t *testing.T) { wrongCredentials(t, d, info, o, p) })
	t.Run("unreachable endpoint is Unavailable", func(t *testing.T) {
		ctx := t.Context()
		closed := p
		closed.Endpoint = "http://" + closedAddr(t)
		start := time.Now()
		assertCode(t, abi.CodeUnavailable, true, d.CheckProvider(ctx, closed), "CheckProvider")
		assert.Less(t, time.Since(start), quickFailure, "CheckProvider against a closed port took long; is the driver retrying?")
		start = time.Now()
		_, err := d.ObserveBucket(ctx, closed, abi.BucketArgs{Name: BucketName(info.Name + "-down")})
		assertCode(t, abi.CodeUnavailable, true, err, "ObserveBucket")
		assert.Less(t, time.Since(start), quickFailure, "ObserveBucket against a closed port took long; is the driver retrying?")
	})
	t.Run("non-empty bucket", func(t *testing.T) { nonEmpty(t, d, info, o, p) })
	t.Run("force delete of a versioned bucket", func(t *testing.T) {
		if !info.Supports(abi.CapForceDelete) || !info.Supports(abi.SubVersioning) {
			t.Skipf("driver %s declares no %s or no %s", info.Name, abi.CapForceDelete, abi.SubVersioning)
		}
		if slices.Contains(tgt.Unsupported, abi.SubVersioning) {
			t.Skipf("%s cannot version buckets", tgt.Server)
		}
		forceDeleteVersioned(t, d, info, o, p)
	})
}

// wrongCredentials: every bucket operation answers AccessDenied (HTTP 403,
// not retryable) without the secret; CheckProvider also carries the S3 code
// that says why.
func wrongCredentials(t *testing.T, d driver.Driver, info abi.DriverInfo, o Objects, p abi.ProviderConfig) {
	ctx := t.Context()
	for _, bad := range []struct {
		name, providerCode string
		p                  abi.ProviderConfig
	}{
		{"wrong secret", "SignatureDoesNotMatch", withCreds(p, p.Credentials.AccessKeyID, "not-the-secret-key-of-this-test")},
		{"unknown access key", "InvalidAccessKeyId", withCreds(p, "PAILUNKNOWNKEY000000", "not-the-secret-key-of-this-test")},
	} {
		t.Run(bad.name, func(t *testing.T) {
			b := abi.BucketArgs{Name: BucketName(info.Name + "-denied")}
			cleanupBucket(t, d, o, p, b.Name) //nolint:contextcheck // the cleanup outlives the test's context on purpose
			create := b
			create.Create = true
			checkErr := d.CheckProvider(ctx, bad.p)
			_, observeErr := d.ObserveBucket(ctx, bad.p, b)
			errs := map[string]error{
				"CheckProvider": checkErr,
				"ObserveBucket": observeErr,
				"ApplyBucket":   d.ApplyBucket(ctx, bad.p, create),
				"DeleteBucket":  d.DeleteBucket(ctx, bad.p, b),
			}
			for op, err := range errs {
				assertCode(t, abi.CodeAccessDenied, false, err, op)
				if err != nil {
					assert.NotContains(t, err.Error(), bad.p.Credentials.SecretAccessKey, "%s: an error never carries the secret", op)
					assert.NotContains(t, err.Error(), p.Credentials.SecretAccessKey, "%s: an error never carries the secret", op)
				}
			}
			assert.Equal(t, bad.providerCode, asError(checkErr).ProviderCode, "CheckProvider: providerCode of %s", bad.name)
			assert.Equal(t, http.StatusForbidden, asError(checkErr).HTTPStatus, "CheckProvider: httpStatus of %s", bad.name)
		})
	}
}

func nonEmpty(t *testing.T, d driver.Driver, info abi.DriverInfo, o Objects, p abi.ProviderConfig) {
	ctx := t.Context()
	b := abi.BucketArgs{Name: BucketName(info.Name + "-full")}
	require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: b.Name, Create: true}))
	cleanupBucket(t, d, o, p, b.Name)
	err := o.PutObject(ctx, p, b.Name, "dir/object.txt", "hello")
	require.NoError(t, err, "put an object with a client independent of the driver")

	err = d.DeleteBucket(ctx, p, b)
	assertNotEmpty(t, err, "DeleteBucket without force")
	obs, err := d.ObserveBucket(ctx, p, b)
	require.NoError(t, err)
	assert.True(t, obs.Exists, "a refused delete leaves the bucket in place")

	if !info.Supports(abi.CapForceDelete) {
		require.NoError(t, o.EmptyBucket(ctx, p, b.Name), "empty the bucket with the independent client")
		require.NoError(t, d.DeleteBucket(ctx, p, b), "delete once emptied")
		return
	}
	b.Force = true
	require.NoError(t, d.DeleteBucket(ctx, p, b), "force delete")
	assertGone(t, d, p, b)
}

// forceDeleteVersioned: two versions of an object under a delete marker (a
// plain listing is empty) still make the bucket non-empty, and a force
// delete removes them all.
func forceDeleteVersioned(t *testing.T, d driver.Driver, info abi.DriverInfo, o Objects, p abi.ProviderConfig) {
	ctx := t.Context()
	b := abi.BucketArgs{Name: BucketName(info.Name + "-vers")}
	require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{
		Name: b.Name, Create: true,
		Config: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}},
	}))
	cleanupBucket(t, d, o, p, b.Name)
	for _, body := range []string{"v1", "v2"} {
		require.NoError(t, o.PutObject(ctx, p, b.Name, "object.txt", body), "put version %s", body)
	}
	require.NoError(t, o.DeleteObject(ctx, p, b.Name, "object.txt"), "a delete marker on top of both versions")

	assertNotEmpty(t, d.DeleteBucket(ctx, p, b), "DeleteBucket without force of a bucket with versions and a delete marker")
	b.Force = true
	require.NoError(t, d.DeleteBucket(ctx, p, b), "force delete")
	assertGone(t, d, p, b)
}

func assertNotEmpty(t *testing.T, err error, what string) {
	t.Helper()
	assertCode(t, abi.CodeConflict, false, err, what)
	assert.Equal(t, "BucketNotEmpty", asError(err).ProviderCode, "%s: providerCode of a non-empty delete", what)
}

// assertGone: a force-deleted bucket is gone, and deleting it again is
// NotFound.
func assertGone(t *testing.T, d driver.Driver, p abi.ProviderConfig, b abi.BucketArgs) {
	t.Helper()
	obs, err := d.ObserveBucket(t.Context(), p, b)
	require.NoError(t, err)
	assert.False(t, obs.Exists, "force delete removes the bucket")
	assertCode(t, abi.CodeNotFound, false, d.DeleteBucket(t.Context(), p, b), "force delete of a gone bucket")
}

// dispatchEnvelope drives the bucket operations through driver.Dispatch, as
// the guest does for the host: JSON arguments in, a JSON result or an
// *abi.Error out.
func dispatchEnvelope(t *testing.T, d driver.Driver, info abi.DriverInfo, o Objects, p abi.ProviderConfig) {
	if !info.Supports(abi.SubTagging) {
		t.Skipf("driver %s does not declare %s, which the envelope's result shows", info.Name, abi.SubTagging)
	}
	ctx := t.Context()
	name := BucketName(info.Name + "-disp")
	call := func(op string, b abi.BucketArgs) abi.Response {
		args, err := json.Marshal(b)
		require.NoError(t, err)
		return driver.Dispatch(ctx, d, abi.Request{Op: op, ID: "conformance", Provider: p, Args: args})
	}
	require.Nil(t, call(abi.OpCheckProvider, abi.BucketArgs{}).Error)
	require.Nil(t, call(abi.OpApplyBucket, abi.BucketArgs{Name: name, Create: true,
		Config: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"via": "dispatch"}}}}).Error)
	cleanupBucket(t, d, o, p, name)
	resp := call(abi.OpObserveBucket, abi.BucketArgs{Name: name, Observe: []string{abi.SubTagging}})
	require.Nil(t, resp.Error)
	assert.JSONEq(t, `{"exists":true,"config":{"tagging":{"tags":{"via":"dispatch"}}}}`, string(resp.Result))
	require.Nil(t, call(abi.OpDeleteBucket, abi.BucketArgs{Name: name}).Error)
	resp = call(abi.OpDeleteBucket, abi.BucketArgs{Name: name})
	require.NotNil(t, resp.Error)
	assert.Equal(t, abi.CodeNotFound, resp.Error.Code)
}
