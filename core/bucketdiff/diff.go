package bucketdiff

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/pail-dev/pail/core/internal/jsontext"
	"github.com/pail-dev/pail/sdk/abi"
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

func diffTags(d, o *abi.Tagging) []string {
	if o == nil {
		return []string{"spec.tags"}
	}
	var out []string
	for k, v := range d.Tags {
		if ov, ok := o.Tags[k]; !ok || ov != v {
			out = append(out, fmt.Sprintf("spec.tags[%s]", k))
		}
	}
	for k := range o.Tags {
		if _, ok := d.Tags[k]; !ok {
			out = append(out, fmt.Sprintf("spec.tags[%s] (not in spec)", k))
		}
	}
	sort.Strings(out)
	return out
}

func diffPolicy(d, o *abi.Policy) []string {
	if o == nil {
		return []string{"spec.policy"}
	}
	if d.Document == "" && o.Document == "" {
		return nil
	}
	if d.Document == "" || o.Document == "" {
		return []string{"spec.policy"}
	}
	a, errA := CanonicalPolicy([]byte(d.Document))
	b, errB := CanonicalPolicy([]byte(o.Document))
	if errA != nil || errB != nil || a != b {
		return []string{"spec.policy"}
	}
	return nil
}

// CanonicalPolicy returns a canonical JSON form of an IAM policy document in
// which every difference S3 does not care about is gone: a string equals a
// one-element list; Action, Resource, Principal values and condition values
// are sets; actions are case-insensitive; Principal "*" equals {"AWS":"*"};
// statements are a set.
//
// The output is what json.Marshal gives for the canonical maps (sorted keys,
// HTML escaping), written by hand: marshalling maps through reflection and
// compacting each statement again as a json.RawMessage was most of the cost
// of a BucketPolicy diff.
func CanonicalPolicy(doc []byte) (string, error) {
	out, err := canonicalInto(string(doc), nil)
	return string(out), err
}

// canonicalInto appends doc's canonical form to out: straight from the
// JSON for the usual documents (fastCanonical), through maps otherwise.
func canonicalInto(doc string, out []byte) ([]byte, error) {
	if c, ok := fastCanonical(doc, out); ok {
		return c, nil
	}
	c, err := canonicalFromMaps([]byte(doc))
	return append(out, c...), err
}

// canonicalFromMaps is the general path, for the rare documents
// fastCanonical does not take: decoded the plain way.
func canonicalFromMaps(doc []byte) (string, error) {
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		return "", err
	}
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		switch strings.ToLower(k) {
		case "version":
			out["Version"] = v
		case "id":
			out["Id"] = v
		case "statement":
			var stmts []any
			switch s := v.(type) {
			case []any:
				stmts = s
			case map[string]any:
				stmts = []any{s}
			}
			canon := make([]string, 0, len(stmts))
			var w canonWriter
			for _, st := range stmts {
				m, ok := st.(map[string]any)
				if !ok {
					return "", fmt.Errorf("statement is not an object")
				}
				w.buf = w.buf[:0]
				if err := w.value(canonicalStatement(m)); err != nil {
					return "", err
				}
				canon = append(canon, string(w.buf))
			}
			sort.Strings(canon)
			out["Statement"] = canonStatements(slices.Compact(canon))
		default:
			out[k] = v
		}
	}
	var w canonWriter
	if err := w.value(out); err != nil {
		return "", err
	}
	return string(w.buf), nil
}

// canonStatements is the sorted list of statements, each already in
// canonical JSON.
type canonStatements []string

// canonWriter writes the canonical values as json.Marshal would. It knows
// the few types canonicalStatement builds and hands anything else to
// json.Marshal.
type canonWriter struct{ buf []byte }

func (w *canonWriter) value(v any) error {
	switch x := v.(type) {
	case string:
		w.str(x)
	case []string:
		if x == nil {
			w.buf = append(w.buf, "null"...)
			return nil
		}
		w.buf = append(w.buf, '[')
		for i, s := range x {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.str(s)
		}
		w.buf = append(w.buf, ']')
	case canonStatements:
		w.buf = append(w.buf, '[')
		for i, s := range x {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.buf = append(w.buf, s...)
		}
		w.buf = append(w.buf, ']')
	case map[string]any:
		return writeMap(w, x)
	case map[string][]string:
		return writeMap(w, x)
	case map[string]map[string][]string:
		return writeMap(w, x)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		w.buf = append(w.buf, b...)
	}
	return nil
}

func writeMap[V any](w *canonWriter, m map[string]V) error {
	if m == nil {
		w.buf = append(w.buf, "null"...)
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.buf = append(w.buf, '{')
	for i, k := range keys {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.str(k)
		w.buf = append(w.buf, ':')
		if err := w.value(m[k]); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, '}')
	return nil
}

func (w *canonWriter) str(s string) { w.buf = jsontext.AppendString(w.buf, s) }

func canonicalStatement(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "Action", "NotAction":
			out[k] = stringSet(v, strings.ToLower)
		case "Resource", "NotResource":
			out[k] = stringSet(v, same)
		case "Principal", "NotPrincipal":
			out[k] = principal(v)
		case "Condition":
			out[k] = condition(v)
		case "Sid":
			if s, _ := v.(string); s != "" {
				out[k] = s
			}
		default:
			out[k] = v
		}
	}
	return out
}

func stringSet(v any, fold func(string) string) []string {
	switch x := v.(type) {
	case string:
		return []string{fold(x)}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, fold(s))
			}
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return nil
}

func principal(v any) any {
	if s, ok := v.(string); ok {
		if s == "*" {
			return map[string][]string{"AWS": {"*"}}
		}
		return s
	}
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string][]string{}
	for k, vv := range m {
		out[k] = stringSet(vv, same)
	}
	return out
}

func condition(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]map[string][]string{}
	for op, kv := range m {
		inner, ok := kv.(map[string]any)
		if !ok {
			continue
		}
		o := map[string][]string{}
		for k, vv := range inner {
			switch x := vv.(type) {
			case bool:
				o[k] = []string{fmt.Sprint(x)}
			case float64:
				o[k] = []string{fmt.Sprint(x)}
			default:
				o[k] = stringSet(vv, same)
			}
		}
		out[op] = o
	}
	return out
}
