package bucketpolicy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/core/registry"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// backend is a bucket's policy in memory, behind driver.Funcs: the decision
// tests run the whole reconcile (the skeleton, the real Connector and policy
// engine, a fake apiserver client) against it, with no server.
type backend struct {
	noPolicy             bool // the driver does not declare bucket policies
	doc                  string
	observeErr, applyErr error
	observed             int
	writes               []string
}

func (f *backend) driver() driver.Funcs {
	caps := []string{abi.CapBuckets}
	if !f.noPolicy {
		caps = append(caps, abi.SubPolicy)
	}
	return driver.Funcs{
		Info: abi.DriverInfo{Name: "mem", Capabilities: caps},
		ObserveFn: func(context.Context, abi.ProviderConfig, abi.BucketArgs) (abi.BucketObservation, error) {
			f.observed++
			if f.observeErr != nil {
				return abi.BucketObservation{}, f.observeErr
			}
			return abi.BucketObservation{Exists: true, Config: abi.BucketConfig{Policy: &abi.Policy{Document: f.doc}}}, nil
		},
		ApplyFn: func(_ context.Context, _ abi.ProviderConfig, b abi.BucketArgs) error {
			f.writes = append(f.writes, b.Config.Policy.Document)
			if f.applyErr != nil {
				return f.applyErr
			}
			f.doc = b.Config.Policy.Document
			return nil
		},
	}
}

const bucketName = "site-data"

// The documents of test/integration: one every pack allows on a public
// Bucket, one they deny (public write), and the first as MinIO stores it;
// compact, as the apiserver keeps a RawExtension.
var (
	goodDoc        = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%[1]s/*"}]}`, bucketName)
	storedGoodDoc  = fmt.Sprintf(`{"Statement":[{"Action":["s3:GetObject"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::%[1]s/*"],"Sid":"PublicRead"},{"Action":["s3:*"],"Condition":{"Bool":{"aws:SecureTransport":["false"]}},"Effect":"Deny","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::%[1]s/*","arn:aws:s3:::%[1]s"],"Sid":"DenyInsecure"}],"Version":"2012-10-17"}`, bucketName)
	publicWriteDoc = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Sid":"PublicWrite","Effect":"Allow","Principal":"*","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::%[1]s/*"}]}`, bucketName)
)

// engine is the real policy engine with the built-in packs (compiled once:
// tens of milliseconds).
var engine = sync.OnceValues(func() (*policy.Engine, error) {
	e := policy.NewEngine()
	return e, e.LoadDir(context.Background(), "../../../policies")
})

// slowBase is the first delay of the slow retry, distinct from every other
// requeue, so a StateError is recognised by its result.
const slowBase = 7 * time.Second

// world is what one test reconciles: the BucketPolicy under test, its
// Bucket (nil: missing), and other objects (siblings).
type world struct {
	bp     *pailv1.BucketPolicy
	bucket *pailv1.Bucket
	others []client.Object
}

// outcome is what one reconcile did, as the tests check it.
type outcome struct {
	bp     *pailv1.BucketPolicy // as stored after the reconcile; nil when gone
	class  managed.Class
	result ctrl.Result
	events []string
}

// harness builds a Reconciler over a fake client holding w and a real
// Connector serving f's driver.
func harness(t *testing.T, w world, f *backend) (*Reconciler, client.Client, *events.FakeRecorder) {
	t.Helper()
	scheme := kruntime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	require.NoError(t, corev1.AddToScheme(scheme))
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Generation: 1},
		Spec: pailv1.ProviderSpec{Endpoint: "http://s3.test", Driver: "mem", PathStyle: true, CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: "creds"}}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "ns"},
		Data: map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("id"), "AWS_SECRET_ACCESS_KEY": []byte("secret")}}
	objs := append([]client.Object{w.bp, p, sec}, w.others...)
	if w.bucket != nil {
		objs = append(objs, w.bucket)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&pailv1.BucketPolicy{}).
		WithIndex(&pailv1.BucketPolicy{}, indexBucket, managed.IndexFunc(bucketOf)).Build()
	reg := registry.New(context.Background(), nil, "", nil, nil)
	reg.RegisterNative("mem", f.driver())
	e, err := engine()
	require.NoError(t, err)
	rec := events.NewFakeRecorder(20)
	r := &Reconciler{Client: c, Connector: &connect.Connector{Reader: c, Registry: reg}, Engine: e, Recorder: rec,
		SlowRetry: &managed.SlowRetry{Base: slowBase, Max: time.Minute}}
	r.setup()
	return r, c, rec
}

// reconcile runs one reconcile of w.bp through the skeleton.
func (r *Reconciler) reconcileOnce(t *testing.T, c client.Client, rec *events.FakeRecorder, key client.ObjectKey) outcome {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key})
	out := outcome{result: res, class: managed.ClassOf(err)}
	if err == nil && res.RequeueAfter == slowBase {
		out.class = managed.StateError
	}
	for len(rec.Events) > 0 {
		out.events = append(out.events, <-rec.Events)
	}
	var got pailv1.BucketPolicy
	if gerr := c.Get(context.Background(), key, &got); gerr == nil {
		out.bp = &got
	} else {
		require.True(t, apierrors.IsNotFound(gerr), gerr)
	}
	return out
}

func newPolicy(doc string, mut ...func(*pailv1.BucketPolicy)) *pailv1.BucketPolicy {
	bp := &pailv1.BucketPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bp", Namespace: "ns", Generation: 1,
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC))},
		Spec: pailv1.BucketPolicySpec{BucketRef: pailv1.BucketReference{Name: "b"}, Policy: kruntime.RawExtension{Raw: []byte(doc)}}}
	for _, m := range mut {
		m(bp)
	}
	return bp
}

// applied is a BucketPolicy that wrote its document and was last in sync.
func applied(bp *pailv1.BucketPolicy) {
	bp.Finalizers = []string{pailv1.BucketPolicyFinalizer}
	bp.Status.AppliedHash = "h"
	bp.Status.Conditions = []metav1.Condition{{Type: pailv1.ConditionSynced, Status: metav1.ConditionTrue, Reason: pailv1.ReasonInSync, ObservedGeneration: 1}}
}

func deleted(bp *pailv1.BucketPolicy) {
	now := metav1.Now()
	bp.DeletionTimestamp = &now
}

// readyBucket is a public Bucket Pail created, in sync.
func readyBucket(mut ...func(*pailv1.Bucket)) *pailv1.Bucket {
	b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", Annotations: map[string]string{pailv1.AnnotationPublic: "true"}},
		Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "p"}, BucketName: bucketName},
		Status: pailv1.BucketStatus{Ownership: pailv1.OwnershipCreated,
			Conditions: []metav1.Condition{{Type: pailv1.ConditionSynced, Status: metav1.ConditionTrue, Reason: pailv1.ReasonInSync}}}}
	for _, m := range mut {
		m(b)
	}
	return b
}

// sibling is another BucketPolicy of the same Bucket, older, that holds it.
func sibling() *pailv1.BucketPolicy {
	return newPolicy(goodDoc, applied, func(bp *pailv1.BucketPolicy) {
		bp.Name = "first"
		bp.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	})
}

func condOf(bp *pailv1.BucketPolicy, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(bp.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// decision is one case of TestBucketPolicyDecisions.
type decision struct {
	name    string
	world   world
	backend *backend
	// want: Ready's reason ("" when the BucketPolicy is gone), the
	// documents written, the error class, whether the object is gone.
	ready  string
	writes []string
	class  managed.Class
	gone   bool
	check  func(t *testing.T, out outcome, f *backend)
}

var errAccessDenied = abi.Errorf(abi.CodeAccessDenied, "access denied")

// syncDecisions: writes, non-writes, and what the packs say.
func syncDecisions() []decision {
	return []decision{
		{name: "create: the policy is written", world: world{bp: newPolicy(goodDoc), bucket: readyBucket()}, backend: &backend{},
			ready: pailv1.ReasonAvailable, writes: []string{goodDoc},
			check: func(t *testing.T, out outcome, _ *backend) {
				assert.Contains(t, out.bp.Finalizers, pailv1.BucketPolicyFinalizer, "the finalizer is on before the write")
				assert.NotEmpty(t, out.bp.Status.AppliedHash)
				assert.Equal(t, []string{"+ DenyInsecure: Deny s3:* on arn:aws:s3:::site-data,arn:aws:s3:::site-data/*", "+ PublicRead: Allow s3:getobject on arn:aws:s3:::site-data/*"}, out.bp.Status.LastAppliedDiff)
				assert.Equal(t, pailv1.ReasonPolicyAllowed, condOf(out.bp, pailv1.ConditionPolicyValid).Reason)
				assert.Equal(t, pailv1.ReasonNoConflict, condOf(out.bp, pailv1.ConditionConflict).Reason)
				assert.Equal(t, pailv1.ReasonInSync, condOf(out.bp, pailv1.ConditionSynced).Reason)
				assert.Equal(t, ctrl.Result{RequeueAfter: 10 * time.Minute}, out.result, "resync")
				require.Len(t, out.events, 1)
				assert.Contains(t, out.events[0], "Applied the policy to bucket "+bucketName+": "+strings.Join(out.bp.Status.LastAppliedDiff, "; "))
			}},
		{name: "in sync: the stored form differs only canonically, nothing is written", world: world{bp: newPolicy(goodDoc, applied), bucket: readyBucket()},
			backend: &backend{doc: storedGoodDoc}, ready: pailv1.ReasonAvailable,
			check: func(t *testing.T, out outcome, f *backend) {
				assert.Equal(t, 1, f.observed)
				assert.NotEqual(t, "h", out.bp.Status.AppliedHash, "the hash of the document in place")
				assert.Empty(t, out.events)
			}},
		{name: "drift: a policy changed behind Pail's back is rewritten", world: world{bp: newPolicy(goodDoc, applied), bucket: readyBucket()},
			backend: &backend{doc: publicWriteDoc}, ready: pailv1.ReasonAvailable, writes: []string{goodDoc},
			check: func(t *testing.T, out outcome, _ *backend) {
				assert.Equal(t, []string{"+ PublicRead: Allow s3:getobject on arn:aws:s3:::site-data/*", "- PublicWrite: Allow s3:putobject on arn:aws:s3:::site-data/*"}, out.bp.Status.LastAppliedDiff)
			}},
		{name: "unsupported: the driver lacks bucket policies", world: world{bp: newPolicy(goodDoc), bucket: readyBucket()},
			backend: &backend{noPolicy: true}, ready: pailv1.ReasonUnsupported,
			check: func(t *testing.T, out outcome, f *backend) {
				assert.Zero(t, f.observed, "nothing is read from the bucket")
				assert.Equal(t, metav1.ConditionTrue, condOf(out.bp, pailv1.ConditionUnsupported).Status)
				assert.Equal(t, "Driver mem cannot manage bucket policies.", condOf(out.bp, pailv1.ConditionReady).Message)
				assert.Empty(t, out.bp.Finalizers, "nothing to remove later")
			}},
		{name: "refused by the packs: nothing reaches the bucket", world: world{bp: newPolicy(publicWriteDoc), bucket: readyBucket()},
			backend: &backend{}, ready: pailv1.ReasonPolicyDenied,
			check: func(t *testing.T, out outcome, f *backend) {
				assert.Zero(t, f.observed)
				v := condOf(out.bp, pailv1.ConditionPolicyValid)
				assert.Equal(t, pailv1.ReasonPolicyDenied, v.Reason)
				assert.Contains(t, v.Message, "not applied")
				assert.Contains(t, strings.Join(out.bp.Status.Violations, "\n"), "PublicWrite")
				require.Len(t, out.events, 1)
				assert.Contains(t, out.events[0], pailv1.ReasonPolicyDenied)
			}},
		{name: "Warn mode applies what the packs deny, with warnings", world: world{bp: newPolicy(publicWriteDoc, func(bp *pailv1.BucketPolicy) { bp.Spec.EnforcementMode = pailv1.EnforcementWarn }), bucket: readyBucket()},
			backend: &backend{}, ready: pailv1.ReasonAvailable, writes: []string{publicWriteDoc},
			check: func(t *testing.T, out outcome, _ *backend) {
				assert.Equal(t, pailv1.ReasonPolicyWarnings, condOf(out.bp, pailv1.ConditionPolicyValid).Reason)
				assert.Contains(t, strings.Join(out.bp.Status.Warnings, "\n"), "PublicWrite")
			}},
		{name: "not a JSON object: terminal until the spec changes", world: world{bp: newPolicy(`["x"]`), bucket: readyBucket()},
			backend: &backend{}, ready: pailv1.ReasonPolicyNotJSON, class: managed.SpecError},
	}
}

// gateDecisions: what stops a policy before the backend: precedence, conflicts, the Bucket.
func gateDecisions() []decision {
	return []decision{
		{name: "an inline Bucket.spec.policy takes precedence", world: world{bp: newPolicy(goodDoc), bucket: readyBucket(func(b *pailv1.Bucket) {
			b.Spec.Policy = &kruntime.RawExtension{Raw: []byte(goodDoc)}
		})}, backend: &backend{}, ready: pailv1.ReasonInlinePolicy,
			check: func(t *testing.T, out outcome, f *backend) {
				assert.Zero(t, f.observed)
				assert.Equal(t, metav1.ConditionTrue, condOf(out.bp, pailv1.ConditionConflict).Status)
				assert.Contains(t, condOf(out.bp, pailv1.ConditionConflict).Message, "inline")
			}},
		{name: "another BucketPolicy governs the bucket", world: world{bp: newPolicy(goodDoc), bucket: readyBucket(), others: []client.Object{sibling()}},
			backend: &backend{}, ready: pailv1.ReasonOtherBucketPolicy,
			check: func(t *testing.T, out outcome, f *backend) {
				assert.Zero(t, f.observed)
				assert.Contains(t, condOf(out.bp, pailv1.ConditionConflict).Message, "BucketPolicy first already governs")
			}},
		{name: "a sibling the packs refuse governs nothing", world: world{bp: newPolicy(goodDoc), bucket: readyBucket(), others: []client.Object{
			newPolicy(publicWriteDoc, func(bp *pailv1.BucketPolicy) {
				bp.Name = "denied"
				bp.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
				bp.Status.Conditions = []metav1.Condition{{Type: pailv1.ConditionPolicyValid, Status: metav1.ConditionFalse, Reason: pailv1.ReasonPolicyDenied, ObservedGeneration: 1}}
			})}}, backend: &backend{}, ready: pailv1.ReasonAvailable, writes: []string{goodDoc}},
		{name: "a document the packs allow now governs again", world: world{bp: newPolicy(goodDoc, func(bp *pailv1.BucketPolicy) {
			// Refused by an earlier version of the packs, at this generation.
			bp.Status.Conditions = []metav1.Condition{{Type: pailv1.ConditionPolicyValid, Status: metav1.ConditionFalse, Reason: pailv1.ReasonPolicyDenied, ObservedGeneration: 1}}
		}), bucket: readyBucket(), others: []client.Object{newPolicy(goodDoc, func(bp *pailv1.BucketPolicy) { bp.Name = "later" })}},
			backend: &backend{}, ready: pailv1.ReasonAvailable, writes: []string{goodDoc}},
		{name: "the Bucket is missing", world: world{bp: newPolicy(goodDoc)}, backend: &backend{}, ready: pailv1.ReasonBucketNotReady},
		{name: "the Bucket is not in sync yet", world: world{bp: newPolicy(goodDoc), bucket: readyBucket(func(b *pailv1.Bucket) { b.Status.Conditions = nil })},
			backend: &backend{}, ready: pailv1.ReasonBucketNotReady,
			check: func(t *testing.T, out outcome, f *backend) {
				assert.Zero(t, f.observed)
				assert.Equal(t, pailv1.ReasonNoConflict, condOf(out.bp, pailv1.ConditionConflict).Reason, "the conflict check ran")
			}},
	}
}

// errorDecisions: how backend errors are classified and reported.
func errorDecisions() []decision {
	return []decision{
		{name: "access denied on the write: retried slowly", world: world{bp: newPolicy(goodDoc), bucket: readyBucket()},
			backend: &backend{applyErr: errAccessDenied}, ready: pailv1.ReasonBackendError, writes: []string{goodDoc}, class: managed.StateError,
			check: func(t *testing.T, out outcome, _ *backend) {
				assert.Equal(t, pailv1.ReasonBackendError, condOf(out.bp, pailv1.ConditionSynced).Reason)
				assert.Contains(t, condOf(out.bp, pailv1.ConditionReady).Message, "Could not write the policy to bucket "+bucketName)
				assert.Empty(t, out.bp.Status.AppliedHash)
			}},
		{name: "access denied on the read: retried slowly", world: world{bp: newPolicy(goodDoc), bucket: readyBucket()},
			backend: &backend{observeErr: errAccessDenied}, ready: pailv1.ReasonBackendError, class: managed.StateError},
		{name: "unavailable: retried with backoff", world: world{bp: newPolicy(goodDoc), bucket: readyBucket()},
			backend: &backend{applyErr: abi.Errorf(abi.CodeUnavailable, "down")}, ready: pailv1.ReasonBackendError, writes: []string{goodDoc}, class: managed.Retryable},
		{name: "invalid argument: the backend refused the document, terminal", world: world{bp: newPolicy(goodDoc), bucket: readyBucket()},
			backend: &backend{applyErr: abi.Errorf(abi.CodeInvalidArgument, "MalformedPolicy")}, ready: pailv1.ReasonBackendRefusedPolicy, writes: []string{goodDoc}, class: managed.SpecError,
			check: func(t *testing.T, out outcome, _ *backend) {
				assert.Equal(t, pailv1.ReasonBackendRefusedPolicy, condOf(out.bp, pailv1.ConditionSynced).Reason)
				assert.Contains(t, condOf(out.bp, pailv1.ConditionReady).Message, "nothing was written: MalformedPolicy")
			}},
	}
}

// deleteDecisions: the delete rule. A BucketPolicy has no deletionPolicy of its
// own: the governing one removes its document, every other case releases.
func deleteDecisions() []decision {
	return []decision{
		{name: "delete of the governing policy removes it from the bucket", world: world{bp: newPolicy(goodDoc, applied, deleted), bucket: readyBucket()},
			backend: &backend{doc: goodDoc}, writes: []string{""}, gone: true},
		{name: "delete of a policy another governs leaves the bucket alone", world: world{bp: newPolicy(goodDoc, func(bp *pailv1.BucketPolicy) {
			bp.Finalizers = []string{pailv1.BucketPolicyFinalizer}
		}, deleted), bucket: readyBucket(), others: []client.Object{sibling()}}, backend: &backend{doc: goodDoc}, gone: true},
		{name: "delete when the Bucket is gone releases", world: world{bp: newPolicy(goodDoc, applied, deleted)}, backend: &backend{doc: goodDoc}, gone: true},
		{name: "delete when the Bucket has an inline policy releases", world: world{bp: newPolicy(goodDoc, applied, deleted), bucket: readyBucket(func(b *pailv1.Bucket) {
			b.Spec.Policy = &kruntime.RawExtension{Raw: []byte(goodDoc)}
		})}, backend: &backend{doc: goodDoc}, gone: true},
		{name: "delete when the Bucket is being deleted releases", world: world{bp: newPolicy(goodDoc, applied, deleted), bucket: readyBucket(func(b *pailv1.Bucket) {
			now := metav1.Now()
			b.DeletionTimestamp, b.Finalizers = &now, []string{pailv1.BucketFinalizer}
		})}, backend: &backend{doc: goodDoc}, gone: true},
		{name: "delete denied by the backend waits, retried slowly", world: world{bp: newPolicy(goodDoc, applied, deleted), bucket: readyBucket()},
			backend: &backend{doc: goodDoc, applyErr: errAccessDenied}, writes: []string{""}, ready: pailv1.ReasonBackendError, class: managed.StateError,
			check: func(t *testing.T, out outcome, _ *backend) {
				assert.Contains(t, out.bp.Finalizers, pailv1.BucketPolicyFinalizer, "the finalizer stays until the policy is removed")
				assert.Contains(t, condOf(out.bp, pailv1.ConditionReady).Message, "Could not remove the policy from bucket "+bucketName)
			}},
	}
}

func TestBucketPolicyDecisions(t *testing.T) {
	tests := slices.Concat(syncDecisions(), gateDecisions(), errorDecisions(), deleteDecisions())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, c, rec := harness(t, tc.world, tc.backend)
			out := r.reconcileOnce(t, c, rec, client.ObjectKeyFromObject(tc.world.bp))
			assert.Equal(t, tc.class, out.class, "error class")
			assert.Equal(t, tc.writes, tc.backend.writes, "documents written")
			assert.Equal(t, tc.gone, out.bp == nil, "released and gone")
			if tc.ready != "" {
				require.NotNil(t, out.bp)
				ready := condOf(out.bp, pailv1.ConditionReady)
				assert.Equal(t, tc.ready, ready.Reason, ready.Message)
				assert.Equal(t, out.bp.Generation, ready.ObservedGeneration)
			}
			if tc.check != nil {
				tc.check(t, out, tc.backend)
			}
		})
	}
}

// TestBucketPolicyRefusalIsNotSentAgain: a document the backend refused is
// not sent again at the same generation, whatever wakes the reconciler, and
// the second reconcile gives the same conditions without a second event.
func TestBucketPolicyRefusalIsNotSentAgain(t *testing.T) {
	f := &backend{applyErr: abi.Errorf(abi.CodeUnimplemented, "uses NotPrincipal")}
	w := world{bp: newPolicy(goodDoc), bucket: readyBucket()}
	r, c, rec := harness(t, w, f)
	key := client.ObjectKeyFromObject(w.bp)
	first := r.reconcileOnce(t, c, rec, key)
	require.Len(t, first.events, 1)
	assert.Contains(t, first.events[0], pailv1.ReasonBackendRefusedPolicy)
	second := r.reconcileOnce(t, c, rec, key)
	assert.Len(t, f.writes, 1, "sent once")
	assert.Zero(t, f.observed-1, "not even observed again")
	assert.Empty(t, second.events, "no second event for the same refusal")
	assert.Equal(t, managed.None, second.class, "the remembered refusal waits quietly")
	assert.Equal(t, first.bp.Status.Conditions, second.bp.Status.Conditions)
}
