package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/accesskey"
	"github.com/pail-dev/pail/test/env"
)

// TestInlinePolicyDeniedAtAdmission: a public-write inline Bucket.spec.policy
// is refused by the Bucket webhook with the built-in pack's message, as a
// BucketPolicy would be, and stores nothing; a public read passes with the
// pack's warning.
func TestInlinePolicyDeniedAtAdmission(t *testing.T) {
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	bn := uniqueBucket("inline-denied")
	b := newBucket(ns, "pub", p.Name, bn, "")
	b.Spec.Policy = &runtime.RawExtension{Raw: []byte(publicWritePolicy(bn))}
	_, err := dryRunCreate(t, b)
	require.Error(t, err)
	for _, want := range []string{"spec.policy: Forbidden", "[security]", "PublicWrite"} {
		assert.Contains(t, err.Error(), want)
	}
	var got pailv1.Bucket
	assert.True(t, apierrors.IsNotFound(suite.k8s.Get(context.Background(), client.ObjectKeyFromObject(b), &got)), "a dry run stores nothing")

	b.Spec.Policy = publicReadPolicy(bn)
	warnings, err := dryRunCreate(t, b)
	require.NoError(t, err)
	assert.Contains(t, fmt.Sprint(warnings), "public read")
}

// strictPack (pack inlinestrict: the package names the pack) denies every
// statement with Principal "*" on the Buckets of one namespace, so it
// touches no other test.
func strictPack(ns string) string {
	return fmt.Sprintf(`package pail.inlinestrict

deny contains msg if {
	input.bucket.namespace == %q
	some i, s in input.policy.Statement
	s.Principal == "*"
	msg := sprintf("statement %%d: no public statements in this namespace", [i])
}
`, ns)
}

// TestInlinePolicyStoredThenDenied: an inline policy stored while the packs
// allowed it, then denied by a pack loaded in the operator's namespace, gets
// PolicyValid False and is not applied: the policy removed at MinIO behind
// Pail's back is not written back, while a change to another field is.
func TestInlinePolicyStoredThenDenied(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	bn := uniqueBucket("inline-stored")
	b := newBucket(ns, "stored", p.Name, bn, pailv1.DeletionDelete)
	b.Spec.Policy = publicReadPolicy(bn)
	b.Spec.Tags = map[string]string{"round": "1"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	waitBucket(t, key, pailv1.ConditionPolicyValid, metav1.ConditionTrue, pailv1.ReasonPolicyWarnings, 5*time.Second)
	held, err := suite.s3.GetBucketPolicy(ctx, bn)
	require.NoError(t, err)
	require.NotEmpty(t, held, "the allowed policy is applied")

	if err := suite.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pluginNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: pluginNamespace, Name: "inline-strict-" + ns, Labels: map[string]string{"pail.dev/policy-pack": "inlinestrict"}},
		Data:       map[string]string{"strict.rego": strictPack(ns)},
	}
	require.NoError(t, suite.k8s.Create(ctx, cm))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), cm) })

	got := waitBucket(t, key, pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied, 60*time.Second)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Message, "no public statements in this namespace")
	assert.Equal(t, pailv1.ReasonPolicyDenied, condition(got.Status.Conditions, pailv1.ConditionReady).Reason)

	// Remove the policy at MinIO, and change a tag: the webhook lets the
	// update through (the policy is unchanged), the tag is applied, the
	// denied policy is not.
	require.NoError(t, suite.s3.SetBucketPolicy(ctx, bn, ""))
	require.NoError(t, suite.k8s.Get(ctx, key, got))
	got.Spec.Tags = map[string]string{"round": "2"}
	require.NoError(t, suite.k8s.Update(ctx, got))
	waitFor(t, 60*time.Second, "the tag change applied at MinIO", func() (bool, string) {
		tags := bucketTags(t, suite.s3, bn)
		return tags["round"] == "2", fmt.Sprint(tags)
	})
	waitBucket(t, key, pailv1.ConditionSynced, metav1.ConditionFalse, pailv1.ReasonPolicyDenied, 30*time.Second)
	held, err = suite.s3.GetBucketPolicy(ctx, bn)
	require.NoError(t, err)
	assert.Empty(t, held, "the denied policy is not written to MinIO")

	// Changing the policy to another denied document is refused at admission.
	require.NoError(t, suite.k8s.Get(ctx, key, got))
	got.Spec.Policy = &runtime.RawExtension{Raw: []byte(publicWritePolicy(bn))}
	err = suite.k8s.Update(ctx, got)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PublicWrite")
}

// TestAccessKeyGrantAcrossTenants: an AccessKey granting a Bucket of
// another Provider on another backend, or in its inline policy a bucket of
// another namespace, is refused at admission; one admitted before the grant could be judged
// (its Bucket or Provider came later) gets GrantRefused, and no user exists
// for it at MinIO.
func TestAccessKeyGrantAcrossTenants(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := namespace(t), namespace(t)
	pA := minioProvider(t, nsA, "minio")
	// Provider other points at a second MinIO: a grant by name there would
	// reach whatever bucket of that name the user's MinIO holds.
	second := env.MinIOForTest(t, env.MinIOOptions{})
	sec := credentialsSecret(nsA, "other-creds", second.AccessKey, second.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	other := newProvider(nsA, "other", "minio", second.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, other))
	// Provider beside points at the user's MinIO: its Buckets may be granted.
	beside := minioProvider(t, nsA, "beside")
	pB := minioProvider(t, nsB, "minio")
	theirs := newBucket(nsB, "theirs", pB.Name, uniqueBucket("theirs"), pailv1.DeletionDelete)
	require.NoError(t, suite.k8s.Create(ctx, theirs))
	waitBucket(t, client.ObjectKeyFromObject(theirs), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	elsewhere := newBucket(nsA, "elsewhere", other.Name, uniqueBucket("elsewhere"), pailv1.DeletionDelete)
	require.NoError(t, suite.k8s.Create(ctx, elsewhere))
	waitBucket(t, client.ObjectKeyFromObject(elsewhere), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	near := newBucket(nsA, "near", beside.Name, uniqueBucket("near"), pailv1.DeletionDelete)
	require.NoError(t, suite.k8s.Create(ctx, near))
	waitBucket(t, client.ObjectKeyFromObject(near), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	grantsOther := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "grants-other"}}
	grantsOther.Spec.ProviderRef.Name = pA.Name
	grantsOther.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: elsewhere.Name}, Access: pailv1.AccessReadOnly}}
	_, err := dryRunCreate(t, grantsOther)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.buckets[0] names Bucket elsewhere of Provider other, whose bucket is at")
	// A Bucket of another Provider at the same MinIO is the same backend.
	grantsNear := grantsOther.DeepCopy()
	grantsNear.Name = "grants-near"
	grantsNear.Spec.Buckets[0].BucketRef.Name = near.Name
	_, err = dryRunCreate(t, grantsNear)
	require.NoError(t, err)

	foreignDoc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, theirs.Spec.BucketName)
	grantsTheirs := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "grants-theirs"}}
	grantsTheirs.Spec.ProviderRef.Name = pA.Name
	grantsTheirs.Spec.Policy = &runtime.RawExtension{Raw: []byte(foreignDoc)}
	_, err = dryRunCreate(t, grantsTheirs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("bucket %s, which a Bucket of namespace %s manages", theirs.Spec.BucketName, nsB))

	// Admitted before the grant can be judged: the Provider comes later.
	late := grantsTheirs.DeepCopy()
	late.Name, late.Spec.ProviderRef.Name = "late", "late"
	warnings := createWithWarnings(t, late)
	assert.Contains(t, fmt.Sprint(warnings), "Provider late cannot be read")
	minioProvider(t, nsA, "late")
	// Admitted before the grant can be judged: the Bucket comes later.
	later := grantsOther.DeepCopy()
	later.Name = "later"
	later.Spec.Buckets[0].BucketRef.Name = "elsewhere-later"
	createWithWarnings(t, later)
	laterBucket := newBucket(nsA, "elsewhere-later", other.Name, uniqueBucket("later"), pailv1.DeletionDelete)
	require.NoError(t, suite.k8s.Create(ctx, laterBucket))

	adm := minioAdmin(t, suite.minio)
	for _, ak := range []*pailv1.AccessKey{late, later} {
		got := waitAccessKey(t, client.ObjectKeyFromObject(ak), 60*time.Second, "GrantRefused", func(a *pailv1.AccessKey) bool {
			c := condition(a.Status.Conditions, pailv1.ConditionReady)
			return c != nil && c.Reason == pailv1.ReasonGrantRefused
		})
		assert.Equal(t, pailv1.ReasonGrantRefused, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Reason)
		assert.Empty(t, got.Status.AccessKeyID, "no key")
		assert.False(t, userExists(t, adm, accesskey.UserName(got)), "no user at MinIO")
	}
}
