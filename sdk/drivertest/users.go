package drivertest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// ListOnlyPolicy allows listing buckets and nothing else: what the suite
// gives a user whose key it proves on the endpoint.
const ListOnlyPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["*"]}]}`

// userTarget is where the user suite runs: the driver's bucket side (to
// prove a created key on), the user endpoint and what Target says of it.
type userTarget struct {
	d              driver.Driver
	info           abi.DriverInfo
	p              abi.ProviderConfig
	unsupported    []string
	propagation    time.Duration
	lastUsedAtOnce bool
}

func users(t *testing.T, d driver.UserDriver, ut userTarget) {
	info, p, unsupported := ut.info, ut.p, ut.unsupported
	t.Run("lifecycle", func(t *testing.T) { userLifecycle(t, d, p) })
	t.Run(abi.CapInlinePolicy, func(t *testing.T) {
		userPart(t, d, info, p, unsupported, abi.CapInlinePolicy, abi.UserPolicy)
		if info.Supports(abi.CapInlinePolicy) && !slices.Contains(unsupported, abi.UserPolicy) {
			inlinePolicy(t, d, p)
		}
	})
	t.Run(abi.CapUserTags, func(t *testing.T) {
		userPart(t, d, info, p, unsupported, abi.CapUserTags, abi.UserTags)
	})
	t.Run(abi.CapKeyLastUsed, func(t *testing.T) { keyLastUsed(t, d, info, p, unsupported) })
	t.Run("wrong credentials", func(t *testing.T) { wrongUserCredentials(t, d, p) })
	t.Run("created key works", func(t *testing.T) {
		if p.Endpoint == "" {
			t.Skip("no S3 endpoint shares the users of the IAM endpoint")
		}
		keyWorks(t, d, ut)
	})
}

// policyName is the provider-side name of a user's inline policy; the host
// picks one unique to the user, because MinIO's canned policies are global.
func policyName(user string) string { return "pail-" + user }

func cleanupUser(t *testing.T, d driver.UserDriver, p abi.ProviderConfig, name string) {
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
		if err := d.DeleteUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: policyName(name)}}); err != nil {
			t.Errorf("clean up user %s: %v", name, err)
		}
	})
}

// observer reads the user name with its keys.
func observer(t *testing.T, d driver.UserDriver, p abi.ProviderConfig, name string) func(step string) abi.UserObservation {
	return func(step string) abi.UserObservation {
		t.Helper()
		obs, err := d.ObserveUser(t.Context(), p, abi.UserArgs{Name: name, Observe: []string{abi.UserKeys}})
		require.NoError(t, err, step)
		return obs
	}
}

func userLifecycle(t *testing.T, d driver.UserDriver, p abi.ProviderConfig) {
	ctx := t.Context()
	name := UserName("conf")
	cleanupUser(t, d, p, name)
	observe := observer(t, d, p, name)
	exists := func(step string) bool {
		t.Helper()
		obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name})
		require.NoError(t, err, step)
		return obs.Exists
	}

	assert.Equal(t, abi.UserObservation{}, observe("absent"), "a missing user is exists=false and nothing else")
	assert.False(t, exists("absent"), "a missing user observed without parts is exists=false")
	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "deleting a missing user is success")
	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: "PAILNOSUCHKEY0000000"}), "deleting a key of a missing user is success")
	_, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	assertCode(t, abi.CodeNotFound, false, err, "CreateAccessKey for a missing user")
	_, err = d.ObserveUser(ctx, p, abi.UserArgs{Name: "not a/valid name"})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "a user name with a space and a slash: %v", err)

	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}), "create")
	obs := observe("created")
	assert.True(t, obs.Exists)
	assert.Empty(t, obs.Keys, "a new user has no keys")
	assert.True(t, exists("created"), "a user observed without parts is exists=true")
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}), "creating an existing user is success")
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name}), "apply without parts writes nothing")

	ids := accessKeys(t, d, p, name)

	err = d.DeleteUser(ctx, p, abi.UserArgs{Name: name})
	assertCode(t, abi.CodeConflict, false, err, "DeleteUser of a user that still has keys")
	assert.True(t, observe("refused delete").Exists, "a refused delete leaves the user in place")

	for _, id := range ids {
		require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: id}), "DeleteAccessKey")
		require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: id}), "deleting a deleted key is success")
		assert.Empty(t, keyStatus(observe("key deleted"), id), "a deleted key is no longer listed")
	}
	assert.Empty(t, observe("keys deleted").Keys)

	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "DeleteUser")
	assert.Equal(t, abi.UserObservation{}, observe("deleted"), "a deleted user is exists=false and nothing else")
	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "deleting a deleted user is success")
	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: ids[0]}), "a key of a deleted user is gone too")
}

// accessKeys creates two keys for the existing user name, changes the
// first one's status, and returns both ids.
func accessKeys(t *testing.T, d driver.UserDriver, p abi.ProviderConfig, name string) []string {
	ctx := t.Context()
	observe := observer(t, d, p, name)
	before := time.Now().Add(-time.Minute)
	key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err, "CreateAccessKey")
	require.NotEmpty(t, key.ID, "key id")
	require.NotEmpty(t, key.Secret.Reveal(), "key secret")
	// created is zero when the provider does not say (MinIO).
	assert.True(t, key.Created.IsZero() || key.Created.After(before), "created %v", key.Created)
	secretHidden(t, key)
	obs := observe("key created")
	require.Len(t, obs.Keys, 1, "the new key is listed")
	assert.Equal(t, key.ID, obs.Keys[0].ID)
	assert.Equal(t, abi.KeyActive, obs.Keys[0].Status, "a new key is Active")
	if !key.Created.IsZero() && !obs.Keys[0].Created.IsZero() {
		assert.WithinDuration(t, key.Created, obs.Keys[0].Created, 2*time.Second, "the listed creation time is the created one")
	}

	second, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err, "a second CreateAccessKey")
	listed := observe("two keys").Keys
	ids := make([]string, 0, len(listed))
	for _, k := range listed {
		ids = append(ids, k.ID)
	}
	assert.ElementsMatch(t, []string{key.ID, second.ID}, ids, "every key of the user is listed")

	for _, st := range []string{abi.KeyInactive, abi.KeyInactive, abi.KeyActive} {
		require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: st}), "UpdateAccessKey %s", st)
		obs := observe("key updated")
		assert.Equal(t, st, keyStatus(obs, key.ID))
		assert.Equal(t, abi.KeyActive, keyStatus(obs, second.ID), "the other key keeps its status")
	}
	err = d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: "Expired"})
	assertCode(t, abi.CodeInvalidArgument, false, err, "UpdateAccessKey to a status that is neither Active nor Inactive")
	err = d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: "PAILNOSUCHKEY0000000", Status: abi.KeyInactive})
	assertCode(t, abi.CodeNotFound, false, err, "UpdateAccessKey of a key the user does not have")
	return []string{key.ID, second.ID}
}

func keyStatus(obs abi.UserObservation, id string) string {
	for _, k := range obs.Keys {
		if k.ID == id {
			return k.Status
		}
	}
	return ""
}

// secretHidden: a formatted key never shows its secret, and its JSON (what
// the host reads) carries it.
func secretHidden(t *testing.T, key abi.NewAccessKey) {
	t.Helper()
	for _, s := range []string{fmt.Sprint(key), fmt.Sprintf("%+v %#v %s %q %x", key, key, key.Secret, key.Secret, key.Secret)} {
		assert.NotContains(t, s, key.Secret.Reveal(), "a formatted key never shows its secret")
	}
	raw, err := json.Marshal(key) //nolint:gosec // the secret's JSON is what is checked
	require.NoError(t, err)
	assert.Contains(t, string(raw), key.Secret.Reveal(), "JSON carries the secret to the host")
}

// userPart checks the inline policy or the tags of a user: declared, they
// round-trip and reset; undeclared (or not implemented by the server), the
// write is refused with Unimplemented and the observation says unsupported.
func userPart(t *testing.T, d driver.UserDriver, info abi.DriverInfo, p abi.ProviderConfig, unsupported []string, capability, part string) {
	ctx := t.Context()
	name := UserName("part")
	cleanupUser(t, d, p, name)
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}))
	pol := &abi.UserPolicyDoc{Name: policyName(name)}
	observe := func(step string) abi.UserObservation {
		t.Helper()
		obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{part}, Policy: &abi.UserPolicyDoc{Name: pol.Name}})
		require.NoError(t, err, step)
		require.True(t, obs.Exists, step)
		return obs
	}
	write := func(v any) error {
		u := abi.UserArgs{Name: name}
		switch x := v.(type) {
		case string:
			u.Policy = &abi.UserPolicyDoc{Name: pol.Name, Document: x}
		case map[string]string:
			u.Tags = &abi.Tagging{Tags: x}
		}
		return d.ApplyUser(ctx, p, u)
	}
	set, reset := any(ListOnlyPolicy), any("")
	steps := []any{set, set, reset, reset}
	if part == abi.UserTags {
		set = map[string]string{"team": "pail", "env": "test"}
		changed := map[string]string{"team": "platform", "owner": "pail"} // change one, drop one, add one
		steps = []any{set, set, changed, changed, map[string]string{"team": "pail"}, map[string]string{}}
	}

	if !info.Supports(capability) || slices.Contains(unsupported, part) {
		why := "driver " + info.Name + " does not declare " + capability
		if info.Supports(capability) {
			why = "the server does not implement " + part
		}
		assertCode(t, abi.CodeUnimplemented, false, write(set), "ApplyUser with "+part+" ("+why+")")
		obs := observe("unsupported")
		assert.Contains(t, obs.Unsupported, part, "ObserveUser reports %s unsupported (%s)", part, why)
		if part == abi.UserTags {
			assert.Nil(t, obs.Tags, "unsupported tags have no observed value")
		}
		return
	}
	if part == abi.UserTags {
		obs := observe("new user")
		require.NotNil(t, obs.Tags, "tags observed")
		assert.Empty(t, obs.Tags.Tags, "a new user has no tags")
	}
	for i, v := range steps {
		require.NoError(t, write(v), "step %d: apply %v", i, v)
		obs := observe("after apply")
		assert.Empty(t, obs.Unsupported)
		switch x := v.(type) {
		case string:
			require.NotNil(t, obs.Policy, "step %d: policy observed", i)
			assert.True(t, policydoc.Same(x, obs.Policy.Document), "step %d: policy reads back as written:\nwrote %s\nread  %s", i, x, obs.Policy.Document)
		case map[string]string:
			require.NotNil(t, obs.Tags, "step %d: tags observed", i)
			want := x
			if len(want) == 0 {
				want = nil
			}
			got := obs.Tags.Tags
			if len(got) == 0 {
				got = nil
			}
			assert.Equal(t, want, got, "step %d: tags are the complete set written", i)
		}
	}
}

func keyLastUsed(t *testing.T, d driver.UserDriver, info abi.DriverInfo, p abi.ProviderConfig, unsupported []string) {
	ctx := t.Context()
	name := UserName("used")
	cleanupUser(t, d, p, name)
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}))
	key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err)
	obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserLastUsed}})
	require.NoError(t, err)
	require.Len(t, obs.Keys, 1, "lastUsed implies keys: the key is listed either way")
	assert.Equal(t, key.ID, obs.Keys[0].ID)
	if !info.Supports(abi.CapKeyLastUsed) || slices.Contains(unsupported, abi.UserLastUsed) {
		assert.Contains(t, obs.Unsupported, abi.UserLastUsed, "lastUsed is reported unsupported")
		return
	}
	assert.NotContains(t, obs.Unsupported, abi.UserLastUsed)
	assert.True(t, obs.Keys[0].LastUsed.IsZero(), "a key that never signed a request has no last use")
}

// inlinePolicy checks what userPart does not: a policy given with the
// create, the name that selects it, refusals of malformed requests, and a
// delete of a user that has one.
func inlinePolicy(t *testing.T, d driver.UserDriver, p abi.ProviderConfig) {
	ctx := t.Context()
	name := UserName("pol")
	cleanupUser(t, d, p, name)
	pol := &abi.UserPolicyDoc{Name: policyName(name), Document: ListOnlyPolicy}
	look := abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: pol.Name}}
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true, Policy: pol}), "create with a policy")
	obs, err := d.ObserveUser(ctx, p, look)
	require.NoError(t, err)
	require.NotNil(t, obs.Policy)
	assert.Equal(t, pol.Name, obs.Policy.Name)
	assert.True(t, policydoc.Same(ListOnlyPolicy, obs.Policy.Document), "the policy given with the create reads back: %s", obs.Policy.Document)

	other := &abi.UserPolicyDoc{Name: pol.Name + "-other"}
	obs, err = d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}, Policy: other})
	require.NoError(t, err)
	assert.Equal(t, other, obs.Policy, "no policy of that name: an empty document")

	_, err = d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserPolicy}})
	assertCode(t, abi.CodeInvalidArgument, false, err, "observing the policy without its name")
	err = d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: pol.Name, Document: "{not json"}})
	assertCode(t, abi.CodeInvalidArgument, false, err, "a malformed policy document")

	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name, Policy: &abi.UserPolicyDoc{Name: pol.Name}}), "a user with an inline policy is deleted, policy first")
	obs, err = d.ObserveUser(ctx, p, look)
	require.NoError(t, err)
	assert.False(t, obs.Exists, "the user with a policy is gone")
}

// wrongUserCredentials: wrong credentials are AccessDenied without the
// secret; an unreachable endpoint is Unavailable after one quick attempt.
func wrongUserCredentials(t *testing.T, d driver.UserDriver, p abi.ProviderConfig) {
	ctx := t.Context()
	bad := withCreds(p, p.Credentials.AccessKeyID, "not-the-secret-key-of-this-test")
	_, err := d.ObserveUser(ctx, bad, abi.UserArgs{Name: UserName("denied")})
	assertCode(t, abi.CodeAccessDenied, false, err, "ObserveUser with a wrong secret")
	if err != nil {
		assert.NotContains(t, err.Error(), p.Credentials.SecretAccessKey, "an error never carries the secret")
		assert.NotContains(t, err.Error(), bad.Credentials.SecretAccessKey, "an error never carries the secret")
	}
	err = d.ApplyUser(ctx, bad, abi.UserArgs{Name: UserName("denied"), Create: true})
	assertCode(t, abi.CodeAccessDenied, false, err, "ApplyUser with a wrong secret")
	unknown := withCreds(p, "PAILUNKNOWNKEY000000", "not-the-secret-key-of-this-test")
	err = d.ApplyUser(ctx, unknown, abi.UserArgs{Name: UserName("denied"), Create: true})
	assertCode(t, abi.CodeAccessDenied, false, err, "ApplyUser with an unknown access key")

	closed := p
	closed.Endpoint = "http://" + closedAddr(t)
	if closed.IAMEndpoint != "" {
		closed.IAMEndpoint = closed.Endpoint
	}
	start := time.Now()
	_, err = d.CreateAccessKey(ctx, closed, abi.AccessKeyArgs{User: UserName("down")})
	assertCode(t, abi.CodeUnavailable, true, err, "CreateAccessKey against a closed port")
	assert.Less(t, time.Since(start), quickFailure, "one attempt only: the host owns retries")
}

// keyWorks proves that a created key signs the driver's own requests to the
// endpoint, within the limits of its user's inline policy, that its use is
// recorded, and that it stops working when made inactive.
func keyWorks(t *testing.T, d driver.UserDriver, ut userTarget) {
	ctx, p, info := t.Context(), ut.p, ut.info
	name := UserName("s3")
	cleanupUser(t, d, p, name)
	args := abi.UserArgs{Name: name, Create: true}
	if info.Supports(abi.CapInlinePolicy) && !slices.Contains(ut.unsupported, abi.UserPolicy) {
		args.Policy = &abi.UserPolicyDoc{Name: policyName(name), Document: ListOnlyPolicy}
	}
	require.NoError(t, d.ApplyUser(ctx, p, args))
	key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err)
	as := withCreds(p, key.ID, key.Secret.Reveal())

	eventually(t, ut.propagation, "CheckProvider with the new key", func() error { return ut.d.CheckProvider(ctx, as) })
	if args.Policy != nil {
		bucket := abi.BucketArgs{Name: BucketName("denied"), Create: true}
		err := ut.d.ApplyBucket(ctx, as, bucket)
		if err == nil {
			_ = ut.d.DeleteBucket(context.Background(), p, bucket)
		}
		assertCode(t, abi.CodeAccessDenied, false, err, "creating a bucket with a key whose policy allows only ListAllMyBuckets")
	}
	if ut.lastUsedAtOnce && info.Supports(abi.CapKeyLastUsed) && !slices.Contains(ut.unsupported, abi.UserLastUsed) {
		obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserLastUsed}})
		require.NoError(t, err)
		require.Len(t, obs.Keys, 1, "lastUsed implies keys")
		assert.WithinDuration(t, time.Now(), obs.Keys[0].LastUsed, time.Minute, "the signed request is recorded as the key's last use")
	}

	require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: abi.KeyInactive}))
	eventually(t, ut.propagation, "an inactive key is refused", func() error {
		if err := ut.d.CheckProvider(ctx, as); abi.CodeOf(err) != abi.CodeAccessDenied {
			return fmt.Errorf("CheckProvider with the inactive key: want AccessDenied, got %w", err)
		}
		return nil
	})
}

// eventually retries f once a second until it succeeds or within has
// passed (at least once).
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
