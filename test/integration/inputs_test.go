package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/madmin-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// recoverWithin is how soon a fixed input must bring a resource back: the
// watch, not a backoff or a resync, must do it.
const recoverWithin = 10 * time.Second

// setSecret replaces the data of a Secret, as a user fixing it would.
func setSecret(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	var s corev1.Secret
	require.NoError(t, suite.k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s))
	s.Data, s.StringData = nil, data
	require.NoError(t, suite.k8s.Update(context.Background(), &s))
}

// recovers waits for the Bucket to become Ready within recoverWithin of the
// fix, and checks nobody touched it meanwhile (its generation is the one
// it had when it failed).
func recovers(t *testing.T, b *pailv1.Bucket, failed *pailv1.Bucket, fixedAt time.Time) {
	t.Helper()
	got := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", recoverWithin)
	t.Logf("Bucket %s Ready %s after the fix", b.Name, time.Since(fixedAt).Round(100*time.Millisecond))
	assert.Equal(t, failed.Generation, got.Generation, "the Bucket itself was not touched")
	assert.True(t, bucketExists(t, b.Spec.BucketName))
}

// TestFixedCredentialsRecoverBucketAtOnce: a Bucket that fails because of
// the key in its Provider's Secret is Ready within seconds of the Secret
// being fixed, without touching the Bucket. Two paths: a wrong secret key
// (the Provider goes not Ready first; its recovery brings the Bucket), and
// a valid key without rights on buckets (the Provider stays Ready, the
// Bucket's own calls are refused with AccessDenied, a terminal error that
// only the Secret watch brings back).
func TestFixedCredentialsRecoverBucketAtOnce(t *testing.T) {
	ctx := context.Background()
	good := map[string]string{"AWS_ACCESS_KEY_ID": suite.minio.AccessKey, "AWS_SECRET_ACCESS_KEY": suite.minio.SecretKey}

	t.Run("wrong secret key", func(t *testing.T) {
		ns := namespace(t)
		require.NoError(t, suite.k8s.Create(ctx, credentialsSecret(ns, "creds", suite.minio.AccessKey, "not-the-secret")))
		p := newProvider(ns, "minio", "minio", suite.minio.Endpoint, "creds")
		require.NoError(t, suite.k8s.Create(ctx, p))
		b := newBucket(ns, "data", p.Name, uniqueBucket("fixed-key"), pailv1.DeletionDelete)
		require.NoError(t, suite.k8s.Create(ctx, b))
		waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionAuthValid, metav1.ConditionFalse, 30*time.Second)
		failed := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonProviderNotReady, 30*time.Second)

		setSecret(t, ns, "creds", good)
		recovers(t, b, failed, time.Now())
	})

	t.Run("key without rights on buckets", func(t *testing.T) {
		ns := namespace(t)
		adm := minioAdmin(t, suite.minio)
		// The lister may list buckets (the Provider check) and nothing
		// else; the writer may do anything S3 but no admin call, so the
		// Provider's account (none) stays the same and only the Secret
		// changes.
		lister, writer := "lister-"+ns, "writer-"+ns
		policy := []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["arn:aws:s3:::*"]}]}`)
		require.NoError(t, adm.AddCannedPolicy(ctx, "list-only-"+ns, policy))
		for user, pol := range map[string]string{lister: "list-only-" + ns, writer: "readwrite"} {
			require.NoError(t, adm.AddUser(ctx, user, user+"-secret-0123"))
			_, err := adm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{pol}, User: user})
			require.NoError(t, err)
		}
		require.NoError(t, suite.k8s.Create(ctx, credentialsSecret(ns, "creds", lister, lister+"-secret-0123")))
		p := newProvider(ns, "minio", "minio", suite.minio.Endpoint, "creds")
		require.NoError(t, suite.k8s.Create(ctx, p))
		waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 30*time.Second)
		b := newBucket(ns, "data", p.Name, uniqueBucket("fixed-rights"), pailv1.DeletionDelete)
		require.NoError(t, suite.k8s.Create(ctx, b))
		failed := waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonBackendError, 30*time.Second)
		assert.Contains(t, condition(failed.Status.Conditions, pailv1.ConditionReady).Message, "ccess", "the backend refused access")

		setSecret(t, ns, "creds", map[string]string{"AWS_ACCESS_KEY_ID": writer, "AWS_SECRET_ACCESS_KEY": writer + "-secret-0123"})
		recovers(t, b, failed, time.Now())
		got := waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, time.Second)
		assert.Empty(t, got.Status.Account, "the Provider's account did not change: the Secret watch alone brought the Bucket back")
	})
}

// TestMFASecretCreatedLaterRecoversBucketAtOnce: a Bucket whose
// spec.versioning.mfaDelete names a Secret that does not exist stops with
// MFAUnavailable (a terminal error); creating the Secret requeues it at
// once. MinIO has no MFA delete, so this runs the aws driver on versitygw.
func TestMFASecretCreatedLaterRecoversBucketAtOnce(t *testing.T) {
	ctx := context.Background()
	vgw := suite.versity
	ns := namespace(t)
	require.NoError(t, suite.k8s.Create(ctx, credentialsSecret(ns, "creds", vgw.AccessKey, vgw.SecretKey)))
	p := newProvider(ns, "aws", "aws", vgw.Endpoint, "creds")
	require.NoError(t, suite.k8s.Create(ctx, p))
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)

	b := newBucket(ns, "versioned", p.Name, uniqueBucket("mfa-later"), pailv1.DeletionRetain)
	b.Spec.Versioning = &pailv1.VersioningSpec{Status: "Enabled", MFADelete: &pailv1.MFADeleteSpec{
		Enabled: false, SecretRef: pailv1.MFASecretRef{Name: "mfa"},
	}}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	failed := waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonMFAUnavailable, 60*time.Second)
	assert.Contains(t, condition(failed.Status.Conditions, pailv1.ConditionReady).Message, "does not exist")

	require.NoError(t, suite.k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mfa"},
		// RFC 6238's test seed; versitygw does not check the code.
		StringData: map[string]string{"serial": "arn:aws:iam::000000000000:mfa/pail-test", "seed": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
	}))
	created := time.Now()
	var got pailv1.Bucket
	waitFor(t, recoverWithin, "the Bucket to read the MFA Secret", func() (bool, string) {
		if err := suite.k8s.Get(ctx, key, &got); err != nil {
			return false, err.Error()
		}
		c := condition(got.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason != pailv1.ReasonMFAUnavailable, describeConds(got.Status.Conditions)
	})
	t.Logf("Bucket past MFAUnavailable %s after the Secret was created: %s", time.Since(created).Round(100*time.Millisecond), describeConds(got.Status.Conditions))
	assert.Equal(t, failed.Generation, got.Generation, "the Bucket itself was not touched")
	// Whatever the gateway makes of the MFA header, the Bucket now gets
	// to the call: it exists, with versioning on.
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 30*time.Second)
}

// TestAccessKeyInputsRequeueAtOnce: an AccessKey waiting for a Bucket its
// spec.buckets names, or for a policy pack its spec.packs selects, goes on
// within seconds of the Bucket or the pack appearing, without touching the
// AccessKey (both would otherwise wait for a 15 s or 30 s retry).
func TestAccessKeyInputsRequeueAtOnce(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 30*time.Second)
	reason := func(a *pailv1.AccessKey, typ string) string {
		if c := condition(a.Status.Conditions, typ); c != nil {
			return c.Reason
		}
		return ""
	}

	// The Bucket comes later.
	ak := newAccessKey(ns, "app", p.Name)
	ak.Spec.Buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "later"}, Access: pailv1.AccessReadOnly}}
	require.NoError(t, suite.k8s.Create(ctx, ak))
	waiting := waitAccessKey(t, client.ObjectKeyFromObject(ak), 30*time.Second, "BucketRefNotFound", func(a *pailv1.AccessKey) bool {
		return reason(a, pailv1.ConditionReady) == pailv1.ReasonBucketRefNotFound
	})
	require.NoError(t, suite.k8s.Create(ctx, newBucket(ns, "later", p.Name, uniqueBucket("later"), pailv1.DeletionDelete)))
	created := time.Now()
	// Past BucketRefNotFound at once (the user is being created: MinIO's
	// admin calls take seconds more), then Ready.
	waitAccessKey(t, client.ObjectKeyFromObject(ak), recoverWithin, "past BucketRefNotFound once the Bucket exists", func(a *pailv1.AccessKey) bool {
		return reason(a, pailv1.ConditionReady) != pailv1.ReasonBucketRefNotFound || a.Status.UserName != "" && userExists(t, minioAdmin(t, suite.minio), a.Status.UserName)
	})
	t.Logf("AccessKey went on %s after its Bucket was created", time.Since(created).Round(100*time.Millisecond))
	got := waitAccessKey(t, client.ObjectKeyFromObject(ak), 60*time.Second, "Ready", akReady)
	assert.Equal(t, waiting.Generation, got.Generation, "the AccessKey itself was not touched")

	// The pack comes later: its ConfigMap, in the operator's namespace, is
	// what a compliance team ships.
	// A pack's package is pail.<pack name>.
	pack := "itkeys_" + strings.ReplaceAll(ns, "-", "_")
	packed := newAccessKey(ns, "packed", p.Name)
	packed.Spec.Buckets = ak.Spec.Buckets
	packed.Spec.Packs = []string{pack}
	require.NoError(t, suite.k8s.Create(ctx, packed))
	waiting = waitAccessKey(t, client.ObjectKeyFromObject(packed), 30*time.Second, "PacksUnavailable", func(a *pailv1.AccessKey) bool {
		return reason(a, pailv1.ConditionPolicyValid) == pailv1.ReasonPacksUnavailable
	})
	ensureOperatorNamespace(t)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "keys-pack-" + ns, Labels: map[string]string{"pail.dev/policy-pack": pack}},
		Data: map[string]string{"keys.rego": "package pail." + pack + `

deny contains msg if {
	input.kind == "identity"
	msg := "this test's pack denies every identity policy"
}
`},
	}
	require.NoError(t, suite.k8s.Create(ctx, cm))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), cm) })
	created = time.Now()
	got = waitAccessKey(t, client.ObjectKeyFromObject(packed), recoverWithin, "PolicyDenied once the pack is loaded", func(a *pailv1.AccessKey) bool {
		return reason(a, pailv1.ConditionPolicyValid) == pailv1.ReasonPolicyDenied
	})
	t.Logf("AccessKey evaluated %s after its pack was created", time.Since(created).Round(100*time.Millisecond))
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Message, "denies every identity policy")
	assert.Equal(t, waiting.Generation, got.Generation, "the AccessKey itself was not touched")
	assert.Empty(t, got.Status.AccessKeyID, "nothing is created while the policy is denied")
}
