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
	"slices"

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
		if s.Has(cfg) {
			out = append(out, s.Name)
		}
	}
	return out
}

// Has reports whether cfg sets sub-resource s.
func Has(cfg abi.BucketConfig, s string) bool {
	sub, ok := abi.SubResourceNamed(s)
	return ok && sub.Has(cfg)
}

// Only returns cfg with every sub-resource outside subs cleared.
func Only(cfg abi.BucketConfig, subs []string) abi.BucketConfig {
	var out abi.BucketConfig
	for _, s := range abi.SubResources {
		if slices.Contains(subs, s.Name) {
			s.Set(&out, s.Get(cfg))
		}
	}
	return out
}

// Required lists the capabilities cfg needs: each sub-resource's own, and
// those its values need besides (SSE-KMS, MFA delete), as abi.SubResources
// says.
func Required(cfg abi.BucketConfig) []string {
	out := make([]string, 0, len(abi.SubResources))
	for _, s := range abi.SubResources {
		out = append(out, s.Needs(cfg)...)
	}
	return out
}
