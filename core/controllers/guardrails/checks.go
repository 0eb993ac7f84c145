package guardrails

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/guardrail"
)

type runtimeObject = runtime.Object

// The checks of the kinds that need the cache beyond the Rules of the
// object's namespace (Rules): the objects counted.

// Bucket checks a Bucket: its spec, and its place within maxBuckets
// (creating: it would come after every Bucket of the namespace).
func Bucket(ctx context.Context, c client.Reader, r guardrail.Rules, b *pailv1.Bucket, creating bool) ([]guardrail.Violation, error) {
	vs := r.CheckBucket(&b.Spec)
	if _, limited := r.MaxBuckets(); limited {
		n, err := ahead(ctx, c, &pailv1.BucketList{}, b, creating)
		if err != nil {
			return nil, err
		}
		vs = append(vs, r.CheckCount(guardrail.KindBucket, n)...)
	}
	return vs, nil
}

// AccessKey checks an AccessKey: its Provider, and its place within
// maxAccessKeys.
func AccessKey(ctx context.Context, c client.Reader, r guardrail.Rules, ak *pailv1.AccessKey, creating bool) ([]guardrail.Violation, error) {
	vs := r.CheckAccessKey(&ak.Spec)
	if _, limited := r.MaxAccessKeys(); limited {
		n, err := ahead(ctx, c, &pailv1.AccessKeyList{}, ak, creating)
		if err != nil {
			return nil, err
		}
		vs = append(vs, r.CheckCount(guardrail.KindAccessKey, n)...)
	}
	return vs, nil
}
