package inuse

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name                  string
		needed, has, deleting bool
		want                  action
	}{
		{"needed, unprotected: protect", true, false, false, add},
		{"needed, protected: keep", true, true, false, keep},
		{"needed, protected, being deleted: keep until the users are gone", true, true, true, keep},
		{"needed, deletion started unprotected: cannot add any more", true, false, true, keep},
		{"not needed, protected: release", false, true, false, remove},
		{"not needed, protected, being deleted: release so it goes", false, true, true, remove},
		{"not needed, unprotected: nothing", false, false, false, keep},
		{"not needed, unprotected, being deleted: nothing", false, false, true, keep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decide(tc.needed, tc.has, tc.deleting); got != tc.want {
				t.Errorf("decide(%v, %v, %v) = %v, want %v", tc.needed, tc.has, tc.deleting, got, tc.want)
			}
		})
	}
}

// TestNamed: each kind's in-use controller queues what a referrer names
// of its own kind, a ClusterProvider by name alone, and nothing of the
// other kind's.
func TestNamed(t *testing.T) {
	bucket, accessKey := referrers[0], referrers[1]
	onCluster := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "b"},
		Spec: pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "x"}}}
	onLocal := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-a", Name: "k"},
		Spec: pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: "x"}}}
	providers := &ProviderReconciler{}
	clusters := &ProviderReconciler{Kind: pailv1.KindClusterProvider}
	assert.Equal(t, []types.NamespacedName{{Name: "x"}}, clusters.named(bucket, onCluster))
	assert.Empty(t, providers.named(bucket, onCluster))
	assert.Equal(t, []types.NamespacedName{{Namespace: "ns-a", Name: "x"}}, providers.named(accessKey, onLocal))
	assert.Empty(t, clusters.named(accessKey, onLocal))
	assert.Equal(t, "ClusterProvider/x", bucket.provider(onCluster), "the index key in-use protection lists by")
	assert.Equal(t, "Provider/ns-a/x", accessKey.provider(onLocal))
}
