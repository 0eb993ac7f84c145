package integration

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/madmin-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// minioAdmin is a madmin client with MinIO's root key: the "someone else"
// that changes users and keys behind Pail's back.
// minioKeys lists the service accounts of user, sorted.
func minioKeys(t *testing.T, adm *madmin.AdminClient, user string) []string {
	t.Helper()
	resp, err := adm.ListServiceAccounts(context.Background(), user)
	require.NoError(t, err)
	var ids []string
	for _, a := range resp.Accounts {
		ids = append(ids, a.AccessKey)
	}
	slices.Sort(ids)
	return ids
}

// readyHistory records every Ready condition the AccessKey's watch shows,
// so a Ready=False that lasts one reconcile is not missed by polling.
type readyHistory struct {
	mu   sync.Mutex
	seen []metav1.Condition
}

func watchReady(t *testing.T, key client.ObjectKey) *readyHistory {
	t.Helper()
	wc, err := client.NewWithWatch(suite.kube.Config, client.Options{Scheme: suite.k8s.Scheme()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &pailv1.AccessKeyList{}, client.InNamespace(key.Namespace))
	require.NoError(t, err)
	h := &readyHistory{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			ak, ok := ev.Object.(*pailv1.AccessKey)
			if !ok || ev.Type == watch.Error || ak.Name != key.Name {
				continue
			}
			if c := condition(ak.Status.Conditions, pailv1.ConditionReady); c != nil {
				h.mu.Lock()
				h.seen = append(h.seen, *c)
				h.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { w.Stop(); cancel(); <-done })
	return h
}

// sawReason reports whether a Ready=False with reason whose message names
// text went by.
func (h *readyHistory) sawReason(reason, text string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.seen {
		if c.Status == metav1.ConditionFalse && c.Reason == reason && strings.Contains(c.Message, text) {
			return true
		}
	}
	return false
}

// eventCount counts the events on name with reason whose note contains
// text, repeats included.
func eventCount(t *testing.T, ns, name, reason, text string) int {
	t.Helper()
	var list corev1.EventList
	require.NoError(t, suite.k8s.List(context.Background(), &list, client.InNamespace(ns)))
	n := 0
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Reason == reason && strings.Contains(e.Message, text) {
			n += max(1, int(e.Count))
			if e.Series != nil {
				n += int(e.Series.Count)
			}
		}
	}
	return n
}

// TestAccessKeyLeavesForeignKeys: a key of the user that Pail did not
// create for this AccessKey (another's working key) survives every
// reconcile and the AccessKey's deletion, with one Warning event; the user
// stays while it holds that key. On main, the next reconcile deleted it as
// "left by an interrupted create or rotation", and deletion took the user.
func TestAccessKeyLeavesForeignKeys(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	adm := minioAdmin(t, suite.minio)
	p := minioProvider(t, ns, "minio")
	data := newBucket(ns, "data", p.Name, uniqueBucket("foreign"), "")
	require.NoError(t, suite.k8s.Create(ctx, data))
	waitBucket(t, client.ObjectKeyFromObject(data), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	ak := newAccessKey(ns, "app", p.Name)
	ak.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "data"}, Access: pailv1.AccessReadWrite}}
	require.NoError(t, suite.k8s.Create(ctx, ak))
	key := client.ObjectKeyFromObject(ak)
	got := waitAccessKey(t, key, 60*time.Second, "Ready", akReady)
	user, own := got.Status.UserName, got.Status.AccessKeyID

	// Someone else's working key on the same user.
	foreign, err := adm.AddServiceAccount(ctx, madmin.AddServiceAccountReq{TargetUser: user})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = adm.DeleteServiceAccount(context.Background(), foreign.AccessKey)
		_ = adm.RemoveUser(context.Background(), user)
	})
	app := s3As(t, foreign.AccessKey, foreign.SecretKey)
	require.NoError(t, putWorks(app, data.Spec.BucketName, "foreign"))

	// A reconcile names it (on main: deleted it as leaked); resyncs leave it.
	assertEvent(t, ns, "app", pailv1.ReasonForeignKey, foreign.AccessKey)
	time.Sleep(3 * resyncPeriod)
	assert.Equal(t, sorted(own, foreign.AccessKey), minioKeys(t, adm, user), "Pail's key and the foreign one")
	require.NoError(t, putWorks(app, data.Spec.BucketName, "foreign-resynced"), "the foreign key still works")

	// A rotation (create, store, retire) leaves it too.
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Rotation = &pailv1.Rotation{Trigger: "once", Retention: pailv1.NewDuration(time.Second)}
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	got = waitAccessKey(t, key, 90*time.Second, "rotated and retired", func(a *pailv1.AccessKey) bool {
		return akReady(a) && a.Status.AccessKeyID != own && a.Status.PreviousAccessKeyID == ""
	})
	time.Sleep(2 * resyncPeriod)
	assert.Equal(t, sorted(got.Status.AccessKeyID, foreign.AccessKey), minioKeys(t, adm, user), "Pail's new key and the foreign one, nothing else")
	require.NoError(t, putWorks(app, data.Spec.BucketName, "foreign-still"), "the foreign key still works")
	assert.Equal(t, 1, eventCount(t, ns, "app", pailv1.ReasonForeignKey, foreign.AccessKey), "warned once, not every resync")
	s := keySecret(t, ns, "app")
	assert.Equal(t, foreign.AccessKey, s.Annotations[pailv1.AnnotationForeignKeys])
	assert.Zero(t, eventCount(t, ns, "app", pailv1.ReasonLeakedKeyRemoved, foreign.AccessKey))

	// Deletion takes Pail's key, and leaves the user with the foreign one.
	mine := s3As(t, string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"]))
	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.AccessKey{ObjectMeta: got.ObjectMeta}, 60*time.Second)
	waitDenied(t, mine, data.Spec.BucketName, "InvalidAccessKeyId", "AccessDenied")
	assert.Equal(t, []string{foreign.AccessKey}, minioKeys(t, adm, user))
	require.NoError(t, putWorks(app, data.Spec.BucketName, "after-delete"), "the foreign key outlives the AccessKey")
	assertEvent(t, ns, "app", pailv1.ReasonRetained, foreign.AccessKey)
	_, err = adm.GetUserInfo(ctx, user)
	assert.NoError(t, err, "the user stays while it holds a key Pail did not create")
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestAccessKeyNoticesLostKey: the current key deleted, then deactivated,
// at MinIO behind Pail's back. Each time the AccessKey leaves Ready
// (KeyLost, with an event) and comes back with a new key that works; the
// dead key is gone. On main a deleted key was replaced silently (Ready never
// left True) and a deactivated one not at all.
func TestAccessKeyNoticesLostKey(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	adm := minioAdmin(t, suite.minio)
	p := minioProvider(t, ns, "minio")
	data := newBucket(ns, "data", p.Name, uniqueBucket("lost"), "")
	require.NoError(t, suite.k8s.Create(ctx, data))
	waitBucket(t, client.ObjectKeyFromObject(data), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	ak := newAccessKey(ns, "app", p.Name)
	ak.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "data"}, Access: pailv1.AccessReadWrite}}
	require.NoError(t, suite.k8s.Create(ctx, ak))
	key := client.ObjectKeyFromObject(ak)
	got := waitAccessKey(t, key, 60*time.Second, "Ready", akReady)
	user := got.Status.UserName
	history := watchReady(t, key)

	for _, how := range []string{"deleted", "deactivated"} {
		t.Run(how, func(t *testing.T) {
			dead := got.Status.AccessKeyID
			deadSecret := string(keySecret(t, ns, "app").Data["AWS_SECRET_ACCESS_KEY"])
			if how == "deleted" {
				require.NoError(t, adm.DeleteServiceAccount(ctx, dead))
			} else {
				require.NoError(t, adm.UpdateServiceAccount(ctx, dead, madmin.UpdateServiceAccountReq{NewStatus: "off"}))
			}
			waitDenied(t, s3As(t, dead, deadSecret), data.Spec.BucketName, "InvalidAccessKeyId", "AccessDenied")
			got = waitAccessKey(t, key, 60*time.Second, "Ready with a new key", func(a *pailv1.AccessKey) bool {
				return akReady(a) && a.Status.AccessKeyID != dead
			})
			assert.True(t, history.sawReason(pailv1.ReasonKeyLost, dead), "Ready=False (KeyLost) was written before the new key")
			assertEvent(t, ns, "app", pailv1.ReasonKeyLost, dead)
			s := keySecret(t, ns, "app")
			assert.Equal(t, got.Status.AccessKeyID, string(s.Data["AWS_ACCESS_KEY_ID"]))
			require.NoError(t, putWorks(s3As(t, got.Status.AccessKeyID, string(s.Data["AWS_SECRET_ACCESS_KEY"])), data.Spec.BucketName, how),
				"the new key works")
			assert.Equal(t, []string{got.Status.AccessKeyID}, minioKeys(t, adm, user), "the dead key is gone, the new one is the only key")
		})
	}
}

// TestAccessKeyOwnerTagReserved: spec.tags may not set the tag that marks
// the user as the AccessKey's.
func TestAccessKeyOwnerTagReserved(t *testing.T) {
	ns := namespace(t)
	ak := newAccessKey(ns, "app", "minio")
	ak.Spec.Tags = map[string]string{pailv1.TagOwner: "someone/else"}
	err := suite.k8s.Create(context.Background(), ak)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.tags may not set pail.dev/owner")
}
