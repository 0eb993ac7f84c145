package bucketdiff

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// Change is one sub-resource whose observed value differs from the desired
// one, with the spec fields that differ. CreateOnly marks a difference in the
// part only the create sets (abi.SubResource.CreateOnly): it is reported,
// never written.
type Change struct {
	SubResource string
	Fields      []string
	CreateOnly  bool
}

// Diff compares every sub-resource desired sets with what was observed, in
// abi.SubResources order. A sub-resource that was not observed (nil) is
// reported as changed.
func Diff(desired, observed abi.BucketConfig) []Change {
	var out []Change
	for _, s := range abi.SubResources {
		if !s.Has(desired) {
			continue
		}
		h := host[s.Name]
		if s.CreateOnly != "" && s.Has(observed) && !reflect.DeepEqual(s.Fixed(desired), s.Fixed(observed)) {
			field := h.spec + "." + s.CreateOnly + " (create-only: cannot change on an existing bucket)"
			out = append(out, Change{SubResource: s.Name, Fields: []string{field}, CreateOnly: true})
			continue
		}
		if fields := h.diff(desired, observed); len(fields) > 0 {
			out = append(out, Change{SubResource: s.Name, Fields: fields})
		}
	}
	return out
}

// Writable drops the changes no write can make (CreateOnly).
func Writable(changes []Change) []Change {
	return slices.DeleteFunc(slices.Clone(changes), func(c Change) bool { return c.CreateOnly })
}

// Fields flattens the fields of changes.
func Fields(changes []Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, c.Fields...)
	}
	return out
}

// SubResources lists the sub-resources of changes.
func SubResources(changes []Change) []string {
	out := make([]string, 0, len(changes))
	for _, c := range changes {
		out = append(out, c.SubResource)
	}
	return out
}

func diffVersioning(d, o *abi.Versioning) []string {
	if o == nil {
		return []string{"spec.versioning"}
	}
	var out []string
	// A bucket that never had versioning behaves as Suspended; writing
	// Suspended to it would change nothing a user can see.
	status := o.Status
	if status == "" {
		status = "Suspended"
	}
	if d.Status != status {
		out = append(out, "spec.versioning.status")
	}
	if d.MFADelete != "" {
		mfa := o.MFADelete
		if mfa == "" {
			mfa = "Disabled"
		}
		if d.MFADelete != mfa {
			out = append(out, "spec.versioning.mfaDelete")
		}
	}
	return out
}

func diffEncryption(d, o *abi.Encryption) []string {
	if o == nil {
		return []string{"spec.encryption"}
	}
	var out []string
	if !strings.EqualFold(d.Algorithm, o.Algorithm) {
		out = append(out, "spec.encryption.algorithm")
	}
	// AWS may report the key as an ARN when a bare id was written.
	if d.KMSKeyID != "" && d.KMSKeyID != o.KMSKeyID && !strings.HasSuffix(o.KMSKeyID, "/"+d.KMSKeyID) {
		out = append(out, "spec.encryption.kmsKeyID")
	}
	if d.BucketKeyEnabled != o.BucketKeyEnabled {
		out = append(out, "spec.encryption.bucketKeyEnabled")
	}
	return out
}

func diffPAB(d, o *abi.PublicAccessBlock) []string {
	if o == nil {
		return []string{"spec.publicAccessBlock"}
	}
	var out []string
	for _, f := range []struct {
		name string
		a, b bool
	}{
		{"blockPublicAcls", d.BlockPublicAcls, o.BlockPublicAcls},
		{"ignorePublicAcls", d.IgnorePublicAcls, o.IgnorePublicAcls},
		{"blockPublicPolicy", d.BlockPublicPolicy, o.BlockPublicPolicy},
		{"restrictPublicBuckets", d.RestrictPublicBuckets, o.RestrictPublicBuckets},
	} {
		if f.a != f.b {
			out = append(out, "spec.publicAccessBlock."+f.name)
		}
	}
	return out
}

func normRule(r abi.LifecycleRule) abi.LifecycleRule {
	if r.Status == "" {
		r.Status = "Enabled"
	}
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
	if len(r.Transitions) == 0 {
		r.Transitions = nil
	} else {
		r.Transitions = slices.Clone(r.Transitions)
		sort.Slice(r.Transitions, func(i, j int) bool {
			a, b := r.Transitions[i], r.Transitions[j]
			if a.Days != b.Days {
				return a.Days < b.Days
			}
			return a.Date < b.Date
		})
	}
	if e := r.Expiration; e != nil && *e == (abi.LifecycleExpiration{}) {
		r.Expiration = nil
	}
	if n := r.NoncurrentVersionExpiration; n != nil && *n == (abi.NoncurrentVersionExpiration{}) {
		r.NoncurrentVersionExpiration = nil
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil && a.DaysAfterInitiation == 0 {
		r.AbortIncompleteMultipartUpload = nil
	}
	return r
}

// diffLifecycle compares rules by id: S3 does not order them.
func diffLifecycle(d, o *abi.Lifecycle) []string {
	if o == nil {
		return []string{"spec.lifecycle"}
	}
	obs := map[string]abi.LifecycleRule{}
	for _, r := range o.Rules {
		obs[r.ID] = normRule(r)
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range d.Rules {
		seen[r.ID] = true
		or, ok := obs[r.ID]
		if !ok || !reflect.DeepEqual(normRule(r), or) {
			out = append(out, fmt.Sprintf("spec.lifecycle.rules[%s]", r.ID))
		}
	}
	var extra []string
	for id := range obs {
		if !seen[id] {
			extra = append(extra, fmt.Sprintf("spec.lifecycle.rules[%s] (not in spec)", id))
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func set(vals []string, fold func(string) string) []string {
	if len(vals) == 0 {
		return nil
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		out = append(out, fold(v))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func same(s string) string { return s }

func normCORS(r abi.CORSRule) abi.CORSRule {
	r.AllowedMethods = set(r.AllowedMethods, strings.ToUpper)
	r.AllowedOrigins = set(r.AllowedOrigins, same)
	r.AllowedHeaders = set(r.AllowedHeaders, strings.ToLower)
	r.ExposeHeaders = set(r.ExposeHeaders, same)
	return r
}

// diffCORS keeps rule order (the first matching rule wins) but treats the
// values inside a rule as sets.
func diffCORS(d, o *abi.CORS) []string {
	if o == nil {
		return []string{"spec.cors"}
	}
	if len(d.Rules) != len(o.Rules) {
		return []string{"spec.cors.rules"}
	}
	var out []string
	for i := range d.Rules {
		a, b := normCORS(d.Rules[i]), normCORS(o.Rules[i])
		if a.ID == "" {
			b.ID = "" // a server may invent ids for rules without one
		}
		if !reflect.DeepEqual(a, b) {
			out = append(out, fmt.Sprintf("spec.cors.rules[%d]", i))
		}
	}
	return out
}

// diffTags compares the user's tags only: Pail's reserved ones (the
// ownership mark, MarkPrefix) are neither the user's to set nor drift.
func diffTags(d, o *abi.Tagging) []string {
	if o == nil {
		return []string{"spec.tags"}
	}
	want, got := UserTags(d.Tags), UserTags(o.Tags)
	var out []string
	for k, v := range want {
		if ov, ok := got[k]; !ok || ov != v {
			out = append(out, fmt.Sprintf("spec.tags[%s]", k))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("spec.tags[%s] (not in spec)", k))
		}
	}
	sort.Strings(out)
	return out
}

func diffPolicy(d, o *abi.Policy) []string {
	if o == nil || !policydoc.Same(d.Document, o.Document) {
		return []string{"spec.policy"}
	}
	return nil
}
