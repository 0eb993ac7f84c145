package integration

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/inuse"
)

// operatorNamespace is the suite operator's own namespace
// (operator.Options.Namespace): a ClusterProvider's Secrets live there by
// default.
const operatorNamespace = pluginNamespace

// ensureOperatorNamespace creates the operator's namespace once.
func ensureOperatorNamespace(t *testing.T) {
	t.Helper()
	err := suite.k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", operatorNamespace, err)
	}
}

// minioClusterProvider creates, in the operator's namespace, a Secret with
// MinIO's root credentials, and a ClusterProvider for it that admits
// allowed.
func minioClusterProvider(t *testing.T, name string, allowed pailv1.AllowedNamespaces) *pailv1.ClusterProvider {
	t.Helper()
	ensureOperatorNamespace(t)
	ctx := context.Background()
	sec := credentialsSecret(operatorNamespace, name+"-creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider("", name, "minio", suite.minio.Endpoint, sec.Name)
	cp := &pailv1.ClusterProvider{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       pailv1.ClusterProviderSpec{ProviderSpec: p.Spec, AllowedNamespaces: allowed},
	}
	require.NoError(t, suite.k8s.Create(ctx, cp))
	return cp
}

// waitClusterProviderReady waits for a ClusterProvider to be Ready.
func waitClusterProviderReady(t *testing.T, name string) {
	t.Helper()
	var cp pailv1.ClusterProvider
	waitFor(t, 60*time.Second, "ClusterProvider "+name+" Ready", func() (bool, string) {
		if err := suite.k8s.Get(context.Background(), client.ObjectKey{Name: name}, &cp); err != nil {
			return false, err.Error()
		}
		return meta.IsStatusConditionTrue(cp.Status.Conditions, pailv1.ConditionReady), describeConds(cp.Status.Conditions)
	})
}

// onCluster points b at ClusterProvider name.
func onCluster(b *pailv1.Bucket, name string) *pailv1.Bucket {
	b.Spec.ProviderRef = pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: name}
	return b
}

// TestClusterProvider: a ClusterProvider whose Secret lives in the
// operator's namespace serves the namespaces it admits and refuses the
// others, without a write; a selector takes effect when a namespace's
// labels change, without touching the Bucket; an AccessKey on it gets only
// its own key; and it is held while Buckets use it.
func TestClusterProvider(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := namespace(t), namespace(t)
	name := fmt.Sprintf("shared-%d", time.Now().UnixNano())
	cp := minioClusterProvider(t, name, pailv1.AllowedNamespaces{From: pailv1.NamespacesFromList, Names: []string{nsA}})
	waitClusterProviderReady(t, name)

	// A Provider of the same name in ns-a, with credentials MinIO refuses:
	// a Bucket on the ClusterProvider never uses its connection.
	require.NoError(t, suite.k8s.Create(ctx, credentialsSecret(nsA, "wrong", "nobody", "wrong-secret")))
	require.NoError(t, suite.k8s.Create(ctx, newProvider(nsA, name, "minio", suite.minio.Endpoint, "wrong")))

	a := onCluster(newBucket(nsA, "data", "", uniqueBucket("cpa"), pailv1.DeletionDelete), name)
	require.NoError(t, suite.k8s.Create(ctx, a))
	got := waitBucket(t, client.ObjectKeyFromObject(a), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	assert.True(t, bucketExists(t, a.Spec.BucketName), "the bucket exists at MinIO")
	assert.Equal(t, "ClusterProvider "+name+" is Ready.", condition(got.Status.Conditions, pailv1.ConditionProviderReady).Message)
	require.NotNil(t, got.Status.Location)
	assert.Equal(t, connect.NormalizeEndpoint(suite.minio.Endpoint), got.Status.Location.Endpoint, "status.location as for a Provider")

	// ns-b is not admitted: ProviderNotAllowed, and nothing at MinIO.
	b := onCluster(newBucket(nsB, "data", "", uniqueBucket("cpb"), pailv1.DeletionDelete), name)
	require.NoError(t, suite.k8s.Create(ctx, b))
	refused := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonProviderNotAllowed, 30*time.Second)
	msg := condition(refused.Status.Conditions, pailv1.ConditionReady).Message
	assert.Contains(t, msg, "does not admit namespace "+nsB)
	assert.Contains(t, msg, "cluster admin")
	assert.False(t, bucketExists(t, b.Spec.BucketName), "a namespace not admitted writes nothing")

	// Selector: ns-a is labelled first and stays served; ns-b, once
	// labelled, is admitted without a change to its Bucket.
	label := map[string]string{"pail.dev/test-tenant": name}
	setLabels(t, nsA, label)
	patchAllowed(t, cp, pailv1.AllowedNamespaces{From: pailv1.NamespacesFromSelector, Selector: &metav1.LabelSelector{MatchLabels: label}})
	waitFor(t, 30*time.Second, "ns-b's refusal to name the selector", func() (bool, string) {
		var cur pailv1.Bucket
		if err := suite.k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur); err != nil {
			return false, err.Error()
		}
		c := condition(cur.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason == pailv1.ReasonProviderNotAllowed && strings.Contains(c.Message, "from is Selector"), describeConds(cur.Status.Conditions)
	})
	gen := refused.Generation
	setLabels(t, nsB, label)
	ready := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 30*time.Second)
	assert.Equal(t, gen, ready.Generation, "the Bucket itself was not touched")
	assert.True(t, bucketExists(t, b.Spec.BucketName))
	waitBucket(t, client.ObjectKeyFromObject(a), pailv1.ConditionReady, metav1.ConditionTrue, "", 10*time.Second)

	clusterAccessKey(t, nsA, name, a)

	// In use: the ClusterProvider and its Secret are held while Buckets
	// need them (each holds its own finalizer), and go once they are gone.
	waitFinalizer(t, &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: b.Name}}, pailv1.BucketFinalizer)
	held := &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: name}}
	waitFinalizer(t, held, inuse.Finalizer)
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: cp.Spec.CredentialsSecretRef.Name}}
	waitFinalizer(t, creds, inuse.Finalizer)
	require.NoError(t, suite.k8s.Delete(ctx, cp))
	time.Sleep(2 * time.Second)
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKey{Name: name}, held), "the ClusterProvider is held while Buckets use it")
	assert.False(t, held.DeletionTimestamp.IsZero())
	assert.True(t, controllerutil.ContainsFinalizer(held, inuse.Finalizer))
	for _, bk := range []*pailv1.Bucket{a, b} {
		require.NoError(t, suite.k8s.Delete(ctx, bk))
		waitGone(t, &pailv1.Bucket{ObjectMeta: bk.ObjectMeta}, 60*time.Second)
		assert.False(t, bucketExists(t, bk.Spec.BucketName), "deletionPolicy Delete went through the ClusterProvider")
	}
	waitGone(t, held, 30*time.Second)
	waitFor(t, 20*time.Second, "the Secret to be released", func() (bool, string) {
		if err := suite.k8s.Get(ctx, client.ObjectKeyFromObject(creds), creds); err != nil {
			return false, err.Error()
		}
		return !controllerutil.ContainsFinalizer(creds, inuse.Finalizer), fmt.Sprint(creds.Finalizers)
	})
	require.NoError(t, suite.k8s.Delete(ctx, creds))
}

// clusterAccessKey: an AccessKey in ns on ClusterProvider name gets a
// Secret in ns with a key of its own (not the admin's), with the
// ClusterProvider's endpoint and region, that works on its bucket; the
// AccessKey is deleted again, with its user.
func clusterAccessKey(t *testing.T, ns, name string, bucket *pailv1.Bucket) {
	t.Helper()
	ctx := context.Background()
	ak := newAccessKey(ns, "app", name)
	ak.Spec.ProviderRef.Kind = pailv1.KindClusterProvider
	ak.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: bucket.Name}, Access: pailv1.AccessReadWrite}}
	ak.Spec.Secret = pailv1.KeySecret{IncludeEndpoint: true, IncludeRegion: true}
	require.NoError(t, suite.k8s.Create(ctx, ak))
	got := waitAccessKey(t, client.ObjectKeyFromObject(ak), 60*time.Second, "Ready", akReady)
	s := keySecret(t, ns, got.Status.SecretName)
	id, secret := string(s.Data[pailv1.DefaultAccessKeyIDKey]), string(s.Data[pailv1.DefaultSecretAccessKeyKey])
	assert.Equal(t, got.Status.AccessKeyID, id)
	assert.NotEqual(t, suite.minio.AccessKey, id, "the user's own key, not the admin's")
	assert.NotEqual(t, suite.minio.SecretKey, secret)
	assert.Equal(t, suite.minio.Endpoint, string(s.Data["AWS_ENDPOINT_URL"]), "the ClusterProvider's endpoint")
	assert.Equal(t, "us-east-1", string(s.Data["AWS_REGION"]), "the ClusterProvider's region")
	require.NotNil(t, got.Status.Location)
	assert.Equal(t, connect.NormalizeEndpoint(suite.minio.Endpoint), got.Status.Location.Endpoint)

	// Nothing in the tenant's namespace holds the admin's secret key.
	var all corev1.SecretList
	require.NoError(t, suite.k8s.List(ctx, &all, client.InNamespace(ns)))
	for _, sec := range all.Items {
		for k, v := range sec.Data {
			assert.NotEqual(t, suite.minio.SecretKey, string(v), "Secret %s key %s holds the ClusterProvider's admin secret", sec.Name, k)
		}
	}
	require.NoError(t, putWorks(s3As(t, id, secret), bucket.Spec.BucketName, "hello"), "the key works on its bucket")
	require.NoError(t, suite.s3.RemoveObject(ctx, bucket.Spec.BucketName, "hello", minio.RemoveObjectOptions{}), "empty again, for its deletion")

	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.AccessKey{ObjectMeta: got.ObjectMeta}, 30*time.Second)
	assert.False(t, userExists(t, minioAdmin(t, suite.minio), got.Status.UserName), "its user is deleted through the ClusterProvider")
}

// setLabels merges labels into namespace ns.
func setLabels(t *testing.T, ns string, labels map[string]string) {
	t.Helper()
	var n corev1.Namespace
	require.NoError(t, suite.k8s.Get(context.Background(), client.ObjectKey{Name: ns}, &n))
	patch := client.MergeFrom(n.DeepCopy())
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	maps.Copy(n.Labels, labels)
	require.NoError(t, suite.k8s.Patch(context.Background(), &n, patch))
}

// patchAllowed sets a ClusterProvider's spec.allowedNamespaces.
func patchAllowed(t *testing.T, cp *pailv1.ClusterProvider, an pailv1.AllowedNamespaces) {
	t.Helper()
	var cur pailv1.ClusterProvider
	require.NoError(t, suite.k8s.Get(context.Background(), client.ObjectKeyFromObject(cp), &cur))
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.AllowedNamespaces = an
	require.NoError(t, suite.k8s.Patch(context.Background(), &cur, patch))
}

// TestBucketPolicyOnClusterProvider: a BucketPolicy reaches its Bucket's
// ClusterProvider the way the Bucket does, and is applied and removed
// through it.
func TestBucketPolicyOnClusterProvider(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	name := fmt.Sprintf("policies-%d", time.Now().UnixNano())
	cp := minioClusterProvider(t, name, pailv1.AllowedNamespaces{From: pailv1.NamespacesFromList, Names: []string{ns}})
	waitClusterProviderReady(t, name)
	b := onCluster(newBucket(ns, "site", "", uniqueBucket("cpsite"), pailv1.DeletionDelete), name)
	b.Annotations = map[string]string{pailv1.AnnotationPublic: "true"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	bp := newBucketPolicy(ns, "site-policy", b.Name, goodPolicy(b.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(ctx, bp))
	waitPolicy(t, client.ObjectKeyFromObject(bp), pailv1.ConditionReady, metav1.ConditionTrue, "")
	doc, err := suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Contains(t, doc, "PublicRead", "applied through the ClusterProvider")

	require.NoError(t, suite.k8s.Delete(ctx, bp))
	waitGone(t, &pailv1.BucketPolicy{ObjectMeta: bp.ObjectMeta}, 30*time.Second)
	doc, err = suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Empty(t, doc, "and removed through it")

	require.NoError(t, suite.k8s.Delete(ctx, b))
	waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 60*time.Second)
	require.NoError(t, suite.k8s.Delete(ctx, cp))
	waitGone(t, &pailv1.ClusterProvider{ObjectMeta: metav1.ObjectMeta{Name: name}}, 30*time.Second)
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: cp.Spec.CredentialsSecretRef.Name}}
	require.NoError(t, suite.k8s.Delete(ctx, creds))
	waitGone(t, creds, 30*time.Second)
}
