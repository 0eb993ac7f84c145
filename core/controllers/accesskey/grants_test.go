package accesskey

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/policydoc"
)

func TestS3Resource(t *testing.T) {
	for _, tc := range []struct {
		res  string
		want s3Grant
	}{
		{"arn:aws:s3:::photos", s3Grant{bucket: "photos"}},
		{"arn:aws:s3:::photos/*", s3Grant{bucket: "photos"}},
		{"arn:aws:s3:::photos/a/b?", s3Grant{bucket: "photos"}},
		{"arn:*:s3:::photos", s3Grant{bucket: "photos"}},
		{"arn:aws:s*:::photos", s3Grant{bucket: "photos"}},
		{"*", s3Grant{pattern: true}},
		{"arn:aws:s3:::*", s3Grant{pattern: true}},
		{"arn:aws:s3:::*/*", s3Grant{pattern: true}},
		{"arn:aws:s3:::team-*", s3Grant{pattern: true}},
		{"arn:aws:s3:::photo?/*", s3Grant{pattern: true}},
		{"arn:*", s3Grant{pattern: true}},
		{"arn:aws:*:::photos", s3Grant{bucket: "photos"}},
		{"arn:aws:iam::123456789012:user/x", s3Grant{}},
		{"arn:aws:i*:::photos", s3Grant{}},
		{"not-an-arn", s3Grant{}},
	} {
		t.Run(tc.res, func(t *testing.T) {
			assert.Equal(t, tc.want, s3Resource(tc.res))
		})
	}
}

func TestPolicyGrants(t *testing.T) {
	doc, err := policydoc.ParseString(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::a/*","arn:aws:s3:::a","arn:aws:s3:::b"]},
		{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::denied/*"},
		{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::*"},
		{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::c/*"}]}`)
	require.NoError(t, err)
	named, patterns := policyGrants(doc)
	assert.ElementsMatch(t, []string{"a", "b"}, named, "each bucket once; a Deny grants nothing")
	assert.ElementsMatch(t, []string{"arn:aws:s3:::*", "NotResource arn:aws:s3:::c/*"}, patterns)
	named, patterns = policyGrants(nil)
	assert.Empty(t, named)
	assert.Empty(t, patterns)
}

func TestRefusedGrants(t *testing.T) {
	ak := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "app"}}
	ak.Spec.ProviderRef.Name = "p"
	onProvider := func(name, provider string) pailv1.Bucket {
		b := pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name}}
		b.Spec.ProviderRef.Name = provider
		return b
	}
	here := pailv1.Location{Endpoint: "http://s3.test"}
	at := func(b pailv1.Bucket, endpoint string) pailv1.Bucket {
		b.Status.Ownership = pailv1.OwnershipCreated
		b.Status.Location = &pailv1.Location{Endpoint: endpoint}
		return b
	}
	for _, tc := range []struct {
		name string
		in   grantInput
		want []string // substrings, one per refusal
	}{
		{name: "own Buckets and buckets nobody manages pass", in: grantInput{
			refs:  []pailv1.Bucket{onProvider("data", "p")},
			named: []string{"mine", "unmanaged"}, owners: map[string][]string{"mine": {"team-a"}}}},
		{name: "wildcards pass on a namespace's own Provider", in: grantInput{patterns: []string{"*", "arn:aws:s3:::*"}}},
		{name: "a Bucket of another Provider, no bucket yet", in: grantInput{loc: &here, refs: []pailv1.Bucket{onProvider("data", "p"), onProvider("other", "q")}},
			want: []string{"spec.buckets[1] names Bucket other of Provider q, which has no bucket established yet"}},
		{name: "a Bucket of another Provider elsewhere", in: grantInput{loc: &here, refs: []pailv1.Bucket{at(onProvider("other", "q"), "http://elsewhere.test")}},
			want: []string{"spec.buckets[0] names Bucket other of Provider q, whose bucket is at http://elsewhere.test"}},
		{name: "a Bucket of another Provider, where the user lives", in: grantInput{loc: &here, refs: []pailv1.Bucket{at(onProvider("other", "q"), here.Endpoint)}}},
		{name: "a Bucket of another Provider, the user's location unknown", in: grantInput{refs: []pailv1.Bucket{at(onProvider("other", "q"), here.Endpoint)}},
			want: []string{"spec.buckets[0] names Bucket other of Provider q"}},
		{name: "a bucket of another namespace", in: grantInput{named: []string{"theirs"}, owners: map[string][]string{"theirs": {"team-b"}}},
			want: []string{"bucket theirs, which a Bucket of namespace team-b manages"}},
		{name: "a bucket of another namespace, observed here too", in: grantInput{named: []string{"theirs"}, owners: map[string][]string{"theirs": {"team-a", "team-b"}}},
			want: []string{"namespace team-b manages"}},
		{name: "shared Provider: an unmanaged bucket and a wildcard", in: grantInput{shared: true,
			named: []string{"mine", "unmanaged"}, owners: map[string][]string{"mine": {"team-a"}}, patterns: []string{"arn:aws:s3:::*"}},
			want: []string{"bucket unmanaged, which no Bucket of namespace team-a manages, on the shared Provider p", `"arn:aws:s3:::*", a wildcard over buckets`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.ak = ak
			got := refusedGrants(tc.in)
			require.Len(t, got, len(tc.want), "%v", got)
			for i, w := range tc.want {
				assert.Contains(t, got[i], w)
			}
		})
	}
}

// TestSharedProvider: a ClusterProvider is shared, a namespace's own
// Provider is not; sameProvider reads an unset kind as Provider.
func TestSharedProvider(t *testing.T) {
	assert.False(t, sharedProvider(pailv1.ProviderReference{Name: "p"}))
	assert.False(t, sharedProvider(pailv1.ProviderReference{Kind: pailv1.KindProvider, Name: "p"}))
	assert.True(t, sharedProvider(pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "p"}))
	assert.True(t, sameProvider(pailv1.ProviderReference{Name: "p"}, pailv1.ProviderReference{Kind: pailv1.KindProvider, Name: "p"}))
	assert.False(t, sameProvider(pailv1.ProviderReference{Name: "p"}, pailv1.ProviderReference{Kind: pailv1.KindClusterProvider, Name: "p"}))
	assert.False(t, sameProvider(pailv1.ProviderReference{Name: "p"}, pailv1.ProviderReference{Name: "q"}))
}

// TestSpecChanged: the AccessKey webhook judges an update only when the
// spec changes; a spec with a Duration compares without panicking.
func TestSpecChanged(t *testing.T) {
	key := func(retention time.Duration, policy string) *pailv1.AccessKey {
		a := &pailv1.AccessKey{}
		a.Spec.ProviderRef.Name = "p"
		a.Spec.Rotation = &pailv1.Rotation{Retention: pailv1.NewDuration(retention)}
		if policy != "" {
			a.Spec.Policy = &runtime.RawExtension{Raw: []byte(policy)}
		}
		return a
	}
	meta := key(time.Hour, readPhotos)
	meta.Finalizers = []string{pailv1.AccessKeyFinalizer}
	for _, tc := range []struct {
		name     string
		old, new *pailv1.AccessKey
		want     bool
	}{
		{"unchanged", key(time.Hour, readPhotos), key(time.Hour, readPhotos), false},
		{"metadata only", key(time.Hour, readPhotos), meta, false},
		{"retention", key(time.Hour, readPhotos), key(2*time.Hour, readPhotos), true},
		{"policy", key(time.Hour, readPhotos), key(time.Hour, ""), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, specChanged(tc.old, tc.new))
		})
	}
}
