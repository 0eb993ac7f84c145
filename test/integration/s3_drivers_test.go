package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestAWSAndWasabiDriversOnVersityGW runs the aws and wasabi drivers, by
// endpoint override, against versitygw's posix S3 gateway: CORS, tags,
// policy and versioning end to end, drift corrected, and what the gateway
// lacks (encryption, lifecycle, public access block) reported Unsupported.
func TestAWSAndWasabiDriversOnVersityGW(t *testing.T) {
	ctx := context.Background()
	vgw := suite.versity
	s3, err := vgw.Client()
	require.NoError(t, err)
	for _, driver := range []string{"aws", "wasabi"} {
		t.Run(driver, func(t *testing.T) {
			ns := namespace(t)
			sec := credentialsSecret(ns, "creds", vgw.AccessKey, vgw.SecretKey)
			require.NoError(t, suite.k8s.Create(ctx, sec))
			p := newProvider(ns, driver, driver, vgw.Endpoint, sec.Name)
			require.NoError(t, suite.k8s.Create(ctx, p))
			waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)

			name := uniqueBucket(driver)
			b := newBucket(ns, "web", p.Name, name, pailv1.DeletionDelete)
			b.Spec.ForceDelete = true
			b.Spec.Versioning = &pailv1.VersioningSpec{Status: "Enabled"}
			b.Spec.CORS = &pailv1.CORSSpec{Rules: []pailv1.CORSRule{
				{AllowedMethods: []string{"GET", "HEAD"}, AllowedOrigins: []string{"https://app.example.com"}, MaxAgeSeconds: 600},
				{AllowedMethods: []string{"PUT"}, AllowedOrigins: []string{"https://upload.example.com"}, AllowedHeaders: []string{"content-type"}},
			}}
			b.Spec.Tags = map[string]string{"driver": driver, "env": "test"}
			b.Spec.Policy = publicReadPolicy(name)
			require.NoError(t, suite.k8s.Create(ctx, b))
			key := client.ObjectKeyFromObject(b)
			got := waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "", 90*time.Second)
			assert.Equal(t, pailv1.OwnershipCreated, got.Status.Ownership)

			v, err := s3.GetBucketVersioning(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, "Enabled", v.Status)
			tg, err := s3.GetBucketTagging(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, marked(t, b, map[string]string{"driver": driver, "env": "test"}), tg.ToMap(), "versitygw holds the mark")
			pol, err := s3.GetBucketPolicy(ctx, name)
			require.NoError(t, err)
			assert.Contains(t, pol, "s3:GetObject")
			cors, err := s3.GetBucketCors(ctx, name)
			require.NoError(t, err)
			require.Len(t, cors.CORSRules, 2)
			assert.ElementsMatch(t, []string{"GET", "HEAD"}, cors.CORSRules[0].AllowedMethod)

			// Drift made with another client is reverted on the next resync.
			bt, _ := tags.NewTags(map[string]string{"driver": "tampered"}, false)
			require.NoError(t, s3.SetBucketTagging(ctx, name, bt))
			waitFor(t, 20*time.Second, "tags reverted", func() (bool, string) {
				tg, err := s3.GetBucketTagging(ctx, name)
				if err != nil {
					return false, err.Error()
				}
				return tg.ToMap()["driver"] == driver && tg.ToMap()["env"] == "test", fmt.Sprint(tg.ToMap())
			})
			assertEvent(t, ns, "web", pailv1.ReasonDriftCorrected, "spec.tags[driver]")

			// What the gateway lacks is named; the rest stays applied.
			require.NoError(t, suite.k8s.Get(ctx, key, got))
			patch := client.MergeFrom(got.DeepCopy())
			got.Spec.Encryption = &pailv1.EncryptionSpec{Algorithm: "AES256"}
			got.Spec.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{{ID: "x", Expiration: &pailv1.LifecycleExpiration{Days: 1}}}}
			require.NoError(t, suite.k8s.Patch(ctx, got, patch))
			got = waitBucket(t, key, pailv1.ConditionUnsupported, metav1.ConditionTrue, pailv1.ReasonUnsupported, 30*time.Second)
			msg := condition(got.Status.Conditions, pailv1.ConditionUnsupported).Message
			assert.Contains(t, msg, "encryption")
			assert.Contains(t, msg, "lifecycle")
			assert.Equal(t, metav1.ConditionTrue, condition(got.Status.Conditions, pailv1.ConditionSynced).Status)

			// Force delete of a versioned bucket holding versions.
			for _, body := range []string{"a", "bb"} {
				_, err := s3.PutObject(ctx, name, "k", bytesReader(body), int64(len(body)), minio.PutObjectOptions{})
				require.NoError(t, err)
			}
			require.NoError(t, suite.k8s.Delete(ctx, got))
			waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 60*time.Second)
			ok, err := s3.BucketExists(ctx, name)
			require.NoError(t, err)
			assert.False(t, ok, "force delete removed the versioned bucket")
		})
	}
}
