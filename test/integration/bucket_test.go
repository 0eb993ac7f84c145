package integration

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func TestBucketBecomesARealBucket(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("ready")
	b := newBucket(ns, "photos", p.Name, name, "")
	require.NoError(t, suite.k8s.Create(ctx, b))

	got := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	assert.True(t, bucketExists(t, name), "bucket %s exists in MinIO", name)
	assert.Equal(t, pailv1.DeletionRetain, got.Spec.DeletionPolicy, "deletionPolicy defaults to Retain")
	assert.Contains(t, got.Finalizers, pailv1.BucketFinalizer)
	assert.Equal(t, suite.minio.Endpoint, got.Status.Endpoint)
	assert.Equal(t, got.Generation, got.Status.ObservedGeneration)
	for _, typ := range []string{pailv1.ConditionProviderReady, pailv1.ConditionSynced} {
		assert.Equal(t, metav1.ConditionTrue, condition(got.Status.Conditions, typ).Status, typ)
	}
}

func TestBucketDeletionPolicy(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)

	for _, tc := range []struct {
		policy     pailv1.DeletionPolicy
		wantExists bool
	}{
		{policy: pailv1.DeletionRetain, wantExists: true},
		{policy: pailv1.DeletionDelete, wantExists: false},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			name := uniqueBucket("policy")
			b := newBucket(ns, "b-"+string(tc.policy[0:1])+"x", p.Name, name, tc.policy)
			b.Name = "bucket-" + map[pailv1.DeletionPolicy]string{pailv1.DeletionRetain: "retain", pailv1.DeletionDelete: "delete"}[tc.policy]
			require.NoError(t, suite.k8s.Create(ctx, b))
			waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
			require.True(t, bucketExists(t, name))

			require.NoError(t, suite.k8s.Delete(ctx, b))
			waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 60*time.Second)
			assert.Equal(t, tc.wantExists, bucketExists(t, name), "bucket in MinIO after deleting a Bucket with deletionPolicy %s", tc.policy)
		})
	}
}

func TestBucketHoldingAnObjectIsNeverDeleted(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("full")
	b := newBucket(ns, "full", p.Name, name, pailv1.DeletionDelete)
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	data := []byte("precious")
	_, err := suite.s3.PutObject(ctx, name, "keep/me.txt", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	require.NoError(t, err)

	require.NoError(t, suite.k8s.Delete(ctx, b))
	got := waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonBucketNotEmpty, 60*time.Second)
	msg := condition(got.Status.Conditions, pailv1.ConditionReady).Message
	assert.Contains(t, msg, "still holds objects")
	assert.Contains(t, msg, "Retain", "the message says how to release the bucket")
	assert.False(t, got.DeletionTimestamp.IsZero())
	assert.Contains(t, got.Finalizers, pailv1.BucketFinalizer, "the finalizer stays while the bucket holds data")

	assert.True(t, bucketExists(t, name))
	obj, err := suite.s3.StatObject(ctx, name, "keep/me.txt", minio.StatObjectOptions{})
	require.NoError(t, err, "the object is still there")
	assert.Equal(t, int64(len(data)), obj.Size)

	// Switching to Retain releases the Bucket and keeps the data.
	require.NoError(t, suite.k8s.Get(ctx, key, got))
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.DeletionPolicy = pailv1.DeletionRetain
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 60*time.Second)
	assert.True(t, bucketExists(t, name))
}

func TestInvalidBucketNameIsRefusedByTheAPIServer(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, bucket, want string }{
		{"too short", "ab", "spec.bucketName"},
		{"upper case", "My-Bucket", "spec.bucketName"},
		{"underscore", "my_bucket", "spec.bucketName"},
		{"double dot", "my..bucket", "spec.bucketName"},
		{"ip address", "192.168.1.10", "spec.bucketName"},
		{"reserved prefix", "xn--bucket", "spec.bucketName"},
		{"reserved suffix", "data-s3alias", "spec.bucketName"},
		{"dash at end", "bucket-", "spec.bucketName"},
		{"too long", "a123456789012345678901234567890123456789012345678901234567890123", "spec.bucketName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBucket(ns, "invalid", "any", tc.bucket, "")
			err := suite.k8s.Create(ctx, b)
			require.Error(t, err, "bucket name %q must be refused", tc.bucket)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// A valid name is accepted, and it cannot change afterwards.
	b := newBucket(ns, "valid", "any", "valid.bucket-name-1", "")
	require.NoError(t, suite.k8s.Create(ctx, b))
	patch := client.MergeFrom(b.DeepCopy())
	b.Spec.BucketName = "another-name"
	err := suite.k8s.Patch(ctx, b, patch)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "immutable")
}

func TestBucketAppliedBeforeItsProviderBecomesReady(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	name := uniqueBucket("early")
	b := newBucket(ns, "early", "late-provider", name, "")
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	got := waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonProviderNotFound, 30*time.Second)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionReady).Message, "late-provider")
	generation, resourceVersionOfSpec := got.Generation, got.Spec
	assert.False(t, bucketExists(t, name))

	minioProvider(t, ns, "late-provider")
	got = waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	assert.Equal(t, generation, got.Generation, "the Bucket was not re-applied")
	assert.Equal(t, resourceVersionOfSpec, got.Spec)
	assert.True(t, bucketExists(t, name))
}
