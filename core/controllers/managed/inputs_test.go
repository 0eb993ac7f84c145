package managed

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestProviderIndexKeys: IndexProvider keys a reference by kind, a
// Provider by namespace and name, a ClusterProvider by name alone.
func TestProviderIndexKeys(t *testing.T) {
	b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "b"}, Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "x"}}}
	assert.Equal(t, []string{"Provider/ns-a/x"}, bucketProviderKey(b))
	b.Spec.ProviderRef.Kind = pailv1.KindClusterProvider
	assert.Equal(t, []string{"ClusterProvider/x"}, bucketProviderKey(b))
	ak := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-b", Name: "k"}, Spec: pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Kind: pailv1.KindProvider, Name: "x"}}}
	assert.Equal(t, []string{"Provider/ns-b/x"}, accessKeyProviderKey(ak))
	ak.Spec.ProviderRef.Kind = pailv1.KindClusterProvider
	assert.Equal(t, []string{"ClusterProvider/x"}, accessKeyProviderKey(ak))
}

// TestProviderReferrers: a ClusterProvider's change requeues its referrers
// in every namespace, a Provider's only those in its namespace, and
// neither requeues the other kind's referrers of the same name; a
// Namespace's label change requeues there the referrers of a
// ClusterProvider with a selector.
func TestProviderReferrers(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	require.NoError(t, corev1.AddToScheme(scheme))
	bucket := func(ns, name string, ref pailv1.ProviderReference) *pailv1.Bucket {
		return &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: pailv1.BucketSpec{ProviderRef: ref}}
	}
	cluster := pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "x"}
	local := pailv1.ProviderReference{Name: "x"}
	cp := &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: pailv1.ClusterProviderSpec{
		AllowedNamespaces: pailv1.AllowedNamespaces{From: pailv1.NamespacesFromSelector, Selector: &metav1.LabelSelector{}}}}
	listed := &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: "y"}, Spec: pailv1.ClusterProviderSpec{
		AllowedNamespaces: pailv1.AllowedNamespaces{From: pailv1.NamespacesFromList, Names: []string{"ns-a"}}}}
	cl := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(cp, listed,
			bucket("ns-a", "on-cluster", cluster), bucket("ns-b", "on-cluster", cluster),
			bucket("ns-a", "on-local", local), bucket("ns-b", "on-local", local),
			bucket("ns-a", "on-listed", pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "y"})).
		WithIndex(&pailv1.Bucket{}, IndexProvider, IndexFunc(bucketProviderKey)).Build()
	req := func(ns, name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
	}
	refs := ProviderReferrers(cl, &pailv1.BucketList{})
	assert.ElementsMatch(t, []reconcile.Request{req("ns-a", "on-cluster"), req("ns-b", "on-cluster")}, refs(ctx, cp))
	assert.ElementsMatch(t, []reconcile.Request{req("ns-a", "on-local")},
		refs(ctx, &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "x"}}))

	ns := NamespaceReferrers(cl, &pailv1.BucketList{})
	assert.ElementsMatch(t, []reconcile.Request{req("ns-b", "on-cluster")},
		ns(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-b"}}), "only the referrers of a ClusterProvider whose selector reads the labels")
	assert.ElementsMatch(t, []reconcile.Request{req("ns-a", "on-cluster")},
		ns(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-a"}}), "a List ignores labels")

	changed := labelsChanged()
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-b"}}
	relabelled := old.DeepCopy()
	relabelled.Labels = map[string]string{"tenant": "yes"}
	annotated := old.DeepCopy()
	annotated.Annotations = map[string]string{"a": "b"}
	assert.True(t, changed.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: relabelled}))
	assert.False(t, changed.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: annotated}), "only labels count")
	assert.False(t, changed.Create(event.CreateEvent{Object: relabelled}), "a new namespace holds no referrers yet")
}
