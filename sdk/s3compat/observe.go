package s3compat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pail-dev/pail/sdk/abi"
)

// dateLayout is how the ABI writes lifecycle dates.
const dateLayout = time.DateOnly

// ObserveBucket reports whether the bucket exists and reads the requested
// sub-resources. One the server does not implement, or the driver does not
// declare, lands in Unsupported; the rest is still observed.
func (d *Driver) ObserveBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
	c, err := d.prepare(p, b)
	if err != nil {
		return abi.BucketObservation{}, err
	}
	for _, name := range b.Observe {
		if _, ok := abi.SubResourceNamed(name); !ok {
			return abi.BucketObservation{}, abi.Errorf(abi.CodeInvalidArgument, "cannot observe %q: not a bucket sub-resource", name)
		}
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.Name}); err != nil {
		if isNotFound(err) {
			return abi.BucketObservation{Exists: false}, nil
		}
		return abi.BucketObservation{}, mapError(err)
	}
	obs := abi.BucketObservation{Exists: true}
	seen := map[string]bool{}
	for _, name := range b.Observe {
		if seen[name] {
			continue
		}
		seen[name] = true
		if !d.caps[name] {
			setUnsupported(&obs, name, fmt.Sprintf("the %s driver does not support %s", d.opts.Name, name))
			continue
		}
		err := d.observe(ctx, c, b.Name, name, &obs.Config)
		if err == nil {
			continue
		}
		if why, ok := d.unsupported(err); ok {
			setUnsupported(&obs, name, why)
			continue
		}
		return abi.BucketObservation{}, wrap(err, name)
	}
	return obs, nil
}

func setUnsupported(obs *abi.BucketObservation, name, why string) {
	if obs.Unsupported == nil {
		obs.Unsupported = map[string]string{}
	}
	obs.Unsupported[name] = why
}

// isNotFound reports a HeadBucket (bodyless) or other answer that the
// bucket does not exist.
func isNotFound(err error) bool {
	code, _, status, ok := providerError(err)
	return ok && (code == "NoSuchBucket" || code == "NotFound" || (status == http.StatusNotFound && (code == "" || code == "UnknownError")))
}

// observe reads one sub-resource into cfg. An "absent" answer from the
// server becomes the zero value of the sub-resource.
func (d *Driver) observe(ctx context.Context, c *s3.Client, bucket, name string, cfg *abi.BucketConfig) error {
	s, _ := abi.SubResourceNamed(name) // ObserveBucket refused any other name
	v, err := readers[name](ctx, c, bucket)
	if err != nil {
		return err
	}
	s.Set(cfg, v)
	return nil
}

// absent reads err as the server's "none configured" answer, codes, or
// passes it on.
func absent[T any](err error, codes ...string) (*T, error) {
	if hasCode(err, codes...) {
		return new(T), nil
	}
	return nil, err
}

// s3Call is an S3 client method, e.g. (*s3.Client).GetBucketCors.
type s3Call[I, O any] func(context.Context, I, ...func(*s3.Options)) (O, error)

// read calls get with in and turns its answer into the value with conv; an
// error with one of the codes missing is the server's "none configured".
func read[I, O, T any](ctx context.Context, get s3Call[I, O], in I, conv func(O) *T, missing ...string) (any, error) {
	out, err := get(ctx, in)
	if err != nil {
		return absent[T](err, missing...)
	}
	return conv(out), nil
}

// readers read each sub-resource, as the pointer type of its BucketConfig
// field; a test checks every entry of abi.SubResources has one.
var readers = map[string]func(ctx context.Context, c *s3.Client, bucket string) (any, error){
	abi.SubVersioning: func(ctx context.Context, c *s3.Client, bucket string) (any, error) {
		return read(ctx, c.GetBucketVersioning, &s3.GetBucketVersioningInput{Bucket: &bucket}, func(out *s3.GetBucketVersioningOutput) *abi.Versioning {
			return &abi.Versioning{Status: string(out.Status), MFADelete: string(out.MFADelete)}
		})
	},
	abi.SubEncryption: func(ctx context.Context, c *s3.Client, bucket string) (any, error) {
		return read(ctx, c.GetBucketEncryption, &s3.GetBucketEncryptionInput{Bucket: &bucket}, func(out *s3.GetBucketEncryptionOutput) *abi.Encryption {
			return encryptionFromS3(out.ServerSideEncryptionConfiguration)
		}, "ServerSideEncryptionConfigurationNotFoundError")
	},
	abi.SubPublicAccessBlock: func(ctx context.Context, c *s3.Client, bucket string) (any, error) {
		return read(ctx, c.GetPublicAccessBlock, &s3.GetPublicAccessBlockInput{Bucket: &bucket}, func(out *s3.GetPublicAccessBlockOutput) *abi.PublicAccessBlock {
			return publicAccessBlockFromS3(out.PublicAccessBlockConfiguration)
		}, "NoSuchPublicAccessBlockConfiguration")
	},
	abi.SubLifecycle: func(ctx context.Context, c *s3.Client, bucket string) (any, error) {
		return read(ctx, c.GetBucketLifecycleConfiguration, &s3.GetBucketLifecycleConfigurationInput{Bucket: &bucket}, func(out *s3.GetBucketLifecycleConfigurationOutput) *abi.Lifecycle {
			return lifecycleFromS3(out.Rules)
		}, "NoSuchLifecycleConfiguration")
	},
	abi.SubCORS: func(ctx context.Context, c *s3.Client, bucket string) (any, error) {
		return read(ctx, c.GetBucketCors, &s3.GetBucketCorsInput{Bucket: &bucket}, func(out *s3.GetBucketCorsOutput) *abi.CORS {
			return corsFromS3(out.CORSRules)
		}, "NoSuchCORSConfiguration")
	},
	abi.SubTagging: func(ctx context.Context, c *s3.Client, bucket string) (any, error) {
		return read(ctx, c.GetBucketTagging, &s3.GetBucketTaggingInput{Bucket: &bucket}, func(out *s3.GetBucketTaggingOutput) *abi.Tagging {
			return &abi.Tagging{Tags: tagsFromS3(out.TagSet)}
		}, "NoSuchTagSet", "NoSuchTagSetError")
	},
	abi.SubPolicy: func(ctx context.Context, c *s3.Client, bucket string) (any, error) {
		return read(ctx, c.GetBucketPolicy, &s3.GetBucketPolicyInput{Bucket: &bucket}, func(out *s3.GetBucketPolicyOutput) *abi.Policy {
			return &abi.Policy{Document: compactJSON(aws.ToString(out.Policy))}
		}, "NoSuchBucketPolicy")
	},
	abi.SubObjectLock: func(ctx context.Context, c *s3.Client, bucket string) (any, error) {
		return read(ctx, c.GetObjectLockConfiguration, &s3.GetObjectLockConfigurationInput{Bucket: &bucket}, func(out *s3.GetObjectLockConfigurationOutput) *abi.ObjectLock {
			return objectLockFromS3(out.ObjectLockConfiguration)
		}, "ObjectLockConfigurationNotFoundError")
	},
}

func encryptionFromS3(c *types.ServerSideEncryptionConfiguration) *abi.Encryption {
	if c == nil {
		return &abi.Encryption{}
	}
	for _, r := range c.Rules {
		if r.ApplyServerSideEncryptionByDefault == nil {
			continue
		}
		return &abi.Encryption{
			Algorithm:        string(r.ApplyServerSideEncryptionByDefault.SSEAlgorithm),
			KMSKeyID:         aws.ToString(r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID),
			BucketKeyEnabled: aws.ToBool(r.BucketKeyEnabled),
		}
	}
	return &abi.Encryption{}
}

func publicAccessBlockFromS3(c *types.PublicAccessBlockConfiguration) *abi.PublicAccessBlock {
	if c == nil {
		return &abi.PublicAccessBlock{}
	}
	return &abi.PublicAccessBlock{
		BlockPublicAcls:       aws.ToBool(c.BlockPublicAcls),
		IgnorePublicAcls:      aws.ToBool(c.IgnorePublicAcls),
		BlockPublicPolicy:     aws.ToBool(c.BlockPublicPolicy),
		RestrictPublicBuckets: aws.ToBool(c.RestrictPublicBuckets),
	}
}

func lifecycleFromS3(rules []types.LifecycleRule) *abi.Lifecycle {
	out := &abi.Lifecycle{}
	for _, r := range rules {
		rule := abi.LifecycleRule{ID: aws.ToString(r.ID), Status: string(r.Status)}
		switch f := r.Filter; {
		case f == nil:
			// Rules written before Filter existed carry a rule-level prefix.
			rule.Prefix = aws.ToString(r.Prefix) //nolint:staticcheck // reading old rules is the point
		case f.And != nil:
			rule.Prefix = aws.ToString(f.And.Prefix)
			rule.Tags = tagsFromS3(f.And.Tags)
		case f.Tag != nil:
			rule.Tags = tagsFromS3([]types.Tag{*f.Tag})
		default:
			rule.Prefix = aws.ToString(f.Prefix)
		}
		if e := r.Expiration; e != nil {
			x := abi.LifecycleExpiration{
				Days:                      aws.ToInt32(e.Days),
				Date:                      dateFromS3(e.Date),
				ExpiredObjectDeleteMarker: aws.ToBool(e.ExpiredObjectDeleteMarker),
			}
			if x != (abi.LifecycleExpiration{}) {
				rule.Expiration = &x
			}
		}
		if e := r.NoncurrentVersionExpiration; e != nil {
			rule.NoncurrentVersionExpiration = &abi.NoncurrentVersionExpiration{
				NoncurrentDays:          aws.ToInt32(e.NoncurrentDays),
				NewerNoncurrentVersions: aws.ToInt32(e.NewerNoncurrentVersions),
			}
		}
		for _, t := range r.Transitions {
			rule.Transitions = append(rule.Transitions, abi.LifecycleTransition{
				Days:         aws.ToInt32(t.Days),
				Date:         dateFromS3(t.Date),
				StorageClass: string(t.StorageClass),
			})
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			rule.AbortIncompleteMultipartUpload = &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.ToInt32(a.DaysAfterInitiation)}
		}
		out.Rules = append(out.Rules, rule)
	}
	return out
}

func dateFromS3(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateLayout)
}

// corsFromS3 keeps the rules in the server's order: the first match wins.
func corsFromS3(rules []types.CORSRule) *abi.CORS {
	out := &abi.CORS{}
	for _, r := range rules {
		out.Rules = append(out.Rules, abi.CORSRule{
			ID:             aws.ToString(r.ID),
			AllowedMethods: nilIfEmpty(r.AllowedMethods),
			AllowedOrigins: nilIfEmpty(r.AllowedOrigins),
			AllowedHeaders: nilIfEmpty(r.AllowedHeaders),
			ExposeHeaders:  nilIfEmpty(r.ExposeHeaders),
			MaxAgeSeconds:  aws.ToInt32(r.MaxAgeSeconds),
		})
	}
	return out
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// tagsFromS3 returns nil for an empty tag set.
func tagsFromS3(tags []types.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func objectLockFromS3(c *types.ObjectLockConfiguration) *abi.ObjectLock {
	if c == nil {
		return &abi.ObjectLock{}
	}
	ol := &abi.ObjectLock{Enabled: c.ObjectLockEnabled == types.ObjectLockEnabledEnabled}
	if c.Rule != nil && c.Rule.DefaultRetention != nil {
		r := c.Rule.DefaultRetention
		ol.DefaultRetention = &abi.ObjectLockPeriod{Mode: string(r.Mode), Days: aws.ToInt32(r.Days), Years: aws.ToInt32(r.Years)}
	}
	return ol
}

// compactJSON strips insignificant whitespace, so a policy reads back the
// same whether the server stores it as sent (versitygw) or minified (AWS).
// A document that is not JSON is returned unchanged.
func compactJSON(s string) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return s
	}
	return buf.String()
}
