package accesskey

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/bucket"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// iam is an in-memory provider user behind driver.Funcs: the decision tests run the AccessKey's phases against
// it, with no server.
type iam struct {
	caps   []string
	exists bool
	policy string
	tags   map[string]string
	keys   []abi.AccessKeyInfo
	n      int

	applyErr error
	// what was written
	applied     []abi.UserArgs
	created     []string
	deleted     []string
	userDeleted bool
}

func (m *iam) driver() driver.Driver {
	return driver.Funcs{
		Info: abi.DriverInfo{Name: "mem", Capabilities: m.caps},
		ObserveUserFn: func(_ context.Context, _ abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error) {
			if !m.exists {
				return abi.UserObservation{}, nil
			}
			obs := abi.UserObservation{Exists: true, Keys: slices.Clone(m.keys)}
			if slices.Contains(u.Observe, abi.UserPolicy) {
				obs.Policy = &abi.UserPolicyDoc{Name: u.Name, Document: m.policy}
			}
			if slices.Contains(u.Observe, abi.UserTags) {
				obs.Tags = &abi.Tagging{Tags: maps.Clone(m.tags)}
			}
			return obs, nil
		},
		ApplyUserFn: func(_ context.Context, _ abi.ProviderConfig, u abi.UserArgs) error {
			m.applied = append(m.applied, u)
			if m.applyErr != nil {
				return m.applyErr
			}
			m.exists = true
			if u.Policy != nil {
				m.policy = u.Policy.Document
			}
			if u.Tags != nil {
				m.tags = maps.Clone(u.Tags.Tags)
			}
			return nil
		},
		DeleteUserFn: func(context.Context, abi.ProviderConfig, abi.UserArgs) error {
			m.userDeleted, m.exists = true, false
			return nil
		},
		CreateAccessKeyFn: func(context.Context, abi.ProviderConfig, abi.AccessKeyArgs) (abi.NewAccessKey, error) {
			m.n++
			id := fmt.Sprintf("AKIA%d", m.n)
			m.keys = append(m.keys, abi.AccessKeyInfo{ID: id, Status: abi.KeyActive})
			m.created = append(m.created, id)
			return abi.NewAccessKey{ID: id, Secret: abi.Secret("secret-" + id)}, nil
		},
		UpdateAccessKeyFn: func(_ context.Context, _ abi.ProviderConfig, k abi.AccessKeyArgs) error {
			for i := range m.keys {
				if m.keys[i].ID == k.ID {
					m.keys[i].Status = k.Status
				}
			}
			return nil
		},
		DeleteAccessKeyFn: func(_ context.Context, _ abi.ProviderConfig, k abi.AccessKeyArgs) error {
			m.keys = slices.DeleteFunc(m.keys, func(i abi.AccessKeyInfo) bool { return i.ID == k.ID })
			m.deleted = append(m.deleted, k.ID)
			return nil
		},
	}
}

// all is every capability the controller uses.
var all = []string{abi.CapAccessKeys, abi.CapInlinePolicy, abi.CapUserTags}

var (
	engineOnce sync.Once
	engine     *policy.Engine
	errEngine  error
)

// identityEngine is a real policy Engine with the embedded identity pack.
func identityEngine(t *testing.T) *policy.Engine {
	t.Helper()
	engineOnce.Do(func() {
		src, err := os.ReadFile("../../../policies/identity/identity.rego")
		if err != nil {
			errEngine = err
			return
		}
		engine = policy.NewEngine()
		errEngine = engine.SetPack(context.Background(), IdentityPack, map[string]string{"identity.rego": string(src)})
	})
	require.NoError(t, errEngine)
	return engine
}

// locIndex is the bucket controller's location index, which the grant
// rule reads.
var locIndex, locIndexFn = bucket.LocationIndex()

// env is one AccessKey's world: the backend, a fake apiserver holding the
// AccessKey and its Secret, and the clock.
type env struct {
	t      *testing.T
	r      *Reconciler
	c      client.Client
	b      *iam
	events *events.FakeRecorder
	now    time.Time
}

func newEnv(t *testing.T, b *iam, ak *pailv1.AccessKey) *env {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(scheme))
	require.NoError(t, pailv1.AddToScheme(scheme))
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ak.DeepCopy()).WithStatusSubresource(&pailv1.AccessKey{}).
		WithIndex(&pailv1.AccessKey{}, indexUser, func(o client.Object) []string { return []string{UserName(o.(*pailv1.AccessKey))} }).
		WithIndex(&pailv1.Bucket{}, locIndex, locIndexFn).
		Build()
	e := &env{t: t, c: c, b: b, events: events.NewFakeRecorder(50), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	e.r = &Reconciler{Client: c, Reader: c, Scheme: scheme, Recorder: e.events, Engine: identityEngine(t), Now: func() time.Time { return e.now }}
	e.r.setup()
	// The fake apiserver's copy is the one the status writes go to.
	require.NoError(t, c.Get(context.Background(), client.ObjectKeyFromObject(ak), ak))
	return e
}

// outcome is what one reconcile did, as the tests check it.
type outcome struct {
	s      *state
	step   managed.Step
	err    error
	events []string
}

// reconcile runs the AccessKey's phases (all but the Provider lookup, which
// the test supplies) and the rule chain, as the skeleton does.
func (e *env) reconcile(ak *pailv1.AccessKey) outcome {
	e.t.Helper()
	p := testProvider(ak.Namespace)
	s := &state{deleting: !ak.DeletionTimestamp.IsZero(), user: UserName(ak), now: e.now, p: p, conn: &connect.Connection{Driver: e.b.driver()}}
	phases := e.r.syncPhases()
	if s.deleting {
		phases = e.r.deletePhases()
	} else {
		ak.Status.ObservedGeneration = ak.Generation
	}
	var rest []managed.Phase[*pailv1.AccessKey, state]
	for _, ph := range phases {
		if ph.Name != "provider" {
			rest = append(rest, ph)
		}
	}
	step, err := managed.Run(context.Background(), ak, s, rest)
	report(ak, s, err)
	out := outcome{s: s, step: step, err: err}
	for len(e.events.Events) > 0 {
		out.events = append(out.events, <-e.events.Events)
	}
	return out
}

// secret is the AccessKey's Secret as the apiserver holds it.
func (e *env) secret(ak *pailv1.AccessKey) (*corev1.Secret, bool) {
	var s corev1.Secret
	err := e.c.Get(context.Background(), types.NamespacedName{Namespace: ak.Namespace, Name: secretName(ak)}, &s)
	if err != nil {
		return nil, false
	}
	return &s, true
}

const readPhotos = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}`

func newKey(mut func(*pailv1.AccessKey)) *pailv1.AccessKey {
	a := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "app", UID: "1f0c2a9e-0000-4000-8000-000000000000", Generation: 1}}
	a.Spec.ProviderRef.Name = "p"
	a.Spec.Policy = &runtime.RawExtension{Raw: []byte(readPhotos)}
	a.Spec.Tags = map[string]string{"team": "a"}
	a.Spec.Secret.IncludeEndpoint = true
	if mut != nil {
		mut(a)
	}
	return a
}

func ready(t *testing.T, ak *pailv1.AccessKey) *metav1.Condition {
	t.Helper()
	c := meta.FindStatusCondition(ak.Status.Conditions, pailv1.ConditionReady)
	require.NotNil(t, c, "Ready")
	return c
}

func hasEvent(events []string, reason string) bool {
	return slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, " "+reason+" ") })
}

// TestAccessKeyCreate: a new AccessKey creates the user with its policy
// and tags, one key, and a Secret holding that key and the endpoint.
func TestAccessKeyCreate(t *testing.T) {
	b := &iam{caps: all}
	ak := newKey(nil)
	e := newEnv(t, b, ak)
	out := e.reconcile(ak)
	require.NoError(t, out.err)

	require.Len(t, b.applied, 1, "one user write")
	u := b.applied[0]
	assert.True(t, u.Create)
	require.NotNil(t, u.Policy)
	assert.JSONEq(t, readPhotos, u.Policy.Document)
	assert.Equal(t, map[string]string{"team": "a", pailv1.TagOwner: ownerTag(ak)}, u.Tags.Tags)
	require.Equal(t, []string{"AKIA1"}, b.created)

	sec, ok := e.secret(ak)
	require.True(t, ok, "the Secret is written")
	assert.Equal(t, "AKIA1", string(sec.Data["AWS_ACCESS_KEY_ID"]))
	assert.Equal(t, "secret-AKIA1", string(sec.Data["AWS_SECRET_ACCESS_KEY"]))
	assert.Equal(t, "http://s3.test", string(sec.Data[keyEndpoint]))
	assert.NotContains(t, sec.Data, keyRegion, "only what the spec includes")
	assert.Empty(t, sec.Annotations[pailv1.AnnotationPendingKey], "the pending marker is cleared with the key stored")
	assert.True(t, metav1.IsControlledBy(sec, ak))

	assert.Equal(t, pailv1.ReasonAvailable, ready(t, ak).Reason, ready(t, ak).Message)
	assert.Equal(t, "AKIA1", ak.Status.AccessKeyID)
	assert.NotNil(t, ak.Status.Location, "the location is recorded before the first write")
	assert.Contains(t, ak.Finalizers, pailv1.AccessKeyFinalizer)
	assert.NotEmpty(t, ak.Status.PolicyHash)
	assert.True(t, meta.IsStatusConditionTrue(ak.Status.Conditions, pailv1.ConditionPolicyValid))
	assert.True(t, hasEvent(out.events, pailv1.ReasonUserCreated) && hasEvent(out.events, pailv1.ReasonKeyCreated), out.events)
	assert.Equal(t, e.r.ResyncPeriod, out.step.Result.RequeueAfter, "next look at the resync")
}

// TestAccessKeyInSync: a second reconcile of the same state writes nothing
// anywhere and emits no event.
func TestAccessKeyInSync(t *testing.T) {
	b := &iam{caps: all}
	ak := newKey(nil)
	e := newEnv(t, b, ak)
	require.NoError(t, e.reconcile(ak).err)
	sec, _ := e.secret(ak)
	conds := slices.Clone(ak.Status.Conditions)

	out := e.reconcile(ak)
	require.NoError(t, out.err)
	assert.Len(t, b.applied, 1, "no user write")
	assert.Len(t, b.created, 1, "no key created")
	assert.Empty(t, b.deleted)
	after, _ := e.secret(ak)
	assert.Equal(t, sec.ResourceVersion, after.ResourceVersion, "the Secret is not written")
	assert.Equal(t, conds, ak.Status.Conditions)
	assert.Empty(t, out.events)
}

// TestAccessKeyDrift: a policy or tags changed behind Pail's back are
// written back, and only those.
func TestAccessKeyDrift(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drift func(*iam)
		want  string
	}{
		{"policy", func(b *iam) {
			b.policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
		}, "policy"},
		{"tags", func(b *iam) { b.tags = map[string]string{"team": "b"} }, "tags"},
		{"both", func(b *iam) { b.policy, b.tags = "", nil }, "policy and tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &iam{caps: all}
			ak := newKey(nil)
			e := newEnv(t, b, ak)
			require.NoError(t, e.reconcile(ak).err)
			tc.drift(b)
			out := e.reconcile(ak)
			require.NoError(t, out.err)
			require.Len(t, b.applied, 2)
			w := b.applied[1]
			assert.False(t, w.Create)
			assert.Equal(t, strings.Contains(tc.want, "policy"), w.Policy != nil, "the policy is written only when it drifted")
			assert.Equal(t, strings.Contains(tc.want, "tags"), w.Tags != nil, "the tags are written only when they drifted")
			assert.JSONEq(t, readPhotos, b.policy)
			assert.Equal(t, "a", b.tags["team"])
			assert.Contains(t, out.events, "Normal Applied Applied the "+tc.want+" of user "+UserName(ak))
			assert.Len(t, b.created, 1, "the key stays")
			assert.Equal(t, pailv1.ReasonAvailable, ready(t, ak).Reason)
		})
	}
}

// TestAccessKeyUnsupported: what the driver cannot apply is named, the rest
// applied; a driver without users at all touches nothing.
func TestAccessKeyUnsupported(t *testing.T) {
	b := &iam{caps: []string{abi.CapAccessKeys}}
	ak := newKey(nil)
	e := newEnv(t, b, ak)
	require.NoError(t, e.reconcile(ak).err)
	require.Len(t, b.applied, 1)
	assert.Nil(t, b.applied[0].Policy)
	assert.Nil(t, b.applied[0].Tags)
	assert.Len(t, b.created, 1, "the key is still created")
	u := meta.FindStatusCondition(ak.Status.Conditions, pailv1.ConditionUnsupported)
	require.NotNil(t, u)
	assert.Equal(t, metav1.ConditionTrue, u.Status)
	assert.Contains(t, u.Message, "an identity policy (spec.policy, spec.buckets) or user tags (spec.tags)")
	assert.Equal(t, pailv1.ReasonUnsupported, ready(t, ak).Reason)
	assert.Equal(t, u.Message, ready(t, ak).Message)
	assert.True(t, meta.IsStatusConditionTrue(ak.Status.Conditions, pailv1.ConditionSynced))

	none := &iam{}
	ak = newKey(nil)
	e = newEnv(t, none, ak)
	require.NoError(t, e.reconcile(ak).err)
	assert.Empty(t, none.applied)
	assert.Equal(t, pailv1.ReasonUnsupported, ready(t, ak).Reason)
	assert.Contains(t, ready(t, ak).Message, abi.CapAccessKeys)
	assert.Nil(t, ak.Status.Location, "nothing is recorded: nothing was written")
}

// TestAccessKeyPolicyDenied: the real identity pack refuses an
// administrator's policy, and nothing is created.
func TestAccessKeyPolicyDenied(t *testing.T) {
	b := &iam{caps: all}
	ak := newKey(func(a *pailv1.AccessKey) {
		a.Spec.Policy.Raw = []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	})
	e := newEnv(t, b, ak)
	out := e.reconcile(ak)
	require.NoError(t, out.err)
	assert.Empty(t, b.applied, "no user is created")
	assert.Empty(t, b.created)
	_, ok := e.secret(ak)
	assert.False(t, ok, "no Secret is written")
	pv := meta.FindStatusCondition(ak.Status.Conditions, pailv1.ConditionPolicyValid)
	require.NotNil(t, pv)
	assert.Equal(t, pailv1.ReasonPolicyDenied, pv.Reason)
	assert.Contains(t, pv.Message, "administrator of every bucket")
	assert.Equal(t, pailv1.ReasonPolicyDenied, ready(t, ak).Reason)
	assert.True(t, hasEvent(out.events, pailv1.ReasonPolicyDenied))
	assert.Empty(t, e.reconcile(ak).events, "the denial is announced once")
}

// TestPolicyFinding: how the packs' result becomes PolicyValid, and which
// results stop the sync.
func TestPolicyFinding(t *testing.T) {
	for _, tc := range []struct {
		res    policy.Result
		err    error
		status metav1.ConditionStatus
		reason string
		stops  bool
	}{
		{err: errors.New("pack missing"), status: metav1.ConditionFalse, reason: pailv1.ReasonPacksUnavailable, stops: true},
		{res: policy.Result{Deny: []string{"no"}, Warn: []string{"hm"}}, status: metav1.ConditionFalse, reason: pailv1.ReasonPolicyDenied, stops: true},
		{res: policy.Result{Warn: []string{"hm"}}, status: metav1.ConditionTrue, reason: pailv1.ReasonPolicyWarnings},
		{status: metav1.ConditionTrue, reason: pailv1.ReasonPolicyAllowed},
	} {
		c := policyFinding(tc.res, tc.err)
		assert.Equal(t, tc.status, c.status, tc.reason)
		assert.Equal(t, tc.reason, c.reason)
		r := &Reconciler{Recorder: events.NewFakeRecorder(5)}
		s := &state{policy: c}
		step, err := r.judgePolicy(&pailv1.AccessKey{}, s)
		require.NoError(t, err)
		assert.Equal(t, tc.stops, step.Stopped(), tc.reason)
		assert.Equal(t, tc.stops, s.verdict != nil, tc.reason)
	}
}

// TestAccessKeyBackendErrors: a refusal a retry cannot fix is terminal in
// the spec; a denied access is the backend's state, retried slowly; either
// way Ready says BackendError, with one event.
func TestAccessKeyBackendErrors(t *testing.T) {
	for _, tc := range []struct {
		code  abi.Code
		class managed.Class
	}{
		{abi.CodeAccessDenied, managed.StateError},
		{abi.CodeInvalidArgument, managed.SpecError},
		{abi.CodeUnimplemented, managed.SpecError},
		{abi.CodeUnavailable, managed.Retryable},
	} {
		t.Run(string(tc.code), func(t *testing.T) {
			b := &iam{caps: all, applyErr: abi.Errorf(tc.code, "refused")}
			ak := newKey(nil)
			e := newEnv(t, b, ak)
			out := e.reconcile(ak)
			assert.Equal(t, tc.class, managed.ClassOf(out.err), "class of %v", out.err)
			assert.Equal(t, pailv1.ReasonBackendError, ready(t, ak).Reason)
			assert.Contains(t, ready(t, ak).Message, "Could not manage user "+UserName(ak)+": ")
			assert.Equal(t, metav1.ConditionFalse, meta.FindStatusCondition(ak.Status.Conditions, pailv1.ConditionSynced).Status)
			assert.Empty(t, b.created, "no key without the user")
			assert.True(t, hasEvent(out.events, pailv1.ReasonBackendError))
			assert.Empty(t, e.reconcile(ak).events, "the retry that fails again is quiet")
		})
	}
	// A policy that is not JSON cannot be fixed by a retry either.
	ak := newKey(func(a *pailv1.AccessKey) { a.Spec.Policy.Raw = []byte(`[1]`) })
	e := newEnv(t, &iam{caps: all}, ak)
	out := e.reconcile(ak)
	assert.Equal(t, managed.SpecError, managed.ClassOf(out.err))
	assert.Equal(t, pailv1.ReasonPolicyNotJSON, ready(t, ak).Reason)
}

// TestAccessKeyDelete: each deletionPolicy, on an AccessKey that created
// its user and key.
func TestAccessKeyDelete(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  pailv1.DeletionPolicy
		foreign bool
		// want
		userDeleted bool
		keysLeft    []string
		secret      bool // the Secret stays
		event       string
	}{
		{name: "Retain keeps the user and orphans the Secret", policy: pailv1.DeletionRetain,
			keysLeft: []string{"AKIA1"}, secret: true, event: pailv1.ReasonRetained},
		{name: "Delete deletes its key and the user", policy: pailv1.DeletionDelete,
			userDeleted: true, event: pailv1.ReasonUserDeleted},
		{name: "a foreign key keeps the user", policy: pailv1.DeletionDelete, foreign: true,
			keysLeft: []string{"FOREIGN"}, event: pailv1.ReasonRetained},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &iam{caps: all}
			ak := newKey(nil)
			e := newEnv(t, b, ak)
			require.NoError(t, e.reconcile(ak).err)
			if tc.foreign {
				b.keys = append(b.keys, abi.AccessKeyInfo{ID: "FOREIGN", Status: abi.KeyActive})
			}
			now := metav1.Now()
			ak.DeletionTimestamp, ak.Spec.DeletionPolicy = &now, tc.policy
			out := e.reconcile(ak)
			require.NoError(t, out.err)
			assert.True(t, out.s.released, "the finalizer may go")
			assert.Equal(t, tc.userDeleted, b.userDeleted, "user deleted")
			assert.Equal(t, tc.keysLeft, keyIDs(b.keys), "keys left at the provider")
			assert.True(t, hasEvent(out.events, tc.event), out.events)
			sec, ok := e.secret(ak)
			assert.Equal(t, tc.secret, ok, "the Secret stays")
			if ok {
				assert.Empty(t, sec.OwnerReferences, "garbage collection leaves it")
				assert.Equal(t, "AKIA1", string(sec.Data["AWS_ACCESS_KEY_ID"]))
			}
		})
	}
	// An AccessKey that never wrote anything leaves a user of its name alone.
	b := &iam{caps: all, exists: true, keys: []abi.AccessKeyInfo{{ID: "THEIRS"}}}
	ak := newKey(func(a *pailv1.AccessKey) { a.Spec.DeletionPolicy = pailv1.DeletionDelete })
	e := newEnv(t, b, ak)
	now := metav1.Now()
	ak.DeletionTimestamp = &now
	out := e.reconcile(ak)
	assert.True(t, out.s.released)
	assert.False(t, b.userDeleted)
	assert.Empty(t, b.deleted)
}

func keyIDs(keys []abi.AccessKeyInfo) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

// TestAccessKeyLostAndRotated: a key deleted behind Pail's back is reported
// lost, then replaced; a new trigger rotates with overlap, and the previous
// key goes when its retention ends.
func TestAccessKeyLostAndRotated(t *testing.T) {
	b := &iam{caps: all}
	ak := newKey(nil)
	e := newEnv(t, b, ak)
	require.NoError(t, e.reconcile(ak).err)

	b.keys = nil // deleted at the provider by someone else
	out := e.reconcile(ak)
	require.NoError(t, out.err)
	assert.Equal(t, pailv1.ReasonKeyLost, ready(t, ak).Reason)
	assert.Equal(t, lostRequeue, out.step.Result.RequeueAfter)
	assert.Empty(t, b.created[1:], "the loss is reported before a new key is made")
	require.NoError(t, e.reconcile(ak).err)
	assert.Equal(t, []string{"AKIA1", "AKIA2"}, b.created)
	assert.Equal(t, pailv1.ReasonAvailable, ready(t, ak).Reason)

	ak.Spec.Rotation = &pailv1.Rotation{Trigger: "one"}
	out = e.reconcile(ak)
	require.NoError(t, out.err)
	assert.Equal(t, []string{"AKIA2", "AKIA3"}, keyIDs(b.keys), "the previous key overlaps")
	sec, _ := e.secret(ak)
	assert.Equal(t, "AKIA2", string(sec.Data["AWS_ACCESS_KEY_ID"+previousSuffix]))
	assert.Equal(t, pailv1.ReasonPreviousKeyActive, meta.FindStatusCondition(ak.Status.Conditions, pailv1.ConditionRotating).Reason)
	require.NotNil(t, ak.Status.PreviousKeyExpiresAt)
	assert.Equal(t, e.now.Add(DefaultRetention), ak.Status.PreviousKeyExpiresAt.Time, "the previous key retires after the default retention")

	e.now = e.now.Add(DefaultRetention)
	require.NoError(t, e.reconcile(ak).err)
	assert.Equal(t, []string{"AKIA3"}, keyIDs(b.keys), "retired after its retention")
	sec, _ = e.secret(ak)
	assert.NotContains(t, sec.Data, "AWS_ACCESS_KEY_ID"+previousSuffix)
	assert.Empty(t, sec.Annotations[pailv1.AnnotationRetiredKeys])
}

// TestDecide: the key action from the record, the spec and the clock.
func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cur := keyPair{ID: "A", Secret: "s"}
	withRotation := func(r pailv1.Rotation) *pailv1.AccessKey {
		a := &pailv1.AccessKey{}
		a.Spec.Rotation = &r
		return a
	}
	day := &pailv1.Duration{Duration: 24 * time.Hour}
	for _, tc := range []struct {
		name    string
		ak      *pailv1.AccessKey
		rec     keyRecord
		pending time.Duration
		want    keyDecision
	}{
		{"no key: create", &pailv1.AccessKey{}, keyRecord{}, 0, keyDecision{createKey, dueCreate}},
		{"no key, a create in flight: hold", &pailv1.AccessKey{}, keyRecord{}, time.Second, keyDecision{holdFirstKey, dueCreate}},
		{"a key, nothing due: keep", &pailv1.AccessKey{}, keyRecord{Current: cur, Created: now}, 0, keyDecision{action: keepKeys}},
		{"new trigger: rotate", withRotation(pailv1.Rotation{Trigger: "b"}), keyRecord{Current: cur, Trigger: "a"}, 0, keyDecision{createKey, dueTrigger}},
		{"interval passed: rotate", withRotation(pailv1.Rotation{Interval: day}), keyRecord{Current: cur, Created: now.Add(-25 * time.Hour)}, 0, keyDecision{createKey, dueInterval}},
		{"interval not yet", withRotation(pailv1.Rotation{Interval: day}), keyRecord{Current: cur, Created: now.Add(-time.Hour)}, 0, keyDecision{action: keepKeys}},
		{"previous still promised: wait", withRotation(pailv1.Rotation{Trigger: "b"}), keyRecord{Current: cur, Previous: keyPair{ID: "P", Secret: "p"}}, 0, keyDecision{awaitRetention, dueTrigger}},
		{"rotation with a create in flight: wait", withRotation(pailv1.Rotation{Trigger: "b"}), keyRecord{Current: cur}, time.Second, keyDecision{awaitPending, dueTrigger}},
	} {
		assert.Equal(t, tc.want, decide(tc.ak, tc.rec, tc.pending, now), tc.name)
	}
}

// testProvider is the Provider every decision test's AccessKey is on.
func testProvider(ns string) *pailv1.Provider {
	return &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}, Spec: pailv1.ProviderSpec{Endpoint: "http://s3.test", Region: "eu-1", Driver: "mem"}}
}

// ownedBucket stores a Bucket of namespace ns on provider that owns bucket
// name at endpoint ("": where the test Provider points).
func (e *env) ownedBucket(ns, name, provider, endpoint string) {
	e.t.Helper()
	b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	b.Spec.ProviderRef.Name, b.Spec.BucketName = provider, name
	b.Status.Ownership = pailv1.OwnershipCreated
	loc := connect.LocationOf(testProvider(ns))
	if endpoint != "" {
		loc = pailv1.Location{Endpoint: endpoint}
	}
	b.Status.Location = &loc
	require.NoError(e.t, e.c.Create(context.Background(), b))
}

// TestAccessKeyGrantRefused: a grant across tenants (a Bucket of another
// Provider elsewhere in spec.buckets, a bucket of another namespace in
// spec.policy) writes no user and no key; PolicyValid and Ready say
// GrantRefused, with one event. A grant on the namespace's own bucket, or
// on a Bucket of another Provider at the same backend, goes through.
func TestAccessKeyGrantRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mut     func(*pailv1.AccessKey)
		refused string
	}{
		{name: "bucket of another namespace in spec.policy", refused: "bucket photos, which a Bucket of namespace team-b manages"},
		{name: "Bucket of another Provider in spec.buckets", mut: func(a *pailv1.AccessKey) {
			a.Spec.Policy = nil
			a.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "elsewhere"}, Access: pailv1.AccessReadOnly}}
		}, refused: "spec.buckets[0] names Bucket elsewhere of Provider q, whose bucket is at http://elsewhere.test"},
		{name: "Bucket of another Provider at the user's location", mut: func(a *pailv1.AccessKey) {
			a.Spec.Policy = nil
			a.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "beside"}, Access: pailv1.AccessReadOnly}}
		}},
		{name: "own bucket", mut: func(a *pailv1.AccessKey) {
			a.Spec.Policy.Raw = []byte(strings.ReplaceAll(readPhotos, "photos", "mine"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &iam{caps: all}
			ak := newKey(tc.mut)
			e := newEnv(t, b, ak)
			e.ownedBucket("team-b", "photos", "p", "")
			e.ownedBucket("team-a", "elsewhere", "q", "http://elsewhere.test")
			e.ownedBucket("team-a", "beside", "q", "")
			e.ownedBucket("team-a", "mine", "p", "")
			out := e.reconcile(ak)
			require.NoError(t, out.err)
			valid := meta.FindStatusCondition(ak.Status.Conditions, pailv1.ConditionPolicyValid)
			require.NotNil(t, valid)
			if tc.refused == "" {
				assert.Equal(t, pailv1.ReasonAvailable, ready(t, ak).Reason, ready(t, ak).Message)
				assert.Len(t, b.applied, 1, "the user is written")
				return
			}
			assert.Equal(t, pailv1.ReasonGrantRefused, ready(t, ak).Reason)
			assert.Contains(t, ready(t, ak).Message, tc.refused)
			assert.Equal(t, metav1.ConditionFalse, valid.Status)
			assert.Equal(t, pailv1.ReasonGrantRefused, valid.Reason)
			assert.Empty(t, b.applied, "no user written")
			assert.Empty(t, b.created, "no key created")
			_, ok := e.secret(ak)
			assert.False(t, ok, "no Secret")
			assert.True(t, hasEvent(out.events, pailv1.ReasonGrantRefused), out.events)
			again := e.reconcile(ak)
			assert.Empty(t, again.events, "the same refusal emits no second event")
			assert.Empty(t, b.applied)
		})
	}
}
