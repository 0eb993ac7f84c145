package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
)

// readOnlyPolicy lets a user list buckets and read objects of one bucket,
// nothing else.
const readOnlyPolicy = `{"Version":"2012-10-17","Statement":[` +
	`{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["arn:aws:s3:::*"]},` +
	`{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::pail-users-data/*"]}]}`

// TestUsersIntegration runs the user and key operations against a real
// MinIO server: the whole lifecycle, idempotency, what MinIO cannot do, and
// that a created key is allowed exactly what the user's inline policy says.
func TestUsersIntegration(t *testing.T) {
	p := minioForTest(t, "it")
	endpoint := p.Endpoint
	d := New(http.DefaultTransport.(*http.Transport).Clone())
	ctx := t.Context()
	plain := plainClient(t, endpoint)
	admin, err := madmin.NewWithOptions(strings.TrimPrefix(endpoint, "http://"), &madmin.Options{
		Creds: credentials.NewStaticV4(rootUser, rootPassword, ""),
	})
	require.NoError(t, err)

	t.Run("user and key lifecycle", func(t *testing.T) {
		const name = "pail-alice"
		pol := &abi.UserPolicyDoc{Name: "pail-alice-inline", Document: readOnlyPolicy}
		keysOf := abi.UserArgs{Name: name, Observe: []string{abi.UserKeys}}
		observe := func(u abi.UserArgs) abi.UserObservation {
			t.Helper()
			obs, err := d.ObserveUser(ctx, p, u)
			require.NoError(t, err)
			return obs
		}

		assert.Equal(t, abi.UserObservation{}, observe(keysOf), "absent")
		require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "deleting a missing user is success")
		_, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
		assert.Equal(t, abi.CodeNotFound, abi.CodeOf(err), "a key for a missing user: %v", err)

		create := abi.UserArgs{Name: name, Create: true, Policy: pol}
		require.NoError(t, d.ApplyUser(ctx, p, create))
		require.NoError(t, d.ApplyUser(ctx, p, create), "applying again is a no-op")
		info, err := admin.GetUserInfo(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, madmin.AccountEnabled, info.Status)
		assert.Equal(t, pol.Name, info.PolicyName, "the canned policy is attached")

		obs := observe(abi.UserArgs{Name: name, Observe: []string{abi.UserKeys, abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: pol.Name}})
		assert.True(t, obs.Exists)
		assert.Empty(t, obs.Keys)
		require.NotNil(t, obs.Policy)
		assert.Equal(t, pol.Name, obs.Policy.Name)
		assert.Equal(t, canonical(t, readOnlyPolicy), obs.Policy.Document, "observed in canonical form")
		canned, err := admin.InfoCannedPolicyV2(ctx, pol.Name)
		require.NoError(t, err)
		assert.JSONEq(t, readOnlyPolicy, string(canned.Policy), "MinIO keeps this policy's form")
		again := observe(abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: pol.Name}})
		assert.Equal(t, obs.Policy, again.Policy, "repeated observations are identical")
		other := observe(abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: "pail-not-attached"}})
		assert.Equal(t, &abi.UserPolicyDoc{Name: "pail-not-attached"}, other.Policy)

		start := time.Now()
		key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
		require.NoError(t, err)
		t.Logf("CreateAccessKey (AddServiceAccount, encrypted both ways) took %v natively (fips=%v)", time.Since(start), madmin.FIPSEnabled())
		require.NotEmpty(t, key.ID)
		require.NotEmpty(t, key.Secret.Reveal())
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v %s", key, key, key, key.Secret), key.Secret.Reveal())
		raw, err := json.Marshal(key)
		require.NoError(t, err)
		assert.Contains(t, string(raw), key.Secret.Reveal(), "JSON carries the secret to the host")

		obs = observe(keysOf)
		require.Len(t, obs.Keys, 1)
		assert.Equal(t, abi.AccessKeyInfo{ID: key.ID, Status: abi.KeyActive}, obs.Keys[0], "MinIO reports no creation time")

		// The key signs S3 requests with the user's policy: allowed to
		// list buckets and read pail-users-data, refused anything else.
		require.NoError(t, plain.MakeBucket(ctx, "pail-users-data", minio.MakeBucketOptions{}))
		_, err = plain.PutObject(ctx, "pail-users-data", "hello.txt", strings.NewReader("hello"), 5, minio.PutObjectOptions{})
		require.NoError(t, err)
		as := asKey(t, endpoint, key)
		_, err = as.ListBuckets(ctx)
		require.NoError(t, err, "ListBuckets is allowed")
		o, err := as.GetObject(ctx, "pail-users-data", "hello.txt", minio.GetObjectOptions{})
		require.NoError(t, err)
		_, err = o.Stat()
		require.NoError(t, err, "GetObject on pail-users-data is allowed")
		_, err = as.PutObject(ctx, "pail-users-data", "denied.txt", strings.NewReader("x"), 1, minio.PutObjectOptions{})
		assert.Equal(t, "AccessDenied", minio.ToErrorResponse(err).Code, "PutObject is denied: %v", err)
		err = as.MakeBucket(ctx, "pail-users-denied", minio.MakeBucketOptions{})
		assert.Equal(t, "AccessDenied", minio.ToErrorResponse(err).Code, "MakeBucket is denied: %v", err)

		second, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
		require.NoError(t, err)
		ids := []string{}
		for _, k := range observe(keysOf).Keys {
			ids = append(ids, k.ID)
		}
		assert.ElementsMatch(t, []string{key.ID, second.ID}, ids, "every key of the user is listed")

		require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: abi.KeyInactive}))
		require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: abi.KeyInactive}), "idempotent")
		for _, k := range observe(keysOf).Keys {
			want := abi.KeyActive
			if k.ID == key.ID {
				want = abi.KeyInactive
			}
			assert.Equal(t, want, k.Status, k.ID)
		}
		_, err = as.ListBuckets(ctx)
		require.Error(t, err, "an inactive key is refused")
		require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: abi.KeyActive}))
		_, err = as.ListBuckets(ctx)
		require.NoError(t, err, "active again")
		err = d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: "Expired"})
		assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err))
		err = d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: "PAILNOSUCHKEY0000000", Status: abi.KeyInactive})
		assert.Equal(t, abi.CodeNotFound, abi.CodeOf(err), "%v", err)

		// Another user's key is not this user's to change or delete.
		require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: "pail-bob", Create: true}))
		err = d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: "pail-bob", ID: key.ID, Status: abi.KeyInactive})
		assert.Equal(t, abi.CodeNotFound, abi.CodeOf(err), "%v", err)
		require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: "pail-bob", ID: key.ID}))
		assert.Len(t, observe(keysOf).Keys, 2, "bob's delete left alice's key alone")
		require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: "pail-bob"}))

		err = d.DeleteUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: pol.Name}})
		assert.Equal(t, abi.CodeConflict, abi.CodeOf(err), "a user with keys: %v", err)
		assert.True(t, observe(keysOf).Exists, "a refused delete leaves the user")

		require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID}))
		require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID}), "deleting a missing key is success")
		require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: second.ID}))
		_, err = as.ListBuckets(ctx)
		require.Error(t, err, "a deleted key is refused")
		assert.Empty(t, observe(keysOf).Keys)

		require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: pol.Name}}))
		assert.Equal(t, abi.UserObservation{}, observe(keysOf), "deleted")
		_, err = admin.InfoCannedPolicyV2(ctx, pol.Name)
		assert.Equal(t, codeNoSuchPolicy, madmin.ToErrorResponse(err).Code, "the inline policy went with the user: %v", err)
		require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: pol.Name}}), "again")
	})

	t.Run("inline policy changes", func(t *testing.T) {
		const name = "pail-carol"
		pol := abi.UserPolicyDoc{Name: "pail-carol-inline", Document: readOnlyPolicy}
		look := abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: pol.Name}}
		require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}))
		t.Cleanup(func() { _ = d.DeleteUser(context.Background(), p, abi.UserArgs{Name: name, Policy: &pol}) })
		obs, err := d.ObserveUser(ctx, p, look)
		require.NoError(t, err)
		assert.Equal(t, &abi.UserPolicyDoc{Name: pol.Name}, obs.Policy, "none yet")

		require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &pol}), "attach to an existing user")
		changed := pol
		changed.Document = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["arn:aws:s3:::*"]}]}`
		require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &changed}), "replace the document")
		obs, err = d.ObserveUser(ctx, p, look)
		require.NoError(t, err)
		assert.Equal(t, canonical(t, changed.Document), obs.Policy.Document)

		err = d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: pol.Name, Document: "{not json"}})
		assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "a malformed policy: %v", err)

		require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: pol.Name}}), "an empty document removes it")
		require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: pol.Name}}), "removing again is success")
		obs, err = d.ObserveUser(ctx, p, look)
		require.NoError(t, err)
		assert.Equal(t, &abi.UserPolicyDoc{Name: pol.Name}, obs.Policy)
		info, err := admin.GetUserInfo(ctx, name)
		require.NoError(t, err)
		assert.Empty(t, info.PolicyName, "detached")
		_, err = admin.InfoCannedPolicyV2(ctx, pol.Name)
		assert.Equal(t, codeNoSuchPolicy, madmin.ToErrorResponse(err).Code, "deleted: %v", err)

		_, err = d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}})
		assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "observing the policy needs its name")
	})

	t.Run("no tags and no last use", func(t *testing.T) {
		const name = "pail-dave"
		require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}))
		t.Cleanup(func() { _ = d.DeleteUser(context.Background(), p, abi.UserArgs{Name: name}) })
		err := d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Tags: &abi.Tagging{Tags: map[string]string{"team": "storage"}}})
		assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%v", err)
		require.ErrorContains(t, err, "MinIO has no user tags")
		err = d.ApplyUser(ctx, p, abi.UserArgs{Name: "pail-never", Create: true, Tags: &abi.Tagging{}})
		assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err))
		obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: "pail-never"})
		require.NoError(t, err)
		assert.False(t, obs.Exists, "a refused apply writes nothing")

		key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
		require.NoError(t, err)
		t.Cleanup(func() { _ = d.DeleteAccessKey(context.Background(), p, abi.AccessKeyArgs{User: name, ID: key.ID}) })
		obs, err = d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserTags, abi.UserLastUsed}})
		require.NoError(t, err)
		assert.True(t, obs.Exists)
		assert.Nil(t, obs.Tags)
		require.Len(t, obs.Keys, 1, "lastUsed implies keys")
		assert.True(t, obs.Keys[0].LastUsed.IsZero())
		assert.Equal(t, map[string]string{abi.UserTags: noUserTags, abi.UserLastUsed: noLastUsed}, obs.Unsupported)
	})

	t.Run("wrong credentials and unreachable endpoint", func(t *testing.T) {
		bad := p
		bad.Credentials.SecretAccessKey = "not-the-secret"
		_, err := d.ObserveUser(ctx, bad, abi.UserArgs{Name: "pail-nobody"})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeAccessDenied, ae.Code, ae.Message)
		assert.NotContains(t, ae.Message, rootPassword)
		unknown := p
		unknown.Credentials.AccessKeyID = "pail-unknown"
		err = d.ApplyUser(ctx, unknown, abi.UserArgs{Name: "pail-nobody", Create: true})
		assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(err), "%v", err)

		closed := p
		closed.Endpoint = "http://" + closedAddr(t)
		start := time.Now()
		_, err = d.CreateAccessKey(ctx, closed, abi.AccessKeyArgs{User: "pail-nobody"})
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeUnavailable, ae.Code, ae.Message)
		assert.True(t, ae.Retryable)
		assert.Less(t, time.Since(start), 5*time.Second, "one attempt: the host owns retries")
	})
}

// asKey is a minio-go client signing with a created key.
func asKey(t *testing.T, endpoint string, key abi.NewAccessKey) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{
		Creds:      credentials.NewStaticV4(key.ID, key.Secret.Reveal(), ""),
		Region:     "us-east-1",
		MaxRetries: 1,
	})
	require.NoError(t, err)
	return c
}
