package bucketdiff

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/abi"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		desired  abi.BucketConfig
		observed abi.BucketConfig
		want     []string
	}{
		{name: "nothing managed", want: nil},
		{
			name:     "versioning in sync",
			desired:  abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}},
			observed: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}},
		},
		{
			name:     "never-versioned bucket equals Suspended",
			desired:  abi.BucketConfig{Versioning: &abi.Versioning{Status: "Suspended"}},
			observed: abi.BucketConfig{Versioning: &abi.Versioning{}},
		},
		{
			name:     "versioning drift",
			desired:  abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}},
			observed: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Suspended"}},
			want:     []string{"spec.versioning.status"},
		},
		{
			name:     "not observed counts as changed",
			desired:  abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"a": "b"}}},
			observed: abi.BucketConfig{},
			want:     []string{"spec.tags"},
		},
		{
			name:     "tags: changed, missing and extra keys",
			desired:  abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"env": "prod", "team": "x"}}},
			observed: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"env": "dev", "old": "y"}}},
			want:     []string{"spec.tags[env]", "spec.tags[old] (not in spec)", "spec.tags[team]"},
		},
		{
			name:     "tags: the ownership mark is not drift",
			desired:  abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"env": "prod"}}},
			observed: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"env": "prod", "pail.dev/owner": "c/ns/u", "pail.dev/owner-name": "b", "pail.dev/future": "x"}}},
		},
		{
			name:     "tags: the mark does not hide a user tag's drift",
			desired:  abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"env": "prod"}}},
			observed: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"env": "dev", "pail.dev/owner": "c/ns/u"}}},
			want:     []string{"spec.tags[env]"},
		},
		{
			name:     "empty tags equal none",
			desired:  abi.BucketConfig{Tagging: &abi.Tagging{}},
			observed: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{}}},
		},
		{
			name: "lifecycle rules are compared by id, not order",
			desired: abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: []abi.LifecycleRule{
				{ID: "a", Prefix: "logs/", Expiration: &abi.LifecycleExpiration{Days: 30}},
				{ID: "b", Status: "Enabled", AbortIncompleteMultipartUpload: &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: 7}},
			}}},
			observed: abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: []abi.LifecycleRule{
				{ID: "b", Status: "Enabled", AbortIncompleteMultipartUpload: &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: 7}},
				{ID: "a", Status: "Enabled", Prefix: "logs/", Expiration: &abi.LifecycleExpiration{Days: 30}, Tags: map[string]string{}},
			}}},
		},
		{
			name:     "lifecycle rule changed and extra rule",
			desired:  abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: []abi.LifecycleRule{{ID: "a", Expiration: &abi.LifecycleExpiration{Days: 30}}}}},
			observed: abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: []abi.LifecycleRule{{ID: "a", Status: "Enabled", Expiration: &abi.LifecycleExpiration{Days: 31}}, {ID: "z", Status: "Enabled"}}}},
			want:     []string{"spec.lifecycle.rules[a]", "spec.lifecycle.rules[z] (not in spec)"},
		},
		{
			name:     "cors values are sets, methods case-insensitive, headers case-insensitive",
			desired:  abi.BucketConfig{CORS: &abi.CORS{Rules: []abi.CORSRule{{AllowedMethods: []string{"GET", "PUT"}, AllowedOrigins: []string{"https://a", "https://b"}, AllowedHeaders: []string{"X-Amz-Date"}}}}},
			observed: abi.BucketConfig{CORS: &abi.CORS{Rules: []abi.CORSRule{{ID: "generated", AllowedMethods: []string{"put", "GET"}, AllowedOrigins: []string{"https://b", "https://a"}, AllowedHeaders: []string{"x-amz-date"}}}}},
		},
		{
			name: "cors rule order matters",
			desired: abi.BucketConfig{CORS: &abi.CORS{Rules: []abi.CORSRule{
				{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"https://a"}},
				{AllowedMethods: []string{"PUT"}, AllowedOrigins: []string{"https://b"}},
			}}},
			observed: abi.BucketConfig{CORS: &abi.CORS{Rules: []abi.CORSRule{
				{AllowedMethods: []string{"PUT"}, AllowedOrigins: []string{"https://b"}},
				{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"https://a"}},
			}}},
			want: []string{"spec.cors.rules[0]", "spec.cors.rules[1]"},
		},
		{
			name:     "kms key id reported as an ARN",
			desired:  abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms", KMSKeyID: "1234-abcd"}},
			observed: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms", KMSKeyID: "arn:aws:kms:us-east-1:111122223333:key/1234-abcd"}},
		},
		{
			name:     "encryption removed behind our back",
			desired:  abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "AES256"}},
			observed: abi.BucketConfig{Encryption: &abi.Encryption{}},
			want:     []string{"spec.encryption.algorithm"},
		},
		{
			name:     "public access block flag",
			desired:  abi.BucketConfig{PublicAccessBlock: &abi.PublicAccessBlock{BlockPublicAcls: true, BlockPublicPolicy: true}},
			observed: abi.BucketConfig{PublicAccessBlock: &abi.PublicAccessBlock{BlockPublicAcls: true}},
			want:     []string{"spec.publicAccessBlock.blockPublicPolicy"},
		},
		{
			name:     "policy rewritten by the server is still in sync",
			desired:  abi.BucketConfig{Policy: &abi.Policy{Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`}},
			observed: abi.BucketConfig{Policy: &abi.Policy{Document: `{"Statement":[{"Resource":["arn:aws:s3:::b/*"],"Action":["s3:getobject"],"Principal":{"AWS":["*"]},"Effect":"Allow"}],"Version":"2012-10-17"}`}},
		},
		{
			name:     "policy removed",
			desired:  abi.BucketConfig{Policy: &abi.Policy{Document: `{"Version":"2012-10-17","Statement":[]}`}},
			observed: abi.BucketConfig{Policy: &abi.Policy{}},
			want:     []string{"spec.policy"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Fields(Diff(tc.desired, tc.observed)))
		})
	}
}

func TestDesired(t *testing.T) {
	days := int32(30)
	spec := &pailv1.BucketSpec{
		Versioning: &pailv1.VersioningSpec{Status: "Enabled", MFADelete: &pailv1.MFADeleteSpec{Enabled: true, SecretRef: pailv1.MFASecretRef{Name: "mfa"}}},
		Encryption: &pailv1.EncryptionSpec{Algorithm: "aws:kms", KMSKeyID: "k"},
		Lifecycle: &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{{
			ID: "r", Filter: &pailv1.LifecycleFilter{Prefix: "p/"},
			Transitions: []pailv1.LifecycleTransition{{Days: &days, StorageClass: "GLACIER"}},
		}}},
		Tags:       map[string]string{"a": "b"},
		Policy:     &runtime.RawExtension{Raw: []byte(`{"Version":"2012-10-17","Statement":[]}`)},
		ObjectLock: &pailv1.ObjectLockSpec{Enabled: true},
	}
	got, err := Desired(spec)
	require.NoError(t, err)
	assert.Equal(t, "Enabled", got.Versioning.MFADelete)
	assert.Equal(t, "Enabled", got.Lifecycle.Rules[0].Status, "status defaults to Enabled")
	assert.Equal(t, int32(30), got.Lifecycle.Rules[0].Transitions[0].Days)
	// objectLock is managed like the rest: its default retention may be
	// written to an existing bucket (abi.SubResources).
	assert.Equal(t, []string{abi.SubVersioning, abi.SubEncryption, abi.SubLifecycle, abi.SubTagging, abi.SubPolicy, abi.SubObjectLock}, Managed(got))
	assert.ElementsMatch(t, []string{abi.SubVersioning, abi.SubEncryption, abi.SubLifecycle, abi.SubTagging, abi.SubPolicy, abi.SubSSEKMS, abi.SubMFADelete, abi.SubObjectLock}, Required(got))
	only := Only(got, []string{abi.SubTagging})
	assert.Equal(t, []string{abi.SubTagging}, Managed(only))

	_, err = Desired(&pailv1.BucketSpec{Policy: &runtime.RawExtension{Raw: []byte(`[1,2]`)}})
	require.ErrorContains(t, err, "JSON object")
	empty, err := Desired(&pailv1.BucketSpec{})
	require.NoError(t, err)
	assert.Empty(t, Managed(empty), "an empty spec manages nothing")
}
