package guardrails

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/guardrail"
)

// bucketValidator is the Bucket webhook over a fake cache holding a
// Guardrail that selects namespace "t" and wants the prefix "t-".
func bucketValidator(t *testing.T) *validator[*pailv1.Bucket] {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := pailv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "t", Labels: map[string]string{"tenant": "yes"}}}
	g := &pailv1.Guardrail{ObjectMeta: metav1.ObjectMeta{Name: "g"}, Spec: pailv1.GuardrailSpec{
		NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"tenant": "yes"}},
		AllowedProviders:  []pailv1.ProviderReference{{Name: "p"}},
		BucketNames:       &pailv1.BucketNameRule{Prefix: "{namespace}-"},
	}}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(ns, g).Build()
	return &validator[*pailv1.Bucket]{
		c: c, resource: "buckets", spec: func(b *pailv1.Bucket) any { return b.Spec },
		check: func(ctx context.Context, r guardrail.Rules, b *pailv1.Bucket, creating bool) ([]guardrail.Violation, error) {
			return Bucket(ctx, c, r, b, creating)
		},
	}
}

func bucket(name string, mutate func(*pailv1.BucketSpec)) *pailv1.Bucket {
	b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "b"}, Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "p"}, BucketName: name}}
	if mutate != nil {
		mutate(&b.Spec)
	}
	return b
}

func TestWebhook(t *testing.T) {
	v := bucketValidator(t)
	ctx := context.Background()
	tags := func(s *pailv1.BucketSpec) { s.Tags = map[string]string{"v": "2"} }
	deleting := bucket("x", tags)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	for _, tc := range []struct {
		name     string
		old, obj *pailv1.Bucket
		refused  string
	}{
		{name: "create within the rule", obj: bucket("t-a", nil)},
		{name: "create outside the rule", obj: bucket("x", nil), refused: "Guardrail g forbids"},
		{name: "update adds a violation", old: bucket("t-a", nil), obj: bucket("t-a", func(s *pailv1.BucketSpec) { s.ForceDelete = true }), refused: "spec.forceDelete"},
		{name: "update keeps an old violation", old: bucket("x", nil), obj: bucket("x", tags)},
		{name: "metadata only", old: bucket("x", nil), obj: bucket("x", nil)},
		{name: "deleting", old: bucket("x", nil), obj: deleting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.old == nil {
				_, err = v.ValidateCreate(ctx, tc.obj)
			} else {
				_, err = v.ValidateUpdate(ctx, tc.old, tc.obj)
			}
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Errorf("err = %v, want a refusal naming %q", err, tc.refused)
			}
		})
	}
}

// An AccessKey spec holds a Duration (an unexported field): comparing
// specs must not panic, which would deny every update.
func TestWebhookComparesSpecsWithDurations(t *testing.T) {
	v := &validator[*pailv1.AccessKey]{spec: func(ak *pailv1.AccessKey) any { return ak.Spec }}
	ak := &pailv1.AccessKey{Spec: pailv1.AccessKeySpec{Rotation: &pailv1.Rotation{Retention: pailv1.NewDuration(time.Second)}}}
	if _, err := v.ValidateUpdate(context.Background(), ak, ak.DeepCopy()); err != nil {
		t.Fatal(err)
	}
}
