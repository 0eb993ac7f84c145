package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/inuse"
	"github.com/pail-dev/pail/test/env"
)

// namespaceEvents returns the events recorded about Namespace ns (they
// live in namespace default, and so outlive it) whose related object is
// name, as "Reason: message".
func namespaceEvents(t *testing.T, ns, name string) []string {
	t.Helper()
	var list corev1.EventList
	require.NoError(t, suite.k8s.List(context.Background(), &list, client.InNamespace(metav1.NamespaceDefault)))
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Namespace" && e.InvolvedObject.Name == ns && e.Related != nil && e.Related.Name == name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

// waitNamespaceEvent waits for an event about namespace ns, related to
// name, with reason and text.
func waitNamespaceEvent(t *testing.T, ns, name, reason, text string) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("event %s about %s mentioning %q", reason, name, text), func() (bool, string) {
		evs := namespaceEvents(t, ns, name)
		for _, e := range evs {
			if strings.HasPrefix(e, reason+": ") && strings.Contains(e, text) {
				return true, ""
			}
		}
		return false, fmt.Sprint(evs)
	})
}

// waitFinalizer waits until obj carries finalizer.
func waitFinalizer(t *testing.T, obj client.Object, finalizer string) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%T %s to carry %s", obj, obj.GetName(), finalizer), func() (bool, string) {
		if err := suite.k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err.Error()
		}
		return controllerutil.ContainsFinalizer(obj, finalizer), fmt.Sprint(obj.GetFinalizers())
	})
}

// TestNamespaceDeletionHonoursDeletionPolicy deletes a namespace with a
// Provider, its Secret, three deletionPolicy Delete Buckets (one holding an
// object), a Retain Bucket and an AccessKey, with a real namespace
// controller (kube-controller-manager) doing what a cluster does. The
// Provider and its Secret stay until the rest has finished deleting
// through them; the namespace is gone within a minute; the empty buckets
// and the user with its keys are deleted; the Retain bucket and the bucket
// that holds data are still there, and events (about the namespace, since
// a terminating namespace takes no new events) say why.
func TestNamespaceDeletionHonoursDeletionPolicy(t *testing.T) {
	ctx := context.Background()
	kcm, err := env.StartControllerManager(ctx, suite.kube, env.ControllerManagerOptions{Controllers: []string{"namespace"}})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-controller-manager log tail:\n%s", kcm.LogTail())
		}
		assert.NoError(t, kcm.Stop())
	})

	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 30*time.Second)
	buckets := map[string]*pailv1.Bucket{}
	for _, n := range []string{"empty-a", "empty-b", "full"} {
		buckets[n] = newBucket(ns, n, p.Name, uniqueBucket("ns-"+n), pailv1.DeletionDelete)
	}
	buckets["kept"] = newBucket(ns, "kept", p.Name, uniqueBucket("ns-kept"), pailv1.DeletionRetain)
	for _, b := range buckets {
		require.NoError(t, suite.k8s.Create(ctx, b))
	}
	for _, b := range buckets {
		waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 30*time.Second)
	}
	full := buckets["full"].Spec.BucketName
	_, err = suite.s3.PutObject(ctx, full, "keep-me.txt", bytesReader("data"), 4, minio.PutObjectOptions{})
	require.NoError(t, err)
	ak := newAccessKey(ns, "app", p.Name)
	require.NoError(t, suite.k8s.Create(ctx, ak))
	got := waitAccessKey(t, client.ObjectKeyFromObject(ak), 30*time.Second, "Ready", akReady)
	user, keyID := got.Status.UserName, got.Status.AccessKeyID
	keySecret(t, ns, got.Status.SecretName)
	adm := minioAdmin(t, suite.minio)
	require.True(t, userExists(t, adm, user))

	// In use: the Provider while Buckets and an AccessKey need it, its
	// Secret while the Provider reads it.
	waitFinalizer(t, &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.Name}}, inuse.Finalizer)
	waitFinalizer(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.Spec.CredentialsSecretRef.Name}}, inuse.Finalizer)

	start := time.Now()
	require.NoError(t, suite.k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	waitFor(t, 60*time.Second, "namespace "+ns+" to be deleted", func() (bool, string) {
		err := suite.k8s.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, remaining(ctx, ns)
	})
	took := time.Since(start)
	t.Logf("namespace %s gone %s after its deletion", ns, took.Round(100*time.Millisecond))
	if took > 30*time.Second {
		t.Logf("slow; kube-controller-manager log tail:\n%s", kcm.LogTail())
	}

	assert.False(t, bucketExists(t, buckets["empty-a"].Spec.BucketName), "empty Delete bucket deleted")
	assert.False(t, bucketExists(t, buckets["empty-b"].Spec.BucketName), "empty Delete bucket deleted")
	assert.True(t, bucketExists(t, buckets["kept"].Spec.BucketName), "Retain bucket kept")
	assert.True(t, bucketExists(t, full), "a bucket holding data is never deleted unasked")
	_, err = suite.s3.StatObject(ctx, full, "keep-me.txt", minio.StatObjectOptions{})
	require.NoError(t, err, "its object is still there")
	assert.False(t, userExists(t, adm, user), "the AccessKey's user is deleted")
	_, err = adm.InfoServiceAccount(ctx, keyID)
	require.Error(t, err, "and its key")

	waitNamespaceEvent(t, ns, "full", pailv1.ReasonNamespaceDeleted, "still holds objects")
	waitNamespaceEvent(t, ns, "kept", pailv1.ReasonRetained, "deletionPolicy Retain")
	waitNamespaceEvent(t, ns, "empty-a", "Deleted", buckets["empty-a"].Spec.BucketName)
	waitNamespaceEvent(t, ns, "app", pailv1.ReasonUserDeleted, user)
}

// remaining describes what is left in a namespace being deleted: each
// Pail object and Secret, its finalizers and its Ready reason.
func remaining(ctx context.Context, ns string) string {
	var parts []string
	add := func(kind string, o client.Object, conds []metav1.Condition) {
		why := ""
		if c := condition(conds, pailv1.ConditionReady); c != nil {
			why = " " + c.Reason + ": " + c.Message
		}
		parts = append(parts, fmt.Sprintf("%s %s %v%s", kind, o.GetName(), o.GetFinalizers(), why))
	}
	var bs pailv1.BucketList
	var aks pailv1.AccessKeyList
	var ps pailv1.ProviderList
	var ss corev1.SecretList
	_ = suite.k8s.List(ctx, &bs, client.InNamespace(ns))
	_ = suite.k8s.List(ctx, &aks, client.InNamespace(ns))
	_ = suite.k8s.List(ctx, &ps, client.InNamespace(ns))
	_ = suite.k8s.List(ctx, &ss, client.InNamespace(ns))
	for i := range bs.Items {
		add("Bucket", &bs.Items[i], bs.Items[i].Status.Conditions)
	}
	for i := range aks.Items {
		add("AccessKey", &aks.Items[i], aks.Items[i].Status.Conditions)
	}
	for i := range ps.Items {
		add("Provider", &ps.Items[i], ps.Items[i].Status.Conditions)
	}
	for i := range ss.Items {
		add("Secret", &ss.Items[i], nil)
	}
	return strings.Join(parts, "; ")
}
