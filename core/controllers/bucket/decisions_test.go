package bucket

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// backend is an in-memory bucket behind driver.Funcs: the decision tests
// run the Bucket's phases against it, with no server.
type backend struct {
	caps     []string
	exists   bool
	cfg      abi.BucketConfig
	applyErr error
	delErr   error
	applied  []abi.BucketArgs
	deleted  int
	// terminating: the Bucket's namespace is being deleted.
	terminating bool
	// engine judges the inline policy; nil is one with no packs.
	engine *policy.Engine

	// cluster holds other objects of the API (other Buckets).
	cluster []client.Object
}

func (f *backend) driver() driver.Funcs {
	return driver.Funcs{
		Info: abi.DriverInfo{Name: "mem", Capabilities: append([]string{abi.CapBuckets}, f.caps...)},
		ObserveFn: func(_ context.Context, _ abi.ProviderConfig, _ abi.BucketArgs) (abi.BucketObservation, error) {
			return abi.BucketObservation{Exists: f.exists, Config: f.cfg}, nil
		},
		ApplyFn: func(_ context.Context, _ abi.ProviderConfig, b abi.BucketArgs) error {
			f.applied = append(f.applied, b)
			if f.applyErr != nil {
				return f.applyErr
			}
			f.exists = true
			if b.Config.Versioning != nil {
				f.cfg.Versioning = b.Config.Versioning
			}
			if b.Config.Tagging != nil {
				f.cfg.Tagging = b.Config.Tagging
			}
			if b.Config.Policy != nil {
				f.cfg.Policy = b.Config.Policy
			}
			return nil
		},
		DeleteFn: func(context.Context, abi.ProviderConfig, abi.BucketArgs) error {
			f.deleted++
			return f.delErr
		},
	}
}

// outcome is what one reconcile did, as the tests check it.
type outcome struct {
	s      *state
	err    error
	events int
}

// reconcileOnce runs the Bucket's phases (all but the Provider lookup,
// which the test supplies) and the rule chain, as the skeleton does.
func reconcileOnce(t *testing.T, b *pailv1.Bucket, f *backend) outcome {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	require.NoError(t, corev1.AddToScheme(scheme))
	rec := events.NewFakeRecorder(20)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}
	if f.terminating {
		ns.Status.Phase = corev1.NamespaceTerminating
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(append([]client.Object{ns}, f.cluster...)...).WithIndex(&pailv1.Bucket{}, indexLocation, managed.IndexFunc(indexByLocation)).Build()
	r := &Reconciler{
		Client:    c,
		Reader:    c,
		Recorder:  rec,
		Engine:    f.engine,
		DriftLoop: &DriftLoop{Threshold: 3, Window: time.Minute},
		ClusterID: func(context.Context) (string, error) { return testCluster, nil },
	}
	r.setup()
	r.patchMeta = func(_ context.Context, b *pailv1.Bucket, mutate func(*pailv1.Bucket)) error {
		mutate(b)
		return nil
	}
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: pailv1.ProviderSpec{Endpoint: "http://s3.test", Driver: "mem"}}
	s := &state{deleting: !b.DeletionTimestamp.IsZero(), p: p, conn: &connect.Connection{Driver: f.driver()}, cur: connect.LocationOf(p)}
	phases := r.syncPhases()
	if s.deleting {
		phases = r.deletePhases()
	} else {
		b.Status.ObservedGeneration = b.Generation
	}
	var rest []managed.Phase[*pailv1.Bucket, state]
	for _, ph := range phases {
		if ph.Name != "provider" {
			rest = append(rest, ph)
		}
	}
	_, err := managed.Run(context.Background(), b, s, rest)
	report(b, s, err)
	return outcome{s: s, err: err, events: len(rec.Events)}
}

func newTestBucket(mut func(*pailv1.Bucket)) *pailv1.Bucket {
	b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", UID: "u1", Generation: 1},
		Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "p"}, BucketName: "data",
			Versioning: &pailv1.VersioningSpec{Status: "Enabled"}}}
	if mut != nil {
		mut(b)
	}
	return b
}

// ownedBucket is a Bucket Pail created, last reported in sync.
func ownedBucket() *pailv1.Bucket {
	return newTestBucket(func(b *pailv1.Bucket) {
		b.Status.Ownership = pailv1.OwnershipCreated
		b.Finalizers = []string{pailv1.BucketFinalizer}
		b.Status.Conditions = []metav1.Condition{{Type: pailv1.ConditionSynced, Status: metav1.ConditionTrue, Reason: pailv1.ReasonInSync, ObservedGeneration: 1}}
	})
}

func enabled() abi.BucketConfig {
	return abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}}
}

func TestBucketDecisions(t *testing.T) {
	tests := []struct {
		name    string
		bucket  *pailv1.Bucket
		backend *backend
		// want: Ready's reason, how many writes and deletes, the error class,
		// whether the finalizer may go.
		ready           string
		writes, deletes int
		class           managed.Class
		released        bool
		check           func(t *testing.T, b *pailv1.Bucket, f *backend)
	}{
		{name: "create", bucket: newTestBucket(nil), backend: &backend{caps: []string{abi.SubVersioning}},
			ready: pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, b *pailv1.Bucket, f *backend) {
				assert.True(t, f.applied[0].Create)
				assert.Equal(t, pailv1.OwnershipCreated, b.Status.Ownership)
				assert.NotEmpty(t, b.Annotations[pailv1.AnnotationCreateIntent], "the intent is recorded before the create")
			}},
		{name: "in sync writes nothing", bucket: ownedBucket(), backend: &backend{caps: []string{abi.SubVersioning}, exists: true, cfg: enabled()},
			ready: pailv1.ReasonAvailable},
		{name: "drift is corrected", bucket: ownedBucket(),
			backend: &backend{caps: []string{abi.SubVersioning}, exists: true, cfg: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Suspended"}}},
			ready:   pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, _ *pailv1.Bucket, f *backend) {
				assert.False(t, f.applied[0].Create)
				assert.Equal(t, "Enabled", f.applied[0].Config.Versioning.Status)
				assert.Nil(t, f.applied[0].Config.Tagging, "only what differs is written")
			}},
		{name: "unsupported feature: the rest applied", bucket: newTestBucket(func(b *pailv1.Bucket) { b.Spec.Tags = map[string]string{"team": "a"} }),
			backend: &backend{caps: []string{abi.SubVersioning}}, ready: pailv1.ReasonUnsupported, writes: 1,
			check: func(t *testing.T, b *pailv1.Bucket, f *backend) {
				assert.Nil(t, f.applied[0].Config.Tagging)
				assert.Equal(t, []string{abi.SubTagging}, b.Status.Unsupported)
				assert.True(t, meta.IsStatusConditionTrue(b.Status.Conditions, pailv1.ConditionSynced))
			}},
		{name: "existing bucket not Pail's is refused", bucket: newTestBucket(nil),
			backend: &backend{caps: []string{abi.SubVersioning}, exists: true}, ready: pailv1.ReasonBucketExists,
			check: func(t *testing.T, b *pailv1.Bucket, _ *backend) {
				assert.True(t, meta.IsStatusConditionTrue(b.Status.Conditions, pailv1.ConditionConflict))
			}},
		{name: "observe only reports drift, writes nothing", bucket: newTestBucket(func(b *pailv1.Bucket) { b.Spec.ManagementPolicy = pailv1.ManagementObserveOnly }),
			backend: &backend{caps: []string{abi.SubVersioning}, exists: true}, ready: pailv1.ReasonDrift},
		{name: "access denied: retried slowly", bucket: newTestBucket(nil),
			backend: &backend{caps: []string{abi.SubVersioning}, applyErr: abi.Errorf(abi.CodeAccessDenied, "denied")},
			ready:   pailv1.ReasonBackendError, writes: 1, class: managed.StateError},
		{name: "invalid argument: terminal until the spec changes", bucket: newTestBucket(nil),
			backend: &backend{caps: []string{abi.SubVersioning}, applyErr: abi.Errorf(abi.CodeInvalidArgument, "bad")},
			ready:   pailv1.ReasonBackendError, writes: 1, class: managed.SpecError},
		{name: "delete with Retain keeps the bucket", bucket: deleting(ownedBucket(), pailv1.DeletionRetain),
			backend: &backend{exists: true}, released: true},
		{name: "delete with Delete deletes it", bucket: deleting(ownedBucket(), pailv1.DeletionDelete),
			backend: &backend{exists: true}, deletes: 1, released: true},
		{name: "delete of a bucket holding data waits", bucket: deleting(ownedBucket(), pailv1.DeletionDelete),
			backend: &backend{exists: true, delErr: abi.Errorf(abi.CodeConflict, "not empty")}, deletes: 1, ready: pailv1.ReasonBucketNotEmpty},
		{name: "delete of a bucket holding data in a namespace being deleted releases it", bucket: deleting(ownedBucket(), pailv1.DeletionDelete),
			backend: &backend{exists: true, terminating: true, delErr: abi.Errorf(abi.CodeConflict, "not empty")}, deletes: 1, released: true},
		{name: "delete of a bucket Pail does not own releases it", bucket: deleting(newTestBucket(nil), pailv1.DeletionDelete),
			backend: &backend{exists: true}, released: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := reconcileOnce(t, tc.bucket, tc.backend)
			assert.Equal(t, tc.class, managed.ClassOf(out.err), "error class of %v", out.err)
			if tc.ready != "" {
				c := meta.FindStatusCondition(tc.bucket.Status.Conditions, pailv1.ConditionReady)
				require.NotNil(t, c, "Ready")
				assert.Equal(t, tc.ready, c.Reason, c.Message)
			}
			assert.Len(t, tc.backend.applied, tc.writes, "writes")
			assert.Equal(t, tc.deletes, tc.backend.deleted, "deletes")
			assert.Equal(t, tc.released, out.s.released, "released")
			if tc.check != nil {
				tc.check(t, tc.bucket, tc.backend)
			}
		})
	}
}

// TestBucketConditionsStable: reconciling the same state twice gives the
// same conditions, and the second emits no event.
func TestBucketConditionsStable(t *testing.T) {
	for _, f := range []*backend{
		{caps: []string{abi.SubVersioning}, exists: true, cfg: enabled()},
		{caps: []string{abi.SubVersioning}, exists: true},
		{caps: []string{abi.SubVersioning}, applyErr: abi.Errorf(abi.CodeUnavailable, "down")},
	} {
		b := ownedBucket()
		reconcileOnce(t, b, f)
		first := append([]metav1.Condition(nil), b.Status.Conditions...)
		second := reconcileOnce(t, b, f)
		assert.Equal(t, first, b.Status.Conditions)
		if f.applyErr != nil {
			assert.Zero(t, second.events, "a second failure in a row emits no event")
		}
	}
}

func deleting(b *pailv1.Bucket, p pailv1.DeletionPolicy) *pailv1.Bucket {
	now := metav1.Now()
	b.DeletionTimestamp = &now
	b.Spec.DeletionPolicy = p
	return b
}

// packs is a real policy Engine with the built-in packs.
var packs = sync.OnceValues(func() (*policy.Engine, error) {
	e := policy.NewEngine()
	return e, e.LoadDir(context.Background(), "../../../policies")
})

func builtinPacks(t *testing.T) *policy.Engine {
	t.Helper()
	e, err := packs()
	require.NoError(t, err)
	return e
}

// inlinePolicy is a document granting principal "*" the given action on
// bucket data.
func inlinePolicy(action string) *runtime.RawExtension {
	return &runtime.RawExtension{Raw: []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"` +
		action + `","Resource":"arn:aws:s3:::data/*"}]}`)}
}

// TestBucketInlinePolicyPacks: the inline spec.policy is judged by every
// loaded pack in Enforce mode, with a BucketPolicy's PolicyValid condition;
// a denied one is not written (nor observed), the rest of the spec is, and
// Ready says why. An allowed one is written, and written only once.
func TestBucketInlinePolicyPacks(t *testing.T) {
	tests := []struct {
		name   string
		policy *runtime.RawExtension
		// held: the policy is not applied, for this reason.
		valid, ready, reason string
		policyWrites         int
	}{
		{name: "public write is denied", policy: inlinePolicy("s3:PutObject"),
			valid: string(metav1.ConditionFalse), ready: pailv1.ReasonPolicyDenied, reason: pailv1.ReasonPolicyDenied},
		{name: "public read is allowed with warnings", policy: inlinePolicy("s3:GetObject"),
			valid: string(metav1.ConditionTrue), ready: pailv1.ReasonAvailable, reason: pailv1.ReasonPolicyWarnings, policyWrites: 1},
		{name: "no inline policy: no PolicyValid", ready: pailv1.ReasonAvailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &backend{caps: []string{abi.SubVersioning, abi.SubPolicy}, engine: builtinPacks(t)}
			b := newTestBucket(func(b *pailv1.Bucket) {
				b.Spec.Policy = tc.policy
				b.Status.Conditions = []metav1.Condition{{Type: pailv1.ConditionPolicyValid, Status: metav1.ConditionFalse, Reason: "Stale"}}
			})
			out := reconcileOnce(t, b, f)
			require.NoError(t, out.err)
			require.Len(t, f.applied, 1, "the bucket is created")
			assert.Equal(t, "Enabled", f.applied[0].Config.Versioning.Status, "the rest of the spec is applied")
			writes := 0
			for _, a := range f.applied {
				if a.Config.Policy != nil {
					writes++
				}
			}
			assert.Equal(t, tc.policyWrites, writes, "policy writes")
			ready := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, tc.ready, ready.Reason, ready.Message)
			valid := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionPolicyValid)
			if tc.policy == nil {
				assert.Nil(t, valid, "PolicyValid goes with the inline policy")
				return
			}
			require.NotNil(t, valid)
			assert.Equal(t, tc.valid, string(valid.Status))
			assert.Equal(t, tc.reason, valid.Reason, valid.Message)
			if tc.reason == pailv1.ReasonPolicyDenied {
				assert.Contains(t, valid.Message, "public write")
				assert.Equal(t, 2, out.events, "the create, and one Warning event for the denial")
				synced := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionSynced)
				assert.Equal(t, pailv1.ReasonPolicyDenied, synced.Reason)
				// A second reconcile: still not written, no second event.
				b.Status.Ownership = pailv1.OwnershipCreated
				again := reconcileOnce(t, b, f)
				assert.Len(t, f.applied, 1, "nothing written")
				assert.Zero(t, again.events, "the same denial emits no event")
			}
		})
	}
}

// TestBucketInlinePolicySemanticDiff: a policy the bucket holds in another
// form (key order, string for list) is the same policy: nothing is written.
func TestBucketInlinePolicySemanticDiff(t *testing.T) {
	f := &backend{caps: []string{abi.SubVersioning, abi.SubPolicy}, exists: true, engine: builtinPacks(t), cfg: enabled()}
	f.cfg.Policy = &abi.Policy{Document: `{"Statement":[{"Resource":["arn:aws:s3:::data/*"],"Action":["s3:GetObject"],"Principal":"*","Effect":"Allow","Sid":"Public"}],"Version":"2012-10-17"}`}
	b := ownedBucket()
	b.Spec.Policy = inlinePolicy("s3:GetObject")
	out := reconcileOnce(t, b, f)
	require.NoError(t, out.err)
	assert.Empty(t, f.applied, "the same policy in another form is not written")
	assert.True(t, meta.IsStatusConditionTrue(b.Status.Conditions, pailv1.ConditionPolicyValid))
}

// TestBucketPolicyChanged: the webhook judges an update only when it
// changes the inline policy, semantically.
func TestBucketPolicyChanged(t *testing.T) {
	with := func(p *runtime.RawExtension) *pailv1.Bucket {
		return newTestBucket(func(b *pailv1.Bucket) { b.Spec.Policy = p })
	}
	reordered := &runtime.RawExtension{Raw: []byte(`{"Statement":[{"Resource":"arn:aws:s3:::data/*","Action":"s3:PutObject","Principal":"*","Effect":"Allow","Sid":"Public"}],"Version":"2012-10-17"}`)}
	for _, tc := range []struct {
		name     string
		old, new *pailv1.Bucket
		want     bool
	}{
		{"added", with(nil), with(inlinePolicy("s3:PutObject")), true},
		{"changed", with(inlinePolicy("s3:GetObject")), with(inlinePolicy("s3:PutObject")), true},
		{"same, another form", with(inlinePolicy("s3:PutObject")), with(reordered), false},
		{"unchanged", with(inlinePolicy("s3:PutObject")), with(inlinePolicy("s3:PutObject")), false},
		{"removed", with(inlinePolicy("s3:PutObject")), with(nil), false},
		{"none", with(nil), with(nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, policyChanged(tc.old, tc.new))
		})
	}
}
