package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestStaticRulesAreEnforcedByTheAPIServer: what can be checked without the
// provider is refused at apply time, with the field named.
func TestStaticRulesAreEnforcedByTheAPIServer(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	zero := int32(0)
	for _, tc := range []struct {
		name   string
		mutate func(*pailv1.BucketSpec)
		want   string
	}{
		{"expiration days and date together", func(s *pailv1.BucketSpec) {
			s.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{{ID: "r", Expiration: &pailv1.LifecycleExpiration{Days: 3, Date: "2030-01-01"}}}}
		}, "exactly one of days, date or expiredObjectDeleteMarker"},
		{"expiration days below 1", func(s *pailv1.BucketSpec) {
			s.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{{ID: "r", Expiration: &pailv1.LifecycleExpiration{Days: -1}}}}
		}, "spec.lifecycle.rules[0].expiration.days"},
		{"rule without an action", func(s *pailv1.BucketSpec) {
			s.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{{ID: "r"}}}
		}, "at least one action"},
		{"transition with days and date", func(s *pailv1.BucketSpec) {
			s.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{{ID: "r", Transitions: []pailv1.LifecycleTransition{{Days: &zero, Date: "2030-01-01", StorageClass: "GLACIER"}}}}}
		}, "exactly one of days or date"},
		{"duplicate rule ids", func(s *pailv1.BucketSpec) {
			r := pailv1.LifecycleRule{ID: "r", Expiration: &pailv1.LifecycleExpiration{Days: 1}}
			s.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{r, r}}
		}, "Duplicate value"},
		{"kms key with SSE-S3", func(s *pailv1.BucketSpec) {
			s.Encryption = &pailv1.EncryptionSpec{Algorithm: "AES256", KMSKeyID: "k"}
		}, "kmsKeyID is only valid with algorithm aws:kms"},
		{"unknown versioning status", func(s *pailv1.BucketSpec) {
			s.Versioning = &pailv1.VersioningSpec{Status: "Off"}
		}, "spec.versioning.status"},
		{"unknown CORS method", func(s *pailv1.BucketSpec) {
			s.CORS = &pailv1.CORSSpec{Rules: []pailv1.CORSRule{{AllowedMethods: []string{"PATCH"}, AllowedOrigins: []string{"*"}}}}
		}, "spec.cors.rules[0].allowedMethods[0]"},
		{"object lock retention with days and years", func(s *pailv1.BucketSpec) {
			s.ObjectLock = &pailv1.ObjectLockSpec{Enabled: true, DefaultRetention: &pailv1.ObjectLockRetention{Mode: "GOVERNANCE", Days: 1, Years: 1}}
		}, "exactly one of days or years"},
		{"unknown management policy", func(s *pailv1.BucketSpec) {
			s.ManagementPolicy = "Sometimes"
		}, "spec.managementPolicy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBucket(ns, "static", "any", "static-rules-bucket", "")
			tc.mutate(&b.Spec)
			err := suite.k8s.Create(ctx, b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
