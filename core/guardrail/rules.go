// Package guardrail decides what the Guardrails that select a namespace
// allow and require there. It is pure: admission and every kind's sync
// hand it the Guardrails and the namespace, and it answers with Rules and,
// per object, the violations (each naming the Guardrails and the field,
// in a sentence the user can act on). Admission and reconcile therefore
// refuse with the same message.
//
// The model is the Guardrail type's: in a namespace no Guardrail selects,
// everything is allowed (single-tenant use). In a namespace one or more
// select, allowances add up (what any allows is allowed, nothing else) and
// requirements add up (each one's must hold; of limits, the lowest wins).
package guardrail

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// Namespace is what selection reads of a namespace.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Rules are the combined Guardrails of one namespace. The zero value (no
// Guardrail selects it) allows everything.
type Rules struct {
	// Namespace the rules are for, and its labels (for a ClusterProvider's
	// allowedNamespaces).
	Namespace string
	Labels    map[string]string
	// Guardrails are the names of those that select the namespace, sorted.
	Guardrails []string

	providers                 []providerGrant
	namespaced                []namespacedGrant
	features                  map[pailv1.Feature][]string
	prefixes                  []prefixRule
	maxBuckets, maxAccessKeys *limit
	packs                     map[string][]string // required pack -> the Guardrails requiring it
	enforcedBy                []string
}

type providerGrant struct {
	ref pailv1.ProviderReference
	by  string
}

type namespacedGrant struct {
	endpoints pailv1.EndpointRules
	by        string
}

type prefixRule struct {
	prefix, by string
}

// limit is the lowest maximum, and the Guardrails that set it.
type limit struct {
	n  int32
	by []string
}

// Selects reports whether g selects the namespace. A selector that does
// not parse selects nothing (the Guardrail's Ready condition says why).
func Selects(g *pailv1.Guardrail, ns Namespace) bool {
	sel, err := metav1.LabelSelectorAsSelector(&g.Spec.NamespaceSelector)
	return err == nil && sel.Matches(labels.Set(ns.Labels))
}

// Effective combines the Guardrails that select ns.
func Effective(guardrails []pailv1.Guardrail, ns Namespace) Rules {
	r := Rules{Namespace: ns.Name, Labels: ns.Labels}
	sorted := slices.Clone(guardrails)
	slices.SortFunc(sorted, func(a, b pailv1.Guardrail) int { return strings.Compare(a.Name, b.Name) })
	for i := range sorted {
		g := &sorted[i]
		if !Selects(g, ns) {
			continue
		}
		r.add(g)
	}
	return r
}

// add folds one selecting Guardrail into r.
func (r *Rules) add(g *pailv1.Guardrail) {
	s, name := &g.Spec, g.Name
	r.Guardrails = append(r.Guardrails, name)
	for _, p := range s.AllowedProviders {
		r.providers = append(r.providers, providerGrant{ref: p, by: name})
	}
	if s.NamespacedProviders != nil {
		r.namespaced = append(r.namespaced, namespacedGrant{endpoints: s.NamespacedProviders.Endpoints, by: name})
	}
	for _, f := range s.AllowedFeatures {
		if r.features == nil {
			r.features = map[pailv1.Feature][]string{}
		}
		r.features[f] = append(r.features[f], name)
	}
	if s.BucketNames != nil {
		r.prefixes = append(r.prefixes, prefixRule{prefix: strings.ReplaceAll(s.BucketNames.Prefix, "{namespace}", r.Namespace), by: name})
	}
	r.maxBuckets = lower(r.maxBuckets, s.MaxBuckets, name)
	r.maxAccessKeys = lower(r.maxAccessKeys, s.MaxAccessKeys, name)
	if s.Policy != nil {
		for _, p := range s.Policy.RequiredPacks {
			if r.packs == nil {
				r.packs = map[string][]string{}
			}
			r.packs[p] = append(r.packs[p], name)
		}
		if s.Policy.ForceEnforce {
			r.enforcedBy = append(r.enforcedBy, name)
		}
	}
}

// lower is the lowest of cur and n (set by name).
func lower(cur *limit, n *int32, name string) *limit {
	switch {
	case n == nil:
		return cur
	case cur == nil || *n < cur.n:
		return &limit{n: *n, by: []string{name}}
	case *n == cur.n:
		cur.by = append(cur.by, name)
	}
	return cur
}

// Selected reports whether any Guardrail selects the namespace.
func (r Rules) Selected() bool { return len(r.Guardrails) > 0 }

// Allows reports whether the namespace may use feature f.
func (r Rules) Allows(f pailv1.Feature) bool {
	return !r.Selected() || len(r.features[f]) > 0
}

// RequiredPacks are the packs every policy of the namespace runs, sorted.
func (r Rules) RequiredPacks() []string {
	out := make([]string, 0, len(r.packs))
	for p := range r.packs {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Packs is the packs an object asking for own runs: own plus every
// required pack. Empty own means every loaded pack, which already holds
// them.
func (r Rules) Packs(own []string) []string {
	if len(own) == 0 || len(r.packs) == 0 {
		return own
	}
	out := slices.Clone(own)
	for _, p := range r.RequiredPacks() {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// ForceEnforce names the Guardrails that force Enforce; nil when none does.
func (r Rules) ForceEnforce() []string { return r.enforcedBy }

// MaxBuckets is the most Buckets the namespace may hold; ok is false when
// no Guardrail limits them.
func (r Rules) MaxBuckets() (n int32, ok bool) { return r.maxBuckets.get() }

// MaxAccessKeys is the most AccessKeys the namespace may hold; ok is false
// when no Guardrail limits them.
func (r Rules) MaxAccessKeys() (n int32, ok bool) { return r.maxAccessKeys.get() }

func (l *limit) get() (int32, bool) {
	if l == nil {
		return 0, false
	}
	return l.n, true
}

// names writes Guardrail names for a message: "Guardrail a" or
// "Guardrails a, b".
func names(by []string) string {
	if len(by) == 1 {
		return "Guardrail " + by[0]
	}
	return "Guardrails " + strings.Join(by, ", ")
}

// forbid is the verb agreeing with names(by).
func forbid(by []string) string {
	if len(by) == 1 {
		return "forbids"
	}
	return "forbid"
}

// Violation is one thing a Guardrail forbids in an object's spec.
type Violation struct {
	// Reason is the condition reason: GuardrailDenied, or
	// ProviderNotAllowed for a Provider the namespace may not use.
	Reason string
	// Field is the object's field, "spec.bucketName".
	Field string
	// Guardrails are the Guardrails responsible (none for a
	// ClusterProvider's own allowedNamespaces).
	Guardrails []string
	// Message is the whole sentence, naming the Guardrails and the field.
	Message string
}

// denied builds a GuardrailDenied violation: "Guardrail g forbids what:
// field detail".
func denied(by []string, field, what, detail string) Violation {
	return Violation{
		Reason: pailv1.ReasonGuardrailDenied, Field: field, Guardrails: by,
		Message: fmt.Sprintf("%s %s %s: %s %s", names(by), forbid(by), what, field, detail),
	}
}

// Message joins violations into one message; "" for none.
func Message(vs []Violation) string {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Message
	}
	return strings.Join(msgs, " ")
}

// Reason is the reason of the first violation (ProviderNotAllowed first,
// as the more basic refusal); "" for none.
func Reason(vs []Violation) string {
	for _, v := range vs {
		if v.Reason == pailv1.ReasonProviderNotAllowed {
			return v.Reason
		}
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0].Reason
}
