package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// twoRules is the lifecycle of the sub-resource tests: a prefix filter with
// an expiration in days, and a tag filter with a noncurrent expiration.
func twoRules() *abi.Lifecycle {
	return &abi.Lifecycle{Rules: []abi.LifecycleRule{
		{ID: "expire-logs", Status: "Enabled", Prefix: "logs/", Expiration: &abi.LifecycleExpiration{Days: 30}},
		{
			ID: "tmp-noncurrent", Status: "Enabled", Tags: map[string]string{"class": "tmp"},
			NoncurrentVersionExpiration: &abi.NoncurrentVersionExpiration{NoncurrentDays: 7, NewerNoncurrentVersions: 2},
		},
	}}
}

// variedRules covers the rest of the mapping: a date, a prefix-and-tags
// (And) filter, several tags without a prefix, a delete-marker expiration,
// an empty filter and a disabled rule.
func variedRules() *abi.Lifecycle {
	return &abi.Lifecycle{Rules: []abi.LifecycleRule{
		{
			ID: "by-date", Status: "Disabled", Prefix: "reports/", Tags: map[string]string{"b": "2", "a": "1"},
			Expiration: &abi.LifecycleExpiration{Date: "2031-01-01"},
		},
		{ID: "two-tags", Status: "Enabled", Tags: map[string]string{"x": "1", "y": "2"}, Expiration: &abi.LifecycleExpiration{Days: 3}},
		{
			ID: "markers", Status: "Enabled", Expiration: &abi.LifecycleExpiration{ExpiredObjectDeleteMarker: true},
			NoncurrentVersionExpiration: &abi.NoncurrentVersionExpiration{NoncurrentDays: 1},
		},
	}}
}

// publicRead is a policy letting anyone read the bucket's objects, as a
// user would write it.
func publicRead(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*",` +
		`"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`
}

// denyNotPrincipal is the AWS way to shut out everyone but one account: a
// Deny with NotPrincipal, which MinIO lacks.
func denyNotPrincipal(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"DenyOthers","Effect":"Deny",` +
		`"NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}]}`
}

// publicReadMinIO is publicRead the way MinIO hands it back (see policy.go):
// Principal "*" as {"AWS":["*"]}, Action and Resource as lists.
func publicReadMinIO(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":{"AWS":["*"]},` +
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `/*"]}]}`
}

// Round trip through minio-go's XML without a server: what the driver writes
// parses back to the same ABI value.
func TestLifecycleMapping(t *testing.T) {
	for name, l := range map[string]*abi.Lifecycle{
		"two rules": twoRules(),
		"varied":    variedRules(),
		"transition": {Rules: []abi.LifecycleRule{{
			ID: "cold", Status: "Enabled", Prefix: "archive/",
			Transitions: []abi.LifecycleTransition{{Days: 30, StorageClass: "COLD"}},
		}, {
			ID: "cold-date", Status: "Enabled",
			Transitions: []abi.LifecycleTransition{{Date: "2030-06-01", StorageClass: "COLD"}},
		}}},
		"none": {},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := lifecycleToMinio(l)
			require.NoError(t, err)
			body, err := xml.Marshal(cfg)
			require.NoError(t, err)
			parsed := lifecycle.NewConfiguration()
			require.NoError(t, xml.Unmarshal(body, parsed))
			assert.Equal(t, l, lifecycleFromMinio(parsed), "xml: %s", body)
		})
	}

	t.Run("filters as MinIO spells them", func(t *testing.T) {
		body := `<LifecycleConfiguration>` +
			`<Rule><ID>old</ID><Prefix>old/</Prefix><Status>Enabled</Status><Expiration><Days>4</Days></Expiration></Rule>` +
			`<Rule><ID>empty</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>5</Days></Expiration></Rule>` +
			`<Rule><ID>and</ID><Filter><And><Prefix></Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status>` +
			`<Expiration><Date>2030-01-02T00:00:00Z</Date></Expiration></Rule>` +
			`<Rule><ID>all-versions</ID><Filter><Prefix>p/</Prefix></Filter><Status>Enabled</Status>` +
			`<Expiration><Days>1</Days><ExpiredObjectAllVersions>true</ExpiredObjectAllVersions></Expiration></Rule>` +
			`</LifecycleConfiguration>`
		parsed := lifecycle.NewConfiguration()
		require.NoError(t, xml.Unmarshal([]byte(body), parsed))
		assert.Equal(t, &abi.Lifecycle{Rules: []abi.LifecycleRule{
			{ID: "old", Status: "Enabled", Prefix: "old/", Expiration: &abi.LifecycleExpiration{Days: 4}},
			{ID: "empty", Status: "Enabled", Expiration: &abi.LifecycleExpiration{Days: 5}},
			{ID: "and", Status: "Enabled", Tags: map[string]string{"k": "v"}, Expiration: &abi.LifecycleExpiration{Date: "2030-01-02"}},
			{ID: "all-versions", Status: "Enabled", Prefix: "p/", Expiration: &abi.LifecycleExpiration{Days: 1}},
		}}, lifecycleFromMinio(parsed))
	})
}

// canonical is doc's canonical form, as the driver observes it.
func canonical(t *testing.T, doc string) string {
	t.Helper()
	d, err := policydoc.ParseString(doc)
	require.NoError(t, err)
	return d.Canonical()
}

func TestObservedPolicy(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "none", in: "", want: ""},
		{name: "MinIO's form reads as what was written", in: publicReadMinIO("b"), want: canonical(t, publicRead("b"))},
		{
			name: "sets are sorted, and so are statements and keys",
			in: `{"ID":"pid","Version":"2012-10-17","Statement":[` +
				`{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:PutObject","s3:GetObject"],"Resource":["arn:aws:s3:::b/z","arn:aws:s3:::b/a"],` +
				`"Condition":{"StringLike":{"s3:prefix":["c*","a*","b*"]}}},` +
				`{"Sid":"2","Effect":"Deny","Principal":{"AWS":["arn:x","arn:a"]},"Action":["s3:DeleteObject"],"Resource":["arn:aws:s3:::b/*"]}]}`,
			want: `{"Id":"pid","Statement":[` +
				`{"Action":["s3:deleteobject"],"Effect":"Deny","Principal":{"AWS":["arn:a","arn:x"]},"Resource":["arn:aws:s3:::b/*"],"Sid":"2"},` +
				`{"Action":["s3:getobject","s3:putobject"],"Condition":{"StringLike":{"s3:prefix":["a*","b*","c*"]}},"Effect":"Allow",` +
				`"Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::b/a","arn:aws:s3:::b/z"]}],"Version":"2012-10-17"}`,
		},
		{
			name: "numbers, booleans, null and escapes survive",
			in:   `{"Version":"2012-10-17","X":[3,1.50,true,null,"<&>"],"Statement":[]}`,
			want: `{"Statement":[],"Version":"2012-10-17","X":[3,1.5,true,null,"\u003c\u0026\u003e"]}`,
		},
		{
			// MinIO answers "**" for an identity policy's "*" resource.
			name: `resource "**" reads as the "*" that was written`,
			in:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["**"]},{"Effect":"Deny","Action":["s3:*"],"NotResource":["arn:aws:s3:::b/**","**"]}]}`,
			want: `{"Statement":[{"Action":["s3:*"],"Effect":"Deny","NotResource":["*","arn:aws:s3:::b/**"]},{"Action":["s3:listallmybuckets"],"Effect":"Allow","Resource":["*"]}],"Version":"2012-10-17"}`,
		},
		{name: "not JSON is returned as is", in: `{"Version":`, want: `{"Version":`},
		{name: "trailing data is returned as is", in: `{} {}`, want: `{} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := observedPolicy(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, observedPolicy(got), "a fixed point")
		})
	}
}

// Everything the driver refuses before the first request: the provider is a
// closed port, so a request would surface as Unavailable instead.
func TestApplyRefusals(t *testing.T) {
	d := New(http.DefaultTransport.(*http.Transport).Clone())
	p := abi.ProviderConfig{Endpoint: "http://" + closedAddr(t), Region: "us-east-1", PathStyle: true}
	ruleWith := func(mut func(*abi.LifecycleRule)) *abi.Lifecycle {
		r := abi.LifecycleRule{ID: "r", Status: "Enabled", Expiration: &abi.LifecycleExpiration{Days: 1}}
		mut(&r)
		return &abi.Lifecycle{Rules: []abi.LifecycleRule{r}}
	}
	tests := []struct {
		name string
		args abi.BucketArgs
		want abi.Code
		msg  string
	}{
		{
			name: "public access block", want: abi.CodeUnimplemented, msg: "publicAccessBlock: MinIO has no publicAccessBlock API",
			args: abi.BucketArgs{Config: abi.BucketConfig{PublicAccessBlock: &abi.PublicAccessBlock{BlockPublicAcls: true}}},
		},
		{
			name: "cors", want: abi.CodeUnimplemented, msg: "cors: MinIO has no cors API",
			args: abi.BucketArgs{Config: abi.BucketConfig{CORS: &abi.CORS{}}},
		},
		{
			// Only the create enables object lock, and nothing disables it
			// (abi.SubResources); writing the retention is tested against MinIO.
			name: "object lock turned off as a configuration write", want: abi.CodeInvalidArgument, msg: "objectLock: object lock is set when the bucket is created",
			args: abi.BucketArgs{Config: abi.BucketConfig{ObjectLock: &abi.ObjectLock{Enabled: false}}},
		},
		{
			name: "object lock write with a bad retention", want: abi.CodeInvalidArgument, msg: "objectLock: a default retention needs exactly one of days or years",
			args: abi.BucketArgs{Config: abi.BucketConfig{ObjectLock: &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE"}}}},
		},
		{
			name: "mfa delete", want: abi.CodeUnimplemented, msg: "versioning: MinIO has no mfaDelete API",
			args: abi.BucketArgs{Config: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled", MFADelete: "Enabled"}}},
		},
		{
			name: "mfa code", want: abi.CodeUnimplemented, msg: "versioning: MinIO has no mfaDelete API",
			args: abi.BucketArgs{MFA: "serial 123456", Config: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}}},
		},
		{
			name: "versioning off", want: abi.CodeInvalidArgument, msg: "versioning: status must be Enabled or Suspended",
			args: abi.BucketArgs{Config: abi.BucketConfig{Versioning: &abi.Versioning{}}},
		},
		{
			name: "versioning unknown", want: abi.CodeInvalidArgument, msg: `versioning: unknown status "On"`,
			args: abi.BucketArgs{Config: abi.BucketConfig{Versioning: &abi.Versioning{Status: "On"}}},
		},
		{
			name: "kms without a key", want: abi.CodeInvalidArgument, msg: "encryption: MinIO needs a kmsKeyID",
			args: abi.BucketArgs{Config: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms"}}},
		},
		{
			name: "SSE-S3 with a key", want: abi.CodeInvalidArgument, msg: "encryption: kmsKeyID is only valid with algorithm aws:kms",
			args: abi.BucketArgs{Config: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "AES256", KMSKeyID: "k"}}},
		},
		{
			name: "bucket key", want: abi.CodeUnimplemented, msg: "encryption: MinIO has no S3 Bucket Keys",
			args: abi.BucketArgs{Config: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms", KMSKeyID: "k", BucketKeyEnabled: true}}},
		},
		{
			name: "unknown algorithm", want: abi.CodeInvalidArgument, msg: `encryption: unknown algorithm "DES"`,
			args: abi.BucketArgs{Config: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "DES"}}},
		},
		{
			name: "abort multipart", want: abi.CodeUnimplemented, msg: `lifecycle: rule "r": MinIO does not support abortIncompleteMultipartUpload`,
			args: abi.BucketArgs{Config: abi.BucketConfig{Lifecycle: ruleWith(func(r *abi.LifecycleRule) {
				r.AbortIncompleteMultipartUpload = &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: 3}
			})}},
		},
		{
			name: "two transitions", want: abi.CodeInvalidArgument, msg: `lifecycle: rule "r": MinIO keeps one transition per rule, got 2`,
			args: abi.BucketArgs{Config: abi.BucketConfig{Lifecycle: ruleWith(func(r *abi.LifecycleRule) {
				r.Transitions = []abi.LifecycleTransition{{Days: 1, StorageClass: "A"}, {Days: 2, StorageClass: "B"}}
			})}},
		},
		{
			name: "bad date", want: abi.CodeInvalidArgument, msg: `lifecycle: rule "r": expiration date "2030-1-1" is not YYYY-MM-DD`,
			args: abi.BucketArgs{Config: abi.BucketConfig{Lifecycle: ruleWith(func(r *abi.LifecycleRule) {
				r.Expiration = &abi.LifecycleExpiration{Date: "2030-1-1"}
			})}},
		},
		{
			name: "bad tag", want: abi.CodeInvalidArgument, msg: "tagging: ",
			args: abi.BucketArgs{Config: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"": "empty key"}}}},
		},
		{
			name: "retention without lock", want: abi.CodeInvalidArgument, msg: "objectLock: a default retention needs object lock enabled",
			args: abi.BucketArgs{Create: true, ObjectLock: &abi.ObjectLock{DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 1}}},
		},
		{
			name: "retention mode", want: abi.CodeInvalidArgument, msg: `objectLock: unknown retention mode "LEGAL"`,
			args: abi.BucketArgs{Create: true, ObjectLock: &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "LEGAL", Days: 1}}},
		},
		{
			name: "retention days and years", want: abi.CodeInvalidArgument, msg: "objectLock: a default retention needs exactly one of days or years",
			args: abi.BucketArgs{Create: true, ObjectLock: &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 1, Years: 1}}},
		},
		{
			name: "retention of nothing", want: abi.CodeInvalidArgument, msg: "objectLock: a default retention needs exactly one of days or years",
			args: abi.BucketArgs{Create: true, ObjectLock: &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE"}}},
		},
		// Policies using what MinIO lacks: refused before a request, with the
		// construct named (the endpoint is closed: a request would fail
		// Unavailable). testSubResources shows MinIO refusing them.
		{
			name: "policy with NotPrincipal", want: abi.CodeUnimplemented,
			msg:  `policy: statement 0 ("DenyOthers") uses NotPrincipal, which MinIO's bucket policies do not support; name the principals in Principal instead`,
			args: abi.BucketArgs{Config: abi.BucketConfig{Policy: &abi.Policy{Document: denyNotPrincipal("pail-refused")}}},
		},
		{
			name: "policy with notprincipal in any case", want: abi.CodeUnimplemented, msg: "statement 1 uses NotPrincipal",
			args: abi.BucketArgs{Config: abi.BucketConfig{Policy: &abi.Policy{Document: `{"Version":"2012-10-17","Statement":[` +
				`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},` +
				`{"Effect":"Deny","notPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`}}},
		},
		{
			name: "policy with NotAction", want: abi.CodeUnimplemented, msg: "statement 0 uses NotAction, which MinIO's bucket policies do not support; list the actions in Action instead",
			args: abi.BucketArgs{Config: abi.BucketConfig{Policy: &abi.Policy{Document: `{"Version":"2012-10-17","Statement":[` +
				`{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`}}},
		},
		{
			name: "policy without Version", want: abi.CodeInvalidArgument, msg: `policy: MinIO accepts only "Version": "2012-10-17" in a bucket policy (got none)`,
			args: abi.BucketArgs{Config: abi.BucketConfig{Policy: &abi.Policy{Document: `{"Statement":[]}`}}},
		},
		{
			name: "policy with the legacy Version", want: abi.CodeInvalidArgument, msg: `(got "2008-10-17")`,
			args: abi.BucketArgs{Config: abi.BucketConfig{Policy: &abi.Policy{Document: `{"Version":"2008-10-17","Statement":[]}`}}},
		},
		{
			name: "policy with one statement object", want: abi.CodeInvalidArgument, msg: "policy: MinIO needs Statement as a list",
			args: abi.BucketArgs{Config: abi.BucketConfig{Policy: &abi.Policy{Document: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`}}},
		},
		{
			// A valid field first, a refused one later: nothing is written.
			name: "refused before any write", want: abi.CodeUnimplemented, msg: "publicAccessBlock",
			args: abi.BucketArgs{Create: true, Config: abi.BucketConfig{
				Versioning: &abi.Versioning{Status: "Enabled"}, PublicAccessBlock: &abi.PublicAccessBlock{},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.args.Name = "pail-refused"
			err := d.ApplyBucket(t.Context(), p, tt.args)
			var ae *abi.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.want, ae.Code, ae.Message)
			assert.Contains(t, ae.Message, tt.msg)
		})
	}
}

// testSubResources runs against the real MinIO of TestIntegration.
func testSubResources(t *testing.T, d *Driver, p abi.ProviderConfig, endpoint string) {
	plain := plainClient(t, endpoint)
	n := 0
	// newBucket creates a fresh bucket through the driver and force-deletes
	// it when the test ends.
	newBucket := func(t *testing.T, lock *abi.ObjectLock) string {
		t.Helper()
		n++
		name := fmt.Sprintf("pail-sub-%d", n)
		require.NoError(t, d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: name, Create: true, ObjectLock: lock}))
		t.Cleanup(func() {
			// t.Context() is already canceled when cleanups run.
			err := d.DeleteBucket(context.Background(), p, abi.BucketArgs{Name: name, Force: true})
			if err != nil && abi.CodeOf(err) != abi.CodeNotFound {
				t.Errorf("cleanup of %s: %v", name, err)
			}
		})
		return name
	}
	apply := func(t *testing.T, bucket string, cfg abi.BucketConfig) {
		t.Helper()
		require.NoError(t, d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Config: cfg}))
	}
	observe := func(t *testing.T, bucket string, subs ...string) abi.BucketObservation {
		t.Helper()
		obs, err := d.ObserveBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Observe: subs})
		require.NoError(t, err)
		require.True(t, obs.Exists)
		return obs
	}

	// For each sub-resource: what is applied, and what observing it must
	// give back, which is exactly what was applied unless said otherwise.
	type step struct {
		apply abi.BucketConfig
		want  *abi.BucketConfig // nil: the same as apply
	}
	tests := []struct {
		name  string
		sub   string
		steps []step
	}{
		{
			name: "versioning enabled then suspended", sub: abi.SubVersioning,
			steps: []step{
				{apply: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}}},
				{apply: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Suspended"}}},
				{apply: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}}},
			},
		},
		{
			name: "SSE-S3", sub: abi.SubEncryption,
			steps: []step{
				{apply: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "AES256"}}},
				{apply: abi.BucketConfig{Encryption: &abi.Encryption{}}},
				{apply: abi.BucketConfig{Encryption: &abi.Encryption{}}}, // removing none is fine
			},
		},
		{
			name: "SSE-KMS", sub: abi.SubSSEKMS,
			steps: []step{
				{apply: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms", KMSKeyID: kmsKeyID}}},
				{apply: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "AES256"}}},
				{apply: abi.BucketConfig{Encryption: &abi.Encryption{}}},
			},
		},
		{
			// Noncurrent expiration needs no versioning on MinIO: the server
			// takes it on an unversioned bucket.
			name: "lifecycle with two rules", sub: abi.SubLifecycle,
			steps: []step{
				{apply: abi.BucketConfig{Lifecycle: twoRules()}},
				{apply: abi.BucketConfig{Lifecycle: variedRules()}},
				{apply: abi.BucketConfig{Lifecycle: &abi.Lifecycle{}}},
				{apply: abi.BucketConfig{Lifecycle: &abi.Lifecycle{}}},
			},
		},
		{
			name: "tagging", sub: abi.SubTagging,
			steps: []step{
				{apply: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"team": "storage", "cost-center": "42", "note": "a b=c"}}}},
				{apply: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"team": "infra"}}}},
				{apply: abi.BucketConfig{Tagging: &abi.Tagging{}}},
				{apply: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{}}}, want: &abi.BucketConfig{Tagging: &abi.Tagging{}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := newBucket(t, nil)
			for i, s := range tt.steps {
				apply(t, bucket, s.apply)
				want := s.apply
				if s.want != nil {
					want = *s.want
				}
				got := observe(t, bucket, tt.sub)
				assert.Equal(t, want, got.Config, "step %d", i)
				assert.Nil(t, got.Unsupported, "step %d", i)
			}
		})
	}

	t.Run("a fresh bucket observes as having none of anything", func(t *testing.T) {
		bucket := newBucket(t, nil)
		got := observe(t, bucket, abi.SubVersioning, abi.SubEncryption, abi.SubLifecycle, abi.SubTagging, abi.SubPolicy, abi.SubObjectLock)
		assert.Equal(t, abi.BucketConfig{
			Versioning: &abi.Versioning{},
			Encryption: &abi.Encryption{},
			Lifecycle:  &abi.Lifecycle{},
			Tagging:    &abi.Tagging{},
			Policy:     &abi.Policy{},
			ObjectLock: &abi.ObjectLock{Enabled: false},
		}, got.Config)
		assert.Nil(t, got.Unsupported)
	})

	t.Run("everything at once observes equal to what was applied", func(t *testing.T) {
		ctx := t.Context()
		n++
		bucket := fmt.Sprintf("pail-sub-%d", n)
		cfg := abi.BucketConfig{
			Versioning: &abi.Versioning{Status: "Enabled"},
			Encryption: &abi.Encryption{Algorithm: "aws:kms", KMSKeyID: kmsKeyID},
			Lifecycle:  twoRules(),
			Tagging:    &abi.Tagging{Tags: map[string]string{"team": "storage"}},
			Policy:     &abi.Policy{Document: publicReadMinIO(bucket)},
		}
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: bucket, Create: true, Config: cfg}))
		t.Cleanup(func() { _ = d.DeleteBucket(context.Background(), p, abi.BucketArgs{Name: bucket, Force: true}) })
		got := observe(t, bucket, abi.SubVersioning, abi.SubEncryption, abi.SubLifecycle, abi.SubTagging, abi.SubPolicy)
		want := cfg
		want.Policy = &abi.Policy{Document: canonical(t, cfg.Policy.Document)} // observed in canonical form
		assert.Equal(t, want, got.Config)
		assert.Nil(t, got.Unsupported)

		// The same through the dispatch envelope, as the host sees it.
		args, err := json.Marshal(abi.BucketArgs{Name: bucket, Observe: []string{abi.SubVersioning, abi.SubEncryption, abi.SubLifecycle, abi.SubTagging, abi.SubPolicy}})
		require.NoError(t, err)
		resp := sdkdriver.Dispatch(ctx, d, abi.Request{Op: abi.OpObserveBucket, Provider: p, Args: args})
		require.Nil(t, resp.Error)
		var viaJSON abi.BucketObservation
		require.NoError(t, json.Unmarshal(resp.Result, &viaJSON))
		assert.Equal(t, abi.BucketObservation{Exists: true, Config: want}, viaJSON)
	})

	t.Run("policy", func(t *testing.T) {
		bucket := newBucket(t, nil)

		// As a user writes it: MinIO hands back its own form (see
		// policy.go), which the driver reports in canonical form: what was
		// written.
		apply(t, bucket, abi.BucketConfig{Policy: &abi.Policy{Document: publicRead(bucket)}})
		got := observe(t, bucket, abi.SubPolicy)
		assert.Equal(t, &abi.Policy{Document: canonical(t, publicRead(bucket))}, got.Config.Policy)
		stored, err := plain.GetBucketPolicy(t.Context(), bucket)
		require.NoError(t, err)
		assert.JSONEq(t, publicReadMinIO(bucket), stored, "MinIO's own form")

		// In MinIO's form it reads back the same: a fixed point.
		apply(t, bucket, abi.BucketConfig{Policy: &abi.Policy{Document: publicReadMinIO(bucket)}})
		assert.Equal(t, &abi.Policy{Document: canonical(t, publicReadMinIO(bucket))}, observe(t, bucket, abi.SubPolicy).Config.Policy)

		// MinIO returns sets in a different order on every GET; the driver
		// sorts them, so an unchanged policy always observes the same.
		many := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",` +
			`"Action":["s3:PutObject","s3:GetObject","s3:DeleteObject","s3:GetObjectTagging","s3:GetObject"],` +
			`"Resource":["arn:aws:s3:::` + bucket + `/z/*","arn:aws:s3:::` + bucket + `/a/*","arn:aws:s3:::` + bucket + `/m/*"]}]}`
		apply(t, bucket, abi.BucketConfig{Policy: &abi.Policy{Document: many}})
		want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},` +
			`"Action":["s3:DeleteObject","s3:GetObject","s3:GetObjectTagging","s3:PutObject"],` +
			`"Resource":["arn:aws:s3:::` + bucket + `/a/*","arn:aws:s3:::` + bucket + `/m/*","arn:aws:s3:::` + bucket + `/z/*"]}]}`
		raw := map[string]bool{}
		for range 20 {
			assert.Equal(t, canonical(t, want), observe(t, bucket, abi.SubPolicy).Config.Policy.Document)
			doc, err := plain.GetBucketPolicy(t.Context(), bucket)
			require.NoError(t, err)
			raw[doc] = true
		}
		t.Logf("MinIO answered %d different orderings of the same policy in 20 GETs", len(raw))

		// The top-level Id comes back as ID.
		withID := strings.Replace(publicRead(bucket), `{"Version"`, `{"Id":"pail","Version"`, 1)
		apply(t, bucket, abi.BucketConfig{Policy: &abi.Policy{Document: withID}})
		assert.Equal(t, canonical(t, withID), observe(t, bucket, abi.SubPolicy).Config.Policy.Document)
		stored, err = plain.GetBucketPolicy(t.Context(), bucket)
		require.NoError(t, err)
		assert.Equal(t, strings.Replace(publicReadMinIO(bucket), `{"Version"`, `{"ID":"pail","Version"`, 1), stored)

		// A policy MinIO refuses: InvalidArgument, naming the sub-resource
		// (a condition key that does not go with the action).
		err = d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Config: abi.BucketConfig{Policy: &abi.Policy{
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*",` +
				`"Condition":{"StringEquals":{"s3:prefix":"x"}}}]}`,
		}}})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeInvalidArgument, ae.Code)
		assert.Equal(t, "MalformedPolicy", ae.ProviderCode)
		assert.True(t, strings.HasPrefix(ae.Message, "policy: MalformedPolicy: "), ae.Message)

		// What MinIO lacks, which the driver refuses before sending
		// (policyGaps): this server does refuse each, and says nothing of
		// which construct it lacks. Should a MinIO release accept one, this
		// fails, and the driver's list must shrink.
		for name, doc := range map[string]string{
			"NotPrincipal":    denyNotPrincipal(bucket),
			"no Version":      strings.Replace(publicRead(bucket), `"Version":"2012-10-17",`, "", 1),
			"legacy Version":  strings.Replace(publicRead(bucket), "2012-10-17", "2008-10-17", 1),
			"statement alone": strings.Replace(strings.Replace(publicRead(bucket), `"Statement":[`, `"Statement":`, 1), "}]}", "}}", 1),
		} {
			err := plain.SetBucketPolicy(t.Context(), bucket, doc)
			require.Error(t, err, "MinIO accepted a policy with %s", name)
			assert.Equal(t, "MalformedPolicy", minio.ToErrorResponse(err).Code, "%s: %v", name, err)
		}
		err = plain.SetBucketPolicy(t.Context(), bucket, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"arn:aws:s3:::`+bucket+`/*"}]}`)
		require.Error(t, err, "MinIO accepted a policy with NotAction")
		assert.Equal(t, http.StatusInternalServerError, minio.ToErrorResponse(err).StatusCode, "NotAction: %v", err)

		// The driver names the construct, and the bucket keeps its policy.
		apply(t, bucket, abi.BucketConfig{Policy: &abi.Policy{Document: publicRead(bucket)}})
		err = d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Config: abi.BucketConfig{Policy: &abi.Policy{Document: denyNotPrincipal(bucket)}}})
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeUnimplemented, ae.Code)
		assert.Contains(t, ae.Message, "uses NotPrincipal, which MinIO's bucket policies do not support")
		assert.Equal(t, canonical(t, publicRead(bucket)), observe(t, bucket, abi.SubPolicy).Config.Policy.Document)

		// Removal, twice.
		for range 2 {
			apply(t, bucket, abi.BucketConfig{Policy: &abi.Policy{}})
			assert.Equal(t, &abi.Policy{}, observe(t, bucket, abi.SubPolicy).Config.Policy)
		}
	})

	t.Run("object lock at creation", func(t *testing.T) {
		lock := &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 1}}
		bucket := newBucket(t, lock)
		got := observe(t, bucket, abi.SubObjectLock, abi.SubVersioning)
		assert.Equal(t, abi.BucketConfig{ObjectLock: lock, Versioning: &abi.Versioning{Status: "Enabled"}}, got.Config)

		// Creating it again is a no-op that re-applies the retention.
		require.NoError(t, d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Create: true, ObjectLock: lock}))

		// An object lock bucket cannot suspend versioning: Conflict.
		err := d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Config: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Suspended"}}})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeConflict, ae.Code)
		assert.Equal(t, "InvalidBucketState", ae.ProviderCode)
		assert.True(t, strings.HasPrefix(ae.Message, "versioning: InvalidBucketState: "), ae.Message)

		// Years, and lock without a default retention.
		years := &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "COMPLIANCE", Years: 1}}
		assert.Equal(t, years, observe(t, newBucket(t, years), abi.SubObjectLock).Config.ObjectLock)
		bare := &abi.ObjectLock{Enabled: true}
		assert.Equal(t, bare, observe(t, newBucket(t, bare), abi.SubObjectLock).Config.ObjectLock)
	})

	t.Run("object lock cannot be added to an existing bucket", func(t *testing.T) {
		bucket := newBucket(t, nil)
		err := d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Create: true, ObjectLock: &abi.ObjectLock{Enabled: true}})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeConflict, ae.Code)
		assert.Contains(t, ae.Message, "already exists without object lock")
	})

	// abi.SubResources: the default retention may be written after creation
	// to a bucket with object lock; enabling it stays the create's.
	t.Run("object lock retention after creation", func(t *testing.T) {
		bucket := newBucket(t, &abi.ObjectLock{Enabled: true})
		changed := &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 2}}
		apply(t, bucket, abi.BucketConfig{ObjectLock: changed})
		assert.Equal(t, changed, observe(t, bucket, abi.SubObjectLock).Config.ObjectLock)
		apply(t, bucket, abi.BucketConfig{ObjectLock: &abi.ObjectLock{Enabled: true}})
		assert.Equal(t, &abi.ObjectLock{Enabled: true}, observe(t, bucket, abi.SubObjectLock).Config.ObjectLock, "no retention removes it")

		plain := newBucket(t, nil)
		err := d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: plain, Config: abi.BucketConfig{ObjectLock: changed}})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeConflict, ae.Code)
		assert.True(t, strings.HasPrefix(ae.Message, "objectLock: bucket "+plain+" has no object lock, which only the create can enable"), ae.Message)
		assert.Equal(t, &abi.ObjectLock{}, observe(t, plain, abi.SubObjectLock).Config.ObjectLock)
	})

	t.Run("unsupported sub-resources are reported without a request", func(t *testing.T) {
		bucket := newBucket(t, nil)
		got := observe(t, bucket, abi.SubPublicAccessBlock, abi.SubCORS, abi.SubMFADelete, abi.SubVersioning, "website")
		assert.Equal(t, abi.BucketConfig{Versioning: &abi.Versioning{}}, got.Config)
		assert.Equal(t, map[string]string{
			abi.SubPublicAccessBlock: unsupported[abi.SubPublicAccessBlock],
			abi.SubCORS:              unsupported[abi.SubCORS],
			abi.SubMFADelete:         unsupported[abi.SubMFADelete],
			"website":                "MinIO has no website API",
		}, got.Unsupported)
		assert.True(t, strings.HasPrefix(got.Unsupported[abi.SubPublicAccessBlock], "MinIO has no publicAccessBlock API"))

		// Also for a bucket that does not exist, where nothing else is read.
		obs, err := d.ObserveBucket(t.Context(), p, abi.BucketArgs{Name: "pail-sub-absent", Observe: []string{abi.SubPublicAccessBlock, abi.SubPolicy}})
		require.NoError(t, err)
		assert.Equal(t, abi.BucketObservation{Unsupported: map[string]string{abi.SubPublicAccessBlock: unsupported[abi.SubPublicAccessBlock]}}, obs)
	})

	t.Run("writes to a bucket that does not exist", func(t *testing.T) {
		err := d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: "pail-sub-absent", Config: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"a": "b"}}}})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeNotFound, ae.Code)
		assert.True(t, strings.HasPrefix(ae.Message, "tagging: NoSuchBucket: "), ae.Message)
	})

	t.Run("SSE-KMS with a key the KMS does not have", func(t *testing.T) {
		bucket := newBucket(t, nil)
		err := d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Config: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms", KMSKeyID: "no-such-key"}}})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeInvalidArgument, ae.Code, ae.Message)
		assert.True(t, strings.HasPrefix(ae.Message, "encryption: "), ae.Message)
	})

	// The server facts behind what the driver declares and refuses. If one
	// of these starts failing, MinIO changed and the driver should follow.
	t.Run("MinIO does not implement bucket CORS", func(t *testing.T) {
		bucket := newBucket(t, nil)
		err := plain.SetBucketCors(t.Context(), bucket, cors.NewConfig([]cors.Rule{{AllowedMethod: []string{"GET"}, AllowedOrigin: []string{"*"}}}))
		assert.Equal(t, minio.NotImplemented, minio.ToErrorResponse(err).Code, "%v", err)
		assert.Equal(t, http.StatusNotImplemented, minio.ToErrorResponse(err).StatusCode)
	})
	t.Run("MinIO drops AbortIncompleteMultipartUpload", func(t *testing.T) {
		bucket := newBucket(t, nil)
		cfg := lifecycle.NewConfiguration()
		cfg.Rules = []lifecycle.Rule{{
			ID: "abort", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "up/"},
			Expiration:                     lifecycle.Expiration{Days: 9},
			AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: 3},
		}}
		body, err := xml.Marshal(cfg)
		require.NoError(t, err)
		require.True(t, bytes.Contains(body, []byte("<AbortIncompleteMultipartUpload>")), "sent: %s", body)
		require.NoError(t, plain.SetBucketLifecycle(t.Context(), bucket, cfg), "accepted")
		assert.Equal(t, &abi.Lifecycle{Rules: []abi.LifecycleRule{
			{ID: "abort", Status: "Enabled", Prefix: "up/", Expiration: &abi.LifecycleExpiration{Days: 9}},
		}}, observe(t, bucket, abi.SubLifecycle).Config.Lifecycle, "and dropped")

		// So the driver refuses it, and writes nothing.
		l := twoRules()
		l.Rules[1].AbortIncompleteMultipartUpload = &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: 3}
		err = d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: bucket, Config: abi.BucketConfig{Lifecycle: l}})
		assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%v", err)
		assert.Equal(t, "abort", observe(t, bucket, abi.SubLifecycle).Config.Lifecycle.Rules[0].ID, "unchanged")
	})

	t.Run("force delete", func(t *testing.T) {
		ctx := t.Context()
		bucket := newBucket(t, nil)
		apply(t, bucket, abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}})
		for _, body := range []string{"v1", "v2"} {
			_, err := plain.PutObject(ctx, bucket, "object.txt", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			require.NoError(t, err)
		}
		require.NoError(t, plain.RemoveObject(ctx, bucket, "object.txt", minio.RemoveObjectOptions{})) // a delete marker
		countVersions := func() (versions, markers int) {
			for obj := range plain.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
				require.NoError(t, obj.Err)
				if obj.IsDeleteMarker {
					markers++
				} else {
					versions++
				}
			}
			return versions, markers
		}
		v, m := countVersions()
		require.Equal(t, [2]int{2, 1}, [2]int{v, m}, "two versions and a delete marker")

		// Without Force: Conflict, and nothing removed.
		assertNotEmpty(t, d.DeleteBucket(ctx, p, abi.BucketArgs{Name: bucket}), bucket)
		v, m = countVersions()
		assert.Equal(t, [2]int{2, 1}, [2]int{v, m}, "a refused delete removes nothing")

		// With Force: every version and marker, then the bucket.
		require.NoError(t, d.DeleteBucket(ctx, p, abi.BucketArgs{Name: bucket, Force: true}))
		exists, err := plain.BucketExists(ctx, bucket)
		require.NoError(t, err)
		assert.False(t, exists)
		assert.Equal(t, abi.CodeNotFound, abi.CodeOf(d.DeleteBucket(ctx, p, abi.BucketArgs{Name: bucket, Force: true})))
	})

	t.Run("force delete of many objects", func(t *testing.T) {
		ctx := t.Context()
		bucket := newBucket(t, nil)
		for i := range 25 {
			_, err := plain.PutObject(ctx, bucket, fmt.Sprintf("dir%d/o%d", i%3, i), strings.NewReader("x"), 1, minio.PutObjectOptions{})
			require.NoError(t, err)
		}
		require.NoError(t, d.DeleteBucket(ctx, p, abi.BucketArgs{Name: bucket, Force: true}))
		exists, err := plain.BucketExists(ctx, bucket)
		require.NoError(t, err)
		assert.False(t, exists)
	})

	t.Run("force delete stops at retained objects", func(t *testing.T) {
		ctx := t.Context()
		bucket := newBucket(t, &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 1}})
		info, err := plain.PutObject(ctx, bucket, "kept.txt", strings.NewReader("x"), 1, minio.PutObjectOptions{})
		require.NoError(t, err)

		err = d.DeleteBucket(ctx, p, abi.BucketArgs{Name: bucket, Force: true})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeConflict, ae.Code)
		assert.Equal(t, "bucket "+bucket+": cannot delete object kept.txt (version "+info.VersionID+"): InvalidRequest: Object is WORM protected and cannot be overwritten", ae.Message)
		exists, err := plain.BucketExists(ctx, bucket)
		require.NoError(t, err)
		assert.True(t, exists)

		// Clean up behind the driver's back, bypassing governance.
		require.NoError(t, plain.RemoveObject(ctx, bucket, "kept.txt", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}))
	})

	t.Run("MinIO's own force delete removes versions, and ignores absent buckets", func(t *testing.T) {
		// Why the driver lists and deletes versions itself rather than
		// sending x-minio-force-delete.
		ctx := t.Context()
		bucket := newBucket(t, nil)
		require.NoError(t, plain.EnableVersioning(ctx, bucket))
		_, err := plain.PutObject(ctx, bucket, "o", strings.NewReader("x"), 1, minio.PutObjectOptions{})
		require.NoError(t, err)
		require.NoError(t, plain.RemoveObject(ctx, bucket, "o", minio.RemoveObjectOptions{}))
		require.NoError(t, plain.RemoveBucketWithOptions(ctx, bucket, minio.RemoveBucketOptions{ForceDelete: true}))
		exists, err := plain.BucketExists(ctx, bucket)
		require.NoError(t, err)
		assert.False(t, exists)
		assert.NoError(t, plain.RemoveBucketWithOptions(ctx, bucket, minio.RemoveBucketOptions{ForceDelete: true}), "no NoSuchBucket")
	})
}
