package integration

import (
	"context"
	"maps"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// iamClient reads versitygw's IAM API with the root key, independently of
// the driver under test.
func iamClient() *iam.Client {
	return iam.New(iam.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(suite.iam.Endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: suite.iam.AccessKey, SecretAccessKey: suite.iam.SecretKey}, nil
		}),
	})
}

// gwAs is an S3 client for the IAM-paired versitygw gateway.
func gwAs(t *testing.T, id, secret string) *minio.Client {
	t.Helper()
	u, err := url.Parse(suite.iamGW.Endpoint)
	require.NoError(t, err)
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(id, secret, ""), Region: "us-east-1"})
	require.NoError(t, err)
	return c
}

func keyIDs(t *testing.T, user string) []string {
	t.Helper()
	out, err := iamClient().ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	require.NoError(t, err)
	var ids []string
	for _, k := range out.AccessKeyMetadata {
		ids = append(ids, aws.ToString(k.AccessKeyId))
	}
	return ids
}

// TestAccessKeyOnIAM runs the aws and wasabi drivers against versitygw's IAM
// API: the key works on the paired gateway, the user carries the policy and
// tags, last use reads back, rotation by trigger and interval, retention
// expiry, and deletion with Delete and Retain.
func TestAccessKeyOnIAM(t *testing.T) {
	for _, drv := range []string{"aws", "wasabi"} {
		t.Run(drv, func(t *testing.T) {
			ns := namespace(t)
			ctx := context.Background()
			sec := credentialsSecret(ns, "root", suite.iam.AccessKey, suite.iam.SecretKey)
			require.NoError(t, suite.k8s.Create(ctx, sec))
			p := newProvider(ns, drv, drv, suite.iamGW.Endpoint, sec.Name)
			p.Spec.IAMEndpoint = suite.iam.Endpoint
			require.NoError(t, suite.k8s.Create(ctx, p))
			bucket := uniqueBucket("iam-" + drv)
			require.NoError(t, gwAs(t, suite.iam.AccessKey, suite.iam.SecretKey).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}))

			doc := `{"Version":"2012-10-17","Statement":[{"Sid":"RW","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}]}`
			ak := newAccessKey(ns, "app", p.Name)
			ak.Spec.Policy = &runtime.RawExtension{Raw: []byte(doc)}
			wantTags := drv == "aws" // wasabi users carry no tags in Pail's driver
			if wantTags {
				ak.Spec.Tags = map[string]string{"team": "a", "env": "test"}
			}
			ak.Spec.Rotation = &pailv1.Rotation{Retention: pailv1.NewDuration(3 * time.Second)}
			require.NoError(t, suite.k8s.Create(ctx, ak))
			key := client.ObjectKeyFromObject(ak)
			got := waitAccessKey(t, key, 60*time.Second, "Ready", akReady)
			user := got.Status.UserName

			s := keySecret(t, ns, "app")
			id, secret := string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"])
			assert.Equal(t, got.Status.AccessKeyID, id)
			assert.Equal(t, []string{id}, keyIDs(t, user), "exactly the Secret's key exists")

			// The user carries the policy and tags.
			pol, err := iamClient().GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(user)})
			require.NoError(t, err)
			stored, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
			require.NoError(t, err)
			assert.True(t, policydoc.Same(doc, stored), "the inline policy is in place: %s", stored)
			if wantTags {
				tags, err := iamClient().ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String(user)})
				require.NoError(t, err)
				have := map[string]string{}
				for _, tg := range tags.Tags {
					have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				want := map[string]string{pailv1.TagOwner: ns + "/app/" + string(got.UID)}
				maps.Copy(want, ak.Spec.Tags)
				assert.Equal(t, want, have, "spec.tags, and the tag that marks the user as this AccessKey's")
			}

			// The key works on the gateway, within its policy; last use reads back.
			app := gwAs(t, id, secret)
			waitFor(t, 20*time.Second, "the new key to work", func() (bool, string) {
				err := putWorks(app, bucket, "hello")
				return err == nil, errString(err)
			})
			got = waitAccessKey(t, key, 30*time.Second, "lastUsedAt", func(a *pailv1.AccessKey) bool { return a.Status.LastUsedAt != nil })
			assert.WithinDuration(t, time.Now(), got.Status.LastUsedAt.Time, time.Minute)

			// Rotation by trigger; the previous key works until retention ends.
			patch := client.MergeFrom(got.DeepCopy())
			got.Spec.Rotation.Trigger = "now"
			require.NoError(t, suite.k8s.Patch(ctx, got, patch))
			waitAccessKey(t, key, 30*time.Second, "rotated", func(a *pailv1.AccessKey) bool { return a.Status.PreviousAccessKeyID == id })
			s = keySecret(t, ns, "app")
			newID, newSecret := string(s.Data["AWS_ACCESS_KEY_ID"]), string(s.Data["AWS_SECRET_ACCESS_KEY"])
			assert.ElementsMatch(t, []string{id, newID}, keyIDs(t, user), "two keys during the overlap, AWS's limit")
			require.NoError(t, putWorks(app, bucket, "old-still-works"))
			waitFor(t, 20*time.Second, "the rotated key to work", func() (bool, string) {
				err := putWorks(gwAs(t, newID, newSecret), bucket, "new")
				return err == nil, errString(err)
			})
			got = waitAccessKey(t, key, 30*time.Second, "previous retired", func(a *pailv1.AccessKey) bool { return a.Status.PreviousAccessKeyID == "" })
			assert.Equal(t, []string{newID}, keyIDs(t, user), "retention expiry deleted the old key")
			waitDenied(t, app, bucket, "InvalidAccessKeyId", "AccessDenied")

			// Rotation by interval (at least 1h), due at once for a key
			// recorded as made two hours ago.
			backdateKey(t, ns, "app", 2*time.Hour)
			patch = client.MergeFrom(got.DeepCopy())
			got.Spec.Rotation.Interval = pailv1.NewDuration(time.Hour)
			require.NoError(t, suite.k8s.Patch(ctx, got, patch))
			got = waitAccessKey(t, key, 40*time.Second, "rotated by interval", func(a *pailv1.AccessKey) bool {
				return a.Status.AccessKeyID != newID && a.Status.AccessKeyID != "" && a.Status.PreviousAccessKeyID == newID
			})
			patch = client.MergeFrom(got.DeepCopy())
			got.Spec.Rotation.Interval = nil
			require.NoError(t, suite.k8s.Patch(ctx, got, patch))
			got = waitAccessKey(t, key, 30*time.Second, "settled", func(a *pailv1.AccessKey) bool {
				return akReady(a) && a.Status.PreviousAccessKeyID == ""
			})
			keySecret(t, ns, "app")

			// Delete: no key and no user are left.
			require.NoError(t, suite.k8s.Delete(ctx, got))
			waitGone(t, &pailv1.AccessKey{ObjectMeta: got.ObjectMeta}, 30*time.Second)
			_, err = iamClient().GetUser(ctx, &iam.GetUserInput{UserName: aws.String(user)})
			require.Error(t, err, "the user is deleted")
			assert.Contains(t, err.Error(), "NoSuchEntity")

			// Retain: user and key stay, and so does the Secret.
			kept := newAccessKey(ns, "kept", p.Name)
			kept.Spec.Policy = ak.Spec.Policy
			kept.Spec.DeletionPolicy = pailv1.DeletionRetain
			require.NoError(t, suite.k8s.Create(ctx, kept))
			kept = waitAccessKey(t, client.ObjectKeyFromObject(kept), 60*time.Second, "Ready", akReady)
			require.NoError(t, suite.k8s.Delete(ctx, kept))
			waitGone(t, &pailv1.AccessKey{ObjectMeta: kept.ObjectMeta}, 30*time.Second)
			s = keySecret(t, ns, "kept")
			assert.Empty(t, s.OwnerReferences)
			assert.Equal(t, []string{string(s.Data["AWS_ACCESS_KEY_ID"])}, keyIDs(t, kept.Status.UserName), "Retain leaves the user and its key")
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
