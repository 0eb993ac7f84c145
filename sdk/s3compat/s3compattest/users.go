package s3compattest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/drivertest"
)

// ListOnlyPolicy allows listing buckets and nothing else.
const ListOnlyPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["*"]}]}`

// RunUsers is the user and access-key suite of an s3compat driver against
// tgt, run natively on a plain http.Transport. The driver must declare
// abi.CapAccessKeys.
func RunUsers(t *testing.T, newDriver New, tgt IAMTarget) {
	d := newDriver(http.DefaultTransport.(*http.Transport).Clone())
	info := d.Describe()
	p := tgt.Provider
	t.Logf("driver %s %s users against %s (IAM %s, S3 %q)", info.Name, info.Version, tgt.Server, p.IAMEndpoint, p.Endpoint)
	require.True(t, info.Supports(abi.CapAccessKeys), "the driver declares accessKeys")

	t.Run("Describe", func(t *testing.T) {
		for _, op := range abi.OperationsOf(abi.CapAccessKeys) {
			assert.True(t, info.Implements(op), op)
		}
		assert.NotEmpty(t, info.DefaultIAMEndpoint)
	})

	t.Run("user and key lifecycle", func(t *testing.T) { userLifecycle(t, d, p) })
	t.Run("inline policy", func(t *testing.T) { inlinePolicy(t, d, p, tgt) })
	t.Run("tags", func(t *testing.T) { userTags(t, d, p, tgt) })
	t.Run("delete refuses a user with keys", func(t *testing.T) { deleteWithKeys(t, d, p) })
	t.Run("wrong credentials", func(t *testing.T) { wrongIAMCredentials(t, d, p) })
	t.Run("created key works on S3", func(t *testing.T) {
		if p.Endpoint == "" {
			t.Skipf("no S3 endpoint shares %s's users; set %s", tgt.Server, EnvEndpoint)
		}
		keyWorksOnS3(t, d, p, tgt)
	})
}

// userDriver is what the suite needs of a driver.
type userDriver interface {
	sdkdriver.Driver
	sdkdriver.UserDriver
}

func cleanupUser(t *testing.T, d userDriver, p abi.ProviderConfig, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserKeys}})
		if err != nil || !obs.Exists {
			return
		}
		for _, k := range obs.Keys {
			_ = d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: k.ID})
		}
		if err := d.DeleteUser(ctx, p, abi.UserArgs{Name: name}); err != nil {
			t.Logf("cleanup of user %s: %v", name, err)
		}
	})
}

func userLifecycle(t *testing.T, d userDriver, p abi.ProviderConfig) {
	ctx := t.Context()
	name := drivertest.UserName("life")
	cleanupUser(t, d, p, name)
	u := abi.UserArgs{Name: name, Observe: []string{abi.UserKeys}}
	observe := func(what string) abi.UserObservation {
		t.Helper()
		obs, err := d.ObserveUser(ctx, p, u)
		require.NoError(t, err, what)
		return obs
	}

	assert.Equal(t, abi.UserObservation{}, observe("absent"), "a missing user is Exists false and nothing else")
	obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name})
	require.NoError(t, err)
	assert.False(t, obs.Exists, "absent without parts (GetUser)")
	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "deleting a missing user is success")
	_, err = d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	assert.Equal(t, abi.CodeNotFound, abi.CodeOf(err), "a key for a missing user: %v", err)

	create := abi.UserArgs{Name: name, Create: true}
	require.NoError(t, d.ApplyUser(ctx, p, create))
	require.NoError(t, d.ApplyUser(ctx, p, create), "creating an existing user is a no-op")
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name}), "apply without parts writes nothing")
	obs = observe("created")
	assert.True(t, obs.Exists)
	assert.Empty(t, obs.Keys)
	obs, err = d.ObserveUser(ctx, p, abi.UserArgs{Name: name})
	require.NoError(t, err)
	assert.True(t, obs.Exists, "present without parts (GetUser)")

	before := time.Now().Add(-time.Minute)
	key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err)
	require.NotEmpty(t, key.ID)
	require.NotEmpty(t, key.Secret.Reveal())
	assert.True(t, key.Created.After(before), "created %v", key.Created)
	for _, s := range []string{fmt.Sprint(key), fmt.Sprintf("%+v %#v %s %q %x", key, key, key.Secret, key.Secret, key.Secret)} {
		assert.NotContains(t, s, key.Secret.Reveal(), "a formatted key never shows its secret")
	}
	raw, err := json.Marshal(key)
	require.NoError(t, err)
	assert.Contains(t, string(raw), key.Secret.Reveal(), "JSON carries the secret to the host")

	obs = observe("one key")
	require.Len(t, obs.Keys, 1)
	assert.Equal(t, key.ID, obs.Keys[0].ID)
	assert.Equal(t, abi.KeyActive, obs.Keys[0].Status)
	assert.WithinDuration(t, key.Created, obs.Keys[0].Created, 2*time.Second)

	second, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err)
	obs = observe("two keys")
	ids := []string{}
	for _, k := range obs.Keys {
		ids = append(ids, k.ID)
	}
	assert.ElementsMatch(t, []string{key.ID, second.ID}, ids, "every key of the user is listed")

	require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: abi.KeyInactive}))
	require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: abi.KeyInactive}), "idempotent")
	obs = observe("inactive")
	for _, k := range obs.Keys {
		want := abi.KeyActive
		if k.ID == key.ID {
			want = abi.KeyInactive
		}
		assert.Equal(t, want, k.Status, k.ID)
	}
	require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: abi.KeyActive}))
	err = d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: "Expired"})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "%v", err)
	err = d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: "AKIAPAILNOSUCHKEY000", Status: abi.KeyInactive})
	assert.Equal(t, abi.CodeNotFound, abi.CodeOf(err), "%v", err)

	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID}))
	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID}), "deleting a missing key is success")
	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: second.ID}))
	assert.Empty(t, observe("keys deleted").Keys)

	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}))
	assert.Equal(t, abi.UserObservation{}, observe("deleted"))
	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "deleting a deleted user is success")
	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID}), "a key of a deleted user is gone too")

	_, err = d.ObserveUser(ctx, p, abi.UserArgs{Name: "not a/valid name"})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err))
}

// samePolicy compares policy documents as JSON values.
func samePolicy(t *testing.T, want, got string) {
	t.Helper()
	var w, g any
	require.NoError(t, json.Unmarshal([]byte(want), &w))
	require.NoError(t, json.Unmarshal([]byte(got), &g), "observed document %q", got)
	assert.Equal(t, w, g)
}

func inlinePolicy(t *testing.T, d userDriver, p abi.ProviderConfig, tgt IAMTarget) {
	ctx := t.Context()
	name := drivertest.UserName("pol")
	cleanupUser(t, d, p, name)
	pol := &abi.UserPolicyDoc{Name: "pail", Document: ListOnlyPolicy}
	err := d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true, Policy: pol})
	supported := d.Describe().Supports(abi.CapInlinePolicy)
	if !supported {
		require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%v", err)
		return
	}
	if slices.Contains(tgt.Unsupported, abi.UserPolicy) {
		require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%v", err)
		obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}, Policy: pol})
		require.NoError(t, err)
		assert.Contains(t, obs.Unsupported, abi.UserPolicy)
		return
	}
	require.NoError(t, err)
	look := abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: "pail"}}
	obs, err := d.ObserveUser(ctx, p, look)
	require.NoError(t, err)
	require.NotNil(t, obs.Policy)
	assert.Equal(t, "pail", obs.Policy.Name)
	samePolicy(t, ListOnlyPolicy, obs.Policy.Document)

	other, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: "other"}})
	require.NoError(t, err)
	assert.Equal(t, &abi.UserPolicyDoc{Name: "other"}, other.Policy, "no policy of that name: empty document")

	_, err = d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "observing the policy needs its name")

	err = d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: "pail", Document: "{not json"}})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "a malformed policy: %v", err)

	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: "pail"}}), "an empty document removes the policy")
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: "pail"}}), "removing it again is success")
	obs, err = d.ObserveUser(ctx, p, look)
	require.NoError(t, err)
	assert.Equal(t, &abi.UserPolicyDoc{Name: "pail"}, obs.Policy)

	// DeleteUser removes the inline policy first.
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: pol}))
	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}))
	obs, err = d.ObserveUser(ctx, p, look)
	require.NoError(t, err)
	assert.False(t, obs.Exists)
}

func userTags(t *testing.T, d userDriver, p abi.ProviderConfig, tgt IAMTarget) {
	ctx := t.Context()
	name := drivertest.UserName("tags")
	cleanupUser(t, d, p, name)
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}))
	look := abi.UserArgs{Name: name, Observe: []string{abi.UserTags}}
	apply := func(tags map[string]string) error {
		return d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Tags: &abi.Tagging{Tags: tags}})
	}
	if !d.Describe().Supports(abi.CapUserTags) || slices.Contains(tgt.Unsupported, abi.UserTags) {
		err := apply(map[string]string{"team": "storage"})
		require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%v", err)
		obs, err := d.ObserveUser(ctx, p, look)
		require.NoError(t, err)
		assert.True(t, obs.Exists)
		assert.Nil(t, obs.Tags)
		assert.Contains(t, obs.Unsupported, abi.UserTags)
		return
	}
	observed := func() map[string]string {
		t.Helper()
		obs, err := d.ObserveUser(ctx, p, look)
		require.NoError(t, err)
		require.True(t, obs.Exists)
		require.NotNil(t, obs.Tags)
		assert.Empty(t, obs.Unsupported)
		return obs.Tags.Tags
	}
	assert.Nil(t, observed(), "a new user has no tags")
	require.NoError(t, apply(map[string]string{"team": "storage", "env": "test"}))
	assert.Equal(t, map[string]string{"team": "storage", "env": "test"}, observed())
	require.NoError(t, apply(map[string]string{"team": "platform", "owner": "pail"}), "change one, drop one, add one")
	assert.Equal(t, map[string]string{"team": "platform", "owner": "pail"}, observed())
	require.NoError(t, apply(map[string]string{"team": "platform", "owner": "pail"}), "no change")
	require.NoError(t, apply(nil), "an empty set removes every tag")
	assert.Nil(t, observed())
}

func deleteWithKeys(t *testing.T, d userDriver, p abi.ProviderConfig) {
	ctx := t.Context()
	name := drivertest.UserName("keys")
	cleanupUser(t, d, p, name)
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}))
	key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err)
	err = d.DeleteUser(ctx, p, abi.UserArgs{Name: name})
	require.Equal(t, abi.CodeConflict, abi.CodeOf(err), "%v", err)
	obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserKeys}})
	require.NoError(t, err)
	assert.True(t, obs.Exists, "a refused delete leaves the user in place")
	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID}))
	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}))
}

func wrongIAMCredentials(t *testing.T, d userDriver, p abi.ProviderConfig) {
	ctx := t.Context()
	bad := p
	bad.Credentials.SecretAccessKey = "not-the-secret"
	_, err := d.ObserveUser(ctx, bad, abi.UserArgs{Name: "pail-it-nobody"})
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeAccessDenied, ae.Code, ae.Message)
	assert.False(t, ae.Retryable)
	assert.NotContains(t, ae.Message, p.Credentials.SecretAccessKey)
	assert.NotContains(t, ae.Message, "not-the-secret")

	unknown := p
	unknown.Credentials.AccessKeyID = "AKIAPAILUNKNOWN00000"
	err = d.ApplyUser(ctx, unknown, abi.UserArgs{Name: "pail-it-nobody", Create: true})
	assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(err), "%v", err)

	closed := p
	closed.IAMEndpoint = "http://" + freeAddr(t)
	start := time.Now()
	_, err = d.CreateAccessKey(ctx, closed, abi.AccessKeyArgs{User: "pail-it-nobody"})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeUnavailable, ae.Code, ae.Message)
	assert.True(t, ae.Retryable)
	assert.Less(t, time.Since(start), 5*time.Second, "one attempt only: the host owns retries")
}

// keyWorksOnS3 proves a created key signs S3 requests, within the limits
// of the user's inline policy, and stops working when made inactive.
func keyWorksOnS3(t *testing.T, d userDriver, p abi.ProviderConfig, tgt IAMTarget) {
	ctx := t.Context()
	name := drivertest.UserName("s3")
	cleanupUser(t, d, p, name)
	args := abi.UserArgs{Name: name, Create: true}
	if d.Describe().Supports(abi.CapInlinePolicy) {
		args.Policy = &abi.UserPolicyDoc{Name: "pail", Document: ListOnlyPolicy}
	}
	require.NoError(t, d.ApplyUser(ctx, p, args))
	key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err)
	as := p
	as.Credentials = abi.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret.Reveal()}
	c := Client(as)

	eventually(t, tgt.Propagation, "ListBuckets with the new key", func() error {
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	})
	if args.Policy != nil {
		bucket := drivertest.BucketName("denied")
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		if err == nil {
			_, _ = Client(p).DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
		}
		require.Error(t, err, "the inline policy allows only ListAllMyBuckets")
		assert.Contains(t, err.Error(), "AccessDenied")
	}

	if tgt.LastUsedAtOnce && d.Describe().Supports(abi.CapKeyLastUsed) {
		obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserLastUsed}})
		require.NoError(t, err)
		require.Len(t, obs.Keys, 1, "lastUsed implies keys")
		assert.WithinDuration(t, time.Now(), obs.Keys[0].LastUsed, time.Minute, "the S3 call is recorded as the key's last use")
	}

	require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: abi.KeyInactive}))
	eventually(t, tgt.Propagation, "an inactive key is refused", func() error {
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err == nil {
			return fmt.Errorf("ListBuckets still succeeds")
		}
		if !strings.Contains(err.Error(), "403") {
			return err
		}
		return nil
	})
}

func eventually(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(time.Second)
	}
}
