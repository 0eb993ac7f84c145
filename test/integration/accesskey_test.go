package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func newAccessKey(ns, name, provider string) *pailv1.AccessKey {
	return &pailv1.AccessKey{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: provider}},
	}
}

func waitAccessKey(t *testing.T, key client.ObjectKey, timeout time.Duration, what string, ok func(*pailv1.AccessKey) bool) *pailv1.AccessKey {
	t.Helper()
	var ak pailv1.AccessKey
	waitFor(t, timeout, fmt.Sprintf("AccessKey %s: %s", key, what), func() (bool, string) {
		if err := suite.k8s.Get(context.Background(), key, &ak); err != nil {
			return false, err.Error()
		}
		return ok(&ak), fmt.Sprintf("%s key=%s previous=%s", describeConds(ak.Status.Conditions), ak.Status.AccessKeyID, ak.Status.PreviousAccessKeyID)
	})
	return &ak
}

func akReady(ak *pailv1.AccessKey) bool {
	c := condition(ak.Status.Conditions, pailv1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && ak.Status.ObservedGeneration == ak.Generation && ak.Status.AccessKeyID != ""
}

// keySecret reads an AccessKey's Secret and records its secret values for
// the end-of-run scan of logs, events, status and metrics.
func keySecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	require.NoError(t, suite.k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s))
	secrets.record(&s)
	return &s
}

// s3As returns an S3 client for MinIO signing with the given key.
func s3As(t *testing.T, id, secret string) *minio.Client {
	t.Helper()
	u, err := url.Parse(suite.minio.Endpoint)
	require.NoError(t, err)
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(id, secret, "")})
	require.NoError(t, err)
	return c
}

func putWorks(c *minio.Client, bucket, key string) error {
	_, err := c.PutObject(context.Background(), bucket, key, bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
	return err
}

// waitDenied polls until a put with c fails with one of the codes.
func waitDenied(t *testing.T, c *minio.Client, bucket string, codes ...string) {
	t.Helper()
	waitFor(t, 20*time.Second, "the key to be refused", func() (bool, string) {
		err := putWorks(c, bucket, "probe")
		if err == nil {
			return false, "put still works"
		}
		code := minio.ToErrorResponse(err).Code
		if slices.Contains(codes, code) {
			return true, ""
		}
		return false, err.Error()
	})
}

// TestAccessKeyOnMinIO: a key created through madmin goes into the Secret,
// performs the allowed call and is refused the forbidden one; rotation by
// trigger and by interval keeps the previous key working until its
// retention ends; deletion honours Delete and Retain.
func TestAccessKeyOnMinIO(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	data := newBucket(ns, "data", p.Name, uniqueBucket("akdata"), "")
	other := newBucket(ns, "other", p.Name, uniqueBucket("akother"), "")
	require.NoError(t, suite.k8s.Create(ctx, data))
	require.NoError(t, suite.k8s.Create(ctx, other))
	waitBucket(t, client.ObjectKeyFromObject(data), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	waitBucket(t, client.ObjectKeyFromObject(other), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	ak := newAccessKey(ns, "app", p.Name)
	ak.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "data"}, Access: pailv1.AccessReadWrite}}
	ak.Spec.Secret = pailv1.KeySecret{IncludeEndpoint: true, IncludeRegion: true, IncludeBucketNames: true, Labels: map[string]string{"team": "a"}}
	ak.Spec.Rotation = &pailv1.Rotation{Retention: pailv1.NewDuration(3 * time.Second)}
	require.NoError(t, suite.k8s.Create(ctx, ak))
	key := client.ObjectKeyFromObject(ak)
	got := waitAccessKey(t, key, 60*time.Second, "Ready", akReady)

	s := keySecret(t, ns, "app")
	id, secret := string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"])
	assert.Equal(t, got.Status.AccessKeyID, id, "status shows the key id")
	assert.NotEmpty(t, secret)
	assert.Equal(t, suite.minio.Endpoint, string(s.Data["AWS_ENDPOINT_URL"]))
	assert.Equal(t, "us-east-1", string(s.Data["AWS_REGION"]))
	assert.Equal(t, data.Spec.BucketName, string(s.Data["BUCKET_NAMES"]))
	assert.Equal(t, "a", s.Labels["team"])
	assert.True(t, metav1.IsControlledBy(s, got), "the Secret is owned by the AccessKey")
	assert.NotContains(t, fmt.Sprintf("%+v", got.Status), secret, "status never holds the secret")
	assert.NotNil(t, got.Status.CreatedAt)
	assert.Nil(t, got.Status.LastUsedAt, "MinIO reports no last-used time")
	assertEvent(t, ns, "app", pailv1.ReasonKeyCreated, id)

	app := s3As(t, id, secret)
	require.NoError(t, putWorks(app, data.Spec.BucketName, "hello"), "the key may write to its bucket")
	err := putWorks(app, other.Spec.BucketName, "hello")
	require.Error(t, err, "the key may not write to another bucket")
	assert.Equal(t, "AccessDenied", minio.ToErrorResponse(err).Code)

	// Rotation by trigger: the new key is current, the old one stays in the
	// Secret and keeps working until the retention ends.
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Rotation.Trigger = "rotate-1"
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	got = waitAccessKey(t, key, 30*time.Second, "rotated", func(a *pailv1.AccessKey) bool {
		return a.Status.AccessKeyID != "" && a.Status.AccessKeyID != id && a.Status.PreviousAccessKeyID == id
	})
	s = keySecret(t, ns, "app")
	newID, newSecret := string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"])
	assert.Equal(t, got.Status.AccessKeyID, newID)
	assert.Equal(t, id, string(s.Data["AWS_ACCESS_KEY_ID_PREVIOUS"]), "the previous key stays readable by apps")
	assert.Equal(t, secret, string(s.Data["AWS_SECRET_ACCESS_KEY_PREVIOUS"]))
	require.NoError(t, putWorks(s3As(t, newID, newSecret), data.Spec.BucketName, "new"))
	assertEvent(t, ns, "app", pailv1.ReasonKeyRotated, newID)

	// Retention over: the previous key is deactivated, dropped from the
	// Secret and deleted.
	got = waitAccessKey(t, key, 30*time.Second, "previous key retired", func(a *pailv1.AccessKey) bool { return a.Status.PreviousAccessKeyID == "" })
	s = keySecret(t, ns, "app")
	assert.NotContains(t, s.Data, "AWS_ACCESS_KEY_ID_PREVIOUS")
	waitDenied(t, app, data.Spec.BucketName, "InvalidAccessKeyId", "AccessDenied")
	assertEvent(t, ns, "app", pailv1.ReasonKeyDeactivated, id)
	assertEvent(t, ns, "app", pailv1.ReasonKeyDeleted, id)
	require.NoError(t, putWorks(s3As(t, newID, newSecret), data.Spec.BucketName, "still"), "the current key is untouched")

	// Rotation by interval: admission refuses one below 1h, so the test
	// dates the key record in the Secret back instead of waiting.
	backdateKey(t, ns, "app", 2*time.Hour)
	patch = client.MergeFrom(got.DeepCopy())
	got.Spec.Rotation.Interval = pailv1.NewDuration(time.Hour)
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	got = waitAccessKey(t, key, 40*time.Second, "rotated by interval", func(a *pailv1.AccessKey) bool {
		return a.Status.AccessKeyID != newID && a.Status.AccessKeyID != "" && a.Status.NextRotationAt != nil
	})
	assert.NotNil(t, got.Status.LastRotatedAt)
	patch = client.MergeFrom(got.DeepCopy())
	got.Spec.Rotation.Interval = nil
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	got = waitAccessKey(t, key, 30*time.Second, "settled", func(a *pailv1.AccessKey) bool {
		return akReady(a) && a.Status.PreviousAccessKeyID == "" && a.Status.NextRotationAt == nil
	})
	s = keySecret(t, ns, "app")
	lastID, lastSecret := string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"])
	lastKey := s3As(t, lastID, lastSecret)
	require.NoError(t, putWorks(lastKey, data.Spec.BucketName, "last"))

	// Delete (the default): keys, user and Secret go.
	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.AccessKey{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	waitDenied(t, lastKey, data.Spec.BucketName, "InvalidAccessKeyId", "AccessDenied")
	assertEvent(t, ns, "app", pailv1.ReasonUserDeleted, got.Status.UserName)
	waitFor(t, 20*time.Second, "the Secret to go", func() (bool, string) {
		err := suite.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &corev1.Secret{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})

	// Retain: the Secret outlives the AccessKey, without owner references,
	// and its key still works.
	kept := newAccessKey(ns, "kept", p.Name)
	kept.Spec.Buckets = ak.Spec.Buckets
	kept.Spec.DeletionPolicy = pailv1.DeletionRetain
	require.NoError(t, suite.k8s.Create(ctx, kept))
	kept = waitAccessKey(t, client.ObjectKeyFromObject(kept), 60*time.Second, "Ready", akReady)
	require.NoError(t, suite.k8s.Delete(ctx, kept))
	waitGone(t, &pailv1.AccessKey{ObjectMeta: kept.ObjectMeta}, 30*time.Second)
	s = keySecret(t, ns, "kept")
	assert.Empty(t, s.OwnerReferences, "Retain orphans the Secret so garbage collection keeps it")
	time.Sleep(2 * time.Second) // give the garbage collector a chance to be wrong
	s = keySecret(t, ns, "kept")
	require.NoError(t, putWorks(s3As(t, string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"])), data.Spec.BucketName, "kept"))
}

// backdateKey moves the creation time recorded in an AccessKey's Secret
// back by d, as if the key had been made that long ago.
func backdateKey(t *testing.T, ns, name string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s corev1.Secret
		if err := suite.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
			return err
		}
		created, err := time.Parse(time.RFC3339, s.Annotations[pailv1.AnnotationKeyCreated])
		if err != nil {
			return err
		}
		s.Annotations[pailv1.AnnotationKeyCreated] = created.Add(-d).UTC().Format(time.RFC3339)
		return suite.k8s.Update(ctx, &s)
	}))
}

// TestAccessKeyRefusals: what the driver or the packs cannot accept is
// refused with a condition, not ignored.
func TestAccessKeyRefusals(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := newBucket(ns, "b", p.Name, uniqueBucket("akref"), "")
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	// MinIO users carry no tags: Unsupported names them; the key is still made.
	tagged := newAccessKey(ns, "tagged", p.Name)
	tagged.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "b"}, Access: pailv1.AccessReadOnly}}
	tagged.Spec.Tags = map[string]string{"team": "a"}
	require.NoError(t, suite.k8s.Create(ctx, tagged))
	got := waitAccessKey(t, client.ObjectKeyFromObject(tagged), 60*time.Second, "Unsupported tags", func(a *pailv1.AccessKey) bool {
		c := condition(a.Status.Conditions, pailv1.ConditionUnsupported)
		return c != nil && c.Status == metav1.ConditionTrue && a.Status.AccessKeyID != ""
	})
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionUnsupported).Message, "user tags")
	assert.Equal(t, pailv1.ReasonUnsupported, condition(got.Status.Conditions, pailv1.ConditionReady).Reason)
	keySecret(t, ns, "tagged")

	// The identity pack denies an admin policy: nothing is created.
	admin := newAccessKey(ns, "admin", p.Name)
	admin.Spec.Policy = &runtime.RawExtension{Raw: []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}
	require.NoError(t, suite.k8s.Create(ctx, admin))
	got = waitAccessKey(t, client.ObjectKeyFromObject(admin), 30*time.Second, "PolicyDenied", func(a *pailv1.AccessKey) bool {
		c := condition(a.Status.Conditions, pailv1.ConditionPolicyValid)
		return c != nil && c.Reason == pailv1.ReasonPolicyDenied
	})
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Message, "administrator of every bucket")
	assert.Empty(t, got.Status.AccessKeyID, "nothing is created while the policy is denied")
	err := suite.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "admin"}, &corev1.Secret{})
	assert.True(t, apierrors.IsNotFound(err), "no Secret for a denied AccessKey")

	// A Bucket that does not exist is waited for, by name.
	missing := newAccessKey(ns, "missing", p.Name)
	missing.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "nope"}, Access: pailv1.AccessReadOnly}}
	require.NoError(t, suite.k8s.Create(ctx, missing))
	got = waitAccessKey(t, client.ObjectKeyFromObject(missing), 30*time.Second, "BucketRefNotFound", func(a *pailv1.AccessKey) bool {
		c := condition(a.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason == pailv1.ReasonBucketRefNotFound
	})
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionReady).Message, "nope")

	// A Secret that Pail did not write is never overwritten.
	require.NoError(t, suite.k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"}, StringData: map[string]string{"x": "y"}}))
	taken := newAccessKey(ns, "taken", p.Name)
	taken.Spec.Buckets = tagged.Spec.Buckets
	require.NoError(t, suite.k8s.Create(ctx, taken))
	waitAccessKey(t, client.ObjectKeyFromObject(taken), 30*time.Second, "SecretConflict", func(a *pailv1.AccessKey) bool {
		c := condition(a.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason == pailv1.ReasonSecretConflict
	})
	var s corev1.Secret
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "taken"}, &s))
	assert.Equal(t, map[string][]byte{"x": []byte("y")}, s.Data, "the foreign Secret is untouched")
}

// TestAccessKeyUserConflict: a second AccessKey naming a user another one
// manages does nothing (it would delete the first one's keys), says so, and
// its deletion leaves the user and the first one's key alone.
func TestAccessKeyUserConflict(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	data := newBucket(ns, "data", p.Name, uniqueBucket("conflict"), "")
	require.NoError(t, suite.k8s.Create(ctx, data))
	waitBucket(t, client.ObjectKeyFromObject(data), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	first := newAccessKey(ns, "first", p.Name)
	first.Spec.UserName = "shared-" + ns
	first.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "data"}, Access: pailv1.AccessReadWrite}}
	require.NoError(t, suite.k8s.Create(ctx, first))
	first = waitAccessKey(t, client.ObjectKeyFromObject(first), 60*time.Second, "Ready", akReady)
	s := keySecret(t, ns, "first")

	second := newAccessKey(ns, "second", p.Name)
	second.Spec.UserName = first.Spec.UserName
	second.Spec.DeletionPolicy = pailv1.DeletionDelete
	require.NoError(t, suite.k8s.Create(ctx, second))
	got := waitAccessKey(t, client.ObjectKeyFromObject(second), 30*time.Second, "UserConflict", func(a *pailv1.AccessKey) bool {
		c := condition(a.Status.Conditions, pailv1.ConditionConflict)
		return c != nil && c.Reason == pailv1.ReasonUserConflict
	})
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionConflict).Message, "first")
	assert.Empty(t, got.Status.AccessKeyID)

	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.AccessKey{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	time.Sleep(2 * resyncPeriod)
	got = waitAccessKey(t, client.ObjectKeyFromObject(first), 30*time.Second, "still Ready", akReady)
	assert.Equal(t, string(s.Data["AWS_ACCESS_KEY_ID"]), got.Status.AccessKeyID, "the first AccessKey's key survives")
	require.NoError(t, putWorks(s3As(t, string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"])), data.Spec.BucketName, "still"),
		"the first AccessKey's key still works")
}
