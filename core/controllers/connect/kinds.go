package connect

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// Kinds are the kinds a ProviderReference names. Everything that serves
// both (the Provider check, in-use protection, the plugin recheck) ranges
// over this list, and NewObject and NewList make their objects.
var Kinds = []string{pailv1.KindProvider, pailv1.KindClusterProvider}

// KindOf is the kind ref names: ClusterProvider, or else Provider (the
// default, and what an unset kind means on objects stored before it).
func KindOf(ref pailv1.ProviderReference) string {
	if ref.Cluster() {
		return pailv1.KindClusterProvider
	}
	return pailv1.KindProvider
}

// NewObject returns an empty object of kind (a Kinds entry).
func NewObject(kind string) pailv1.ProviderObject {
	if kind == pailv1.KindClusterProvider {
		return &pailv1.ClusterProvider{}
	}
	return &pailv1.Provider{}
}

// NewList returns an empty list of kind (a Kinds entry).
func NewList(kind string) client.ObjectList {
	if kind == pailv1.KindClusterProvider {
		return &pailv1.ClusterProviderList{}
	}
	return &pailv1.ProviderList{}
}

// Items returns the objects of a list NewList made.
func Items(list client.ObjectList) []pailv1.ProviderObject {
	var out []pailv1.ProviderObject
	switch l := list.(type) {
	case *pailv1.ProviderList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *pailv1.ClusterProviderList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out
}

// RefKey names the Provider or ClusterProvider a referrer in namespace ns
// refers to, wherever Pail keeps something per Provider: the connection
// cache, its check records, and the index of referrers
// (managed.IndexProvider). A Provider is keyed by namespace and name,
// "Provider/<namespace>/<name>"; a ClusterProvider by name alone,
// "ClusterProvider/<name>". The kind is part of every key, so a Provider x
// in the operator's namespace and ClusterProvider x never share one.
func RefKey(ns string, ref pailv1.ProviderReference) string {
	kind := KindOf(ref)
	if kind == pailv1.KindClusterProvider {
		return kind + "/" + ref.Name
	}
	return kind + "/" + ns + "/" + ref.Name
}

// ProviderKey is p's RefKey: the key its referrers' references have.
func ProviderKey(p pailv1.ProviderObject) string {
	return RefKey(p.GetNamespace(), p.Reference())
}

// ObjectKey is where the object ref names, for a referrer in namespace ns,
// is read: in ns for a Provider, cluster-wide for a ClusterProvider.
func ObjectKey(ns string, ref pailv1.ProviderReference) types.NamespacedName {
	if ref.Cluster() {
		return types.NamespacedName{Name: ref.Name}
	}
	return types.NamespacedName{Namespace: ns, Name: ref.Name}
}

// Lookup reads the Provider or ClusterProvider that ref, in a referrer in
// namespace ns, names. A NotFound error says it does not exist.
func Lookup(ctx context.Context, cl client.Reader, ns string, ref pailv1.ProviderReference) (pailv1.ProviderObject, error) {
	p := NewObject(KindOf(ref))
	if err := cl.Get(ctx, ObjectKey(ns, ref), p); err != nil {
		return nil, err
	}
	return p, nil
}

// SecretNamespace is where p's Secrets live: a Provider's own namespace; a
// ClusterProvider's spec.secretNamespace, or else operatorNS, the
// operator's namespace. "" means a ClusterProvider whose Secrets cannot be
// found (no secretNamespace, and an operator told no namespace).
func SecretNamespace(p pailv1.ProviderObject, operatorNS string) string {
	if ns := p.SecretNamespace(); ns != "" {
		return ns
	}
	if _, cluster := p.(*pailv1.ClusterProvider); cluster {
		return operatorNS
	}
	return p.GetNamespace()
}

// Admitted says whether a referrer in namespace ns may use p: nil when it
// may, else a NotReady with reason ProviderNotAllowed saying what to do.
// A Provider is its own namespace's (Lookup finds no other); a
// ClusterProvider admits the namespaces its spec.allowedNamespaces names.
// The Namespace's labels are read from cl (the manager's cache) only for a
// selector.
func Admitted(ctx context.Context, cl client.Reader, ns string, p pailv1.ProviderObject, what string) (*NotReady, error) {
	cp, ok := p.(*pailv1.ClusterProvider)
	if !ok {
		return nil, nil
	}
	var nsLabels map[string]string
	if cp.Spec.AllowedNamespaces.From == pailv1.NamespacesFromSelector {
		var n corev1.Namespace
		if err := cl.Get(ctx, types.NamespacedName{Name: ns}, &n); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("read the labels of namespace %s: %w", ns, err)
		}
		nsLabels = n.Labels
	}
	return admission(cp, ns, nsLabels, what), nil
}

// admission is Admitted's decision for ClusterProvider cp, a referrer in
// namespace ns with labels nsLabels.
func admission(cp *pailv1.ClusterProvider, ns string, nsLabels map[string]string, what string) *NotReady {
	an := cp.Spec.AllowedNamespaces
	ok, err := an.Admits(ns, nsLabels)
	switch {
	case err != nil:
		return &NotReady{pailv1.ReasonProviderNotAllowed, fmt.Sprintf("ClusterProvider %s admits no namespace: its spec.allowedNamespaces.selector is invalid (%v). Ask the cluster admin to fix it; the %s proceeds once it admits namespace %s.", cp.Name, err, what, ns)}
	case ok:
		return nil
	}
	from := an.From
	if from == "" {
		from = pailv1.NamespacesFromNone
	}
	return &NotReady{pailv1.ReasonProviderNotAllowed, fmt.Sprintf("ClusterProvider %s does not admit namespace %s (its spec.allowedNamespaces.from is %s). Ask the cluster admin to grant it to this namespace, or use a Provider this namespace may use; the %s proceeds once it is granted.", cp.Name, ns, from, what)}
}
