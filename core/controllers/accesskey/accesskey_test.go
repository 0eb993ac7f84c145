package accesskey

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func ak(buckets []pailv1.BucketAccess, policy string) *pailv1.AccessKey {
	a := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "app", UID: types.UID("1f0c2a9e-0000-4000-8000-000000000000")}}
	a.Spec.Buckets = buckets
	if policy != "" {
		a.Spec.Policy = &runtime.RawExtension{Raw: []byte(policy)}
	}
	return a
}

func TestDocument(t *testing.T) {
	rw := []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "photos"}, Access: pailv1.AccessReadWrite}}
	wo := []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "drop"}, Access: pailv1.AccessWriteOnly}}
	inline := `{"Version":"2012-10-17","Statement":{"Sid":"Extra","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::x/*"}}`
	tests := []struct {
		name    string
		ak      *pailv1.AccessKey
		buckets []string
		want    string // "" means no document
		sids    []string
		err     string
	}{
		{name: "nothing", ak: ak(nil, "")},
		{name: "inline only is kept as written", ak: ak(nil, inline), want: inline},
		{name: "read-write grants bucket and object actions", ak: ak(rw, ""), buckets: []string{"team-a-photos"},
			sids: []string{"PailReadWrite0Bucket", "PailReadWrite0Objects"}},
		{name: "write-only has no bucket statement", ak: ak(wo, ""), buckets: []string{"drop-1"}, sids: []string{"PailWriteOnly0Objects"}},
		{name: "buckets and inline combine, single statement form included", ak: ak(rw, inline), buckets: []string{"team-a-photos"},
			sids: []string{"PailReadWrite0Bucket", "PailReadWrite0Objects", "Extra"}},
		{name: "inline that is not an object", ak: ak(nil, `[1,2]`), err: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Document(tt.ak, tt.buckets)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			if tt.sids == nil {
				assert.Equal(t, tt.want, got)
				return
			}
			var doc struct {
				Version   string `json:"Version"`
				Statement []struct {
					Sid      string `json:"Sid"`
					Action   any    `json:"Action"`
					Resource string `json:"Resource"`
				} `json:"Statement"`
			}
			require.NoError(t, json.Unmarshal([]byte(got), &doc))
			assert.Equal(t, "2012-10-17", doc.Version)
			var sids []string
			for _, s := range doc.Statement {
				sids = append(sids, s.Sid)
				if strings.HasPrefix(s.Sid, "Pail") {
					assert.True(t, strings.HasPrefix(s.Resource, "arn:aws:s3:::"+tt.buckets[0]), s.Resource)
				}
			}
			assert.Equal(t, tt.sids, sids)
		})
	}
}

func TestUserName(t *testing.T) {
	long := strings.Repeat("n", 80)
	tests := []struct {
		name string
		ak   *pailv1.AccessKey
		want string
	}{
		{name: "spec wins", ak: &pailv1.AccessKey{Spec: pailv1.AccessKeySpec{UserName: "alice"}, Status: pailv1.AccessKeyStatus{UserName: "bob"}}, want: "alice"},
		{name: "status keeps a generated name", ak: &pailv1.AccessKey{Status: pailv1.AccessKeyStatus{UserName: "bob"}}, want: "bob"},
		{name: "generated from namespace, name and uid", ak: ak(nil, ""), want: "pail-team-a-app-1f0c2a9e"},
		{name: "truncated to IAM's 64 characters", ak: &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: long, UID: "abcdef12-3"}},
			want: ("pail-ns-" + long)[:55] + "-abcdef12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UserName(tt.ak)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), 64)
		})
	}
}

// TestSecretRecordRoundTrip: what render writes, readRecord reads back,
// including the retirement of the previous pair.
func TestSecretRecordRoundTrip(t *testing.T) {
	a := ak(nil, "")
	a.Spec.Secret = pailv1.KeySecret{AccessKeyIDKey: "ID", SecretAccessKeyKey: "SECRET", IncludeRegion: true, Labels: map[string]string{"team": "a"}}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		rec  keyRecord
		keys []string
	}{
		{name: "current only", rec: keyRecord{Current: keyPair{"AK1", "s1"}, Created: now, Trigger: "t1"}, keys: []string{"ID", "SECRET", "AWS_REGION"}},
		{name: "with previous", rec: keyRecord{Current: keyPair{"AK2", "s2"}, Previous: keyPair{"AK1", "s1"}, Created: now, PreviousExpires: now.Add(time.Hour)},
			keys: []string{"ID", "SECRET", "ID_PREVIOUS", "SECRET_PREVIOUS", "AWS_REGION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"someone.else/keep": "x"}}}
			render(a, s, tt.rec, secretContent{Region: "eu-west-1", User: "u"})
			assert.Equal(t, tt.rec, readRecord(a, s))
			assert.ElementsMatch(t, tt.keys, keysOf(s.Data))
			assert.Equal(t, "x", s.Annotations["someone.else/keep"], "foreign annotations survive")
			assert.Equal(t, "app", s.Labels[pailv1.LabelAccessKey])

			// Retiring the previous pair removes it and its expiry.
			rec := tt.rec
			rec.Previous, rec.PreviousExpires = keyPair{}, time.Time{}
			render(a, s, rec, secretContent{Region: "eu-west-1", User: "u"})
			assert.NotContains(t, s.Data, "ID_PREVIOUS")
			assert.NotContains(t, s.Annotations, pailv1.AnnotationPreviousExpires)
			assert.Equal(t, rec, readRecord(a, s))
		})
	}
}

func keysOf(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// FuzzDocument: any spec.policy either builds a JSON document or a clear
// error, and never panics.
func FuzzDocument(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`, true)
	f.Add(`{"Statement":"x"}`, false)
	f.Add(`null`, true)
	f.Add(`{"Statement":{"a":1}}`, true)
	f.Fuzz(func(t *testing.T, policy string, withBucket bool) {
		var buckets []pailv1.BucketAccess
		var names []string
		if withBucket {
			buckets = []pailv1.BucketAccess{{BucketRef: pailv1.BucketReference{Name: "b"}, Access: pailv1.AccessReadOnly}}
			names = []string{"b-1"}
		}
		doc, err := Document(ak(buckets, policy), names)
		if err != nil || doc == "" {
			return
		}
		if !json.Valid([]byte(doc)) {
			t.Fatalf("Document returned invalid JSON %q for %q", doc, policy)
		}
	})
}
