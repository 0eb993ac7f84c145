package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestATagTheBackendRefusesIsNamedAndBlocksNothingElse: "café" meets S3's
// tag rules, so admission lets it through, but MinIO takes ASCII letters
// only. The bucket is still created with the rest of its spec; the
// condition and a Warning event name the tag and the rule.
func TestATagTheBackendRefusesIsNamedAndBlocksNothingElse(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	name := uniqueBucket("badtag")
	b := newBucket(ns, "badtag", p.Name, name, pailv1.DeletionDelete)
	b.Spec.Versioning = &pailv1.VersioningSpec{Status: "Enabled"}
	b.Spec.Tags = map[string]string{"team": "café", "env": "test"}
	b.Spec.Policy = publicReadPolicy(name)
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)

	got := waitBucket(t, key, pailv1.ConditionSynced, metav1.ConditionFalse, pailv1.ReasonBackendError, 60*time.Second)
	msg := condition(got.Status.Conditions, pailv1.ConditionSynced).Message
	assert.Contains(t, msg, `value of tag "team"`, "the message names the tag")
	assert.Contains(t, msg, "ASCII letters", "the message names the rule")
	assert.Contains(t, msg, "everything else in the spec was applied")
	assert.NotContains(t, msg, "..")
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status)
	assertEvent(t, ns, "badtag", pailv1.ReasonBackendError, `"team"`)

	assert.True(t, bucketExists(t, name), "one bad tag does not keep the bucket from being created")
	v, err := suite.s3.GetBucketVersioning(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, "Enabled", v.Status, "the rest of the spec is applied")
	pol, err := suite.s3.GetBucketPolicy(ctx, name)
	require.NoError(t, err)
	assert.Contains(t, pol, "s3:GetObject", "sub-resources after tagging are applied too")

	// Fixing the tag is enough.
	require.NoError(t, suite.k8s.Get(ctx, key, got))
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Tags["team"] = "cafe"
	require.NoError(t, suite.k8s.Patch(ctx, got, patch))
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	tg, err := suite.s3.GetBucketTagging(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, marked(t, b, map[string]string{"team": "cafe", "env": "test"}), tg.ToMap(), "the fixed tags and, with them, the mark")
	require.NoError(t, suite.k8s.Delete(ctx, got))
	waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 60*time.Second)
}
