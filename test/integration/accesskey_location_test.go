package integration

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/test/env"
)

// minioAdmin is a madmin client for a MinIO server, with its root keys.
func minioAdmin(t *testing.T, m *env.MinIO) *madmin.AdminClient {
	t.Helper()
	u, err := url.Parse(m.Endpoint)
	require.NoError(t, err)
	adm, err := madmin.NewWithOptions(u.Host, &madmin.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	require.NoError(t, err)
	return adm
}

// serviceAccounts lists the keys (MinIO service accounts) of a user.
func serviceAccounts(t *testing.T, adm *madmin.AdminClient, user string) []string {
	t.Helper()
	resp, err := adm.ListServiceAccounts(context.Background(), user)
	require.NoError(t, err, "list the keys of user %s", user)
	var ids []string
	for _, a := range resp.Accounts {
		ids = append(ids, a.AccessKey)
	}
	slices.Sort(ids)
	return ids
}

func userExists(t *testing.T, adm *madmin.AdminClient, user string) bool {
	t.Helper()
	_, err := adm.GetUserInfo(context.Background(), user)
	return err == nil
}

func akConflict(a *pailv1.AccessKey) bool {
	c := condition(a.Status.Conditions, pailv1.ConditionConflict)
	return c != nil && c.Reason == pailv1.ReasonUserConflict && a.Status.ObservedGeneration == a.Generation
}

// TestAccessKeyUserOfAnotherNamespace: an AccessKey whose spec.userName
// names the user another namespace's AccessKey manages (here its generated
// name) gets Conflict naming that one, creates and deletes nothing, and its
// deletion leaves the user and the victim's key working.
func TestAccessKeyUserOfAnotherNamespace(t *testing.T) {
	ctx := context.Background()
	adm := minioAdmin(t, suite.minio)
	victimNS, intruderNS := namespace(t), namespace(t)
	p := minioProvider(t, victimNS, "minio")
	data := newBucket(victimNS, "data", p.Name, uniqueBucket("takeover"), "")
	require.NoError(t, suite.k8s.Create(ctx, data))
	waitBucket(t, client.ObjectKeyFromObject(data), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	victim := newAccessKey(victimNS, "app", p.Name)
	victim.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "data"}, Access: pailv1.AccessReadWrite}}
	require.NoError(t, suite.k8s.Create(ctx, victim))
	victim = waitAccessKey(t, client.ObjectKeyFromObject(victim), 60*time.Second, "Ready", akReady)
	user := victim.Status.UserName
	s := keySecret(t, victimNS, "app")
	victimKey := s3As(t, string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"]))
	require.NoError(t, putWorks(victimKey, data.Spec.BucketName, "before"))
	require.NotNil(t, victim.Status.Location, "the location is recorded")
	assert.Equal(t, connect.NormalizeEndpoint(suite.minio.Endpoint), victim.Status.Location.Endpoint)

	// Another namespace, its own Provider for the same MinIO, the same user.
	ip := minioProvider(t, intruderNS, "minio")
	waitProviderCondition(t, client.ObjectKeyFromObject(ip), pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)
	intruder := newAccessKey(intruderNS, "thief", ip.Name)
	intruder.Spec.UserName = user
	intruder.Spec.DeletionPolicy = pailv1.DeletionDelete
	require.NoError(t, suite.k8s.Create(ctx, intruder))
	got := waitAccessKey(t, client.ObjectKeyFromObject(intruder), 30*time.Second, "UserConflict", akConflict)
	msg := condition(got.Status.Conditions, pailv1.ConditionConflict).Message
	assert.Contains(t, msg, victimNS+"/app", "the message names the AccessKey that manages the user")
	assert.Equal(t, pailv1.ReasonUserConflict, condition(got.Status.Conditions, pailv1.ConditionReady).Reason)
	assert.Empty(t, got.Status.AccessKeyID, "the intruder gets no key")
	assert.Nil(t, got.Status.Location, "the intruder established nothing")
	err := suite.k8s.Get(ctx, client.ObjectKey{Namespace: intruderNS, Name: "thief"}, &corev1.Secret{})
	assert.True(t, apierrors.IsNotFound(err), "no Secret for the intruder")
	time.Sleep(2 * resyncPeriod)
	assert.Equal(t, []string{victim.Status.AccessKeyID}, serviceAccounts(t, adm, user), "the victim's key is the user's only key")
	require.NoError(t, putWorks(victimKey, data.Spec.BucketName, "during"), "the victim's key still works")

	// Deleting the intruder leaves the user alone.
	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.AccessKey{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	time.Sleep(2 * resyncPeriod)
	assert.True(t, userExists(t, adm, user), "the victim's user survives the intruder's deletion")
	assert.Equal(t, []string{victim.Status.AccessKeyID}, serviceAccounts(t, adm, user))
	require.NoError(t, putWorks(victimKey, data.Spec.BucketName, "after"), "the victim's key still works")
	waitAccessKey(t, client.ObjectKeyFromObject(victim), 30*time.Second, "still Ready with the same key", func(a *pailv1.AccessKey) bool {
		return akReady(a) && a.Status.AccessKeyID == victim.Status.AccessKeyID
	})
}

// TestAccessKeyProviderEndpointChanged: once its Provider points at another
// MinIO, where a foreign user of the same name has a working key, the
// AccessKey refuses (LocationChanged) instead of deleting that key or
// taking the user; a deletion waits too, and with Retain leaves both users.
func TestAccessKeyProviderEndpointChanged(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	other := env.MinIOForTest(t, env.MinIOOptions{})
	adm, otherAdm := minioAdmin(t, suite.minio), minioAdmin(t, other)
	store := minioProvider(t, ns, "store")
	data := newBucket(ns, "data", store.Name, uniqueBucket("moved"), "")
	require.NoError(t, suite.k8s.Create(ctx, data))
	waitBucket(t, client.ObjectKeyFromObject(data), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	// The AccessKey has a Provider of its own, so re-pointing it moves no Bucket.
	keys := minioProvider(t, ns, "keys")
	ak := newAccessKey(ns, "app", keys.Name)
	ak.Spec.UserName = "moved-" + ns
	ak.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "data"}, Access: pailv1.AccessReadWrite}}
	require.NoError(t, suite.k8s.Create(ctx, ak))
	ak = waitAccessKey(t, client.ObjectKeyFromObject(ak), 60*time.Second, "Ready", akReady)
	require.NotNil(t, ak.Status.Location)
	assert.Equal(t, connect.NormalizeEndpoint(suite.minio.Endpoint), ak.Status.Location.Endpoint)
	s := keySecret(t, ns, "app")
	ownKey := s3As(t, string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"]))
	require.NoError(t, putWorks(ownKey, data.Spec.BucketName, "before"))

	// A foreign user of the same name at the other MinIO, with a working key.
	user := ak.Spec.UserName
	require.NoError(t, otherAdm.AddUser(ctx, user, "foreign-user-secret-0123"))
	_, err := otherAdm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{"readwrite"}, User: user})
	require.NoError(t, err)
	foreign, err := otherAdm.AddServiceAccount(ctx, madmin.AddServiceAccountReq{TargetUser: user})
	require.NoError(t, err)
	ou, err := url.Parse(other.Endpoint)
	require.NoError(t, err)
	foreignKey, err := minio.New(ou.Host, &minio.Options{Creds: credentials.NewStaticV4(foreign.AccessKey, foreign.SecretKey, "")})
	require.NoError(t, err)
	_, err = foreignKey.ListBuckets(ctx)
	require.NoError(t, err, "the foreign key works before")

	// Re-point the Provider, and ask for a rotation to tempt a write.
	var kp pailv1.Provider
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(keys), &kp))
	patch := client.MergeFrom(kp.DeepCopy())
	kp.Spec.Endpoint = other.Endpoint
	require.NoError(t, suite.k8s.Patch(ctx, &kp, patch))
	// The rotation below must reach an operator that has seen the move: a
	// request made before the Provider change reached its cache would rotate
	// at the old endpoint, rightly.
	waitFor(t, 30*time.Second, "the Provider's move observed", func() (bool, string) {
		var p pailv1.Provider
		if err := suite.k8s.Get(ctx, client.ObjectKeyFromObject(keys), &p); err != nil {
			return false, err.Error()
		}
		return p.Status.ObservedGeneration == p.Generation, fmt.Sprintf("observedGeneration %d of %d", p.Status.ObservedGeneration, p.Generation)
	})
	var cur pailv1.AccessKey
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(ak), &cur))
	akPatch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Rotation = &pailv1.Rotation{Trigger: "after-the-move"}
	require.NoError(t, suite.k8s.Patch(ctx, &cur, akPatch))
	got := waitAccessKey(t, client.ObjectKeyFromObject(ak), 60*time.Second, "LocationChanged", func(a *pailv1.AccessKey) bool {
		c := condition(a.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason == pailv1.ReasonLocationChanged && a.Status.ObservedGeneration == a.Generation
	})
	msg := condition(got.Status.Conditions, pailv1.ConditionReady).Message
	assert.Contains(t, msg, connect.NormalizeEndpoint(suite.minio.Endpoint))
	assert.Contains(t, msg, connect.NormalizeEndpoint(other.Endpoint))
	assertEvent(t, ns, "app", pailv1.ReasonLocationChanged, "point the Provider back")
	time.Sleep(2 * resyncPeriod)
	assert.Equal(t, []string{foreign.AccessKey}, serviceAccounts(t, otherAdm, user), "the foreign user keeps exactly its own key")
	_, err = foreignKey.ListBuckets(ctx)
	require.NoError(t, err, "the foreign key still works")
	assert.Equal(t, ak.Status.AccessKeyID, got.Status.AccessKeyID, "no rotation happened")
	assert.Equal(t, []string{ak.Status.AccessKeyID}, serviceAccounts(t, adm, user), "the user Pail created is untouched")
	require.NoError(t, putWorks(ownKey, data.Spec.BucketName, "moved"), "and its key still works")

	// Deleting waits while the location differs; Retain lets it go, touching neither user.
	require.NoError(t, suite.k8s.Delete(ctx, got))
	time.Sleep(2 * resyncPeriod)
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(ak), &cur))
	assert.Contains(t, cur.Finalizers, pailv1.AccessKeyFinalizer, "the deletion waits")
	assert.True(t, userExists(t, otherAdm, user), "the foreign user is not deleted")
	akPatch = client.MergeFrom(cur.DeepCopy())
	cur.Spec.DeletionPolicy = pailv1.DeletionRetain
	require.NoError(t, suite.k8s.Patch(ctx, &cur, akPatch))
	waitGone(t, &pailv1.AccessKey{ObjectMeta: cur.ObjectMeta}, 30*time.Second)
	assert.Equal(t, []string{foreign.AccessKey}, serviceAccounts(t, otherAdm, user))
	_, err = foreignKey.ListBuckets(ctx)
	require.NoError(t, err, "the foreign key works after")
	assert.True(t, userExists(t, adm, user), "Retain leaves the user Pail created")
}
