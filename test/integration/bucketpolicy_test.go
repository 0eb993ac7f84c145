package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/abi"
)

// goodPolicy passes every pack: TLS only, public read on a Bucket that opts
// into being public.
func goodPolicy(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
 {"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
 {"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%[1]s/*"}]}`, bucket)
}

func publicWritePolicy(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
 {"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
 {"Sid":"PublicWrite","Effect":"Allow","Principal":"*","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::%[1]s/*"}]}`, bucket)
}

func newBucketPolicy(ns, name, bucket, doc string) *pailv1.BucketPolicy {
	return &pailv1.BucketPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: pailv1.BucketPolicySpec{
			BucketRef: pailv1.BucketReference{Name: bucket},
			Policy:    runtime.RawExtension{Raw: []byte(doc)},
		},
	}
}

// readyPublicBucket creates a Bucket that opts into public read and waits for it.
func readyPublicBucket(t *testing.T, ns, provider, name string) *pailv1.Bucket {
	t.Helper()
	b := newBucket(ns, name, provider, uniqueBucket(name), "")
	b.Annotations = map[string]string{pailv1.AnnotationPublic: "true"}
	require.NoError(t, suite.k8s.Create(context.Background(), b))
	return waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
}

func waitPolicy(t *testing.T, key client.ObjectKey, typ string, st metav1.ConditionStatus, reason string) *pailv1.BucketPolicy {
	t.Helper()
	var bp pailv1.BucketPolicy
	waitFor(t, 60*time.Second, fmt.Sprintf("BucketPolicy %s %s=%s %s", key, typ, st, reason), func() (bool, string) {
		if err := suite.k8s.Get(context.Background(), key, &bp); err != nil {
			return false, err.Error()
		}
		c := condition(bp.Status.Conditions, typ)
		return c != nil && c.Status == st && (reason == "" || c.Reason == reason), describeConds(bp.Status.Conditions)
	})
	return &bp
}

func applies() float64 { return testutilValue("minio", "ApplyBucket", "ok") }

func testutilValue(driver, op, result string) float64 {
	return testutil.ToFloat64(suite.op.Metrics.DriverOperations.WithLabelValues(driver, op, result))
}

func TestBucketPolicyIsAppliedOnceAndRemovedOnDelete(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "site")
	bp := newBucketPolicy(ns, "site-policy", b.Name, goodPolicy(b.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(ctx, bp))
	got := waitPolicy(t, client.ObjectKeyFromObject(bp), pailv1.ConditionReady, metav1.ConditionTrue, "")
	assert.Equal(t, metav1.ConditionTrue, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Status)
	assert.Empty(t, got.Status.Violations)
	assert.NotEmpty(t, got.Status.AppliedHash)
	assert.Contains(t, fmt.Sprint(got.Status.LastAppliedDiff), "+ PublicRead")
	doc, err := suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Contains(t, doc, "PublicRead")
	assertEvent(t, ns, "site-policy", pailv1.ReasonApplied, "+ DenyInsecure")

	// MinIO rewrites the stored document (lists, principal form, key order);
	// the canonical diff sees through it, so resyncs never write again.
	before := applies()
	time.Sleep(3 * resyncPeriod)
	assert.Equal(t, before, applies(), "no re-apply loop: the policy was written once") //nolint:testifylint // a counter: the exact value is the point

	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.BucketPolicy{ObjectMeta: bp.ObjectMeta}, 30*time.Second)
	doc, err = suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Empty(t, doc, "deleting the BucketPolicy removes it from the bucket")
}

func TestBucketPolicyEnforceBlocksAndWarnApplies(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	// The webhook refuses this document while the Bucket exists; created
	// first (as GitOps may), it passes admission and the controller blocks it.
	b := newBucket(ns, "drop", p.Name, uniqueBucket("drop"), "")
	b.Annotations = map[string]string{pailv1.AnnotationPublic: "true"}
	bp := newBucketPolicy(ns, "drop-policy", b.Name, publicWritePolicy(b.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(ctx, bp))
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(bp)
	got := waitPolicy(t, key, pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied)
	require.NotEmpty(t, got.Status.Violations)
	assert.Contains(t, fmt.Sprint(got.Status.Violations), "PublicWrite")
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status)
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	doc, err := suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Empty(t, doc, "Enforce blocked the apply")
	assertEvent(t, ns, "drop-policy", pailv1.ReasonPolicyDenied, "PublicWrite")

	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.EnforcementMode = pailv1.EnforcementWarn
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	got = waitPolicy(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "")
	assert.Equal(t, pailv1.ReasonPolicyWarnings, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Reason)
	assert.Contains(t, fmt.Sprint(got.Status.Warnings), "PublicWrite")
	doc, err = suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Contains(t, doc, "PublicWrite", "Warn applied the document")
}

func TestBucketPolicyConflicts(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "shared")
	first := newBucketPolicy(ns, "first", b.Name, goodPolicy(b.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(ctx, first))
	waitPolicy(t, client.ObjectKeyFromObject(first), pailv1.ConditionReady, metav1.ConditionTrue, "")

	second := newBucketPolicy(ns, "second", b.Name, publicWritePolicy(b.Spec.BucketName))
	second.Spec.EnforcementMode = pailv1.EnforcementWarn
	require.NoError(t, suite.k8s.Create(ctx, second))
	got := waitPolicy(t, client.ObjectKeyFromObject(second), pailv1.ConditionConflict, metav1.ConditionTrue, pailv1.ReasonOtherBucketPolicy)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionConflict).Message, "first")
	doc, err := suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.NotContains(t, doc, "PublicWrite", "the earlier policy stays applied")

	// A Bucket with an inline policy wins over any BucketPolicy.
	inline := newBucket(ns, "inline", p.Name, uniqueBucket("inline"), "")
	inline.Spec.Policy = publicReadPolicy(inline.Spec.BucketName)
	require.NoError(t, suite.k8s.Create(ctx, inline))
	waitBucket(t, client.ObjectKeyFromObject(inline), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	third := newBucketPolicy(ns, "third", inline.Name, goodPolicy(inline.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(ctx, third))
	got = waitPolicy(t, client.ObjectKeyFromObject(third), pailv1.ConditionConflict, metav1.ConditionTrue, pailv1.ReasonInlinePolicy)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionConflict).Message, "inline")

	// When the first policy goes, the second takes over.
	require.NoError(t, suite.k8s.Delete(ctx, first))
	waitPolicy(t, client.ObjectKeyFromObject(second), pailv1.ConditionReady, metav1.ConditionTrue, "")
	doc, err = suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Contains(t, doc, "PublicWrite")
}

// A BucketPolicy the packs refused applied nothing, so it governs nothing:
// a valid policy created after it on the same bucket applies (issue 12:
// the later one used to say the refused one "governs" the bucket).
func TestBucketPolicyRefusedGovernsNothing(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	// Created before its Bucket, the denied policy passes admission (as
	// under GitOps) and the controller refuses it.
	b := newBucket(ns, "refused", p.Name, uniqueBucket("refused"), "")
	b.Annotations = map[string]string{pailv1.AnnotationPublic: "true"}
	denied := newBucketPolicy(ns, "denied", b.Name, publicWritePolicy(b.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(ctx, denied))
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitPolicy(t, client.ObjectKeyFromObject(denied), pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied)
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)

	valid := newBucketPolicy(ns, "valid", b.Name, goodPolicy(b.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(ctx, valid))
	got := waitPolicy(t, client.ObjectKeyFromObject(valid), pailv1.ConditionReady, metav1.ConditionTrue, "")
	assert.Equal(t, pailv1.ReasonNoConflict, condition(got.Status.Conditions, pailv1.ConditionConflict).Reason)
	doc, err := suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Contains(t, doc, "PublicRead", "the bucket holds the valid policy")
	assert.NotContains(t, doc, "PublicWrite")

	// The refused one still says why it is refused, and deleting it leaves
	// the valid policy on the bucket.
	var d pailv1.BucketPolicy
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(denied), &d))
	assert.Equal(t, pailv1.ReasonPolicyDenied, condition(d.Status.Conditions, pailv1.ConditionReady).Reason, describeConds(d.Status.Conditions))
	require.NoError(t, suite.k8s.Delete(ctx, &d))
	waitGone(t, &pailv1.BucketPolicy{ObjectMeta: denied.ObjectMeta}, 30*time.Second)
	time.Sleep(2 * resyncPeriod)
	doc, err = suite.s3.GetBucketPolicy(ctx, b.Spec.BucketName)
	require.NoError(t, err)
	assert.Contains(t, doc, "PublicRead", "deleting the refused policy leaves the bucket's policy alone")
	got = waitPolicy(t, client.ObjectKeyFromObject(valid), pailv1.ConditionReady, metav1.ConditionTrue, "")
	assert.Equal(t, pailv1.ReasonAvailable, condition(got.Status.Conditions, pailv1.ConditionReady).Reason)
}

func applyAttempts(code string) float64 { return testutilValue("minio", "ApplyBucket", code) }

// A document the backend cannot store: the minio driver refuses a Deny
// with NotPrincipal before sending, and MinIO itself refuses a condition
// key that does not go with the action (MalformedPolicy). Either way the
// BucketPolicy says the backend refused it, never "applied", and the
// document is sent once, not retried many times a minute (issue 12).
func TestBucketPolicyBackendRefusal(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "refuse")
	bn := b.Spec.BucketName
	for _, tc := range []struct {
		name, doc, code, says string
	}{
		{
			name: "NotPrincipal", code: string(abi.CodeUnimplemented), says: "uses NotPrincipal, which MinIO's bucket policies do not support",
			doc: fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"DenyOthers","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]}]}`, bn),
		},
		{
			name: "MalformedPolicy", code: string(abi.CodeInvalidArgument), says: "MalformedPolicy",
			doc: fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"Prefix","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*","Condition":{"StringEquals":{"s3:prefix":"x"}}}]}`, bn),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := applyAttempts(tc.code)
			bp := newBucketPolicy(ns, "refused-"+strings.ToLower(tc.name), b.Name, tc.doc)
			require.NoError(t, suite.k8s.Create(ctx, bp))
			key := client.ObjectKeyFromObject(bp)
			got := waitPolicy(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonBackendRefusedPolicy)
			ready := condition(got.Status.Conditions, pailv1.ConditionReady)
			assert.Contains(t, ready.Message, tc.says)
			assert.Contains(t, ready.Message, "nothing was written")
			assert.Equal(t, pailv1.ReasonBackendRefusedPolicy, condition(got.Status.Conditions, pailv1.ConditionSynced).Reason)
			for _, c := range got.Status.Conditions {
				assert.NotContains(t, c.Message, "applied", "%s=%s says applied while nothing was", c.Type, c.Status)
			}
			assertEvent(t, ns, bp.Name, pailv1.ReasonBackendRefusedPolicy, tc.says)

			// Wake it: the Bucket changes, resyncs pass. The refusal is
			// terminal: the document is not sent again.
			var cur pailv1.Bucket
			require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur))
			patch := client.MergeFrom(cur.DeepCopy())
			cur.Annotations["touched"] = tc.name
			require.NoError(t, suite.k8s.Patch(ctx, &cur, patch))
			time.Sleep(3 * resyncPeriod)
			attempts := applyAttempts(tc.code) - before
			assert.Equal(t, 1.0, attempts, "ApplyBucket attempts with %s: one, not a retry loop", tc.code) //nolint:testifylint // a counter: the exact value is the point
			doc, err := suite.s3.GetBucketPolicy(ctx, bn)
			require.NoError(t, err)
			assert.Empty(t, doc, "nothing reached the bucket")

			// A spec change is the way out.
			require.NoError(t, suite.k8s.Get(ctx, key, got))
			spec := client.MergeFrom(got.DeepCopy())
			got.Spec.Policy.Raw = []byte(goodPolicy(bn))
			require.NoError(t, suite.k8s.Patch(ctx, got, spec))
			waitPolicy(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "")
			require.NoError(t, suite.k8s.Delete(ctx, got))
			waitGone(t, &pailv1.BucketPolicy{ObjectMeta: bp.ObjectMeta}, 30*time.Second)
		})
	}
}
