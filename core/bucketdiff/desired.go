// Package bucketdiff is the host's side of "write only what differs": it maps
// a Bucket spec to the ABI configuration, compares it with what the driver
// observed, semantically and order-insensitively wherever S3 is, and names
// the fields that differ.
package bucketdiff

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// Desired maps spec to the configuration Pail manages. Unset spec fields stay
// nil: Pail neither reads nor writes them.
func Desired(spec *pailv1.BucketSpec) (abi.BucketConfig, error) {
	var c abi.BucketConfig
	if v := spec.Versioning; v != nil {
		c.Versioning = &abi.Versioning{Status: v.Status}
		if v.MFADelete != nil {
			c.Versioning.MFADelete = "Disabled"
			if v.MFADelete.Enabled {
				c.Versioning.MFADelete = "Enabled"
			}
		}
	}
	if e := spec.Encryption; e != nil {
		c.Encryption = &abi.Encryption{Algorithm: e.Algorithm, KMSKeyID: e.KMSKeyID, BucketKeyEnabled: e.BucketKeyEnabled}
	}
	if p := spec.PublicAccessBlock; p != nil {
		c.PublicAccessBlock = &abi.PublicAccessBlock{
			BlockPublicAcls: p.BlockPublicAcls, IgnorePublicAcls: p.IgnorePublicAcls,
			BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets,
		}
	}
	if l := spec.Lifecycle; l != nil {
		c.Lifecycle = &abi.Lifecycle{}
		for _, r := range l.Rules {
			c.Lifecycle.Rules = append(c.Lifecycle.Rules, lifecycleRule(r))
		}
	}
	if cors := spec.CORS; cors != nil {
		c.CORS = &abi.CORS{}
		for _, r := range cors.Rules {
			c.CORS.Rules = append(c.CORS.Rules, abi.CORSRule{
				ID: r.ID, AllowedMethods: r.AllowedMethods, AllowedOrigins: r.AllowedOrigins,
				AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: r.MaxAgeSeconds,
			})
		}
	}
	if spec.Tags != nil {
		c.Tagging = &abi.Tagging{Tags: maps.Clone(spec.Tags)}
	}
	if spec.Policy != nil && len(spec.Policy.Raw) > 0 {
		if _, err := policydoc.Parse(spec.Policy.Raw); err != nil {
			if syntax := (*json.SyntaxError)(nil); errors.As(err, &syntax) {
				return c, fmt.Errorf("spec.policy is not a JSON document: %w", err)
			}
			return c, fmt.Errorf("spec.policy must be a JSON object with Version and Statement: %w", err)
		}
		c.Policy = &abi.Policy{Document: string(spec.Policy.Raw)}
	}
	if o := spec.ObjectLock; o != nil {
		c.ObjectLock = &abi.ObjectLock{Enabled: o.Enabled}
		if r := o.DefaultRetention; r != nil {
			c.ObjectLock.DefaultRetention = &abi.ObjectLockPeriod{Mode: r.Mode, Days: r.Days, Years: r.Years}
		}
	}
	return c, nil
}

func lifecycleRule(r pailv1.LifecycleRule) abi.LifecycleRule {
	out := abi.LifecycleRule{ID: r.ID, Status: r.Status}
	if out.Status == "" {
		out.Status = "Enabled"
	}
	if f := r.Filter; f != nil {
		out.Prefix = f.Prefix
		out.Tags = maps.Clone(f.Tags)
	}
	if e := r.Expiration; e != nil {
		out.Expiration = &abi.LifecycleExpiration{Days: e.Days, Date: e.Date, ExpiredObjectDeleteMarker: e.ExpiredObjectDeleteMarker}
	}
	if n := r.NoncurrentVersionExpiration; n != nil {
		out.NoncurrentVersionExpiration = &abi.NoncurrentVersionExpiration{NoncurrentDays: n.NoncurrentDays, NewerNoncurrentVersions: n.NewerNoncurrentVersions}
	}
	for _, t := range r.Transitions {
		tr := abi.LifecycleTransition{Date: t.Date, StorageClass: t.StorageClass}
		if t.Days != nil {
			tr.Days = *t.Days
		}
		out.Transitions = append(out.Transitions, tr)
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		out.AbortIncompleteMultipartUpload = &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: a.DaysAfterInitiation}
	}
	return out
}

// Managed lists the sub-resources cfg sets, in apply order.
func Managed(cfg abi.BucketConfig) []string {
	var out []string
	for _, s := range abi.SubResources {
		if Has(cfg, s) {
			out = append(out, s)
		}
	}
	return out
}

// Has reports whether cfg sets sub-resource s.
func Has(cfg abi.BucketConfig, s string) bool {
	switch s {
	case abi.SubVersioning:
		return cfg.Versioning != nil
	case abi.SubEncryption:
		return cfg.Encryption != nil
	case abi.SubPublicAccessBlock:
		return cfg.PublicAccessBlock != nil
	case abi.SubLifecycle:
		return cfg.Lifecycle != nil
	case abi.SubCORS:
		return cfg.CORS != nil
	case abi.SubTagging:
		return cfg.Tagging != nil
	case abi.SubPolicy:
		return cfg.Policy != nil
	case abi.SubObjectLock:
		return cfg.ObjectLock != nil
	}
	return false
}

// Only returns cfg with every sub-resource outside subs cleared.
func Only(cfg abi.BucketConfig, subs []string) abi.BucketConfig {
	keep := map[string]bool{}
	for _, s := range subs {
		keep[s] = true
	}
	var out abi.BucketConfig
	if keep[abi.SubVersioning] {
		out.Versioning = cfg.Versioning
	}
	if keep[abi.SubEncryption] {
		out.Encryption = cfg.Encryption
	}
	if keep[abi.SubPublicAccessBlock] {
		out.PublicAccessBlock = cfg.PublicAccessBlock
	}
	if keep[abi.SubLifecycle] {
		out.Lifecycle = cfg.Lifecycle
	}
	if keep[abi.SubCORS] {
		out.CORS = cfg.CORS
	}
	if keep[abi.SubTagging] {
		out.Tagging = cfg.Tagging
	}
	if keep[abi.SubPolicy] {
		out.Policy = cfg.Policy
	}
	if keep[abi.SubObjectLock] {
		out.ObjectLock = cfg.ObjectLock
	}
	return out
}

// Required lists the capabilities cfg needs, beyond the sub-resources
// themselves: SSE-KMS and MFA delete are separate capabilities.
func Required(cfg abi.BucketConfig) []string {
	out := Managed(cfg)
	if cfg.Encryption != nil && cfg.Encryption.Algorithm == "aws:kms" {
		out = append(out, abi.SubSSEKMS)
	}
	if cfg.Versioning != nil && cfg.Versioning.MFADelete != "" {
		out = append(out, abi.SubMFADelete)
	}
	if cfg.ObjectLock != nil && cfg.ObjectLock.Enabled {
		out = append(out, abi.SubObjectLock)
	}
	return out
}
