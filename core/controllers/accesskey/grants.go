package accesskey

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/bucket"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// sharedProvider reports whether the Provider an AccessKey names serves
// more than one tenant, so that a wildcard over buckets, or a bucket no
// Bucket of the AccessKey's namespace manages, reaches other tenants' data.
// A namespaced Provider is its namespace's own: the tenant holds its
// credentials, and a wildcard gives the user nothing those credentials do
// not. A ClusterProvider is shared: an admin grants it to namespaces, and
// its credentials reach every tenant's buckets. This is the one place the
// answer is given.
func sharedProvider(ref pailv1.ProviderReference) bool { return ref.Cluster() }

// s3Grant is what one Resource of an Allow statement grants on buckets.
type s3Grant struct {
	// bucket is the bucket it names; "" with pattern set for a wildcard over
	// buckets; "" without pattern for a resource that is not S3's.
	bucket  string
	pattern bool
}

// wildcard reports whether an IAM string holds a wildcard.
func wildcard(s string) bool { return strings.ContainsAny(s, "*?") }

// s3Resource classifies one Resource: "*" is every bucket; an ARN
// arn:<partition>:<service>:<region>:<account>:<bucket>[/<key>] whose
// service is s3 (or a pattern that matches s3) names the bucket before the
// first "/" (a pattern when it holds * or ?); any other ARN names no bucket;
// a string with a wildcard that is not such an ARN (say "arn:*") may match
// every S3 ARN and counts as a wildcard over buckets.
func s3Resource(res string) s3Grant {
	parts := strings.SplitN(res, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return s3Grant{pattern: wildcard(res)}
	}
	if svc := parts[2]; svc != "s3" {
		if ok, err := path.Match(svc, "s3"); !wildcard(svc) || err == nil && !ok {
			return s3Grant{}
		}
	}
	bucket, _, _ := strings.Cut(parts[5], "/")
	if wildcard(bucket) {
		return s3Grant{pattern: true}
	}
	return s3Grant{bucket: bucket}
}

// policyGrants lists what the Allow statements of an inline identity
// policy grant on buckets: the bucket names, in order and once each, and
// the resources that are wildcards over buckets. A Deny statement grants
// nothing; NotResource in an Allow statement grants every resource it does
// not list, so it is a wildcard over buckets.
func policyGrants(doc *policydoc.Document) (named, patterns []string) {
	if doc == nil {
		return nil, nil
	}
	for _, st := range doc.Statements() {
		if !strings.EqualFold(st.Effect(), "Allow") {
			continue
		}
		if not, ok := st.Set("NotResource"); ok {
			patterns = append(patterns, "NotResource "+strings.Join(not, ", "))
		}
		res, _ := st.Set("Resource")
		for _, r := range res {
			g := s3Resource(r)
			switch {
			case g.pattern:
				patterns = append(patterns, r)
			case g.bucket != "" && !slices.Contains(named, g.bucket):
				named = append(named, g.bucket)
			}
		}
	}
	return named, patterns
}

// grantInput is what the grant rule decides from: the AccessKey and where
// its user lives (nil: unknown, its Provider cannot be read), the Buckets
// spec.buckets names (in order), what spec.policy grants, and which
// namespaces' Buckets own each bucket spec.policy names there.
type grantInput struct {
	ak     *pailv1.AccessKey
	loc    *pailv1.Location
	refs   []pailv1.Bucket
	named  []string
	owners map[string][]string
	// patterns are spec.policy's wildcards over buckets.
	patterns []string
	shared   bool
}

// refusedGrants is the grant rule: it returns what is refused, one sentence
// each, none when every grant stays inside the tenant.
//   - spec.buckets: a Bucket on another Provider than the AccessKey's,
//     unless that Bucket established its bucket where the user lives (same
//     endpoint and account): a grant names a bucket by name only, so on
//     another backend it reaches whatever bucket of that name is there;
//   - spec.policy: a bucket a Bucket of another namespace owns at the
//     user's location, always;
//   - on a shared Provider (sharedProvider), also a bucket no Bucket of the
//     AccessKey's namespace owns there, and every wildcard over buckets.
func refusedGrants(in grantInput) []string {
	ak := in.ak
	var out []string
	for i := range in.refs {
		if msg := foreignRef(ak, in.loc, i, &in.refs[i]); msg != "" {
			out = append(out, msg)
		}
	}
	for _, name := range in.named {
		owners := in.owners[name]
		foreign := slices.DeleteFunc(slices.Clone(owners), func(ns string) bool { return ns == ak.Namespace })
		switch {
		case len(foreign) > 0:
			out = append(out, fmt.Sprintf("spec.policy grants bucket %s, which a Bucket of namespace %s manages; an AccessKey grants only its own namespace's buckets", name, strings.Join(foreign, ", ")))
		case in.shared && !slices.Contains(owners, ak.Namespace):
			out = append(out, fmt.Sprintf("spec.policy grants bucket %s, which no Bucket of namespace %s manages, on the shared Provider %s", name, ak.Namespace, ak.Spec.ProviderRef.Name))
		}
	}
	if in.shared {
		for _, p := range in.patterns {
			out = append(out, fmt.Sprintf("spec.policy grants %q, a wildcard over buckets, on the shared Provider %s; name this namespace's buckets instead", p, ak.Spec.ProviderRef.Name))
		}
	}
	return out
}

// foreignRef is the refusal of spec.buckets[i] (its Bucket b) when b is on
// another Provider and its bucket is not (or not known to be) where the
// user lives, loc; "" when the grant stays on the user's backend.
func foreignRef(ak *pailv1.AccessKey, loc *pailv1.Location, i int, b *pailv1.Bucket) string {
	if sameProvider(b.Spec.ProviderRef, ak.Spec.ProviderRef) {
		return ""
	}
	rec, ok := bucket.Location(b)
	if ok && loc != nil {
		if moved, _ := connect.Moved(rec, *loc); !moved {
			return ""
		}
	}
	where := "which has no bucket established yet"
	if ok {
		where = "whose bucket is at " + rec.Endpoint
	}
	return fmt.Sprintf("spec.buckets[%d] names Bucket %s of Provider %s, %s, not where the user of this AccessKey (Provider %s) lives; name a Bucket of Provider %s",
		i, b.Name, b.Spec.ProviderRef.Name, where, ak.Spec.ProviderRef.Name, ak.Spec.ProviderRef.Name)
}

// sameProvider reports whether two references name the same Provider: an
// unset kind is Provider (objects stored before ClusterProviders).
func sameProvider(a, b pailv1.ProviderReference) bool {
	return a.Name == b.Name && a.KindOrDefault() == b.KindOrDefault()
}

// grantRefusedMessage is the sentence for Ready, PolicyValid and the
// webhook: what is refused, and that nothing is written.
func grantRefusedMessage(refused []string) string {
	return "The grants cross tenants, so no user is written: " + strings.Join(refused, "; ") + "."
}

// checkGrants applies the grant rule before anything is written: a refused
// grant stops the sync with PolicyValid and Ready False (GrantRefused), one
// event on the transition.
func (r *Reconciler) checkGrants(ctx context.Context, ak *pailv1.AccessKey, s *state, refs []pailv1.Bucket) (managed.Step, bool, error) {
	refused, err := grantsRefused(ctx, r.Client, ak, s.loc, refs)
	if err != nil {
		return managed.Stop(0), true, err
	}
	if len(refused) == 0 {
		return managed.Next, false, nil
	}
	msg := grantRefusedMessage(refused)
	if managed.Transition(ak.Status.Conditions, pailv1.ConditionReady, pailv1.ReasonGrantRefused, msg) {
		r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonGrantRefused, "Validate", "%s", msg)
	}
	s.policy = no(pailv1.ReasonGrantRefused, msg)
	s.verdict = managed.NotReady(pailv1.ReasonGrantRefused, msg)
	return managed.Stop(grantRetry), true, nil
}

// grantsRefused gathers the grant rule's inputs (what spec.policy grants,
// who owns each bucket it names at loc) and applies it. A spec.policy that
// does not parse grants nothing here: the policy phase refuses it.
func grantsRefused(ctx context.Context, c client.Reader, ak *pailv1.AccessKey, loc pailv1.Location, refs []pailv1.Bucket) ([]string, error) {
	in := grantInput{ak: ak, loc: &loc, refs: refs, shared: sharedProvider(ak.Spec.ProviderRef), owners: map[string][]string{}}
	if p := ak.Spec.Policy; p != nil && len(p.Raw) > 0 {
		if doc, err := policydoc.Parse(p.Raw); err == nil {
			in.named, in.patterns = policyGrants(doc)
		}
	}
	for _, name := range in.named {
		owners, err := bucket.OwnersAt(ctx, c, loc, name)
		if err != nil {
			return nil, err
		}
		for i := range owners {
			in.owners[name] = append(in.owners[name], owners[i].Namespace)
		}
	}
	return refusedGrants(in), nil
}
