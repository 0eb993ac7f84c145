package s3compat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driverkit"
)

// ApplyBucket creates the bucket when b.Create is set, then writes exactly
// the non-nil sub-resources of b.Config, in abi.SubResources order, and
// stops at the first error.
func (d *Driver) ApplyBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if err := checkBucketName(b.Name); err != nil {
		return err
	}
	// Everything the driver can refuse on its own is refused before the
	// first request, so a bad spec never leaves a half-written bucket.
	if err := d.validate(b); err != nil {
		return err
	}
	c, err := d.client(p)
	if err != nil {
		return err
	}
	if b.Create {
		if err := d.create(ctx, c, p, b); err != nil {
			return err
		}
	}
	// A refused tag set is reported after the rest is written: tags are
	// metadata, and one bad tag must not keep the bucket from being created
	// with the rest of its spec.
	var tagErr error
	for _, s := range d.order(b.Config) {
		if err := d.write(ctx, c, b, s.Name); err != nil {
			if s.Name == abi.SubTagging && abi.CodeOf(err) == abi.CodeInvalidArgument {
				tagErr = err
				continue
			}
			return err
		}
	}
	return driverkit.DeferredTagError(tagErr)
}

// order lists the sub-resources set in cfg, in abi.SubResources order.
func (d *Driver) order(cfg abi.BucketConfig) []abi.SubResource {
	var out []abi.SubResource
	for _, s := range abi.SubResources {
		if s.Has(cfg) {
			out = append(out, s)
		}
	}
	return out
}

// validate checks b against the declared capabilities and the shapes S3
// accepts.
func (d *Driver) validate(b abi.BucketArgs) error {
	if b.Create && b.ObjectLock != nil {
		if b.ObjectLock.Enabled {
			if err := d.need(abi.SubObjectLock, "object lock"); err != nil {
				return err
			}
		}
		if err := checkObjectLock(b.ObjectLock); err != nil {
			return err
		}
	}
	cfg := b.Config
	for _, s := range d.order(cfg) {
		if err := d.need(s.Capability, s.Name); err != nil {
			return err
		}
	}
	if err := d.validateVersioning(cfg.Versioning); err != nil {
		return err
	}
	if err := d.validateEncryption(cfg.Encryption); err != nil {
		return err
	}
	if err := validateLifecycle(cfg.Lifecycle); err != nil {
		return err
	}
	if ol := cfg.ObjectLock; ol != nil {
		if !ol.Enabled { // abi.SubResources: enabled is create-only
			return invalid(abi.SubObjectLock, "object lock cannot be disabled once enabled")
		}
		if err := checkObjectLock(ol); err != nil {
			return err
		}
	}
	return nil
}

// need refuses what needs a capability the driver does not declare.
func (d *Driver) need(capability, what string) error {
	if d.caps[capability] {
		return nil
	}
	return abi.Errorf(abi.CodeUnimplemented, "the %s driver does not support %s", d.opts.Name, what)
}

// invalid refuses the sub-resource name, which S3 would not accept.
func invalid(name, format string, a ...any) error {
	return abi.Errorf(abi.CodeInvalidArgument, "%s: %s", name, fmt.Sprintf(format, a...))
}

// validateVersioning checks v, when set, has a status S3 accepts.
func (d *Driver) validateVersioning(v *abi.Versioning) error {
	if v == nil {
		return nil
	}
	switch v.Status {
	case "Enabled", "Suspended":
	case "":
		return invalid(abi.SubVersioning, "status must be Enabled or Suspended: S3 cannot turn versioning off once it was on")
	default:
		return invalid(abi.SubVersioning, "status %q is neither Enabled nor Suspended", v.Status)
	}
	switch v.MFADelete {
	case "":
	case "Enabled", "Disabled":
		if err := d.need(abi.SubMFADelete, "MFA delete"); err != nil {
			return err
		}
	default:
		return invalid(abi.SubVersioning, "mfaDelete %q is neither Enabled nor Disabled", v.MFADelete)
	}
	return nil
}

// validateEncryption checks e, when set, names an algorithm that fits its key.
func (d *Driver) validateEncryption(e *abi.Encryption) error {
	if e == nil {
		return nil
	}
	switch e.Algorithm {
	case "":
		if e.KMSKeyID != "" || e.BucketKeyEnabled {
			return invalid(abi.SubEncryption, "a KMS key or bucket key needs an algorithm")
		}
	case string(types.ServerSideEncryptionAes256):
		if e.KMSKeyID != "" {
			return invalid(abi.SubEncryption, "a KMS key needs algorithm aws:kms, not AES256")
		}
	case string(types.ServerSideEncryptionAwsKms), string(types.ServerSideEncryptionAwsKmsDsse):
		if err := d.need(abi.SubSSEKMS, "SSE-KMS"); err != nil {
			return err
		}
	default:
		return invalid(abi.SubEncryption, "unknown algorithm %q (want AES256 or aws:kms)", e.Algorithm)
	}
	return nil
}

// validateLifecycle checks every rule of l, when set, has a status and dates.
func validateLifecycle(l *abi.Lifecycle) error {
	if l == nil {
		return nil
	}
	for i, r := range l.Rules {
		if r.Status != "Enabled" && r.Status != "Disabled" {
			return invalid(abi.SubLifecycle, "rule %d (%q): status %q is neither Enabled nor Disabled", i, r.ID, r.Status)
		}
		if r.Expiration != nil {
			if _, err := parseDate(r.Expiration.Date); err != nil {
				return invalid(abi.SubLifecycle, "rule %d (%q): expiration %v", i, r.ID, err)
			}
		}
		for _, t := range r.Transitions {
			if _, err := parseDate(t.Date); err != nil {
				return invalid(abi.SubLifecycle, "rule %d (%q): transition %v", i, r.ID, err)
			}
		}
	}
	return nil
}

func checkObjectLock(ol *abi.ObjectLock) error {
	r := ol.DefaultRetention
	if r == nil {
		return nil
	}
	if !ol.Enabled {
		return abi.Errorf(abi.CodeInvalidArgument, "objectLock: a default retention needs object lock enabled")
	}
	if r.Mode != string(types.ObjectLockRetentionModeGovernance) && r.Mode != string(types.ObjectLockRetentionModeCompliance) {
		return abi.Errorf(abi.CodeInvalidArgument, "objectLock: retention mode %q is neither GOVERNANCE nor COMPLIANCE", r.Mode)
	}
	if (r.Days > 0) == (r.Years > 0) {
		return abi.Errorf(abi.CodeInvalidArgument, "objectLock: a default retention needs exactly one of days or years")
	}
	return nil
}

// parseDate reads an ABI date, YYYY-MM-DD, as midnight UTC.
func parseDate(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return nil, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return &t, nil
}

// create creates the bucket; one the caller already owns is success.
func (d *Driver) create(ctx context.Context, c *s3.Client, p abi.ProviderConfig, b abi.BucketArgs) error {
	in := &s3.CreateBucketInput{Bucket: &b.Name}
	region := b.Region
	if region == "" {
		region = p.Region
	}
	if region != "" && region != DefaultRegion {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	lock := b.ObjectLock != nil && b.ObjectLock.Enabled
	if lock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	if _, err := c.CreateBucket(ctx, in); err != nil && !hasCode(err, "BucketAlreadyOwnedByYou") {
		return wrap(err, "create bucket")
	}
	if lock && b.ObjectLock.DefaultRetention != nil {
		if err := putObjectLock(ctx, c, b.Name, b.ObjectLock); err != nil {
			return d.wrapWrite(err, abi.SubObjectLock)
		}
	}
	return nil
}

// wrapWrite maps a failed write; a server that does not implement the API
// yields Unimplemented whatever its status code.
func (d *Driver) wrapWrite(err error, name string) *abi.Error {
	ae := wrapABI(err, name)
	if _, ok := d.unsupported(err); ok {
		ae.Code = abi.CodeUnimplemented
		ae.Retryable = false
	}
	return ae
}

// write applies one sub-resource of b.Config.
func (d *Driver) write(ctx context.Context, c *s3.Client, b abi.BucketArgs, name string) error {
	err := writers[name](ctx, c, b)
	if _, ok := errors.AsType[*abi.Error](err); ok {
		return err // the driver's own refusal, already worded
	}
	if err != nil {
		ae := d.wrapWrite(err, name)
		if name == abi.SubTagging {
			ae = explainTagError(ae, b.Config.Tagging.Tags)
		}
		return ae
	}
	return nil
}

// writers write each sub-resource of b.Config; a test checks every entry of
// abi.SubResources has one.
var writers = map[string]func(ctx context.Context, c *s3.Client, b abi.BucketArgs) error{
	abi.SubVersioning: func(ctx context.Context, c *s3.Client, b abi.BucketArgs) error {
		v := b.Config.Versioning
		in := &s3.PutBucketVersioningInput{
			Bucket: &b.Name,
			VersioningConfiguration: &types.VersioningConfiguration{
				Status:    types.BucketVersioningStatus(v.Status),
				MFADelete: types.MFADelete(v.MFADelete),
			},
		}
		if v.MFADelete != "" && b.MFA != "" {
			in.MFA = aws.String(b.MFA)
		}
		_, err := c.PutBucketVersioning(ctx, in)
		return err
	},
	abi.SubEncryption: writeEncryption,
	abi.SubPublicAccessBlock: func(ctx context.Context, c *s3.Client, b abi.BucketArgs) error {
		pab := *b.Config.PublicAccessBlock
		return putOrDelete(ctx, pab == (abi.PublicAccessBlock{}),
			c.DeletePublicAccessBlock, &s3.DeletePublicAccessBlockInput{Bucket: &b.Name},
			c.PutPublicAccessBlock, &s3.PutPublicAccessBlockInput{
				Bucket: &b.Name,
				PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
					BlockPublicAcls:       aws.Bool(pab.BlockPublicAcls),
					IgnorePublicAcls:      aws.Bool(pab.IgnorePublicAcls),
					BlockPublicPolicy:     aws.Bool(pab.BlockPublicPolicy),
					RestrictPublicBuckets: aws.Bool(pab.RestrictPublicBuckets),
				},
			})
	},
	abi.SubLifecycle: func(ctx context.Context, c *s3.Client, b abi.BucketArgs) error {
		return putOrDelete(ctx, len(b.Config.Lifecycle.Rules) == 0,
			c.DeleteBucketLifecycle, &s3.DeleteBucketLifecycleInput{Bucket: &b.Name},
			c.PutBucketLifecycleConfiguration, &s3.PutBucketLifecycleConfigurationInput{
				Bucket:                 &b.Name,
				LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: lifecycleToS3(b.Config.Lifecycle.Rules)},
			})
	},
	abi.SubCORS: func(ctx context.Context, c *s3.Client, b abi.BucketArgs) error {
		return putOrDelete(ctx, len(b.Config.CORS.Rules) == 0,
			c.DeleteBucketCors, &s3.DeleteBucketCorsInput{Bucket: &b.Name},
			c.PutBucketCors, &s3.PutBucketCorsInput{
				Bucket:            &b.Name,
				CORSConfiguration: &types.CORSConfiguration{CORSRules: corsToS3(b.Config.CORS.Rules)},
			})
	},
	abi.SubTagging: func(ctx context.Context, c *s3.Client, b abi.BucketArgs) error {
		return putOrDelete(ctx, len(b.Config.Tagging.Tags) == 0,
			c.DeleteBucketTagging, &s3.DeleteBucketTaggingInput{Bucket: &b.Name},
			c.PutBucketTagging, &s3.PutBucketTaggingInput{
				Bucket:  &b.Name,
				Tagging: &types.Tagging{TagSet: tagsToS3(b.Config.Tagging.Tags)},
			})
	},
	abi.SubPolicy: func(ctx context.Context, c *s3.Client, b abi.BucketArgs) error {
		return putOrDelete(ctx, strings.TrimSpace(b.Config.Policy.Document) == "",
			c.DeleteBucketPolicy, &s3.DeleteBucketPolicyInput{Bucket: &b.Name},
			c.PutBucketPolicy, &s3.PutBucketPolicyInput{Bucket: &b.Name, Policy: aws.String(b.Config.Policy.Document)})
	},
	abi.SubObjectLock: writeObjectLock,
}

// putOrDelete deletes a sub-resource's configuration (del with delIn) when
// the value is empty, and writes it (put with putIn) otherwise: S3 has no
// "empty" configuration to put. Neither answer carries anything.
func putOrDelete[DI, DO, PI, PO any](ctx context.Context, empty bool, del s3Call[DI, DO], delIn DI, put s3Call[PI, PO], putIn PI) error {
	var err error
	if empty {
		_, err = del(ctx, delIn)
	} else {
		_, err = put(ctx, putIn)
	}
	return err
}

func writeEncryption(ctx context.Context, c *s3.Client, b abi.BucketArgs) error {
	e := b.Config.Encryption
	if e.Algorithm == "" {
		_, err := c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: &b.Name})
		return err
	}
	rule := types.ServerSideEncryptionRule{
		ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryption(e.Algorithm)},
	}
	if e.KMSKeyID != "" {
		rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID = aws.String(e.KMSKeyID)
	}
	if e.BucketKeyEnabled {
		rule.BucketKeyEnabled = aws.Bool(true)
	}
	_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket:                            &b.Name,
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{rule}},
	})
	return err
}

// writeObjectLock writes the default retention. Enabling object lock is the
// create's alone (abi.SubResources), and PutObjectLockConfiguration would
// enable it on an existing versioned AWS bucket, so a bucket this apply did
// not create with object lock is read first and refused unless it has it.
func writeObjectLock(ctx context.Context, c *s3.Client, b abi.BucketArgs) error {
	if !b.Create || b.ObjectLock == nil || !b.ObjectLock.Enabled {
		out, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &b.Name})
		switch {
		case hasCode(err, "ObjectLockConfigurationNotFoundError"):
		case err != nil:
			return err
		case objectLockFromS3(out.ObjectLockConfiguration).Enabled:
			return putObjectLock(ctx, c, b.Name, b.Config.ObjectLock)
		}
		return abi.Errorf(abi.CodeConflict, "objectLock: bucket %s has no object lock, which only the create can enable; its default retention cannot be written", b.Name)
	}
	return putObjectLock(ctx, c, b.Name, b.Config.ObjectLock)
}

func putObjectLock(ctx context.Context, c *s3.Client, bucket string, ol *abi.ObjectLock) error {
	conf := &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}
	if r := ol.DefaultRetention; r != nil {
		dr := &types.DefaultRetention{Mode: types.ObjectLockRetentionMode(r.Mode)}
		if r.Days > 0 {
			dr.Days = aws.Int32(r.Days)
		}
		if r.Years > 0 {
			dr.Years = aws.Int32(r.Years)
		}
		conf.Rule = &types.ObjectLockRule{DefaultRetention: dr}
	}
	_, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: &bucket, ObjectLockConfiguration: conf})
	return err
}

// lifecycleToS3 builds S3 rules; dates were validated by validate. The
// filter is the narrowest form that says the same thing: a prefix alone is
// Filter{Prefix}, one tag alone is Filter{Tag}, anything more is
// Filter{And}, and neither is the whole bucket, Filter{Prefix: ""}.
func lifecycleToS3(rules []abi.LifecycleRule) []types.LifecycleRule {
	out := make([]types.LifecycleRule, 0, len(rules))
	for _, r := range rules {
		rule := types.LifecycleRule{Status: types.ExpirationStatus(r.Status)}
		if r.ID != "" {
			rule.ID = aws.String(r.ID)
		}
		tags := tagsToS3(r.Tags)
		switch {
		case len(tags) == 0:
			rule.Filter = &types.LifecycleRuleFilter{Prefix: aws.String(r.Prefix)}
		case len(tags) == 1 && r.Prefix == "":
			rule.Filter = &types.LifecycleRuleFilter{Tag: &tags[0]}
		default:
			and := &types.LifecycleRuleAndOperator{Tags: tags}
			if r.Prefix != "" {
				and.Prefix = aws.String(r.Prefix)
			}
			rule.Filter = &types.LifecycleRuleFilter{And: and}
		}
		if e := r.Expiration; e != nil {
			x := &types.LifecycleExpiration{}
			if e.Days > 0 {
				x.Days = aws.Int32(e.Days)
			}
			x.Date, _ = parseDate(e.Date)
			if e.ExpiredObjectDeleteMarker {
				x.ExpiredObjectDeleteMarker = aws.Bool(true)
			}
			rule.Expiration = x
		}
		if e := r.NoncurrentVersionExpiration; e != nil {
			x := &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(e.NoncurrentDays)}
			if e.NewerNoncurrentVersions > 0 {
				x.NewerNoncurrentVersions = aws.Int32(e.NewerNoncurrentVersions)
			}
			rule.NoncurrentVersionExpiration = x
		}
		for _, t := range r.Transitions {
			tr := types.Transition{StorageClass: types.TransitionStorageClass(t.StorageClass)}
			if t.Days > 0 {
				tr.Days = aws.Int32(t.Days)
			}
			tr.Date, _ = parseDate(t.Date)
			rule.Transitions = append(rule.Transitions, tr)
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			rule.AbortIncompleteMultipartUpload = &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(a.DaysAfterInitiation)}
		}
		out = append(out, rule)
	}
	return out
}

// corsToS3 keeps the rules in order: the first match wins.
func corsToS3(rules []abi.CORSRule) []types.CORSRule {
	out := make([]types.CORSRule, 0, len(rules))
	for _, r := range rules {
		rule := types.CORSRule{
			AllowedMethods: r.AllowedMethods,
			AllowedOrigins: r.AllowedOrigins,
			AllowedHeaders: r.AllowedHeaders,
			ExposeHeaders:  r.ExposeHeaders,
		}
		if r.ID != "" {
			rule.ID = aws.String(r.ID)
		}
		if r.MaxAgeSeconds > 0 {
			rule.MaxAgeSeconds = aws.Int32(r.MaxAgeSeconds)
		}
		out = append(out, rule)
	}
	return out
}

// tagsToS3 sorts by key, so the same map always makes the same request.
func tagsToS3(tags map[string]string) []types.Tag {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
