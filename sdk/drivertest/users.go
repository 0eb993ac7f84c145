package drivertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// listOnly allows listing buckets and nothing else.
const listOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["*"]}]}`

func users(t *testing.T, d driver.UserDriver, info abi.DriverInfo, p abi.ProviderConfig, unsupported []string) {
	t.Run("lifecycle", func(t *testing.T) { userLifecycle(t, d, p) })
	t.Run(abi.CapInlinePolicy, func(t *testing.T) {
		userPart(t, d, info, p, unsupported, abi.CapInlinePolicy, abi.UserPolicy)
	})
	t.Run(abi.CapUserTags, func(t *testing.T) {
		userPart(t, d, info, p, unsupported, abi.CapUserTags, abi.UserTags)
	})
	t.Run(abi.CapKeyLastUsed, func(t *testing.T) { keyLastUsed(t, d, info, p, unsupported) })
	t.Run("wrong credentials are AccessDenied", func(t *testing.T) {
		bad := withCreds(p, p.Credentials.AccessKeyID, "not-the-secret-key-of-this-test")
		_, err := d.ObserveUser(t.Context(), bad, abi.UserArgs{Name: UserName("denied")})
		assertCode(t, abi.CodeAccessDenied, false, err, "ObserveUser")
		err = d.ApplyUser(t.Context(), bad, abi.UserArgs{Name: UserName("denied"), Create: true})
		assertCode(t, abi.CodeAccessDenied, false, err, "ApplyUser")
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

func userLifecycle(t *testing.T, d driver.UserDriver, p abi.ProviderConfig) {
	ctx := t.Context()
	name := UserName("conf")
	cleanupUser(t, d, p, name)
	observe := func(step string) abi.UserObservation {
		t.Helper()
		obs, err := d.ObserveUser(ctx, p, abi.UserArgs{Name: name, Observe: []string{abi.UserKeys}})
		require.NoError(t, err, step)
		return obs
	}
	keyStatus := func(obs abi.UserObservation, id string) string {
		for _, k := range obs.Keys {
			if k.ID == id {
				return k.Status
			}
		}
		return ""
	}

	assert.Equal(t, abi.UserObservation{}, observe("absent"), "a missing user is exists=false and nothing else")
	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "deleting a missing user is success")
	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: "PAILNOSUCHKEY0000000"}), "deleting a key of a missing user is success")
	_, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	assertCode(t, abi.CodeNotFound, false, err, "CreateAccessKey for a missing user")

	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}), "create")
	obs := observe("created")
	assert.True(t, obs.Exists)
	assert.Empty(t, obs.Keys, "a new user has no keys")
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: name, Create: true}), "creating an existing user is success")

	key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: name})
	require.NoError(t, err, "CreateAccessKey")
	require.NotEmpty(t, key.ID, "key id")
	require.NotEmpty(t, string(key.Secret), "key secret")
	assert.Equal(t, abi.KeyActive, keyStatus(observe("key created"), key.ID), "a new key is listed, Active")

	for _, st := range []string{abi.KeyInactive, abi.KeyInactive, abi.KeyActive} {
		require.NoError(t, d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID, Status: st}), "UpdateAccessKey %s", st)
		assert.Equal(t, st, keyStatus(observe("key updated"), key.ID))
	}
	err = d.UpdateAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: "PAILNOSUCHKEY0000000", Status: abi.KeyInactive})
	assertCode(t, abi.CodeNotFound, false, err, "UpdateAccessKey of a key the user does not have")

	err = d.DeleteUser(ctx, p, abi.UserArgs{Name: name})
	assertCode(t, abi.CodeConflict, false, err, "DeleteUser of a user that still has keys")
	assert.True(t, observe("refused delete").Exists, "a refused delete leaves the user in place")

	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID}), "DeleteAccessKey")
	require.NoError(t, d.DeleteAccessKey(ctx, p, abi.AccessKeyArgs{User: name, ID: key.ID}), "deleting a deleted key is success")
	assert.Empty(t, keyStatus(observe("key deleted"), key.ID), "a deleted key is no longer listed")

	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "DeleteUser")
	assert.Equal(t, abi.UserObservation{}, observe("deleted"), "a deleted user is exists=false and nothing else")
	require.NoError(t, d.DeleteUser(ctx, p, abi.UserArgs{Name: name}), "deleting a deleted user is success")
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
	set, reset := any(listOnly), any("")
	steps := []any{set, set, reset, reset}
	if part == abi.UserTags {
		set = map[string]string{"team": "pail", "env": "test"}
		steps = []any{set, set, map[string]string{"team": "pail"}, map[string]string{}}
	}

	if !info.Supports(capability) || slices.Contains(unsupported, part) {
		why := "driver " + info.Name + " does not declare " + capability
		if info.Supports(capability) {
			why = "the server does not implement " + part
		}
		assertCode(t, abi.CodeUnimplemented, false, write(set), "ApplyUser with "+part+" ("+why+")")
		obs := observe("unsupported")
		assert.Contains(t, obs.Unsupported, part, "ObserveUser reports %s unsupported (%s)", part, why)
		return
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
