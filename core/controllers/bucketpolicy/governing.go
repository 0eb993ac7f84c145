package bucketpolicy

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
)

// refused reports whether p's current spec was refused: by the packs
// (denied, or not a JSON object) or by the backend, as recorded at p's
// current generation. A refusal recorded for an older generation says
// nothing about the document as it is now.
func refused(p *pailv1.BucketPolicy) bool {
	if c := meta.FindStatusCondition(p.Status.Conditions, pailv1.ConditionPolicyValid); c != nil &&
		c.Status == metav1.ConditionFalse && c.ObservedGeneration == p.Generation &&
		(c.Reason == pailv1.ReasonPolicyDenied || c.Reason == pailv1.ReasonPolicyNotJSON) {
		return true
	}
	c := meta.FindStatusCondition(p.Status.Conditions, pailv1.ConditionSynced)
	return c != nil && c.Status == metav1.ConditionFalse && c.ObservedGeneration == p.Generation &&
		c.Reason == pailv1.ReasonBackendRefusedPolicy
}

// holds reports whether p has put a policy on its bucket that may still be
// there: it recorded an applied hash, and its finalizer (which removes the
// policy on deletion) is still on it.
func holds(p *pailv1.BucketPolicy) bool {
	return p.Status.AppliedHash != "" && controllerutil.ContainsFinalizer(p, pailv1.BucketPolicyFinalizer)
}

// governing picks, from the BucketPolicies that name one bucket, the one
// that governs it, or "" when none can:
//   - a policy being deleted whose finalizer is gone has let go;
//   - a refused policy governs nothing, unless an earlier version of it is
//     still on the bucket (holds): a policy the packs or the backend
//     refused never applied anything, and must not block a valid one;
//   - the one holding the bucket keeps it until it is gone, then one that
//     has started applying (finalizer), then the oldest (by creation, then
//     name).
func governing(items []pailv1.BucketPolicy) string {
	var candidates []*pailv1.BucketPolicy
	for i := range items {
		p := &items[i]
		if !p.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(p, pailv1.BucketPolicyFinalizer) {
			continue
		}
		if refused(p) && !holds(p) {
			continue
		}
		candidates = append(candidates, p)
	}
	if len(candidates) == 0 {
		return ""
	}
	sort.Slice(candidates, func(i, j int) bool {
		a, b := candidates[i], candidates[j]
		if ha, hb := holds(a), holds(b); ha != hb {
			return ha
		}
		fa, fb := controllerutil.ContainsFinalizer(a, pailv1.BucketPolicyFinalizer), controllerutil.ContainsFinalizer(b, pailv1.BucketPolicyFinalizer)
		if fa != fb {
			return fa
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	return candidates[0].Name
}

// winner is the BucketPolicy that governs bp's bucket (governing), with bp
// as it is now: its own refusal, if any, was just reconsidered.
func (r *Reconciler) winner(ctx context.Context, bp *pailv1.BucketPolicy) (string, error) {
	var list pailv1.BucketPolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(bp.Namespace), client.MatchingFields{indexBucket: bp.Spec.BucketRef.Name}); err != nil {
		return "", fmt.Errorf("list the BucketPolicies of Bucket %s: %w", bp.Spec.BucketRef.Name, err)
	}
	items := list.Items[:0]
	for _, p := range list.Items {
		if p.Name != bp.Name {
			items = append(items, p)
		}
	}
	return governing(append(items, *bp)), nil
}

// refusal is a document the backend refused: the generation it was sent
// at, the backend it was sent to (target), and the message recorded.
type refusal struct {
	generation int64
	target     string
	message    string
}

// sendAgain reports whether a document refused as prev should be sent at
// generation gen to target: only a changed spec, or another backend (the
// Provider or the bucket changed), can change the answer. A restarted
// operator has forgotten its refusals and sends each once more, as
// docs/troubleshooting.md promises.
func sendAgain(prev refusal, gen int64, target string) bool {
	return prev.generation != gen || prev.target != target
}

// refusalTarget names the backend a document goes to: the Provider or
// ClusterProvider at its current generation (its endpoint and driver are in
// its spec) and the bucket.
func refusalTarget(p pailv1.ProviderObject, bucketName string) string {
	return fmt.Sprintf("%s/%d/%s", connect.ProviderKey(p), p.GetGeneration(), bucketName)
}

// refusals remembers, per BucketPolicy, what the backend refused. It is
// memory only: the status says the same to users, and a restart retrying
// once is the way out after the backend was upgraded.
type refusals struct {
	mu sync.Mutex
	m  map[types.NamespacedName]refusal
}

func (f *refusals) get(key types.NamespacedName) (refusal, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.m[key]
	return r, ok
}

func (f *refusals) set(key types.NamespacedName, r refusal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[types.NamespacedName]refusal{}
	}
	f.m[key] = r
}

func (f *refusals) forget(key types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
}
