package guardrail

import (
	"fmt"
	"strings"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// ProviderAllowed reports whether Buckets and AccessKeys of the namespace
// may use the Provider or ClusterProvider ref names: one listed in a
// Guardrail's allowedProviders (a name of "*" lists every one of its
// kind), or a Provider of the namespace's own where a Guardrail sets
// namespacedProviders.
func (r Rules) ProviderAllowed(ref pailv1.ProviderReference) bool {
	if !r.Selected() || r.listed(ref) {
		return true
	}
	return !ref.Cluster() && len(r.namespaced) > 0
}

// listed reports whether a Guardrail's allowedProviders lists ref.
func (r Rules) listed(ref pailv1.ProviderReference) bool {
	for _, g := range r.providers {
		if g.ref.KindOrDefault() == ref.KindOrDefault() && (g.ref.Name == "*" || g.ref.Name == ref.Name) {
			return true
		}
	}
	return false
}

// ClusterProviderAdmits checks that cp (a ClusterProvider a Bucket or
// AccessKey names) admits the namespace in its spec.allowedNamespaces,
// whether or not a Guardrail selects it. The sync refuses such an object
// with ProviderNotAllowed (connect); admission only warns, so the answer
// does not hang on a cache that may not have seen a new grant yet.
func (r Rules) ClusterProviderAdmits(cp *pailv1.ClusterProvider) []Violation {
	ok, err := cp.Spec.AllowedNamespaces.Admits(r.Namespace, r.Labels)
	if ok {
		return nil
	}
	why := ""
	if err != nil {
		why = fmt.Sprintf(" (its selector does not parse: %v)", err)
	}
	return []Violation{{
		Reason: pailv1.ReasonProviderNotAllowed, Field: "spec.providerRef",
		Message: fmt.Sprintf("ClusterProvider %s does not admit namespace %s in its spec.allowedNamespaces%s: spec.providerRef names it; use a Provider the namespace is granted, or ask a cluster admin to admit the namespace.", cp.Name, r.Namespace, why),
	}}
}

// CheckProviderRef checks that a Guardrail lets the namespace use the
// Provider or ClusterProvider a Bucket or AccessKey names.
func (r Rules) CheckProviderRef(ref pailv1.ProviderReference) []Violation {
	if r.ProviderAllowed(ref) {
		return nil
	}
	v := denied(r.Guardrails, "spec.providerRef", fmt.Sprintf("using %s in namespace %s", ref, r.Namespace),
		"names it, and no Guardrail of the namespace lists it in spec.allowedProviders; use a Provider the namespace is granted, or ask a cluster admin to allow it.")
	v.Reason = pailv1.ReasonProviderNotAllowed
	return []Violation{v}
}

// CheckBucket checks a Bucket's spec.
func (r Rules) CheckBucket(spec *pailv1.BucketSpec) []Violation {
	out := r.CheckProviderRef(spec.ProviderRef)
	if !r.Selected() {
		return out
	}
	for _, p := range r.prefixes {
		if !strings.HasPrefix(spec.BucketName, p.prefix) {
			out = append(out, denied([]string{p.by}, "spec.bucketName", fmt.Sprintf("bucket names without the prefix %q in namespace %s", p.prefix, r.Namespace),
				fmt.Sprintf("is %q; choose a name that starts with %q (a Bucket's name cannot change: create a new Bucket).", spec.BucketName, p.prefix)))
		}
	}
	if spec.ForceDelete {
		out = r.feature(out, pailv1.FeatureForceDelete, "spec.forceDelete", "is true; remove it")
	}
	if spec.Adopt {
		out = r.feature(out, pailv1.FeatureAdoption, "spec.adopt", "is true; remove it and use a bucket name of your own")
	}
	if spec.ManagementPolicy == pailv1.ManagementObserveOnly {
		out = r.feature(out, pailv1.FeatureObserveOnly, "spec.managementPolicy", "is ObserveOnly; set it to Manage")
	}
	if spec.Policy != nil {
		out = r.publicPolicy(out, "spec.policy", spec.Policy.Raw)
	}
	return out
}

// featureWhat says what each feature is, for messages.
var featureWhat = map[pailv1.Feature]string{
	pailv1.FeaturePublicPolicies: "public bucket policies",
	pailv1.FeatureForceDelete:    "force-deleting buckets",
	pailv1.FeatureAdoption:       "adopting existing buckets",
	pailv1.FeatureObserveOnly:    "observe-only Buckets",
}

// feature appends a violation when the namespace may not use f.
func (r Rules) feature(out []Violation, f pailv1.Feature, field, fix string) []Violation {
	if r.Allows(f) {
		return out
	}
	return append(out, denied(r.Guardrails, field, fmt.Sprintf("%s (%s) in namespace %s", featureWhat[f], f, r.Namespace),
		fmt.Sprintf("%s, or ask a cluster admin to add %s to a Guardrail's spec.allowedFeatures.", fix, f)))
}

// publicPolicy appends a violation when doc (JSON) grants everyone access
// and the namespace may not use public policies. A document that does not
// parse is left to the kind's own validation.
func (r Rules) publicPolicy(out []Violation, field string, doc []byte) []Violation {
	if r.Allows(pailv1.FeaturePublicPolicies) || len(doc) == 0 {
		return out
	}
	which, err := PublicStatements(doc)
	if err != nil || len(which) == 0 {
		return out
	}
	return r.feature(out, pailv1.FeaturePublicPolicies, field,
		fmt.Sprintf("grants everyone access (%s: Effect Allow, Principal \"*\", no Condition narrowing who); name the principals, or add a Condition such as aws:SourceIp", strings.Join(which, ", ")))
}

// CheckAccessKey checks an AccessKey's spec.
func (r Rules) CheckAccessKey(spec *pailv1.AccessKeySpec) []Violation {
	return r.CheckProviderRef(spec.ProviderRef)
}

// CheckBucketPolicy checks a BucketPolicy's spec: no public document
// unless allowed, and no enforcementMode Warn where a Guardrail forces
// Enforce. Required packs are not the spec's to refuse: they run whatever
// spec.packs says (Packs).
func (r Rules) CheckBucketPolicy(spec *pailv1.BucketPolicySpec) []Violation {
	var out []Violation
	if !r.Selected() {
		return out
	}
	if spec.EnforcementMode == pailv1.EnforcementWarn && len(r.enforcedBy) > 0 {
		out = append(out, denied(r.enforcedBy, FieldEnforcementMode, fmt.Sprintf("enforcementMode Warn in namespace %s (spec.policy.forceEnforce)", r.Namespace),
			"is Warn; remove it or set it to Enforce: the policy packs' denials block the apply here."))
	}
	return r.publicPolicy(out, "spec.policy", spec.Policy.Raw)
}

// FieldEnforcementMode is the field a forced Enforce refuses Warn in. At
// reconcile it is no refusal: Enforce applies the packs' denials instead.
const FieldEnforcementMode = "spec.enforcementMode"

// Enforce reports whether the packs' denials block an apply in mode, and,
// when a Guardrail forces that over Warn, a clause saying so for messages
// (" (Guardrail g forces Enforce over spec.enforcementMode Warn)"), "" else.
func (r Rules) Enforce(mode pailv1.EnforcementMode) (enforce bool, forced string) {
	if mode != pailv1.EnforcementWarn {
		return true, ""
	}
	if len(r.enforcedBy) == 0 {
		return false, ""
	}
	return true, fmt.Sprintf(" (%s %s Enforce over %s Warn, in spec.policy.forceEnforce)", names(r.enforcedBy), force(r.enforcedBy), FieldEnforcementMode)
}

func force(by []string) string {
	if len(by) == 1 {
		return "forces"
	}
	return "force"
}

// Kind names the kinds a namespace's count limit applies to.
type Kind string

// The kinds with count limits.
const (
	KindBucket    Kind = "Bucket"
	KindAccessKey Kind = "AccessKey"
)

// CheckCount checks that an object of kind, with ahead objects of its kind
// in the namespace before it (older, or all of them for one being
// created), is within the namespace's maximum.
func (r Rules) CheckCount(kind Kind, ahead int) []Violation {
	l, field := r.maxBuckets, "spec.maxBuckets"
	if kind == KindAccessKey {
		l, field = r.maxAccessKeys, "spec.maxAccessKeys"
	}
	if l == nil || ahead < int(l.n) {
		return nil
	}
	return []Violation{{
		Reason: pailv1.ReasonGuardrailDenied, Field: field, Guardrails: l.by,
		Message: fmt.Sprintf("%s %s more than %s in namespace %s: %s is %d, and %s of the namespace come before this one; delete one, or ask a cluster admin to raise %s.",
			names(l.by), forbid(l.by), count(int(l.n), kind), r.Namespace, field, l.n, count(ahead, kind), field),
	}}
}

// count writes "1 Bucket" or "3 Buckets".
func count(n int, kind Kind) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", kind)
	}
	return fmt.Sprintf("%d %ss", n, kind)
}
