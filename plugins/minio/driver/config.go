package driver

// Bucket sub-resources: reading them into an abi.BucketConfig and writing
// them from one.
//
// Observations are normalised so that observing what ApplyBucket wrote gives
// back a value equal (reflect.DeepEqual) to what was written: nil rather
// than empty slices and maps, tags as maps, a lifecycle filter mapped back
// to Prefix and Tags, dates as YYYY-MM-DD, and zero-valued optional structs
// as nil. That equality is what lets the host make no write at all when a
// bucket is in sync.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/sse"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/pail-dev/pail/sdk/abi"
)

// Error codes MinIO answers when a sub-resource is simply not configured.
const (
	codeNoEncryption = "ServerSideEncryptionConfigurationNotFoundError"
	codeNoLifecycle  = "NoSuchLifecycleConfiguration"
	codeNoTagSet     = "NoSuchTagSet"
	codeNoObjectLock = "ObjectLockConfigurationNotFoundError"
)

// dateLayout is the ABI's form of lifecycle dates: midnight UTC of that day.
const dateLayout = "2006-01-02"

// capabilities are the sub-resources (and extras) the driver declares.
var capabilities = []string{
	abi.CapBuckets,
	abi.SubVersioning,
	abi.SubEncryption,
	abi.SubSSEKMS,
	abi.SubLifecycle,
	abi.SubTagging,
	abi.SubPolicy,
	abi.SubObjectLock,
	abi.CapForceDelete,
}

// unsupported explains each sub-resource MinIO has no API for. Observing
// one reports this reason without a request; writing one is Unimplemented.
var unsupported = map[string]string{
	abi.SubPublicAccessBlock: "MinIO has no publicAccessBlock API: anonymous access is governed by the bucket policy alone",
	abi.SubMFADelete:         "MinIO has no mfaDelete API: PutBucketVersioning accepts MfaDelete and ignores it",
	// Verified against the server: GetBucketCors always answers
	// NoSuchCORSConfiguration, PutBucketCors and DeleteBucketCors answer
	// NotImplemented. MinIO configures CORS server-wide (api cors_allow_origin).
	abi.SubCORS: "MinIO has no cors API: PutBucketCors answers NotImplemented (CORS is configured server-wide)",
}

// reader reads one sub-resource as the pointer type of the BucketConfig
// field named into.
type reader struct {
	into string
	read func(ctx context.Context, c *minio.Client, bucket string) (any, error)
}

// readers are the names ObserveBucket reads: each entry of abi.SubResources
// MinIO has an API for (a test checks the rest are in unsupported), and
// sseKms, one form of the default encryption, which reads the encryption.
var readers = map[string]reader{
	abi.SubVersioning: {abi.SubVersioning, func(ctx context.Context, c *minio.Client, bucket string) (any, error) {
		v, err := c.GetBucketVersioning(ctx, bucket)
		if err != nil {
			return nil, err
		}
		return &abi.Versioning{Status: v.Status, MFADelete: v.MFADelete}, nil
	}},
	abi.SubEncryption: {abi.SubEncryption, untyped(readEncryption)},
	abi.SubSSEKMS:     {abi.SubEncryption, untyped(readEncryption)},
	abi.SubLifecycle:  {abi.SubLifecycle, untyped(readLifecycle)},
	abi.SubTagging:    {abi.SubTagging, untyped(readTagging)},
	abi.SubPolicy: {abi.SubPolicy, func(ctx context.Context, c *minio.Client, bucket string) (any, error) {
		doc, err := c.GetBucketPolicy(ctx, bucket) // "" when there is none
		if err != nil {
			return nil, err
		}
		return &abi.Policy{Document: observedPolicy(doc)}, nil
	}},
	abi.SubObjectLock: {abi.SubObjectLock, untyped(readObjectLock)},
}

// untyped adapts a typed read to reader.read.
func untyped[T any](read func(ctx context.Context, c *minio.Client, bucket string) (*T, error)) func(context.Context, *minio.Client, string) (any, error) {
	return func(ctx context.Context, c *minio.Client, bucket string) (any, error) {
		v, err := read(ctx, c, bucket)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

func unsupportedReason(sub string) string {
	if r, ok := unsupported[sub]; ok {
		return r
	}
	if slices.Contains(capabilities, sub) {
		return sub + " is a capability, not a bucket sub-resource"
	}
	return fmt.Sprintf("MinIO has no %s API", sub)
}

// isNotImplemented reports a server that does not implement the request.
func isNotImplemented(err error) bool {
	return minio.ToErrorResponse(err).Code == minio.NotImplemented
}

// serverAnswer is how an Unsupported entry quotes the server.
func serverAnswer(err error) string {
	er := minio.ToErrorResponse(err)
	if er.Message == "" {
		return er.Code
	}
	return er.Code + ": " + er.Message
}

// observe reads one sub-resource into obs. A sub-resource the driver does not
// declare, or one the server answers NotImplemented to, lands in
// obs.Unsupported instead; only other failures are errors.
func observe(ctx context.Context, c *minio.Client, bucket, sub string, obs *abi.BucketObservation) error {
	r, ok := readers[sub]
	if !ok {
		setUnsupported(obs, sub, unsupportedReason(sub))
		return nil
	}
	into, _ := abi.SubResourceNamed(r.into)
	if into.Has(obs.Config) {
		return nil // read already (encryption and sseKms)
	}
	v, err := r.read(ctx, c, bucket)
	if err == nil {
		into.Set(&obs.Config, v)
	}
	// A server that does not implement a sub-resource (an S3-compatible
	// server other than MinIO, or a MinIO build without it) is reported, not
	// failed: the rest of the bucket is still observed.
	if err != nil && isNotImplemented(err) {
		setUnsupported(obs, sub, serverAnswer(err))
		return nil
	}
	return subError(sub, err)
}

func setUnsupported(obs *abi.BucketObservation, sub, reason string) {
	if obs.Unsupported == nil {
		obs.Unsupported = map[string]string{}
	}
	obs.Unsupported[sub] = reason
}

// read is what a Get answered: a missing configuration (the error code
// none) is the empty value, any other error is passed on, and what was read
// becomes the value through conv.
func read[R, T any](got R, err error, none string, conv func(R) *T) (*T, error) {
	if minio.ToErrorResponse(err).Code == none {
		return new(T), nil
	}
	if err != nil {
		return nil, err
	}
	return conv(got), nil
}

func readEncryption(ctx context.Context, c *minio.Client, bucket string) (*abi.Encryption, error) {
	cfg, err := c.GetBucketEncryption(ctx, bucket)
	return read(cfg, err, codeNoEncryption, encryptionFromMinio)
}

func encryptionFromMinio(cfg *sse.Configuration) *abi.Encryption {
	out := &abi.Encryption{}
	if cfg == nil || len(cfg.Rules) == 0 {
		return out
	}
	// MinIO, like S3, keeps exactly one rule.
	apply := cfg.Rules[0].Apply
	out.Algorithm = apply.SSEAlgorithm
	if out.Algorithm == sseKMS {
		out.KMSKeyID = apply.KmsMasterKeyID
	}
	return out
}

func readLifecycle(ctx context.Context, c *minio.Client, bucket string) (*abi.Lifecycle, error) {
	cfg, err := c.GetBucketLifecycle(ctx, bucket)
	return read(cfg, err, codeNoLifecycle, lifecycleFromMinio)
}

func readTagging(ctx context.Context, c *minio.Client, bucket string) (*abi.Tagging, error) {
	t, err := c.GetBucketTagging(ctx, bucket)
	return read(t, err, codeNoTagSet, func(t *tags.Tags) *abi.Tagging {
		out := &abi.Tagging{}
		if m := t.ToMap(); len(m) > 0 {
			out.Tags = m
		}
		return out
	})
}

func readObjectLock(ctx context.Context, c *minio.Client, bucket string) (*abi.ObjectLock, error) {
	enabled, mode, validity, unit, err := c.GetObjectLockConfig(ctx, bucket)
	if minio.ToErrorResponse(err).Code == codeNoObjectLock {
		return &abi.ObjectLock{Enabled: false}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &abi.ObjectLock{Enabled: enabled == "Enabled"}
	if mode != nil && *mode != "" && validity != nil && unit != nil {
		p := &abi.ObjectLockPeriod{Mode: string(*mode)}
		if *unit == minio.Years {
			p.Years = int32(*validity) //nolint:gosec // S3 retention periods are int32 on the wire
		} else {
			p.Days = int32(*validity) //nolint:gosec // S3 retention periods are int32 on the wire
		}
		out.DefaultRetention = p
	}
	return out, nil
}

// lifecycleFromMinio maps a lifecycle configuration back to the ABI's form.
// A filter is Prefix plus Tags whichever way the server spells it (the
// deprecated rule-level Prefix, Filter.Prefix, Filter.Tag or Filter.And).
// MinIO extensions with no ABI field (size filters, DelMarkerExpiration,
// AllVersionsExpiration, ExpiredObjectAllVersions, NoncurrentVersionTransition)
// are not reported.
func lifecycleFromMinio(cfg *lifecycle.Configuration) *abi.Lifecycle {
	out := &abi.Lifecycle{}
	if cfg == nil {
		return out
	}
	for _, r := range cfg.Rules {
		rule := abi.LifecycleRule{ID: r.ID, Status: r.Status}

		f := r.RuleFilter
		switch {
		case r.Prefix != "":
			rule.Prefix = r.Prefix
		case f.Prefix != "":
			rule.Prefix = f.Prefix
		default:
			rule.Prefix = f.And.Prefix
		}
		tagsOut := map[string]string{}
		if !f.Tag.IsEmpty() {
			tagsOut[f.Tag.Key] = f.Tag.Value
		}
		for _, t := range f.And.Tags {
			if !t.IsEmpty() {
				tagsOut[t.Key] = t.Value
			}
		}
		if len(tagsOut) > 0 {
			rule.Tags = tagsOut
		}

		if e := r.Expiration; !e.IsNull() {
			rule.Expiration = &abi.LifecycleExpiration{
				Days:                      int32(e.Days), //nolint:gosec // S3 day counts are int32 on the wire
				Date:                      formatDate(e.Date.Time),
				ExpiredObjectDeleteMarker: e.IsDeleteMarkerExpirationEnabled(),
			}
			if *rule.Expiration == (abi.LifecycleExpiration{}) { // only ExpiredObjectAllVersions
				rule.Expiration = nil
			}
		}
		if n := r.NoncurrentVersionExpiration; n.NoncurrentDays != 0 || n.NewerNoncurrentVersions != 0 {
			rule.NoncurrentVersionExpiration = &abi.NoncurrentVersionExpiration{
				NoncurrentDays:          int32(n.NoncurrentDays),          //nolint:gosec // S3 day counts are int32 on the wire
				NewerNoncurrentVersions: int32(n.NewerNoncurrentVersions), //nolint:gosec // S3 day counts are int32 on the wire
			}
		}
		if t := r.Transition; !t.IsNull() {
			rule.Transitions = []abi.LifecycleTransition{{
				Days:         int32(t.Days), //nolint:gosec // S3 day counts are int32 on the wire
				Date:         formatDate(t.Date.Time),
				StorageClass: t.StorageClass,
			}}
		}
		if a := r.AbortIncompleteMultipartUpload; !a.IsDaysNull() {
			rule.AbortIncompleteMultipartUpload = &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: int32(a.DaysAfterInitiation)} //nolint:gosec // S3 day counts are int32 on the wire
		}
		out.Rules = append(out.Rules, rule)
	}
	return out
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateLayout)
}

// ---- writes ----

const (
	sseS3  = "AES256"
	sseKMS = "aws:kms"
)

// write is one sub-resource write of ApplyBucket.
type write struct {
	sub string
	do  func(ctx context.Context, c *minio.Client, bucket string) error
}

// planners plan the write of each entry of abi.SubResources MinIO has an
// API for; a test checks the rest are in unsupported.
var planners = map[string]func(b abi.BucketArgs) (write, error){
	abi.SubVersioning: func(b abi.BucketArgs) (write, error) { return planVersioning(b.Config.Versioning, b.MFA) },
	abi.SubEncryption: func(b abi.BucketArgs) (write, error) { return planEncryption(b.Config.Encryption) },
	abi.SubLifecycle:  func(b abi.BucketArgs) (write, error) { return planLifecycle(b.Config.Lifecycle) },
	abi.SubTagging:    func(b abi.BucketArgs) (write, error) { return planTagging(b.Config.Tagging) },
	abi.SubPolicy:     func(b abi.BucketArgs) (write, error) { return planPolicy(b.Config.Policy.Document) },
	abi.SubObjectLock: planObjectLock,
}

// planWrites checks the desired configuration and turns each non-nil field
// of it into a write, in abi.SubResources order. Everything that can be
// refused without asking the server is refused here, before the first
// request, so a bad field never leaves a half-applied bucket behind.
func planWrites(b abi.BucketArgs) ([]write, error) {
	// Any set sub-resource the driver cannot write is refused first:
	// writing nothing would let the host believe it did.
	for _, s := range abi.SubResources {
		if _, ok := planners[s.Name]; s.Has(b.Config) && !ok {
			return nil, abi.Errorf(abi.CodeUnimplemented, "%s: %s", s.Name, unsupportedReason(s.Name))
		}
	}
	var writes []write
	for _, s := range abi.SubResources {
		if !s.Has(b.Config) {
			continue
		}
		w, err := planners[s.Name](b)
		if err != nil {
			return nil, err
		}
		writes = append(writes, w)
	}
	return writes, nil
}

// planObjectLock plans a write of the default retention, all a write may
// change (abi.SubResources: enabled is create-only). MinIO cannot enable
// object lock on an existing bucket, so a bucket this apply did not create
// with it is read first, and refused with Conflict unless it has it.
func planObjectLock(b abi.BucketArgs) (write, error) {
	ol := b.Config.ObjectLock
	if !ol.Enabled {
		return write{}, abi.Errorf(abi.CodeInvalidArgument,
			"objectLock: object lock is set when the bucket is created (BucketArgs.ObjectLock with Create) and cannot be turned off; only its default retention may be written afterwards")
	}
	r, err := checkObjectLock(ol)
	if err != nil {
		return write{}, err
	}
	created := b.Create && b.ObjectLock != nil && b.ObjectLock.Enabled
	return write{sub: abi.SubObjectLock, do: func(ctx context.Context, c *minio.Client, bucket string) error {
		if !created {
			have, err := readObjectLock(ctx, c, bucket)
			if err != nil {
				return err
			}
			if !have.Enabled {
				return abi.Errorf(abi.CodeConflict, "bucket %s has no object lock, which only the create can enable; its default retention cannot be written", bucket)
			}
		}
		if r == nil {
			return c.SetObjectLockConfig(ctx, bucket, nil, nil, nil) // removes the default retention
		}
		return c.SetObjectLockConfig(ctx, bucket, &r.mode, &r.validity, &r.unit)
	}}, nil
}

func planVersioning(v *abi.Versioning, mfa string) (write, error) {
	if v.MFADelete != "" || mfa != "" {
		return write{}, abi.Errorf(abi.CodeUnimplemented, "versioning: %s", unsupported[abi.SubMFADelete])
	}
	var status string
	switch v.Status {
	case minio.Enabled, minio.Suspended:
		status = v.Status
	case "":
		return write{}, abi.Errorf(abi.CodeInvalidArgument,
			"versioning: status must be Enabled or Suspended: versioning can be suspended but never turned off once enabled")
	default:
		return write{}, abi.Errorf(abi.CodeInvalidArgument, "versioning: unknown status %q: want Enabled or Suspended", v.Status)
	}
	return write{sub: abi.SubVersioning, do: func(ctx context.Context, c *minio.Client, bucket string) error {
		return c.SetBucketVersioning(ctx, bucket, minio.BucketVersioningConfiguration{Status: status})
	}}, nil
}

func planEncryption(e *abi.Encryption) (write, error) {
	var cfg *sse.Configuration
	switch e.Algorithm {
	case "":
		// none: cfg stays nil and the configuration is removed
	case sseS3:
		if e.KMSKeyID != "" {
			return write{}, abi.Errorf(abi.CodeInvalidArgument, "encryption: kmsKeyID is only valid with algorithm aws:kms")
		}
		cfg = sse.NewConfigurationSSES3()
	case sseKMS:
		if e.KMSKeyID == "" {
			return write{}, abi.Errorf(abi.CodeInvalidArgument,
				"encryption: MinIO needs a kmsKeyID with algorithm aws:kms (it has no default bucket KMS key)")
		}
		cfg = sse.NewConfigurationSSEKMS(e.KMSKeyID)
	default:
		return write{}, abi.Errorf(abi.CodeInvalidArgument, "encryption: unknown algorithm %q: want AES256 or aws:kms", e.Algorithm)
	}
	if e.BucketKeyEnabled {
		// The configuration has nowhere to keep it: it would never read back.
		return write{}, abi.Errorf(abi.CodeUnimplemented, "encryption: MinIO has no S3 Bucket Keys (bucketKeyEnabled)")
	}
	return write{sub: abi.SubEncryption, do: func(ctx context.Context, c *minio.Client, bucket string) error {
		if cfg == nil {
			return c.RemoveBucketEncryption(ctx, bucket) // succeeds when there is none
		}
		return c.SetBucketEncryption(ctx, bucket, cfg)
	}}, nil
}

// UnsupportedParts lists the parts of sub-resource values MinIO cannot keep,
// which this driver therefore refuses with Unimplemented (lifecycleToMinio,
// planEncryption), named as the conformance suite names them
// (drivertest.Target.UnsupportedParts).
var UnsupportedParts = []string{
	abi.SubLifecycle + "/abortIncompleteMultipartUpload",
	abi.SubEncryption + "/bucketKeyEnabled",
}

func planLifecycle(l *abi.Lifecycle) (write, error) {
	cfg, err := lifecycleToMinio(l)
	if err != nil {
		return write{}, err
	}
	return write{sub: abi.SubLifecycle, do: func(ctx context.Context, c *minio.Client, bucket string) error {
		return c.SetBucketLifecycle(ctx, bucket, cfg) // no rules deletes the configuration
	}}, nil
}

// lifecycleToMinio maps the ABI's lifecycle onto minio-go's, refusing what
// MinIO would not keep: it accepts AbortIncompleteMultipartUpload and drops
// it without a word (its rule type has no such field), and it keeps a single
// Transition per rule.
func lifecycleToMinio(l *abi.Lifecycle) (*lifecycle.Configuration, error) {
	cfg := lifecycle.NewConfiguration()
	for _, r := range l.Rules {
		if r.AbortIncompleteMultipartUpload != nil {
			return nil, abi.Errorf(abi.CodeUnimplemented,
				"lifecycle: rule %q: MinIO does not support abortIncompleteMultipartUpload (it accepts the element and silently drops it)", r.ID)
		}
		if len(r.Transitions) > 1 {
			return nil, abi.Errorf(abi.CodeInvalidArgument,
				"lifecycle: rule %q: MinIO keeps one transition per rule, got %d", r.ID, len(r.Transitions))
		}
		rule := lifecycle.Rule{ID: r.ID, Status: r.Status}

		keys := make([]string, 0, len(r.Tags))
		for k := range r.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		switch {
		case len(keys) == 0:
			rule.RuleFilter = lifecycle.Filter{Prefix: r.Prefix}
		case len(keys) == 1 && r.Prefix == "":
			rule.RuleFilter = lifecycle.Filter{Tag: lifecycle.Tag{Key: keys[0], Value: r.Tags[keys[0]]}}
		default:
			and := lifecycle.And{Prefix: r.Prefix}
			for _, k := range keys {
				and.Tags = append(and.Tags, lifecycle.Tag{Key: k, Value: r.Tags[k]})
			}
			rule.RuleFilter = lifecycle.Filter{And: and}
		}

		if e := r.Expiration; e != nil {
			rule.Expiration = lifecycle.Expiration{
				Days:         lifecycle.ExpirationDays(e.Days),
				DeleteMarker: lifecycle.ExpireDeleteMarker(e.ExpiredObjectDeleteMarker),
			}
			if e.Date != "" {
				d, err := parseDate(r.ID, "expiration", e.Date)
				if err != nil {
					return nil, err
				}
				rule.Expiration.Date = lifecycle.ExpirationDate{Time: d}
			}
		}
		if n := r.NoncurrentVersionExpiration; n != nil {
			rule.NoncurrentVersionExpiration = lifecycle.NoncurrentVersionExpiration{
				NoncurrentDays:          lifecycle.ExpirationDays(n.NoncurrentDays),
				NewerNoncurrentVersions: int(n.NewerNoncurrentVersions),
			}
		}
		if len(r.Transitions) == 1 {
			t := r.Transitions[0]
			rule.Transition = lifecycle.Transition{Days: lifecycle.ExpirationDays(t.Days), StorageClass: t.StorageClass}
			if t.Date != "" {
				d, err := parseDate(r.ID, "transition", t.Date)
				if err != nil {
					return nil, err
				}
				rule.Transition.Date = lifecycle.ExpirationDate{Time: d}
			}
		}
		cfg.Rules = append(cfg.Rules, rule)
	}
	return cfg, nil
}

func parseDate(rule, field, s string) (time.Time, error) {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, abi.Errorf(abi.CodeInvalidArgument, "lifecycle: rule %q: %s date %q is not YYYY-MM-DD", rule, field, s)
	}
	return d, nil
}

func planTagging(t *abi.Tagging) (write, error) {
	if len(t.Tags) == 0 {
		return write{sub: abi.SubTagging, do: func(ctx context.Context, c *minio.Client, bucket string) error {
			return c.RemoveBucketTagging(ctx, bucket) // succeeds when there are none
		}}, nil
	}
	// A refused tag set is reported when the write runs, not here: tags are
	// metadata, and one bad tag must not keep the bucket from being created
	// with the rest of its spec (ApplyBucket writes tagging last in effect).
	if err := checkTags(t.Tags); err != nil {
		return write{sub: abi.SubTagging, do: func(context.Context, *minio.Client, string) error { return err }}, nil //nolint:nilerr // deferred to the write, as said above
	}
	set, err := tags.NewTags(t.Tags, false)
	if err != nil {
		return write{}, abi.Errorf(abi.CodeInvalidArgument, "tagging: %v", err)
	}
	return write{sub: abi.SubTagging, do: func(ctx context.Context, c *minio.Client, bucket string) error {
		return c.SetBucketTagging(ctx, bucket, set)
	}}, nil
}

// retention is a validated default retention for SetObjectLockConfig.
type retention struct {
	mode     minio.RetentionMode
	validity uint
	unit     minio.ValidityUnit
}

func checkObjectLock(l *abi.ObjectLock) (*retention, error) {
	if l == nil || l.DefaultRetention == nil {
		return nil, nil
	}
	if !l.Enabled {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "objectLock: a default retention needs object lock enabled")
	}
	p := l.DefaultRetention
	r := &retention{mode: minio.RetentionMode(p.Mode)}
	if !r.mode.IsValid() {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "objectLock: unknown retention mode %q: want GOVERNANCE or COMPLIANCE", p.Mode)
	}
	switch {
	case p.Days > 0 && p.Years == 0:
		r.validity, r.unit = uint(p.Days), minio.Days
	case p.Years > 0 && p.Days == 0:
		r.validity, r.unit = uint(p.Years), minio.Years
	default:
		return nil, abi.Errorf(abi.CodeInvalidArgument, "objectLock: a default retention needs exactly one of days or years, positive")
	}
	return r, nil
}
