package bucketdiff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
)

var self = Owner{Cluster: "c1", Namespace: "team-a", Name: "data", UID: "u1"}

func TestMarkRoundTrip(t *testing.T) {
	long := Owner{Cluster: "b5a1d7e0-0f7e-4a4c-9d0c-2f6c7e1d9a31", Namespace: strings.Repeat("n", 63),
		Name: strings.Repeat("a", 253), UID: "0d9f4c1e-6d0b-4c36-8f8e-5a1f3e8b7c20"}
	for _, o := range []Owner{self, long} {
		m := o.Mark()
		assert.Len(t, m, len(MarkKeys()), "the mark is the tags MarkKeys names")
		for k, v := range m {
			assert.True(t, Reserved(k), "%s is under %s", k, MarkPrefix)
			assert.LessOrEqual(t, len(k), 128, "S3 tag keys are at most 128 characters")
			assert.LessOrEqual(t, len(v), 256, "S3 tag values are at most 256 characters")
			assert.Regexp(t, `^[\p{L}\p{Z}\p{N}_.:/=+@-]*$`, v, "S3 tag characters")
		}
		got, ok := MarkOf(m)
		require.True(t, ok)
		assert.Equal(t, o, got)
	}
}

func TestClaimOf(t *testing.T) {
	with := func(mut func(*Owner)) map[string]string {
		o := self
		mut(&o)
		return o.Mark()
	}
	tests := []struct {
		name string
		tags map[string]string
		want Claim
	}{
		{name: "no tags", tags: nil, want: Unmarked},
		{name: "only user tags", tags: map[string]string{"team": "a", "pail": "x"}, want: Unmarked},
		{name: "this Bucket's", tags: self.Mark(), want: Mine},
		{name: "recreated: same cluster, namespace and name, another uid", tags: with(func(o *Owner) { o.UID = "u2" }), want: Recreated},
		{name: "another cluster", tags: with(func(o *Owner) { o.Cluster = "c2" }), want: Other},
		{name: "another cluster, same namespace, name and uid", tags: with(func(o *Owner) { o.Cluster = "c2"; o.UID = "u1" }), want: Other},
		{name: "another namespace", tags: with(func(o *Owner) { o.Namespace = "team-b" }), want: Other},
		{name: "another name", tags: with(func(o *Owner) { o.Name = "logs" }), want: Other},
		{name: "half a mark counts as another's", tags: map[string]string{"pail.dev/owner-name": "data"}, want: Other},
		{name: "a garbled mark counts as another's", tags: map[string]string{"pail.dev/owner": "junk", "pail.dev/owner-name": "data"}, want: Other},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := ClaimOf(tc.tags, self)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestWriteTags(t *testing.T) {
	tagging := func(kv ...string) *abi.Tagging {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return &abi.Tagging{Tags: m}
	}
	mark := self.Mark()
	tests := []struct {
		name              string
		desired, observed *abi.Tagging
		mark              map[string]string
		want              *abi.Tagging
	}{
		{name: "create: the spec's tags and the mark", desired: tagging("team", "a"), mark: mark,
			want: tagging("team", "a", "pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data")},
		{name: "create without spec.tags: the mark alone", mark: mark,
			want: tagging("pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data")},
		{name: "no spec.tags: the observed user tags stay", observed: tagging("owner", "foreign"), mark: mark,
			want: tagging("owner", "foreign", "pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data")},
		{name: "spec.tags replace the user's tags, never the mark", desired: tagging("team", "b"),
			observed: tagging("team", "a", "old", "x", "pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data"), mark: mark,
			want: tagging("team", "b", "pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data")},
		{name: "a recreated Bucket's uid replaces the old one", observed: tagging("pail.dev/owner", "c1/team-a/u0", "pail.dev/owner-name", "data"), mark: mark,
			want: tagging("pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data")},
		{name: "other reserved tags are kept", desired: tagging("team", "a"), observed: tagging("pail.dev/other", "x"), mark: mark,
			want: tagging("team", "a", "pail.dev/other", "x", "pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data")},
		{name: "no mark (no room, no cluster id): reserved tags still kept", desired: tagging("team", "a"),
			observed: tagging("pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data"),
			want:     tagging("team", "a", "pail.dev/owner", "c1/team-a/u1", "pail.dev/owner-name", "data")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := WriteTags(tc.desired, tc.observed, tc.mark)
			assert.Equal(t, tc.want, got)
			assert.Empty(t, Fields(Diff(abi.BucketConfig{Tagging: tc.desired}, abi.BucketConfig{Tagging: got})),
				"what is written is in sync with the spec")
		})
	}
}

func TestMarked(t *testing.T) {
	assert.False(t, Marked(nil, self), "not observed")
	assert.False(t, Marked(&abi.Tagging{Tags: map[string]string{"team": "a"}}, self))
	assert.True(t, Marked(&abi.Tagging{Tags: self.Mark()}, self))
	recreated := self
	recreated.UID = "u2"
	assert.False(t, Marked(&abi.Tagging{Tags: recreated.Mark()}, self), "another uid is re-marked")
}

func TestRoomForMark(t *testing.T) {
	tags := func(n int) *abi.Tagging {
		m := map[string]string{}
		for i := range n {
			m[strings.Repeat("k", i+1)] = "v"
		}
		return &abi.Tagging{Tags: m}
	}
	assert.True(t, RoomForMark(nil))
	assert.True(t, RoomForMark(tags(50-len(MarkKeys()))))
	assert.False(t, RoomForMark(tags(50-len(MarkKeys())+1)), "S3 holds 50 tags")
}

func TestValidClusterID(t *testing.T) {
	require.NoError(t, ValidClusterID("b5a1d7e0-0f7e-4a4c-9d0c-2f6c7e1d9a31"))
	require.NoError(t, ValidClusterID("second-cluster"))
	for _, bad := range []string{"", "a/b", "with space", strings.Repeat("x", 129), "café"} {
		assert.Error(t, ValidClusterID(bad), "%q", bad)
	}
}

// TestSpecTagsMayNotSetTheMark: the Bucket CRD's CEL rule refuses the
// prefix this package reserves, so the two cannot drift apart.
func TestSpecTagsMayNotSetTheMark(t *testing.T) {
	crd, err := os.ReadFile(filepath.Join("..", "..", "charts", "pail", "crds", "pail.dev_buckets.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(crd), "self.all(k, !k.startsWith('"+MarkPrefix+"'))")
}
