package managed

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/abi"
)

// probe is a test kind's state: what its one phase returns, and what it saw.
type probe struct {
	step     Step
	err      error
	released bool
	ran      []string
}

// testKind is a Kind on Buckets whose phases do what the test says.
func testKind(p *probe) Kind[*pailv1.Bucket, probe] {
	phase := func(name string) Phase[*pailv1.Bucket, probe] {
		return Phase[*pailv1.Bucket, probe]{Name: name, Run: func(_ context.Context, _ *pailv1.Bucket, s *probe) (Step, error) {
			s.ran = append(s.ran, name)
			return s.step, s.err
		}}
	}
	return Kind[*pailv1.Bucket, probe]{
		Name: "Bucket", Finalizer: pailv1.BucketFinalizer,
		New:    func() *pailv1.Bucket { return &pailv1.Bucket{} },
		Start:  func(*pailv1.Bucket) *probe { return p },
		Sync:   []Phase[*pailv1.Bucket, probe]{phase("one"), phase("two")},
		Delete: []Phase[*pailv1.Bucket, probe]{phase("delete")},
		Report: func(b *pailv1.Bucket, _ *probe, err error) {
			st := metav1.ConditionTrue
			if err != nil {
				st = metav1.ConditionFalse
			}
			meta.SetStatusCondition(&b.Status.Conditions, metav1.Condition{Type: pailv1.ConditionReady, Status: st, Reason: "Test", ObservedGeneration: b.Generation})
		},
		Released: func(s *probe) bool { return s.released },
	}
}

func newSkeleton(t *testing.T, p *probe, objs ...client.Object) (*Reconciler[*pailv1.Bucket, probe], client.Client) {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&pailv1.Bucket{}).Build()
	return &Reconciler[*pailv1.Bucket, probe]{Client: c, Recorder: events.NewFakeRecorder(10), Kind: testKind(p), Retry: &SlowRetry{Base: time.Minute, Max: 4 * time.Minute}}, c
}

func bucketObj(finalizer bool) *pailv1.Bucket {
	b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", Generation: 3}}
	if finalizer {
		b.Finalizers = []string{pailv1.BucketFinalizer}
	}
	return b
}

var key = types.NamespacedName{Namespace: "ns", Name: "b"}

func TestSkeletonResults(t *testing.T) {
	denied := abi.Errorf(abi.CodeAccessDenied, "denied")
	tests := []struct {
		name      string
		p         probe
		wantRes   ctrl.Result
		wantErr   bool
		terminal  bool
		wantPhase []string
	}{
		{name: "phases run in order", p: probe{step: Next}, wantPhase: []string{"one", "two"}},
		{name: "a stop ends the phases with its requeue", p: probe{step: Stop(time.Minute)}, wantRes: ctrl.Result{RequeueAfter: time.Minute}, wantPhase: []string{"one"}},
		{name: "a retryable error goes to the backoff", p: probe{err: errors.New("flaky")}, wantErr: true, wantPhase: []string{"one"}},
		{name: "a spec error is terminal", p: probe{err: Backend(abi.Errorf(abi.CodeInvalidArgument, "bad"))}, wantErr: true, terminal: true, wantPhase: []string{"one"}},
		{name: "a state error retries slowly", p: probe{err: Backend(denied)}, wantRes: ctrl.Result{RequeueAfter: time.Minute}, wantPhase: []string{"one"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, c := newSkeleton(t, &tc.p, bucketObj(false))
			res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key})
			assert.Equal(t, tc.wantRes, res)
			assert.Equal(t, tc.wantErr, err != nil, "error %v", err)
			assert.Equal(t, tc.terminal, errors.Is(err, reconcile.TerminalError(nil)), "terminal")
			assert.Equal(t, tc.wantPhase, tc.p.ran)
			var got pailv1.Bucket
			require.NoError(t, c.Get(context.Background(), key, &got))
			assert.Equal(t, int64(3), got.Status.ObservedGeneration, "the status is written, with the generation")
			require.NotNil(t, meta.FindStatusCondition(got.Status.Conditions, pailv1.ConditionReady), "Report ran")
		})
	}
}

func TestSlowRetryBacksOffAndResets(t *testing.T) {
	s := &SlowRetry{Base: time.Minute, Max: 4 * time.Minute}
	var got []time.Duration
	for range 4 {
		got = append(got, s.Next(key))
	}
	assert.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute}, got)
	s.Forget(key)
	assert.Equal(t, time.Minute, s.Next(key), "a success starts the schedule again")
}

func TestStatusWrittenOnlyWhenChanged(t *testing.T) {
	p := &probe{step: Next}
	r, c := newSkeleton(t, p, bucketObj(false))
	_, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key})
	require.NoError(t, err)
	var first pailv1.Bucket
	require.NoError(t, c.Get(context.Background(), key, &first))
	p.ran = nil
	_, err = r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key})
	require.NoError(t, err)
	var second pailv1.Bucket
	require.NoError(t, c.Get(context.Background(), key, &second))
	assert.Equal(t, first.ResourceVersion, second.ResourceVersion, "the same state writes nothing")
}

func TestDeleteReleasesOnlyWhenDone(t *testing.T) {
	for _, released := range []bool{false, true} {
		b := bucketObj(true)
		now := metav1.Now()
		b.DeletionTimestamp = &now
		p := &probe{step: Stop(0), released: released}
		r, c := newSkeleton(t, p, b)
		_, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key})
		require.NoError(t, err)
		assert.Equal(t, []string{"delete"}, p.ran, "the delete phases run")
		var got pailv1.Bucket
		err = c.Get(context.Background(), key, &got)
		if released {
			assert.Error(t, err, "the finalizer went, so the object is gone")
		} else {
			require.NoError(t, err)
			assert.Contains(t, got.Finalizers, pailv1.BucketFinalizer)
		}
	}
}

func TestUnreadableActsOnNothing(t *testing.T) {
	// An object whose spec cannot be decoded never reaches a phase.
	p := &probe{step: Next}
	r, _ := newSkeleton(t, p)
	r.Client = unreadableClient{r.Client}
	_, _ = r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key})
	assert.Empty(t, p.ran)
	var b pailv1.Bucket
	require.NoError(t, r.Client.Get(context.Background(), key, &b))
	require.NotEmpty(t, b.DecodeError(), "the test's object is unreadable")
}

// unreadableClient returns a Bucket whose stored spec did not decode.
type unreadableClient struct{ client.Client }

func (u unreadableClient) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	b, _ := obj.(*pailv1.Bucket)
	return json.Unmarshal([]byte(`{"metadata":{"name":"b","namespace":"ns"},"spec":{"bucketName":5}}`), b)
}

func TestTransition(t *testing.T) {
	conds := []metav1.Condition{{Type: pailv1.ConditionReady, Reason: "A", Message: "m"}}
	assert.False(t, Transition(conds, pailv1.ConditionReady, "A", ""))
	assert.False(t, Transition(conds, pailv1.ConditionReady, "A", "m"))
	assert.True(t, Transition(conds, pailv1.ConditionReady, "A", "other"))
	assert.True(t, Transition(conds, pailv1.ConditionReady, "B", ""))
	assert.True(t, Transition(nil, pailv1.ConditionReady, "A", ""))
}

func TestClassOf(t *testing.T) {
	assert.Equal(t, None, ClassOf(nil))
	assert.Equal(t, Retryable, ClassOf(Backend(abi.Errorf(abi.CodeUnavailable, "down"))))
	assert.Equal(t, SpecError, ClassOf(Backend(abi.Errorf(abi.CodeUnimplemented, "no"))))
	assert.Equal(t, StateError, ClassOf(Backend(abi.Errorf(abi.CodeAccessDenied, "no"))))
	assert.Equal(t, SpecError, ClassOf(reconcile.TerminalError(errors.New("x"))))
}

func TestIndexFunc(t *testing.T) {
	byProvider := IndexFunc(func(b *pailv1.Bucket) []string { return []string{b.Spec.ProviderRef.Name} })
	b := bucketObj(false)
	b.Spec.ProviderRef.Name = "p"
	assert.Equal(t, []string{"p"}, byProvider(b))
	assert.Nil(t, byProvider(&pailv1.Provider{}), "another kind indexes nothing")
}
