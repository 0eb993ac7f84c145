// Package drivertest is the conformance suite of a Pail driver: what the
// host (the operator) relies on a driver to do, checked against a real
// endpoint. A driver author runs it on a driver.Driver value, which can be
// the driver compiled natively or its wasm module loaded by a host (the
// operator's own tests pass core/wasmhost's driver), so the suite needs
// nothing outside the sdk.
//
//	func TestConformance(t *testing.T) {
//		tgt := s3compattest.TargetForTest(t) // or any endpoint
//		drivertest.Run(t, mydriver.New(http.DefaultTransport), drivertest.Target{
//			Server: tgt.Server, Provider: tgt.Provider, Unsupported: tgt.Unsupported,
//			Objects: s3compattest.Objects{}, // or any S3 client of the caller's
//		})
//	}
//
// What it checks (each a subtest):
//   - Describe: a name, ABI major 1, the four bucket operations, only
//     capabilities ABI 1.1 defines, and all six user operations (and the
//     driver.UserDriver methods) when accessKeys is declared;
//   - CheckProvider with good credentials;
//   - the bucket lifecycle: observe absent, delete absent (NotFound), create,
//     observe present, create again (a no-op), apply without changes,
//     delete, observe absent, delete again (NotFound);
//   - every sub-resource: a declared one round-trips exactly as written, a
//     second identical apply changes nothing, and a reset reads back reset;
//     one the server does not implement (Target.Unsupported) is refused with
//     Unimplemented and reported in the observation's unsupported; a value
//     using a part the server cannot keep (Target.UnsupportedParts) is
//     refused with Unimplemented; an undeclared one is refused with
//     Unimplemented (before any request, when Target.Requests counts them);
//   - object lock at creation (declared: reads back, versioning on; not
//     declared: Unimplemented and no bucket created);
//   - error codes: wrong credentials → AccessDenied (HTTP 403, the S3 code),
//     unreachable endpoint → Unavailable (retryable, one quick attempt), a
//     non-empty bucket deleted without force → Conflict (BucketNotEmpty),
//     with force (when declared) → gone, also when only object versions and
//     a delete marker are left;
//   - the dispatch envelope (driver.Dispatch): requests and results as the
//     host sends and reads them;
//   - users and access keys when accessKeys is declared: the lifecycle, its
//     idempotency, NotFound, Conflict and InvalidArgument cases, each
//     declared part (inlinePolicy, userTags, keyLastUsed) or its refusal
//     when undeclared, and a created key signing the driver's own requests.
//
// The suite imports no driver implementation and no S3 client: the sdk
// module carries no cloud SDK, so a third party's driver depends on it
// alone. What the suite does outside the driver (put an object) goes
// through Target.Objects, which the caller implements with a client of its
// own choosing.
//
// The suite never weakens a check for a known driver: a failure is a
// conformance gap to fix in the driver, or to declare (and so have the host
// refuse it) honestly.
package drivertest

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// Target is the real endpoint the suite runs against.
type Target struct {
	// Server names it in messages ("minio", "versitygw", an URL).
	Server string
	// Provider reaches the S3 endpoint with working credentials. The suite
	// also hands it to Objects, to put an object in a bucket.
	Provider abi.ProviderConfig
	// Objects reaches the same endpoint with a client independent of the
	// driver under test. Required.
	Objects Objects
	// Unsupported lists the sub-resources the server does not implement even
	// though a driver may declare them (versitygw posix: encryption,
	// publicAccessBlock, lifecycle). The driver must refuse these with
	// Unimplemented and report them unsupported; every other declared one
	// must round-trip.
	Unsupported []string
	// KMSKeyID, when set, makes the suite round-trip SSE-KMS default
	// encryption with that key if the driver declares sseKms.
	KMSKeyID string
	// Users, when set, is where the user and key operations go (an IAM
	// endpoint paired with an S3 gateway); by default Provider.
	Users *abi.ProviderConfig
	// UsersUnsupported lists the user parts (abi.UserPolicy, abi.UserTags,
	// abi.UserLastUsed) the server does not implement though the driver
	// declares them.
	UsersUnsupported []string
	// UnsupportedParts lists the parts of sub-resource values the server
	// cannot keep, as "sub-resource/part" (MinIO:
	// "lifecycle/abortIncompleteMultipartUpload",
	// "encryption/bucketKeyEnabled"). The driver must refuse a value using
	// one with Unimplemented rather than have it silently dropped.
	UnsupportedParts []string
	// Requests, when set, counts the requests the driver under test has sent
	// (a counting transport); the suite then checks that an undeclared
	// capability is refused before any request.
	Requests func() int64
	// Propagation bounds how long a new key or a key's new status may take
	// to work on the endpoint (AWS IAM is eventually consistent); 0: at once.
	Propagation time.Duration
	// LastUsedAtOnce is true when a key's last use is recorded as soon as it
	// signs a request (versitygw); AWS takes hours.
	LastUsedAtOnce bool
}

// Objects writes and removes objects with a client of the caller's, never
// the driver under test: the ABI has no object operations, yet the suite
// needs a non-empty bucket (DeleteBucket must refuse it without force) and,
// for a driver without forceDelete, to empty a bucket before deleting it.
// The caller implements it with whatever S3 client it has
// (sdk/s3compat/s3compattest.Objects on aws-sdk-go-v2, minio-go in
// plugins/minio); the suite thereby imports none.
type Objects interface {
	// PutObject writes body at key in bucket.
	PutObject(ctx context.Context, p abi.ProviderConfig, bucket, key, body string) error
	// DeleteObject deletes key in bucket as a plain DELETE does: in a
	// versioned bucket it leaves the versions and adds a delete marker.
	DeleteObject(ctx context.Context, p abi.ProviderConfig, bucket, key string) error
	// EmptyBucket deletes every object, object version and delete marker
	// in bucket.
	EmptyBucket(ctx context.Context, p abi.ProviderConfig, bucket string) error
}

// capabilities ABI 1.1 defines.
var knownCapabilities = abi.AllCapabilities()

// The operations every driver declares, and those accessKeys adds.
var (
	bucketOps = abi.OperationsOf(abi.CapBuckets)
	userOps   = abi.OperationsOf(abi.CapAccessKeys)
)

// Run runs the conformance suite of d against tgt.
func Run(t *testing.T, d driver.Driver, tgt Target) {
	info := d.Describe()
	p := tgt.Provider
	t.Logf("conformance of driver %s %s (ABI %s) against %s (%s); capabilities %v", info.Name, info.Version, info.ABI, tgt.Server, p.Endpoint, info.Capabilities)
	require.NotNil(t, tgt.Objects, "Target.Objects is required: the suite puts an object with a client independent of the driver")
	o := tgt.Objects

	t.Run("Describe", func(t *testing.T) { checkDescribe(t, d, info) })
	t.Run("CheckProvider", func(t *testing.T) { require.NoError(t, d.CheckProvider(t.Context(), p)) })
	t.Run("bucket lifecycle", func(t *testing.T) { bucketLifecycle(t, d, info, o, p) })
	t.Run("sub-resources", func(t *testing.T) { subResources(t, d, info, tgt) })
	t.Run("object lock at creation", func(t *testing.T) { objectLock(t, d, info, o, p) })
	t.Run("errors", func(t *testing.T) { errorCodes(t, d, info, tgt) })
	t.Run("dispatch envelope", func(t *testing.T) { dispatchEnvelope(t, d, info, o, p) })
	t.Run("users", func(t *testing.T) {
		if !info.Supports(abi.CapAccessKeys) {
			t.Skipf("driver %s does not declare %s", info.Name, abi.CapAccessKeys)
		}
		u, ok := d.(driver.UserDriver)
		require.True(t, ok, "a driver declaring accessKeys implements driver.UserDriver")
		ut := userTarget{d: d, info: info, p: p, unsupported: tgt.UsersUnsupported,
			propagation: tgt.Propagation, lastUsedAtOnce: tgt.LastUsedAtOnce}
		if tgt.Users != nil {
			ut.p = *tgt.Users
		}
		users(t, u, ut)
	})
}

func checkDescribe(t *testing.T, d driver.Driver, info abi.DriverInfo) {
	assert.NotEmpty(t, info.Name, "name")
	major, _, _ := strings.Cut(info.ABI, ".")
	assert.Equal(t, "1", major, "ABI %q: this suite checks ABI v1", info.ABI)
	assert.True(t, info.Supports(abi.CapBuckets), "declares %s", abi.CapBuckets)
	for _, op := range bucketOps {
		assert.True(t, info.Implements(op), "declares operation %s", op)
	}
	for _, c := range info.Capabilities {
		assert.Contains(t, knownCapabilities, c, "capability %q is not one ABI %s defines", c, abi.Version)
	}
	if info.Supports(abi.CapAccessKeys) {
		for _, op := range userOps {
			assert.True(t, info.Implements(op), "declares accessKeys, so declares operation %s", op)
		}
		_, ok := d.(driver.UserDriver)
		assert.True(t, ok, "declares accessKeys, so implements driver.UserDriver")
	} else {
		for _, op := range userOps {
			assert.False(t, info.Implements(op), "declares operation %s without accessKeys", op)
		}
	}
}

func bucketLifecycle(t *testing.T, d driver.Driver, info abi.DriverInfo, o Objects, p abi.ProviderConfig) {
	ctx := t.Context()
	b := abi.BucketArgs{Name: BucketName(info.Name + "-life")}
	cleanupBucket(t, d, o, p, b.Name)
	create := b
	create.Create = true
	steps := []struct {
		name string
		run  func() error
		want abi.Code
	}{
		{"observe absent", observeExists(ctx, d, p, b, false), ""},
		{"delete absent is NotFound", func() error { return d.DeleteBucket(ctx, p, b) }, abi.CodeNotFound},
		{"apply without create writes nothing", func() error { return d.ApplyBucket(ctx, p, b) }, ""},
		{"still absent", observeExists(ctx, d, p, b, false), ""},
		{"apply creates", func() error { return d.ApplyBucket(ctx, p, create) }, ""},
		{"observe present", observeExists(ctx, d, p, b, true), ""},
		{"create again is a no-op", func() error { return d.ApplyBucket(ctx, p, create) }, ""},
		{"still present", observeExists(ctx, d, p, b, true), ""},
		{"apply without changes", func() error { return d.ApplyBucket(ctx, p, b) }, ""},
		{"delete", func() error { return d.DeleteBucket(ctx, p, b) }, ""},
		{"observe absent again", observeExists(ctx, d, p, b, false), ""},
		{"delete again is NotFound", func() error { return d.DeleteBucket(ctx, p, b) }, abi.CodeNotFound},
	}
	for _, s := range steps {
		err := s.run()
		if s.want == "" {
			require.NoError(t, err, s.name)
		} else {
			require.Equal(t, s.want, abi.CodeOf(err), "%s: %v", s.name, err)
		}
	}
}

// subCase is one sub-resource: set is applied (twice), then reset.
type subCase struct {
	name       string // the sub-resource
	capability string // what the driver must declare (name, or sseKms)
	// part names what of set some servers cannot keep (Target.UnsupportedParts
	// lists it as name/part); "" for a value every server keeps.
	part       string
	set, reset abi.BucketConfig
	// resetAlso lists other observations that count as reset (AWS turns
	// default SSE-S3 on after DeleteBucketEncryption).
	resetAlso []abi.BucketConfig
	// equal compares an observed value with the written one; nil: exactly.
	equal func(want, got any) bool
}

func subCases(bucket, kmsKey string) []subCase {
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"DenySecret","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/secret/*"}]}`
	cases := []subCase{
		{
			name:  abi.SubVersioning,
			set:   abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled"}},
			reset: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Suspended"}},
		},
		{
			name:      abi.SubEncryption,
			set:       abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "AES256"}},
			reset:     abi.BucketConfig{Encryption: &abi.Encryption{}},
			resetAlso: []abi.BucketConfig{{Encryption: &abi.Encryption{Algorithm: "AES256"}}},
		},
		{
			name: abi.SubPublicAccessBlock,
			set: abi.BucketConfig{PublicAccessBlock: &abi.PublicAccessBlock{
				BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: true,
			}},
			reset: abi.BucketConfig{PublicAccessBlock: &abi.PublicAccessBlock{}},
		},
		{
			// What every S3 lifecycle API stores: a prefix filter, a tag
			// filter, a prefix-and-tags filter, noncurrent expiration, a
			// date, expired delete markers and a disabled rule.
			name:  abi.SubLifecycle,
			set:   abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: lifecycleRules}},
			reset: abi.BucketConfig{Lifecycle: &abi.Lifecycle{}},
		},
		{
			// MinIO accepts abortIncompleteMultipartUpload and silently
			// drops it, so its driver must refuse it.
			name: abi.SubLifecycle, part: "abortIncompleteMultipartUpload",
			set: abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: append(slices.Clip(lifecycleRules), abi.LifecycleRule{
				ID: "mpu", Status: "Enabled", AbortIncompleteMultipartUpload: &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: 3},
			})}},
			reset: abi.BucketConfig{Lifecycle: &abi.Lifecycle{}},
		},
		{
			// "b" before "a": rule order is kept, not sorted.
			name: abi.SubCORS,
			set: abi.BucketConfig{CORS: &abi.CORS{Rules: []abi.CORSRule{
				{ID: "b", AllowedMethods: []string{"GET", "HEAD"}, AllowedOrigins: []string{"https://b.example"},
					AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: 300},
				{ID: "a", AllowedMethods: []string{"PUT"}, AllowedOrigins: []string{"https://a.example", "https://c.example"}},
			}}},
			reset: abi.BucketConfig{CORS: &abi.CORS{}},
		},
		{
			// Beside two plain tags, two shaped like the host's ownership
			// mark (core/bucketdiff): a driver that declares tagging holds
			// the mark, keys and values with slashes, a UID, a long name.
			name: abi.SubTagging,
			set: abi.BucketConfig{Tagging: &abi.Tagging{Tags: map[string]string{"env": "test", "team": "pail",
				"pail.dev/owner":      "b5a1d7e0-0f7e-4a4c-9d0c-2f6c7e1d9a31/team-a/0d9f4c1e-6d0b-4c36-8f8e-5a1f3e8b7c20",
				"pail.dev/owner-name": strings.Repeat("data.", 50) + "end"}}},
			reset: abi.BucketConfig{Tagging: &abi.Tagging{}},
		},
		{
			name:  abi.SubPolicy,
			set:   abi.BucketConfig{Policy: &abi.Policy{Document: policy}},
			reset: abi.BucketConfig{Policy: &abi.Policy{}},
			equal: func(want, got any) bool {
				w, g := want.(*abi.Policy), got.(*abi.Policy) //nolint:forcetypeassert // both are the Policy field's values
				return w != nil && g != nil && policydoc.Same(w.Document, g.Document)
			},
		},
	}
	if kmsKey != "" {
		for _, bucketKey := range []bool{false, true} {
			c := subCase{
				name: abi.SubEncryption, capability: abi.SubSSEKMS,
				set:       abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms", KMSKeyID: kmsKey, BucketKeyEnabled: bucketKey}},
				reset:     abi.BucketConfig{Encryption: &abi.Encryption{}},
				resetAlso: []abi.BucketConfig{{Encryption: &abi.Encryption{Algorithm: "AES256"}}},
			}
			if bucketKey {
				c.part = "bucketKeyEnabled"
			}
			cases = append(cases, c)
		}
	}
	return cases
}

// lifecycleRules are the rules of the lifecycle case, shared by the case
// that adds a part some servers cannot keep.
var lifecycleRules = []abi.LifecycleRule{
	{ID: "logs", Status: "Enabled", Prefix: "logs/", Expiration: &abi.LifecycleExpiration{Days: 30}},
	{ID: "tmp-tag", Status: "Enabled", Tags: map[string]string{"class": "tmp"}, Expiration: &abi.LifecycleExpiration{Days: 7}},
	{ID: "both", Status: "Disabled", Prefix: "x/", Tags: map[string]string{"a": "1", "b": "2"},
		NoncurrentVersionExpiration: &abi.NoncurrentVersionExpiration{NoncurrentDays: 10, NewerNoncurrentVersions: 2}},
	{ID: "markers", Status: "Enabled", Prefix: "gone/", Expiration: &abi.LifecycleExpiration{ExpiredObjectDeleteMarker: true}},
	{ID: "dated", Status: "Enabled", Prefix: "old/", Expiration: &abi.LifecycleExpiration{Date: "2031-01-01"}},
}

func subResources(t *testing.T, d driver.Driver, info abi.DriverInfo, tgt Target) {
	p := tgt.Provider
	name := BucketName(info.Name + "-sub")
	require.NoError(t, d.ApplyBucket(t.Context(), p, abi.BucketArgs{Name: name, Create: true}))
	cleanupBucket(t, d, tgt.Objects, p, name)
	for _, c := range subCases(name, tgt.KMSKeyID) {
		if c.capability == "" {
			c.capability = c.name
		}
		label := c.name
		if c.capability != c.name {
			label += "/" + c.capability
		}
		if c.part != "" {
			label += "/" + c.part
		}
		t.Run(label, func(t *testing.T) { roundTrip(t, d, info, tgt, name, c) })
	}
	t.Run(abi.SubMFADelete, func(t *testing.T) {
		t.Skip("MFA delete needs a hardware or virtual MFA device on a root account; not checked")
	})
}

func roundTrip(t *testing.T, d driver.Driver, info abi.DriverInfo, tgt Target, bucket string, c subCase) {
	ctx, p := t.Context(), tgt.Provider
	observe := abi.BucketArgs{Name: bucket, Observe: []string{c.name}}
	apply := func(cfg abi.BucketConfig) error {
		return d.ApplyBucket(ctx, p, abi.BucketArgs{Name: bucket, Config: cfg})
	}

	switch {
	case !info.Supports(c.capability):
		refusedUndeclared(t, d, info, tgt, observe, c)
		return
	case slices.Contains(tgt.Unsupported, c.name):
		err := apply(c.set)
		require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%s does not implement %s: ApplyBucket must say so with Unimplemented (%v)", tgt.Server, c.name, err)
		obs, err := d.ObserveBucket(ctx, p, observe)
		require.NoError(t, err)
		assert.Contains(t, obs.Unsupported, c.name, "%s does not implement %s: ObserveBucket must report it unsupported", tgt.Server, c.name)
		assert.Nil(t, field(obs.Config, c.name), "an unsupported %s has no observed value", c.name)
		t.Logf("%s does not implement %s: %s", tgt.Server, c.name, obs.Unsupported[c.name])
		return
	case c.part != "" && slices.Contains(tgt.UnsupportedParts, c.name+"/"+c.part):
		err := apply(c.set)
		require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%s cannot keep %s in %s: ApplyBucket must refuse it with Unimplemented (%v)", tgt.Server, c.part, c.name, err)
		return
	}

	equal := c.equal
	if equal == nil {
		equal = assert.ObjectsAreEqual
	}
	check := func(step string, want abi.BucketConfig, alts ...abi.BucketConfig) {
		t.Helper()
		obs, err := d.ObserveBucket(ctx, p, observe)
		require.NoError(t, err, step)
		require.True(t, obs.Exists, step)
		assert.Empty(t, obs.Unsupported, "%s: a declared %s that %s implements is not unsupported", step, c.name, tgt.Server)
		got := field(obs.Config, c.name)
		for _, alt := range append([]abi.BucketConfig{want}, alts...) {
			if equal(field(alt, c.name), got) {
				return
			}
		}
		assert.Equal(t, field(want, c.name), got, "%s: observed %s differs from what was written", step, c.name)
	}
	require.NoError(t, apply(c.set), "apply")
	check("after apply", c.set)
	require.NoError(t, apply(c.set), "applying the same value again")
	check("after the same apply again", c.set)
	require.NoError(t, apply(c.reset), "reset")
	check("after reset", c.reset, c.resetAlso...)
	require.NoError(t, apply(c.reset), "reset again")
}

// refusedUndeclared checks that a sub-resource the driver does not declare
// is refused: the host refuses an undeclared capability before calling the
// driver (the Bucket gets Unsupported); the driver must refuse it too, so no
// path can silently drop or half-apply it.
func refusedUndeclared(t *testing.T, d driver.Driver, info abi.DriverInfo, tgt Target, observe abi.BucketArgs, c subCase) {
	ctx, p := t.Context(), tgt.Provider
	var before int64
	if tgt.Requests != nil {
		before = tgt.Requests()
	}
	err := d.ApplyBucket(ctx, p, abi.BucketArgs{Name: observe.Name, Config: c.set})
	if tgt.Requests != nil {
		assert.Equal(t, int64(0), tgt.Requests()-before, "an undeclared %s must be refused before any request", c.capability)
	}
	require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "driver %s does not declare %s: ApplyBucket must refuse it with Unimplemented, got %v", info.Name, c.capability, err)
	if c.capability == c.name {
		obs, err := d.ObserveBucket(ctx, p, observe)
		require.NoError(t, err, "observing an undeclared sub-resource is not an error")
		if _, reported := obs.Unsupported[c.name]; !reported {
			assert.Nil(t, field(obs.Config, c.name), "an undeclared %s is reported unsupported or not at all", c.name)
		}
	}
}

func objectLock(t *testing.T, d driver.Driver, info abi.DriverInfo, o Objects, p abi.ProviderConfig) {
	ctx := t.Context()
	name := BucketName(info.Name + "-lock")
	lock := &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 1}}
	cleanupBucket(t, d, o, p, name)
	err := d.ApplyBucket(ctx, p, abi.BucketArgs{Name: name, Create: true, ObjectLock: lock})
	if !info.Supports(abi.SubObjectLock) {
		require.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "objectLock is not declared: a create asking for it must be refused with Unimplemented, got %v", err)
		obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: name})
		require.NoError(t, err)
		assert.False(t, obs.Exists, "a refused create writes nothing: the bucket must not exist")
		return
	}
	require.NoError(t, err)
	obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: name, Observe: []string{abi.SubObjectLock}})
	require.NoError(t, err)
	assert.Equal(t, lock, obs.Config.ObjectLock)
	if info.Supports(abi.SubVersioning) {
		obs, err = d.ObserveBucket(ctx, p, abi.BucketArgs{Name: name, Observe: []string{abi.SubVersioning}})
		require.NoError(t, err)
		assert.Equal(t, &abi.Versioning{Status: "Enabled"}, obs.Config.Versioning, "object lock turns versioning on")
	}

	plain := BucketName(info.Name + "-nolock")
	cleanupBucket(t, d, o, p, plain)
	require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: plain, Create: true}))
	obs, err = d.ObserveBucket(ctx, p, abi.BucketArgs{Name: plain, Observe: []string{abi.SubObjectLock}})
	require.NoError(t, err)
	assert.Equal(t, &abi.ObjectLock{}, obs.Config.ObjectLock, "a bucket created without object lock reads as none")
	objectLockAfterCreation(t, d, p, name, plain)
}

// objectLockAfterCreation checks the rule of abi.SubResources: the default
// retention may be written to an existing bucket with object lock (locked),
// enabling object lock is the create's alone (plain stays without it), and
// nothing turns it off.
func objectLockAfterCreation(t *testing.T, d driver.Driver, p abi.ProviderConfig, locked, plain string) {
	ctx := t.Context()
	read := func(bucket string) *abi.ObjectLock {
		obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: bucket, Observe: []string{abi.SubObjectLock}})
		require.NoError(t, err)
		return obs.Config.ObjectLock
	}
	write := func(bucket string, ol *abi.ObjectLock) error {
		return d.ApplyBucket(ctx, p, abi.BucketArgs{Name: bucket, Config: abi.BucketConfig{ObjectLock: ol}})
	}
	changed := &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 2}}
	require.NoError(t, write(locked, changed), "the default retention of a bucket with object lock may be written after creation")
	assert.Equal(t, changed, read(locked), "the retention written after creation reads back")

	err := write(locked, &abi.ObjectLock{})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err), "turning object lock off must be refused with InvalidArgument, got %v", err)
	assert.Equal(t, changed, read(locked), "a refused write changes nothing")

	err = write(plain, changed)
	assert.Equal(t, abi.CodeConflict, abi.CodeOf(err), "only the create enables object lock: a write to a bucket without it must be refused with Conflict, got %v", err)
	assert.Equal(t, &abi.ObjectLock{}, read(plain), "a refused write leaves the bucket without object lock")
}

func withCreds(p abi.ProviderConfig, id, secret string) abi.ProviderConfig {
	p.Credentials = abi.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	return p
}

func assertCode(t *testing.T, want abi.Code, retryable bool, err error, what string) {
	t.Helper()
	var ae *abi.Error
	if !assert.ErrorAs(t, err, &ae, "%s: want an *abi.Error with code %s", what, want) { //nolint:testifylint // the suite reports every failing case, not only the first
		return
	}
	assert.Equal(t, want, ae.Code, "%s: %v", what, err)
	if want == abi.CodeUnavailable || want == abi.CodeAccessDenied || want == abi.CodeConflict {
		assert.Equal(t, retryable, ae.Retryable, "%s: retryable", what)
	}
}

// asError returns the *abi.Error in err's chain, or the zero Error.
func asError(err error) abi.Error {
	if ae, ok := errors.AsType[*abi.Error](err); ok {
		return *ae
	}
	return abi.Error{}
}

func observeExists(ctx context.Context, d driver.Driver, p abi.ProviderConfig, b abi.BucketArgs, want bool) func() error {
	return func() error {
		obs, err := d.ObserveBucket(ctx, p, b)
		if err != nil {
			return err
		}
		if obs.Exists != want {
			return abi.Errorf(abi.CodeInternal, "observed exists=%v, want %v", obs.Exists, want)
		}
		return nil
	}
}

// cleanupBucket force-deletes the bucket when the test ends, whatever
// happened; without forceDelete it empties the bucket with o first.
func cleanupBucket(t *testing.T, d driver.Driver, o Objects, p abi.ProviderConfig, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		force := d.Describe().Supports(abi.CapForceDelete)
		if !force {
			// Best effort, as the bucket may be gone: the delete below
			// reports a bucket left non-empty.
			_ = o.EmptyBucket(ctx, p, name)
		}
		err := d.DeleteBucket(ctx, p, abi.BucketArgs{Name: name, Force: force})
		if err != nil && abi.CodeOf(err) != abi.CodeNotFound {
			t.Errorf("clean up bucket %s: %v", name, err)
		}
	})
}

// field returns the sub-resource name of cfg, typed, for comparisons.
func field(cfg abi.BucketConfig, name string) any {
	s, ok := abi.SubResourceNamed(name)
	if !ok {
		return nil
	}
	return s.Get(cfg)
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
