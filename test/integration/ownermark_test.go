package integration

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
)

// clusterID is the suite's cluster as the operator names it: the UID of
// kube-system, which it reads at start.
func clusterID(t *testing.T) string {
	t.Helper()
	var ns corev1.Namespace
	require.NoError(t, suite.k8s.Get(context.Background(), client.ObjectKey{Name: "kube-system"}, &ns))
	require.NotEmpty(t, ns.UID)
	return string(ns.UID)
}

// markOf is the ownership mark Bucket b writes in this cluster.
func markOf(t *testing.T, b *pailv1.Bucket) map[string]string {
	t.Helper()
	require.NotEmpty(t, b.UID, "the Bucket was created")
	return bucketdiff.Owner{Cluster: clusterID(t), Namespace: b.Namespace, Name: b.Name, UID: string(b.UID)}.Mark()
}

// marked is the tag set a bucket of b holds: the user's tags and b's mark.
func marked(t *testing.T, b *pailv1.Bucket, user map[string]string) map[string]string {
	t.Helper()
	out := maps.Clone(user)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, markOf(t, b))
	return out
}

// setTags replaces a bucket's tags at MinIO, behind Pail's back.
func setTags(t *testing.T, name string, set map[string]string) {
	t.Helper()
	tg, err := tags.NewTags(set, false)
	require.NoError(t, err)
	require.NoError(t, suite.s3.SetBucketTagging(context.Background(), name, tg))
}

// localhostProvider is a Provider for the suite's MinIO spelled with
// "localhost", not 127.0.0.1: the same server and credentials at an endpoint
// the location index does not match, so only the mark at the backend can
// tell that the bucket is taken.
func localhostProvider(t *testing.T, ns, name string) *pailv1.Provider {
	t.Helper()
	ctx := context.Background()
	sec := credentialsSecret(ns, name+"-creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	endpoint := strings.Replace(suite.minio.Endpoint, "127.0.0.1", "localhost", 1)
	require.NotEqual(t, suite.minio.Endpoint, endpoint)
	p := newProvider(ns, name, "minio", endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)
	return p
}

// TestOwnerMarkFollowsTheUsersTags: a bucket a Bucket creates carries its
// mark at MinIO, with or without spec.tags; spec.tags changes never remove
// it, a mark removed by hand is written again, and spec.tags may not set a
// pail.dev/ key.
func TestOwnerMarkFollowsTheUsersTags(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("marked")
	b := newBucket(ns, "data", p.Name, name, pailv1.DeletionDelete)
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	assert.Equal(t, marked(t, b, nil), bucketTags(t, suite.s3, name), "created with the mark alone: spec.tags is unset")

	setSpecTags := func(set map[string]string) {
		t.Helper()
		var cur pailv1.Bucket
		require.NoError(t, suite.k8s.Get(ctx, key, &cur))
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec.Tags = set
		require.NoError(t, suite.k8s.Patch(ctx, &cur, patch))
	}
	waitTags := func(want map[string]string, what string) {
		t.Helper()
		waitFor(t, 30*time.Second, what, func() (bool, string) {
			got := bucketTags(t, suite.s3, name)
			return assert.ObjectsAreEqual(want, got), fmt.Sprint(got)
		})
	}
	setSpecTags(map[string]string{"team": "a"})
	waitTags(marked(t, b, map[string]string{"team": "a"}), "the user's tag beside the mark")
	setSpecTags(map[string]string{"team": "b", "env": "test"})
	waitTags(marked(t, b, map[string]string{"team": "b", "env": "test"}), "the changed tags beside the mark")
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 30*time.Second)

	// Someone removes the mark: it is written again, and that is no drift
	// of the user's.
	setTags(t, name, map[string]string{"team": "b", "env": "test"})
	waitTags(marked(t, b, map[string]string{"team": "b", "env": "test"}), "the mark re-written")
	assertEvent(t, ns, "data", "OwnershipMarked", name)

	// spec.tags may not set the mark.
	var cur pailv1.Bucket
	require.NoError(t, suite.k8s.Get(ctx, key, &cur))
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Tags = map[string]string{"pail.dev/owner": "mine"}
	err := suite.k8s.Patch(ctx, &cur, patch)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pail.dev/")
	assert.Equal(t, marked(t, b, map[string]string{"team": "b", "env": "test"}), bucketTags(t, suite.s3, name))

	require.NoError(t, suite.k8s.Get(ctx, key, &cur))
	require.NoError(t, suite.k8s.Delete(ctx, &cur))
	waitGone(t, &cur, 60*time.Second)
	assert.False(t, bucketExists(t, name))
}

// cleanBucket removes what a test left at MinIO.
func cleanBucket(name string, objs []string) {
	ctx := context.Background()
	for _, o := range objs {
		_ = suite.s3.RemoveObject(ctx, name, o, minio.RemoveObjectOptions{})
	}
	_ = suite.s3.RemoveBucket(ctx, name)
}

// TestSecondClaimOnAMarkedBucketGetsConflict: a Bucket in namespace A owns
// a bucket; Buckets in namespace B name it with the same credentials through
// an endpoint spelled otherwise (so the location index cannot see A's
// claim): a plain claim, an adoption, and an adoption with deletionPolicy
// Delete and forceDelete. Each gets Conflict naming A's Bucket and writes
// nothing; deleting them deletes nothing; A's tags and objects stay.
func TestSecondClaimOnAMarkedBucketGetsConflict(t *testing.T) {
	ctx := context.Background()
	name := uniqueBucket("claimed")
	nsA, nsB := namespace(t), namespace(t)
	pA := minioProvider(t, nsA, "minio")
	first := newBucket(nsA, "first", pA.Name, name, pailv1.DeletionRetain)
	first.Spec.Tags = map[string]string{"team": "a"}
	require.NoError(t, suite.k8s.Create(ctx, first))
	firstKey := client.ObjectKeyFromObject(first)
	waitBucket(t, firstKey, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	objs := []string{"precious/one.txt"}
	_, err := suite.s3.PutObject(ctx, name, objs[0], bytesReader("data"), 4, minio.PutObjectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { cleanBucket(name, objs) })
	want := marked(t, first, map[string]string{"team": "a"})
	require.Equal(t, want, bucketTags(t, suite.s3, name))

	pB := localhostProvider(t, nsB, "minio")
	claims := map[string]func(*pailv1.Bucket){
		"claim": func(*pailv1.Bucket) {},
		"adopt": func(b *pailv1.Bucket) { b.Spec.Adopt = true },
		"adopt-force": func(b *pailv1.Bucket) {
			b.Spec.Adopt = true
			b.Spec.DeletionPolicy = pailv1.DeletionDelete
			b.Spec.ForceDelete = true
		},
	}
	var seconds []*pailv1.Bucket
	for bname, mut := range claims {
		b := newBucket(nsB, bname, pB.Name, name, pailv1.DeletionRetain)
		b.Spec.Tags = map[string]string{"team": "b"}
		mut(b)
		require.NoError(t, suite.k8s.Create(ctx, b))
		seconds = append(seconds, b)
	}
	for _, b := range seconds {
		got := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionConflict, metav1.ConditionTrue, pailv1.ReasonAlreadyManaged, 60*time.Second)
		msg := condition(got.Status.Conditions, pailv1.ConditionConflict).Message
		assert.Contains(t, msg, nsA+"/first in this cluster", b.Name)
		assert.Equal(t, pailv1.ReasonAlreadyManaged, condition(got.Status.Conditions, pailv1.ConditionReady).Reason, b.Name)
		assert.Empty(t, got.Status.Ownership, "%s adopts nothing", b.Name)
	}
	time.Sleep(3 * resyncPeriod)
	assert.Equal(t, want, bucketTags(t, suite.s3, name), "the first Bucket's tags and mark stay")

	for _, b := range seconds {
		require.NoError(t, suite.k8s.Delete(ctx, b))
		waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 30*time.Second)
	}
	assertObjects(t, suite.s3, name, objs)
	assert.Equal(t, want, bucketTags(t, suite.s3, name))
	waitBucket(t, firstKey, pailv1.ConditionReady, metav1.ConditionTrue, "", 10*time.Second)
}

// TestBucketMarkedByAnotherClusterGetsConflict: a bucket carries the mark
// of a Bucket of the same namespace and name in another cluster (written
// here by hand, as that cluster's operator would). Claiming or adopting it,
// even with deletionPolicy Delete and forceDelete, gets Conflict, and
// deleting the Bucket leaves the bucket, its objects and its tags.
func TestBucketMarkedByAnotherClusterGetsConflict(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("elsewhere")
	theirs := bucketdiff.Owner{Cluster: "another-cluster", Namespace: ns, Name: "data", UID: "0d9f4c1e-6d0b-4c36-8f8e-5a1f3e8b7c20"}.Mark()
	theirs["team"] = "theirs"
	objs := foreignBucket(t, suite.s3, name, theirs)
	t.Cleanup(func() { cleanBucket(name, objs) })

	b := newBucket(ns, "data", p.Name, name, pailv1.DeletionDelete)
	b.Spec.Adopt = true
	b.Spec.ForceDelete = true
	b.Spec.Tags = map[string]string{"team": "ours"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	got := waitBucket(t, key, pailv1.ConditionConflict, metav1.ConditionTrue, pailv1.ReasonAlreadyManaged, 60*time.Second)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionConflict).Message, "another cluster (id another-cluster)")
	assert.Empty(t, got.Status.Ownership)
	time.Sleep(3 * resyncPeriod)
	assert.Equal(t, theirs, bucketTags(t, suite.s3, name), "nothing written")

	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.Bucket{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	assertObjects(t, suite.s3, name, objs)
	assert.Equal(t, theirs, bucketTags(t, suite.s3, name))
}

// TestOwnedBucketMarkedElsewhereIsNeverDeleted: a Bucket owns its bucket,
// then the bucket is marked as another cluster's (that cluster adopted it
// after a hand edit). This Bucket stops writing, and deleting it with
// deletionPolicy Delete and forceDelete leaves the bucket and its objects.
func TestOwnedBucketMarkedElsewhereIsNeverDeleted(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("taken")
	b := newBucket(ns, "data", p.Name, name, pailv1.DeletionDelete)
	b.Spec.ForceDelete = true
	b.Spec.Tags = map[string]string{"team": "ours"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	objs := []string{"precious/one.txt"}
	_, err := suite.s3.PutObject(ctx, name, objs[0], bytesReader("data"), 4, minio.PutObjectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { cleanBucket(name, objs) })

	theirs := bucketdiff.Owner{Cluster: "another-cluster", Namespace: "elsewhere", Name: "data", UID: "0d9f4c1e-6d0b-4c36-8f8e-5a1f3e8b7c20"}.Mark()
	theirs["team"] = "theirs"
	setTags(t, name, theirs)
	got := waitBucket(t, key, pailv1.ConditionConflict, metav1.ConditionTrue, pailv1.ReasonAlreadyManaged, 30*time.Second)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionConflict).Message, "elsewhere/data in another cluster")
	time.Sleep(3 * resyncPeriod)
	assert.Equal(t, theirs, bucketTags(t, suite.s3, name), "nothing written")

	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.Bucket{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	assertObjects(t, suite.s3, name, objs)
	assert.Equal(t, theirs, bucketTags(t, suite.s3, name))
	assertEvent(t, ns, "data", pailv1.ReasonRetained, "marked as owned by")
}
