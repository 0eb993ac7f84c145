package s3compat

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
)

// The driver reads and writes every sub-resource of the ABI's table.
func TestEverySubResourceHasReaderAndWriter(t *testing.T) {
	assert.Len(t, readers, len(abi.SubResources))
	assert.Len(t, writers, len(abi.SubResources))
	for _, s := range abi.SubResources {
		assert.NotNil(t, readers[s.Name], "no reader for %s", s.Name)
		assert.NotNil(t, writers[s.Name], "no writer for %s", s.Name)
	}
}

// objectLock on an existing bucket (abi.SubResources): the default
// retention is written when the bucket has object lock, and a write that
// would enable it is refused with Conflict, after one read and no write.
func TestObjectLockAfterCreation(t *testing.T) {
	var lockXML string
	f := newFake(t, func(w http.ResponseWriter, r request) {
		switch {
		case r.Method == http.MethodGet && r.sub() == "object-lock" && lockXML == "":
			writeS3Error(w, 404, "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
		case r.Method == http.MethodGet && r.sub() == "object-lock":
			writeXML(w, 200, lockXML)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	d, p, ctx := testDriver(), f.provider(), t.Context()
	retention := abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{
		ObjectLock: &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 3}},
	}}

	t.Run("no object lock: Conflict, nothing written", func(t *testing.T) {
		err := d.ApplyBucket(ctx, p, retention)
		assert.Equal(t, abi.CodeConflict, abi.CodeOf(err), "%v", err)
		require.ErrorContains(t, err, "objectLock: bucket bkt has no object lock, which only the create can enable")
		assert.Equal(t, []string{"GET /bkt?object-lock"}, ops(f.requests()))
	})

	t.Run("object lock disabled in the answer: Conflict", func(t *testing.T) {
		lockXML = `<ObjectLockConfiguration xmlns="` + s3NS + `"/>`
		defer func() { lockXML = "" }()
		err := d.ApplyBucket(ctx, p, retention)
		assert.Equal(t, abi.CodeConflict, abi.CodeOf(err), "%v", err)
		assert.Equal(t, []string{"GET /bkt?object-lock"}, ops(f.requests()))
	})

	t.Run("object lock enabled: the retention is written", func(t *testing.T) {
		lockXML = `<ObjectLockConfiguration xmlns="` + s3NS + `"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`
		defer func() { lockXML = "" }()
		require.NoError(t, d.ApplyBucket(ctx, p, retention))
		reqs := f.requests()
		require.Equal(t, []string{"GET /bkt?object-lock", "PUT /bkt?object-lock"}, ops(reqs))
		for _, s := range []string{"<ObjectLockEnabled>Enabled</ObjectLockEnabled>", "<Mode>GOVERNANCE</Mode>", "<Days>3</Days>"} {
			assert.Contains(t, string(reqs[1].Body), s)
		}
	})

	t.Run("created with object lock in the same apply: no read", func(t *testing.T) {
		b := retention
		b.Create, b.ObjectLock = true, &abi.ObjectLock{Enabled: true}
		require.NoError(t, d.ApplyBucket(ctx, p, b))
		assert.Equal(t, []string{"PUT /bkt", "PUT /bkt?object-lock"}, ops(f.requests()))
	})

	t.Run("disabling is refused before any request", func(t *testing.T) {
		err := d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{ObjectLock: &abi.ObjectLock{}}})
		assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "%v", err)
		assert.Empty(t, f.requests())
	})
}
