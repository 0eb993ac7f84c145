package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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

// unstructuredAccessKey is an AccessKey as YAML would give it, so that
// values the Go types cannot express reach the apiserver.
func unstructuredAccessKey(ns, name string, rotation map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "pail.dev/v1alpha1",
		"kind":       "AccessKey",
		"metadata":   map[string]any{"namespace": ns, "name": name},
		"spec": map[string]any{
			"providerRef": map[string]any{"name": "any"},
			"rotation":    rotation,
		},
	}}
	return u
}

// TestAccessKeyDurationsAtAdmission: a rotation interval or retention that
// is not a Go duration, or is below its minimum, is refused at apply time
// with the field and the rule named; values at the minimum pass.
func TestAccessKeyDurationsAtAdmission(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		rotation map[string]any
		want     []string // "" list: accepted
	}{
		{"interval not a duration", map[string]any{"interval": "banana"}, []string{"spec.rotation.interval", "Go duration such as 720h"}},
		{"retention in words", map[string]any{"retention": "1 day"}, []string{"spec.rotation.retention", "Go duration such as 24h"}},
		{"interval a number", map[string]any{"interval": 3600}, []string{"spec.rotation.interval"}},
		{"interval zero", map[string]any{"interval": "0s"}, []string{"spec.rotation.interval", "at least 1h"}},
		{"interval negative", map[string]any{"interval": "-720h"}, []string{"spec.rotation.interval", "at least 1h"}},
		{"interval a second", map[string]any{"interval": "1s", "retention": "1s"}, []string{"spec.rotation.interval", "at least 1h"}},
		{"interval just under", map[string]any{"interval": "59m59s"}, []string{"spec.rotation.interval", "at least 1h"}},
		{"retention zero", map[string]any{"interval": "720h", "retention": "0s"}, []string{"spec.rotation.retention", "at least 1s"}},
		{"retention negative", map[string]any{"retention": "-5m"}, []string{"spec.rotation.retention", "at least 1s"}},
		{"retention overlong", map[string]any{"retention": strings.Repeat("1", 70) + "h"}, []string{"spec.rotation.retention", "64"}},
		{"minimums", map[string]any{"interval": "1h", "retention": "1s"}, nil},
		{"typical", map[string]any{"interval": "720h", "retention": "24h"}, nil},
		{"fractions and units", map[string]any{"interval": "1.5h", "retention": "90m30s"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := unstructuredAccessKey(ns, "durations", tc.rotation)
			err := suite.k8s.Create(ctx, u)
			if tc.want == nil {
				require.NoError(t, err)
				require.NoError(t, suite.k8s.Delete(ctx, u))
				waitGone(t, u, 10*time.Second)
				return
			}
			require.Error(t, err, "the apiserver accepted %v", tc.rotation)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestProviderEndpointRulesAtAdmission: an endpoint is a scheme, host and
// port. User info (a password in status and events), paths, queries,
// fragments, a URL with a space and a bare scheme are refused, with the
// field named; ordinary endpoints pass.
func TestProviderEndpointRulesAtAdmission(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	refused := []struct{ endpoint, want string }{
		{"http://user:secret@127.0.0.1:9000", "must not carry user info"},
		{"https://secret@s3.example.com", "must not carry user info"},
		{"http://127.0.0.1:9000/bucket", "must not have a path"},
		{"http://127.0.0.1:9000?x=1", "must not have a query or fragment"},
		{"http://127.0.0.1:9000/#top", "must not have a query or fragment"},
		{"http://not a url", "must be an http:// or https:// URL with a host"},
		{"http://", "must be an http:// or https:// URL with a host"},
		{"ftp://127.0.0.1", "must be an http:// or https:// URL with a host"},
		{"127.0.0.1:9000", "must be an http:// or https:// URL with a host"},
	}
	for i, tc := range refused {
		t.Run("endpoint "+tc.endpoint, func(t *testing.T) {
			p := newProvider(ns, fmt.Sprintf("bad-%d", i), "minio", tc.endpoint, "creds")
			err := suite.k8s.Create(ctx, p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "spec.endpoint")
			assert.Contains(t, err.Error(), tc.want)
		})
		t.Run("iamEndpoint "+tc.endpoint, func(t *testing.T) {
			p := newProvider(ns, fmt.Sprintf("bad-iam-%d", i), "aws", "https://s3.us-east-1.amazonaws.com", "creds")
			p.Spec.IAMEndpoint = tc.endpoint
			err := suite.k8s.Create(ctx, p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "spec.iamEndpoint")
			assert.Contains(t, err.Error(), strings.Replace(tc.want, "must", "", 1))
		})
	}
	for i, ep := range []string{"http://127.0.0.1:9000", "https://s3.us-east-1.amazonaws.com", "https://s3.us-east-1.amazonaws.com/", "http://minio.storage.svc:9000", "http://[::1]:9000"} {
		p := newProvider(ns, fmt.Sprintf("good-%d", i), "aws", ep, "creds")
		p.Spec.IAMEndpoint = ep
		assert.NoError(t, suite.k8s.Create(ctx, p), ep)
	}
}

// TestTagRulesAtAdmission: Bucket tags, lifecycle filter tags and AccessKey
// tags follow S3's rules at admission, each refusal naming the field and the
// rule broken.
func TestTagRulesAtAdmission(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	refused := []struct {
		name string
		tags map[string]string
		want string
	}{
		{"empty key", map[string]string{"": "x"}, "tag keys must be 1 to 128 characters long"},
		{"long key", map[string]string{strings.Repeat("k", 129): "x"}, "tag keys must be 1 to 128 characters long"},
		{"long value", map[string]string{"k": strings.Repeat("v", 257)}, "tag values must be at most 256 characters long"},
		{"ampersand in key", map[string]string{"a&b": "x"}, "may contain only letters, digits, spaces"},
		{"aws prefix", map[string]string{"aws:cloudformation:stack": "x"}, "must not start with aws:"},
		{"AWS prefix in capitals", map[string]string{"AWS:x": "x"}, "must not start with aws:"},
	}
	lifecycle := func(tags map[string]string) *pailv1.LifecycleSpec {
		return &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{{ID: "r", Filter: &pailv1.LifecycleFilter{Tags: tags}, Expiration: &pailv1.LifecycleExpiration{Days: 1}}}}
	}
	for i, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			b := newBucket(ns, fmt.Sprintf("tags-%d", i), "any", fmt.Sprintf("tags-bucket-%d", i), "")
			b.Spec.Tags = tc.tags
			err := suite.k8s.Create(ctx, b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "spec.tags")
			assert.Contains(t, err.Error(), tc.want)

			b = newBucket(ns, fmt.Sprintf("lc-%d", i), "any", fmt.Sprintf("lc-bucket-%d", i), "")
			b.Spec.Lifecycle = lifecycle(tc.tags)
			err = suite.k8s.Create(ctx, b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "spec.lifecycle.rules[0].filter.tags")
			assert.Contains(t, err.Error(), tc.want)

			ak := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("ak-%d", i)},
				Spec: pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: "any"}, Tags: tc.tags}}
			err = suite.k8s.Create(ctx, ak)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "spec.tags")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	ok := map[string]string{"team": "storage", "cost center": "a+b-c=d.e_f:g/h@i", "café": "naïve", "empty": "", strings.Repeat("k", 128): strings.Repeat("v", 256)}
	b := newBucket(ns, "tags-ok", "any", "tags-ok-bucket", "")
	b.Spec.Tags = ok
	b.Spec.Lifecycle = lifecycle(map[string]string{"café": "x", "tier": ""})
	assert.NoError(t, suite.k8s.Create(ctx, b))
	ak := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ak-ok"},
		Spec: pailv1.AccessKeySpec{ProviderRef: pailv1.ProviderReference{Name: "any"}, Tags: ok}}
	assert.NoError(t, suite.k8s.Create(ctx, ak))
}
