package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func publicReadPolicy(bucket string) *runtime.RawExtension {
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
	return &runtime.RawExtension{Raw: []byte(doc)}
}

// fullyConfigured returns a Bucket using every feature MinIO implements. Not
// abortIncompleteMultipartUpload: MinIO accepts and silently drops it, so the
// driver refuses it rather than drift forever.
func fullyConfigured(ns, name, provider, bucketName string) *pailv1.Bucket {
	b := newBucket(ns, name, provider, bucketName, pailv1.DeletionDelete)
	b.Spec.ForceDelete = true
	b.Spec.Versioning = &pailv1.VersioningSpec{Status: "Enabled"}
	b.Spec.Encryption = &pailv1.EncryptionSpec{Algorithm: "AES256"}
	b.Spec.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{
		{ID: "expire-logs", Filter: &pailv1.LifecycleFilter{Prefix: "logs/"}, Expiration: &pailv1.LifecycleExpiration{Days: 30}},
		{ID: "old-versions", Filter: &pailv1.LifecycleFilter{Tags: map[string]string{"class": "tmp"}},
			NoncurrentVersionExpiration: &pailv1.NoncurrentVersionExpiration{NoncurrentDays: 7}},
	}}
	b.Spec.Tags = map[string]string{"team": "storage", "env": "test"}
	b.Spec.Policy = publicReadPolicy(bucketName)
	return b
}

func TestMinIOEveryFeatureEndToEnd(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("full")
	b := fullyConfigured(ns, "full", p.Name, name)
	b.Spec.Encryption = &pailv1.EncryptionSpec{Algorithm: "aws:kms", KMSKeyID: "pail-test-key"}
	b.Spec.ObjectLock = &pailv1.ObjectLockSpec{Enabled: true, DefaultRetention: &pailv1.ObjectLockRetention{Mode: "GOVERNANCE", Days: 1}}
	require.NoError(t, suite.k8s.Create(ctx, b))
	got := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	assert.Equal(t, pailv1.OwnershipCreated, got.Status.Ownership)

	v, err := suite.s3.GetBucketVersioning(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, "Enabled", v.Status)
	enc, err := suite.s3.GetBucketEncryption(ctx, name)
	require.NoError(t, err)
	require.Len(t, enc.Rules, 1)
	assert.Equal(t, "aws:kms", enc.Rules[0].Apply.SSEAlgorithm)
	assert.Contains(t, enc.Rules[0].Apply.KmsMasterKeyID, "pail-test-key")
	lc, err := suite.s3.GetBucketLifecycle(ctx, name)
	require.NoError(t, err)
	var ids []string
	for _, r := range lc.Rules {
		ids = append(ids, r.ID)
	}
	assert.ElementsMatch(t, []string{"expire-logs", "old-versions"}, ids)
	tg, err := suite.s3.GetBucketTagging(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, marked(t, b, map[string]string{"team": "storage", "env": "test"}), tg.ToMap())
	pol, err := suite.s3.GetBucketPolicy(ctx, name)
	require.NoError(t, err)
	assert.Contains(t, pol, "s3:GetObject")
	mode, validity, unit, err := suite.s3.GetBucketObjectLockConfig(ctx, name)
	require.NoError(t, err)
	require.NotNil(t, mode)
	assert.Equal(t, "GOVERNANCE", string(*mode))
	assert.Equal(t, uint(1), *validity)
	assert.Equal(t, "DAYS", string(*unit))

	// Nothing is unsupported on MinIO for this spec.
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionUnsupported).Status)
}

func TestMinIOPublicAccessBlockIsUnsupportedAndTheRestApplied(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("pab")
	b := newBucket(ns, "pab", p.Name, name, "")
	b.Spec.PublicAccessBlock = &pailv1.PublicAccessBlockSpec{BlockPublicAcls: true, BlockPublicPolicy: true}
	b.Spec.Tags = map[string]string{"applied": "yes"}
	require.NoError(t, suite.k8s.Create(ctx, b))

	got := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionUnsupported, metav1.ConditionTrue, pailv1.ReasonUnsupported, 60*time.Second)
	msg := condition(got.Status.Conditions, pailv1.ConditionUnsupported).Message
	assert.Contains(t, msg, "publicAccessBlock")
	assert.Equal(t, []string{"publicAccessBlock"}, got.Status.Unsupported)
	assert.Equal(t, metav1.ConditionTrue, condition(got.Status.Conditions, pailv1.ConditionSynced).Status, "the rest is in sync")
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status, "Ready says the spec is not fully in place")
	assert.True(t, bucketExists(t, name))
	tg, err := suite.s3.GetBucketTagging(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, marked(t, b, map[string]string{"applied": "yes"}), tg.ToMap())
	assertEvent(t, ns, "pab", pailv1.ReasonUnsupported, "publicAccessBlock")
}

// writes sums the host-counted HTTP requests of driver that change state.
func writes(driver string) float64 {
	var n float64
	for _, m := range []string{"PUT", "POST", "DELETE"} {
		for _, code := range []string{"200", "204", "0", "400", "403", "404", "409", "500", "501", "503"} {
			n += testutil.ToFloat64(suite.op.Metrics.DriverRequests.WithLabelValues(driver, "ApplyBucket", m, code))
			n += testutil.ToFloat64(suite.op.Metrics.DriverRequests.WithLabelValues(driver, "ObserveBucket", m, code))
			n += testutil.ToFloat64(suite.op.Metrics.DriverRequests.WithLabelValues(driver, "DeleteBucket", m, code))
		}
	}
	return n
}

func observes(driver string) float64 {
	return testutil.ToFloat64(suite.op.Metrics.DriverOperations.WithLabelValues(driver, "ObserveBucket", "ok"))
}

func reads(driver string) float64 {
	var n float64
	for _, m := range []string{"GET", "HEAD"} {
		for _, code := range []string{"200", "204", "404"} {
			n += testutil.ToFloat64(suite.op.Metrics.DriverRequests.WithLabelValues(driver, "ObserveBucket", m, code))
		}
	}
	return n
}

func TestMinIOZeroWritesInSyncAndDriftIsReverted(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	const n = 20
	var buckets []*pailv1.Bucket
	for i := range n {
		b := fullyConfigured(ns, fmt.Sprintf("b%02d", i), p.Name, uniqueBucket(fmt.Sprintf("sync%02d", i)))
		require.NoError(t, suite.k8s.Create(ctx, b))
		buckets = append(buckets, b)
	}
	for _, b := range buckets {
		waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 90*time.Second)
	}
	// Let reconciles triggered by the creation settle, then measure three resyncs.
	time.Sleep(resyncPeriod)
	w0, o0, r0 := writes("minio"), observes("minio"), reads("minio")
	waitFor(t, 30*time.Second, "three resyncs of every bucket", func() (bool, string) {
		d := observes("minio") - o0
		return d >= 3*n, fmt.Sprintf("%.0f observations", d)
	})
	w1, o1, r1 := writes("minio"), observes("minio"), reads("minio")
	assert.Zero(t, w1-w0, "write calls during in-sync resyncs")
	// Five managed sub-resources per bucket: at most one read each.
	perObserve := (r1 - r0) / (o1 - o0)
	assert.LessOrEqual(t, perObserve, 5.0+0.01, "S3 reads per in-sync observation")
	t.Logf("in sync: %.0f observations, %.0f writes, %.2f reads per observation", o1-o0, w1-w0, perObserve)

	// Change one bucket behind Pail's back: it is reverted on the next resync, with an event.
	target := buckets[0]
	bt, err := tags.NewTags(map[string]string{"team": "intruder", "env": "test", "extra": "1"}, false)
	require.NoError(t, err)
	require.NoError(t, suite.s3.SetBucketTagging(ctx, target.Spec.BucketName, bt))
	want := marked(t, target, map[string]string{"team": "storage", "env": "test"})
	waitFor(t, 20*time.Second, "tags reverted", func() (bool, string) {
		tg, err := suite.s3.GetBucketTagging(ctx, target.Spec.BucketName)
		if err != nil {
			return false, err.Error()
		}
		return fmt.Sprint(tg.ToMap()) == fmt.Sprint(want), fmt.Sprint(tg.ToMap())
	})
	ev := assertEvent(t, ns, target.Name, pailv1.ReasonDriftCorrected, "spec.tags[team]")
	assert.Contains(t, ev, "spec.tags[extra] (not in spec)")
}

func TestAdoptionOfAnExistingBucket(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("foreign")
	require.NoError(t, suite.s3.MakeBucket(ctx, name, minio.MakeBucketOptions{}))
	foreignTags, _ := tags.NewTags(map[string]string{"owner": "someone-else"}, false)
	require.NoError(t, suite.s3.SetBucketTagging(ctx, name, foreignTags))

	b := newBucket(ns, "foreign", p.Name, name, pailv1.DeletionDelete)
	b.Spec.Tags = map[string]string{"owner": "pail"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	got := waitBucket(t, key, pailv1.ConditionConflict, metav1.ConditionTrue, pailv1.ReasonBucketExists, 60*time.Second)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionConflict).Message, "spec.adopt")
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status)
	time.Sleep(2 * resyncPeriod)
	tg, err := suite.s3.GetBucketTagging(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"owner": "someone-else"}, tg.ToMap(), "the foreign bucket is untouched")

	// Adopt it.
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Adopt = true
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	got = waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 30*time.Second)
	assert.Equal(t, pailv1.OwnershipAdopted, got.Status.Ownership)
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionConflict).Status)
	tg, err = suite.s3.GetBucketTagging(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, marked(t, got, map[string]string{"owner": "pail"}), tg.ToMap(), "the spec's tags and the mark of the Bucket that adopted it")
	assertEvent(t, ns, "foreign", pailv1.ReasonAdopted, name)
}

func TestDeletingAConflictingBucketLeavesTheForeignBucket(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("notmine")
	require.NoError(t, suite.s3.MakeBucket(ctx, name, minio.MakeBucketOptions{}))
	b := newBucket(ns, "notmine", p.Name, name, pailv1.DeletionDelete)
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionConflict, metav1.ConditionTrue, "", 60*time.Second)
	require.NoError(t, suite.k8s.Delete(ctx, b))
	waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 30*time.Second)
	assert.True(t, bucketExists(t, name), "deletionPolicy Delete never deletes a bucket Pail does not own")
}

func TestForceDeleteEmptiesAVersionedBucket(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("force")
	b := newBucket(ns, "force", p.Name, name, pailv1.DeletionDelete)
	b.Spec.Versioning = &pailv1.VersioningSpec{Status: "Enabled"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	for _, body := range []string{"v1", "v2"} {
		_, err := suite.s3.PutObject(ctx, name, "doc.txt", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		require.NoError(t, err)
	}
	_, err := suite.s3.PutObject(ctx, name, "other.txt", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
	require.NoError(t, err)
	require.NoError(t, suite.s3.RemoveObject(ctx, name, "other.txt", minio.RemoveObjectOptions{})) // leaves a delete marker
	versions := func() int {
		n := 0
		for o := range suite.s3.ListObjects(ctx, name, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			require.NoError(t, o.Err)
			n++
		}
		return n
	}
	require.Equal(t, 4, versions(), "2 versions of doc.txt, 1 of other.txt and its delete marker")

	// Without force nothing is removed.
	require.NoError(t, suite.k8s.Delete(ctx, b))
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonBucketNotEmpty, 30*time.Second)
	assert.Equal(t, 4, versions(), "without forceDelete nothing is removed")

	var cur pailv1.Bucket
	require.NoError(t, suite.k8s.Get(ctx, key, &cur))
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.ForceDelete = true
	require.NoError(t, suite.k8s.Patch(ctx, &cur, patch))
	waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 60*time.Second)
	assert.False(t, bucketExists(t, name))
	assertEvent(t, ns, "force", pailv1.ReasonEmptying, name)
}

func TestObserveOnlyReportsDriftAndNeverWrites(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("observed")
	require.NoError(t, suite.s3.MakeBucket(ctx, name, minio.MakeBucketOptions{}))
	b := newBucket(ns, "observed", p.Name, name, pailv1.DeletionDelete)
	b.Spec.ManagementPolicy = pailv1.ManagementObserveOnly
	b.Spec.Tags = map[string]string{"want": "this"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	got := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionSynced, metav1.ConditionFalse, pailv1.ReasonDrift, 60*time.Second)
	assert.Equal(t, []string{"spec.tags[want]"}, got.Status.Drift)
	_, err := suite.s3.GetBucketTagging(ctx, name)
	require.Error(t, err, "ObserveOnly wrote no tags")
	require.NoError(t, suite.k8s.Delete(ctx, b))
	waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 30*time.Second)
	assert.True(t, bucketExists(t, name), "an observed bucket is never deleted")
}

// assertEvent waits for an event on the named object with reason whose note
// contains text, and returns the note.
func assertEvent(t *testing.T, ns, name, reason, text string) string {
	t.Helper()
	var note string
	waitFor(t, 20*time.Second, fmt.Sprintf("event %s on %s mentioning %q", reason, name, text), func() (bool, string) {
		var list corev1.EventList
		if err := suite.k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name && e.Reason == reason && strings.Contains(e.Message, text) {
				note = e.Message
				return true, ""
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		b, _ := json.Marshal(seen)
		return false, string(b)
	})
	return note
}

// TestDriftLoopPausesWrites: another writer keeps changing a Bucket's tags;
// after three corrections within the window Pail stops writing, says why
// in a condition, an event and a metric, and writes again once the spec
// changes.
func TestDriftLoopPausesWrites(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := newBucket(ns, "fought", p.Name, uniqueBucket("fought"), "")
	b.Spec.Tags = map[string]string{"owner": "pail"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	// The other writer: sets its tag every 500 ms until the test ends.
	theirs, err := tags.NewTags(map[string]string{"owner": "other-tool"}, false)
	require.NoError(t, err)
	stop := make(chan struct{})
	fought := make(chan struct{})
	go func() {
		defer close(fought)
		for {
			_ = suite.s3.SetBucketTagging(context.Background(), b.Spec.BucketName, theirs)
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-fought }()

	got := waitBucket(t, key, pailv1.ConditionSynced, metav1.ConditionFalse, pailv1.ReasonDriftLoop, 90*time.Second)
	msg := condition(got.Status.Conditions, pailv1.ConditionSynced).Message
	assert.Contains(t, msg, "corrected this bucket 3 times")
	assert.Contains(t, msg, "spec.tags[owner]")
	assertEvent(t, ns, b.Name, pailv1.ReasonDriftLoop, "another writer")
	assert.Equal(t, 1.0, testutil.ToFloat64(suite.op.Metrics.DriftLoops.WithLabelValues(ns, b.Name))) //nolint:testifylint // a counter: the exact value is the point

	// Paused: three resyncs, and not one write to this bucket.
	corrections := testutil.ToFloat64(suite.op.Metrics.DriftCorrections.WithLabelValues(ns, b.Name))
	time.Sleep(3 * resyncPeriod)
	assert.Equal(t, corrections, testutil.ToFloat64(suite.op.Metrics.DriftCorrections.WithLabelValues(ns, b.Name)), "no correction while paused") //nolint:testifylint // a counter: the exact value is the point
	tg, err := suite.s3.GetBucketTagging(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"owner": "other-tool"}, tg.ToMap(), "the other writer's value stands while paused")

	// The user settles it in the spec: writes resume and the bucket is in sync.
	close(stop)
	<-fought
	stop, fought = make(chan struct{}), make(chan struct{})
	close(fought)
	require.NoError(t, suite.k8s.Get(ctx, key, got))
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Tags = map[string]string{"owner": "pail", "agreed": "yes"}
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	tg, err = suite.s3.GetBucketTagging(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Equal(t, marked(t, got, map[string]string{"owner": "pail", "agreed": "yes"}), tg.ToMap(), "the mark the other writer removed is back")
	assert.Zero(t, testutil.ToFloat64(suite.op.Metrics.DriftLoops.WithLabelValues(ns, b.Name)))
}
