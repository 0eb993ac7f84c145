package bucket

import (
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/sdk/abi"
)

// testCluster is the cluster id the decision tests run in.
const testCluster = "c1"

// tagCaps: a driver that holds marks.
var tagCaps = []string{abi.SubVersioning, abi.SubTagging}

// markOf is the mark the test Bucket (ns/b) writes with uid.
func markOf(uid string) map[string]string {
	return bucketdiff.Owner{Cluster: testCluster, Namespace: "ns", Name: "b", UID: uid}.Mark()
}

// tagged is an observed config: versioning in sync, and these tags.
func tagged(sets ...map[string]string) abi.BucketConfig {
	all := map[string]string{}
	for _, m := range sets {
		maps.Copy(all, m)
	}
	c := enabled()
	c.Tagging = &abi.Tagging{Tags: all}
	return c
}

func otherMark(mut func(*bucketdiff.Owner)) map[string]string {
	o := bucketdiff.Owner{Cluster: testCluster, Namespace: "ns", Name: "b", UID: "u1"}
	mut(&o)
	return o.Mark()
}

// lastTags is the tag set of the last write.
func lastTags(t *testing.T, f *backend) map[string]string {
	t.Helper()
	require.NotEmpty(t, f.applied)
	tg := f.applied[len(f.applied)-1].Config.Tagging
	require.NotNil(t, tg, "the write carries the tags")
	return tg.Tags
}

// markCase is one reconcile of the ownership mark's decisions: Ready's
// reason, how many writes and deletes, whether the finalizer may go.
type markCase struct {
	name     string
	bucket   *pailv1.Bucket
	backend  *backend
	ready    string
	writes   int
	deletes  int
	released bool
	check    func(t *testing.T, b *pailv1.Bucket, f *backend)
}

func runMarkCases(t *testing.T, tests []markCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := reconcileOnce(t, tc.bucket, tc.backend)
			if tc.ready != "" {
				c := meta.FindStatusCondition(tc.bucket.Status.Conditions, pailv1.ConditionReady)
				require.NotNil(t, c, "Ready")
				assert.Equal(t, tc.ready, c.Reason, c.Message)
			}
			assert.Len(t, tc.backend.applied, tc.writes, "writes")
			assert.Equal(t, tc.deletes, tc.backend.deleted, "deletes")
			assert.Equal(t, tc.released, out.s.released, "released")
			if tc.check != nil {
				tc.check(t, tc.bucket, tc.backend)
			}
		})
	}
}

func withTags(tags map[string]string) func(*pailv1.Bucket) {
	return func(b *pailv1.Bucket) { b.Spec.Tags = tags }
}

func adopting(b *pailv1.Bucket) { b.Spec.Adopt = true }

var (
	anotherCluster   = otherMark(func(o *bucketdiff.Owner) { o.Cluster = "c2" })
	anotherNamespace = otherMark(func(o *bucketdiff.Owner) { o.Namespace = "team-b" })
)

// TestBucketOwnershipMarkWrites: when the mark is written, and with what.
func TestBucketOwnershipMarkWrites(t *testing.T) {
	runMarkCases(t, []markCase{
		{name: "create carries the mark", bucket: newTestBucket(nil), backend: &backend{caps: tagCaps},
			ready: pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, _ *pailv1.Bucket, f *backend) {
				assert.True(t, f.applied[0].Create, "in the create call itself")
				assert.Equal(t, markOf("u1"), lastTags(t, f))
			}},
		{name: "create carries the spec's tags and the mark", bucket: newTestBucket(withTags(map[string]string{"team": "a"})), backend: &backend{caps: tagCaps},
			ready: pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, _ *pailv1.Bucket, f *backend) {
				want := markOf("u1")
				want["team"] = "a"
				assert.Equal(t, want, lastTags(t, f))
			}},
		{name: "a driver without tagging writes no mark", bucket: newTestBucket(nil), backend: &backend{caps: []string{abi.SubVersioning}},
			ready: pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, b *pailv1.Bucket, f *backend) {
				assert.Nil(t, f.applied[0].Config.Tagging)
				assert.Empty(t, b.Status.Unsupported, "the mark is no feature the user asked for")
			}},
		{name: "an owned bucket without its mark is re-marked (crash after create)", bucket: ownedBucket(), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(map[string]string{"team": "foreign"})},
			ready: pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, _ *pailv1.Bucket, f *backend) {
				assert.Nil(t, f.applied[0].Config.Versioning, "only the mark is written")
				want := markOf("u1")
				want["team"] = "foreign"
				assert.Equal(t, want, lastTags(t, f), "without spec.tags the bucket's own tags stay")
			}},
		{name: "an owned, marked bucket in sync writes nothing", bucket: ownedBucket(), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(markOf("u1"))},
			ready: pailv1.ReasonAvailable},
		{name: "a spec.tags change keeps the mark", bucket: newTestBucket(func(b *pailv1.Bucket) {
			*b = *ownedBucket()
			b.Spec.Tags = map[string]string{"team": "b"}
		}), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(markOf("u1"), map[string]string{"team": "a"})},
			ready: pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, _ *pailv1.Bucket, f *backend) {
				want := markOf("u1")
				want["team"] = "b"
				assert.Equal(t, want, lastTags(t, f))
			}},
	})
}

// TestBucketOwnershipMarkClaims: another's mark, adoption, races, delete.
func TestBucketOwnershipMarkClaims(t *testing.T) {
	runMarkCases(t, []markCase{
		{name: "another cluster's mark: Conflict, nothing written", bucket: ownedBucket(), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(anotherCluster)},
			ready: pailv1.ReasonAlreadyManaged,
			check: func(t *testing.T, b *pailv1.Bucket, _ *backend) {
				c := meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionConflict)
				require.NotNil(t, c)
				assert.Contains(t, c.Message, "another cluster (id c2)")
			}},
		{name: "another namespace's mark: adoption refused", bucket: newTestBucket(adopting), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(anotherNamespace)},
			ready: pailv1.ReasonAlreadyManaged,
			check: func(t *testing.T, b *pailv1.Bucket, _ *backend) {
				assert.Empty(t, b.Status.Ownership, "nothing adopted")
				assert.Contains(t, meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionConflict).Message, "team-b/b in this cluster")
			}},
		{name: "an unmarked bucket is adopted and marked", bucket: newTestBucket(adopting), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(map[string]string{"owner": "foreign"})},
			ready: pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, b *pailv1.Bucket, f *backend) {
				assert.Equal(t, pailv1.OwnershipAdopted, b.Status.Ownership)
				want := markOf("u1")
				want["owner"] = "foreign"
				assert.Equal(t, want, lastTags(t, f))
			}},
		{name: "a recreated Bucket is the same owner: adopting re-marks with its uid", bucket: newTestBucket(adopting), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(markOf("u0"))},
			ready: pailv1.ReasonAvailable, writes: 1,
			check: func(t *testing.T, _ *pailv1.Bucket, f *backend) {
				assert.Equal(t, markOf("u1"), lastTags(t, f))
			}},
		{name: "a recreated Bucket without spec.adopt is refused as before", bucket: newTestBucket(nil), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(markOf("u0"))},
			ready: pailv1.ReasonBucketExists},
		{name: "a create race: the mark decides, not the creation order", bucket: located(ownedBucket()),
			backend: &backend{caps: tagCaps, exists: true, cfg: tagged(rivalAt(time.Hour).mark()), cluster: []client.Object{rivalAt(time.Hour).bucket()}},
			ready:   pailv1.ReasonAlreadyManaged,
			check: func(t *testing.T, b *pailv1.Bucket, _ *backend) {
				assert.Contains(t, meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionConflict).Message, "marked as owned by Bucket other/h")
			}},
		{name: "its own mark overrides the index's earlier owner", bucket: located(ownedBucket()),
			backend: &backend{caps: tagCaps, exists: true, cfg: tagged(markOf("u1")), cluster: []client.Object{rivalAt(-time.Hour).bucket()}},
			ready:   pailv1.ReasonAvailable},
		{name: "no mark: the index's earlier owner manages it", bucket: located(ownedBucket()),
			backend: &backend{caps: tagCaps, exists: true, cfg: tagged(), cluster: []client.Object{rivalAt(-time.Hour).bucket()}},
			ready:   pailv1.ReasonAlreadyManaged,
			check: func(t *testing.T, b *pailv1.Bucket, _ *backend) {
				assert.Contains(t, meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionConflict).Message, "already managed by Bucket other/h")
			}},
		{name: "a driver without tagging: the index decides as before", bucket: located(ownedBucket()),
			backend: &backend{caps: []string{abi.SubVersioning}, exists: true, cfg: enabled(), cluster: []client.Object{rivalAt(-time.Hour).bucket()}},
			ready:   pailv1.ReasonAlreadyManaged},
		{name: "the mark of a Bucket gone from this cluster stands (released with Retain)", bucket: located(ownedBucket()),
			backend: &backend{caps: tagCaps, exists: true, cfg: tagged(rivalAt(time.Hour).mark())},
			ready:   pailv1.ReasonAlreadyManaged,
			check: func(t *testing.T, b *pailv1.Bucket, _ *backend) {
				assert.Contains(t, meta.FindStatusCondition(b.Status.Conditions, pailv1.ConditionConflict).Message, "other/h in this cluster")
			}},
		{name: "observe only sits beside another's mark, which is no drift", bucket: newTestBucket(func(b *pailv1.Bucket) {
			b.Spec.ManagementPolicy = pailv1.ManagementObserveOnly
			b.Spec.Tags = map[string]string{"team": "a"}
		}), backend: &backend{caps: tagCaps, exists: true, cfg: tagged(anotherCluster, map[string]string{"team": "a"})},
			ready: pailv1.ReasonAvailable},
		{name: "delete: another's mark on an owned bucket is never deleted", bucket: deleting(func() *pailv1.Bucket {
			b := ownedBucket()
			b.Spec.ForceDelete = true
			return b
		}(), pailv1.DeletionDelete), backend: &backend{caps: append([]string{abi.CapForceDelete}, tagCaps...), exists: true, cfg: tagged(anotherNamespace)},
			released: true},
		{name: "delete: its own mark is deleted", bucket: deleting(ownedBucket(), pailv1.DeletionDelete),
			backend: &backend{caps: tagCaps, exists: true, cfg: tagged(markOf("u1"))}, deletes: 1, released: true},
		{name: "delete: its own mark is deleted though the index prefers an earlier owner", bucket: deleting(located(ownedBucket()), pailv1.DeletionDelete),
			backend: &backend{caps: tagCaps, exists: true, cfg: tagged(markOf("u1")), cluster: []client.Object{rivalAt(-time.Hour).bucket()}}, deletes: 1, released: true},
		{name: "delete: unmarked, the index's earlier owner keeps it", bucket: deleting(located(ownedBucket()), pailv1.DeletionDelete),
			backend: &backend{caps: tagCaps, exists: true, cfg: tagged(), cluster: []client.Object{rivalAt(-time.Hour).bucket()}}, released: true},
	})
}

// created is when located Buckets were created; rivals are created
// relative to it.
var created = time.Unix(0, 0).Add(time.Hour)

// located gives an owned Bucket its recorded location, the test Provider's.
func located(b *pailv1.Bucket) *pailv1.Bucket {
	b.Status.Location = &pailv1.Location{Endpoint: "http://s3.test"}
	b.CreationTimestamp = metav1.NewTime(created)
	return b
}

// rival is another Bucket of this cluster, other/h, that owns the same
// bucket, created after (or, negative, before) the located test Bucket.
type rival struct{ after time.Duration }

func rivalAt(after time.Duration) rival { return rival{after} }

func (r rival) bucket() *pailv1.Bucket {
	return &pailv1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Name: "h", Namespace: "other", UID: "u9", CreationTimestamp: metav1.NewTime(created.Add(r.after))},
		Spec:       pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "p"}, BucketName: "data"},
		Status:     pailv1.BucketStatus{Ownership: pailv1.OwnershipCreated, Location: &pailv1.Location{Endpoint: "http://s3.test"}},
	}
}

func (r rival) mark() map[string]string {
	return bucketdiff.Owner{Cluster: testCluster, Namespace: "other", Name: "h", UID: "u9"}.Mark()
}
