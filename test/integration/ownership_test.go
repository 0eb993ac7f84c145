package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/test/env"
)

// foreignBucket creates, on s3, a bucket Pail never made, holding objects
// and tags, and returns the object names.
func foreignBucket(t *testing.T, s3 *minio.Client, name string, tagSet map[string]string) []string {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s3.MakeBucket(ctx, name, minio.MakeBucketOptions{}))
	tg, err := tags.NewTags(tagSet, false)
	require.NoError(t, err)
	require.NoError(t, s3.SetBucketTagging(ctx, name, tg))
	objs := []string{"precious/one.txt", "precious/two.txt"}
	for _, o := range objs {
		_, err := s3.PutObject(ctx, name, o, bytesReader("data of "+o), int64(len("data of "+o)), minio.PutObjectOptions{})
		require.NoError(t, err)
	}
	return objs
}

func bucketTags(t *testing.T, s3 *minio.Client, name string) map[string]string {
	t.Helper()
	tg, err := s3.GetBucketTagging(context.Background(), name)
	require.NoError(t, err)
	return tg.ToMap()
}

func assertObjects(t *testing.T, s3 *minio.Client, bucket string, objs []string) {
	t.Helper()
	ok, err := s3.BucketExists(context.Background(), bucket)
	require.NoError(t, err)
	require.True(t, ok, "bucket %s still exists", bucket)
	for _, o := range objs {
		_, err := s3.StatObject(context.Background(), bucket, o, minio.StatObjectOptions{})
		assert.NoError(t, err, "object %s/%s is still there", bucket, o)
	}
}

// TestProviderEndpointChangeTouchesNoForeignBucket: a Bucket owns its bucket
// on MinIO A; its Provider is then pointed at MinIO B, which has a foreign
// bucket of the same name holding objects. Pail must refuse to write there
// (LocationChanged), and deleting the Bucket with deletionPolicy Delete and
// forceDelete must delete nothing, on either server.
func TestProviderEndpointChangeTouchesNoForeignBucket(t *testing.T) {
	ctx := context.Background()
	other := env.MinIOForTest(t, env.MinIOOptions{})
	otherS3, err := other.Client()
	require.NoError(t, err)
	ns := namespace(t)
	name := uniqueBucket("moved")
	foreignObjs := foreignBucket(t, otherS3, name, map[string]string{"owner": "foreign"})

	p := minioProvider(t, ns, "minio")
	b := newBucket(ns, "data", p.Name, name, pailv1.DeletionDelete)
	b.Spec.ForceDelete = true
	b.Spec.Tags = map[string]string{"owner": "pail"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	got := waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	require.NotNil(t, got.Status.Location, "status.location is recorded with the ownership")
	assert.Equal(t, connect.NormalizeEndpoint(suite.minio.Endpoint), got.Status.Location.Endpoint)
	acct := waitProviderAccount(t, client.ObjectKeyFromObject(p))
	waitBucketAccount(t, key, acct)
	ownObjs := []string{"mine.txt"}
	_, err = suite.s3.PutObject(ctx, name, ownObjs[0], bytesReader("mine"), 4, minio.PutObjectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = suite.s3.RemoveObject(ctx, name, ownObjs[0], minio.RemoveObjectOptions{})
		_ = suite.s3.RemoveBucket(ctx, name)
	})

	// Point the Provider at MinIO B, where the same name is someone else's.
	var prov pailv1.Provider
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(p), &prov))
	patch := client.MergeFrom(prov.DeepCopy())
	prov.Spec.Endpoint = other.Endpoint
	require.NoError(t, suite.k8s.Patch(ctx, &prov, patch))

	got = waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonLocationChanged, 60*time.Second)
	msg := condition(got.Status.Conditions, pailv1.ConditionReady).Message
	assert.Contains(t, msg, suite.minio.Endpoint)
	assert.Contains(t, msg, other.Endpoint)
	assert.Contains(t, msg, "spec.deletionPolicy to Retain")
	assert.Equal(t, metav1.ConditionTrue, condition(got.Status.Conditions, pailv1.ConditionConflict).Status)
	assert.Equal(t, pailv1.ReasonLocationChanged, condition(got.Status.Conditions, pailv1.ConditionSynced).Reason)
	assertEvent(t, ns, "data", pailv1.ReasonLocationChanged, other.Endpoint)
	time.Sleep(3 * resyncPeriod) // several resyncs: still nothing written
	assert.Equal(t, map[string]string{"owner": "foreign"}, bucketTags(t, otherS3, name), "the foreign bucket's tags are untouched")
	got = waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonLocationChanged, time.Second)
	assert.Equal(t, connect.NormalizeEndpoint(suite.minio.Endpoint), got.Status.Location.Endpoint, "the record does not follow the Provider")

	// Deleting it with deletionPolicy Delete and forceDelete deletes nothing.
	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitFor(t, 30*time.Second, "the deletion to be refused", func() (bool, string) {
		if err := suite.k8s.Get(ctx, key, got); err != nil {
			return false, err.Error()
		}
		c := condition(got.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason == pailv1.ReasonLocationChanged && strings.HasPrefix(c.Message, "Not deleting"), describeConds(got.Status.Conditions)
	})
	time.Sleep(2 * time.Second)
	assertObjects(t, otherS3, name, foreignObjs)
	assert.Equal(t, map[string]string{"owner": "foreign"}, bucketTags(t, otherS3, name))
	assertObjects(t, suite.s3, name, ownObjs)
	require.NoError(t, suite.k8s.Get(ctx, key, got), "the Bucket keeps its finalizer")
	assert.Contains(t, got.Finalizers, pailv1.BucketFinalizer)

	// Retain releases it, and still deletes nothing.
	patchB := client.MergeFrom(got.DeepCopy())
	got.Spec.DeletionPolicy = pailv1.DeletionRetain
	require.NoError(t, suite.k8s.Patch(ctx, got, patchB))
	waitGone(t, &pailv1.Bucket{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	assertObjects(t, otherS3, name, foreignObjs)
	assertObjects(t, suite.s3, name, ownObjs)
}

// TestBucketProviderRefIsImmutable: moving a Bucket to another Provider is
// refused at admission, with the field named.
func TestBucketProviderRefIsImmutable(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	b := newBucket(ns, "fixed", "minio", uniqueBucket("fixed"), pailv1.DeletionRetain)
	require.NoError(t, suite.k8s.Create(ctx, b))
	// A merge patch: the controller writing status must not turn this into
	// a resourceVersion conflict.
	patch := client.MergeFrom(b.DeepCopy())
	b.Spec.ProviderRef.Name = "elsewhere"
	err := suite.k8s.Patch(ctx, b, patch)
	require.Error(t, err, "changing spec.providerRef must be refused")
	assert.True(t, apierrors.IsInvalid(err), "refused as invalid: %v", err)
	assert.Contains(t, err.Error(), "spec.providerRef")
	assert.Contains(t, err.Error(), "immutable")
}

// TestSecondBucketCannotAdoptAManagedBucket: a Bucket in another namespace
// with adopt: true names a bucket another Bucket already manages. It gets
// Conflict (AlreadyManaged) and writes nothing; the first stays Ready and
// its configuration stays in place. An ObserveOnly Bucket may watch beside it.
func TestSecondBucketCannotAdoptAManagedBucket(t *testing.T) {
	ctx := context.Background()
	name := uniqueBucket("shared")
	nsA, nsB, nsC := namespace(t), namespace(t), namespace(t)
	pA := minioProvider(t, nsA, "minio")
	first := newBucket(nsA, "first", pA.Name, name, pailv1.DeletionRetain)
	first.Spec.Tags = map[string]string{"team": "a"}
	require.NoError(t, suite.k8s.Create(ctx, first))
	t.Cleanup(func() { _ = suite.s3.RemoveBucket(ctx, name) })
	firstKey := client.ObjectKeyFromObject(first)
	ready := condition(waitBucket(t, firstKey, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second).Status.Conditions, pailv1.ConditionReady)

	pB := minioProvider(t, nsB, "minio")
	second := newBucket(nsB, "second", pB.Name, name, pailv1.DeletionDelete)
	second.Spec.Adopt = true
	second.Spec.ForceDelete = true
	second.Spec.Tags = map[string]string{"team": "b"}
	require.NoError(t, suite.k8s.Create(ctx, second))
	secondKey := client.ObjectKeyFromObject(second)
	got := waitBucket(t, secondKey, pailv1.ConditionConflict, metav1.ConditionTrue, pailv1.ReasonAlreadyManaged, 60*time.Second)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionConflict).Message, nsA+"/first")
	assert.Equal(t, pailv1.ReasonAlreadyManaged, condition(got.Status.Conditions, pailv1.ConditionReady).Reason)

	pC := minioProvider(t, nsC, "minio")
	watcher := newBucket(nsC, "watcher", pC.Name, name, pailv1.DeletionDelete)
	watcher.Spec.ManagementPolicy = pailv1.ManagementObserveOnly
	watcher.Spec.Adopt = true
	require.NoError(t, suite.k8s.Create(ctx, watcher))
	w := waitBucket(t, client.ObjectKeyFromObject(watcher), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	assert.Empty(t, w.Status.Ownership, "ObserveOnly never takes ownership")

	time.Sleep(3 * resyncPeriod)
	assert.Equal(t, marked(t, first, map[string]string{"team": "a"}), bucketTags(t, suite.s3, name), "the first Bucket's configuration and mark stay")
	got = waitBucket(t, secondKey, pailv1.ConditionConflict, metav1.ConditionTrue, pailv1.ReasonAlreadyManaged, time.Second)
	assert.Empty(t, got.Status.Ownership)
	assert.NotContains(t, got.Finalizers, pailv1.BucketFinalizer)
	f := waitBucket(t, firstKey, pailv1.ConditionReady, metav1.ConditionTrue, "", time.Second)
	assert.Equal(t, ready.LastTransitionTime, condition(f.Status.Conditions, pailv1.ConditionReady).LastTransitionTime, "the first Bucket never left Ready")

	// Deleting the newcomer and the watcher (deletionPolicy Delete) leaves the bucket to its manager.
	require.NoError(t, suite.k8s.Delete(ctx, got))
	require.NoError(t, suite.k8s.Delete(ctx, w))
	waitGone(t, &pailv1.Bucket{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	waitGone(t, &pailv1.Bucket{ObjectMeta: w.ObjectMeta}, 30*time.Second)
	assert.True(t, bucketExists(t, name))
	assert.Equal(t, marked(t, first, map[string]string{"team": "a"}), bucketTags(t, suite.s3, name))
	waitBucket(t, firstKey, pailv1.ConditionReady, metav1.ConditionTrue, "", time.Second)
}

// waitProviderAccount waits for the Provider's check to report an account
// (minio: the deployment ID) and returns it.
func waitProviderAccount(t *testing.T, key client.ObjectKey) string {
	t.Helper()
	var p pailv1.Provider
	waitFor(t, 30*time.Second, "Provider "+key.String()+" to report its account", func() (bool, string) {
		if err := suite.k8s.Get(context.Background(), key, &p); err != nil {
			return false, err.Error()
		}
		return p.Status.Account != "" && p.Status.ObservedGeneration == p.Generation, describeConds(p.Status.Conditions)
	})
	return p.Status.Account
}

// waitBucketAccount waits for the Bucket's recorded location to carry acct.
func waitBucketAccount(t *testing.T, key client.ObjectKey, acct string) {
	t.Helper()
	var b pailv1.Bucket
	waitFor(t, 30*time.Second, "Bucket "+key.String()+" to record account "+acct, func() (bool, string) {
		if err := suite.k8s.Get(context.Background(), key, &b); err != nil {
			return false, err.Error()
		}
		return b.Status.Location != nil && b.Status.Location.Account == acct, fmt.Sprintf("location %+v", b.Status.Location)
	})
}

// TestAccountChangeTouchesNoForeignBucket: the MinIO deployment behind a
// Provider is replaced by another one at the same address (a new deployment
// ID), holding a same-named bucket that is not Pail's. The endpoint did not
// change, but the account did: Pail must refuse to write there.
func TestAccountChangeTouchesNoForeignBucket(t *testing.T) {
	ctx := context.Background()
	first := env.MinIOForTest(t, env.MinIOOptions{})
	ns := namespace(t)
	name := uniqueBucket("redeployed")
	sec := credentialsSecret(ns, "creds", first.AccessKey, first.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "minio", "minio", first.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	acct := waitProviderAccount(t, client.ObjectKeyFromObject(p))

	b := newBucket(ns, "data", p.Name, name, pailv1.DeletionDelete)
	b.Spec.ForceDelete = true
	b.Spec.Tags = map[string]string{"owner": "pail"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	waitBucketAccount(t, key, acct)

	// Another deployment takes the address, with its own bucket of that name.
	require.NoError(t, first.Stop())
	second := env.MinIOForTest(t, env.MinIOOptions{Port: first.Port})
	secondS3, err := second.Client()
	require.NoError(t, err)
	// The credentials Secret changes (rotated to the new deployment's keys,
	// which here are the same), so the Provider is checked again and learns
	// the new account. (Pail learns an account only from a check: a change
	// behind an unchanged Provider and Secret is noticed at the next
	// recheck, docs/buckets.md.)
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(sec), sec))
	sec.StringData = map[string]string{"AWS_SECRET_ACCESS_KEY": second.SecretKey, "rotated": "yes"}
	require.NoError(t, suite.k8s.Update(ctx, sec))
	waitFor(t, 30*time.Second, "the Provider to report the new deployment", func() (bool, string) {
		var cur pailv1.Provider
		if err := suite.k8s.Get(ctx, client.ObjectKeyFromObject(p), &cur); err != nil {
			return false, err.Error()
		}
		return cur.Status.Account != "" && cur.Status.Account != acct, "account " + cur.Status.Account
	})
	foreignObjs := foreignBucket(t, secondS3, name, map[string]string{"owner": "foreign"})

	got := waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonLocationChanged, 60*time.Second)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionReady).Message, "account")
	assert.Equal(t, acct, got.Status.Location.Account, "the record keeps the first deployment")
	time.Sleep(3 * resyncPeriod)
	assert.Equal(t, map[string]string{"owner": "foreign"}, bucketTags(t, secondS3, name), "the new deployment's bucket is untouched")

	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitFor(t, 30*time.Second, "the deletion to be refused", func() (bool, string) {
		if err := suite.k8s.Get(ctx, key, got); err != nil {
			return false, err.Error()
		}
		c := condition(got.Status.Conditions, pailv1.ConditionReady)
		return c != nil && strings.HasPrefix(c.Message, "Not deleting"), describeConds(got.Status.Conditions)
	})
	assertObjects(t, secondS3, name, foreignObjs)
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.DeletionPolicy = pailv1.DeletionRetain
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	waitGone(t, &pailv1.Bucket{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	assertObjects(t, secondS3, name, foreignObjs)
}
