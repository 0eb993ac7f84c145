package connect

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// SecretNames are the Secrets (in its SecretNamespace) Provider or
// ClusterProvider p reads: its credentials and, when it names one, its CA.
// Everything that follows a Provider's Secrets (watches, in-use
// protection, the connection cache) derives from this one list.
func SecretNames(p pailv1.ProviderObject) []string {
	spec := p.ProviderSpec()
	out := []string{spec.CredentialsSecretRef.Name}
	if t := spec.TLS; t != nil && t.CASecretRef != nil && t.CASecretRef.Name != out[0] {
		out = append(out, t.CASecretRef.Name)
	}
	return out
}

// Secrets are the Secrets p reads, by namespace and name; operatorNS is
// the operator's namespace (see SecretNamespace). A ClusterProvider whose
// Secrets cannot be found reads none.
func Secrets(p pailv1.ProviderObject, operatorNS string) []types.NamespacedName {
	ns := SecretNamespace(p, operatorNS)
	if ns == "" {
		return nil
	}
	names := SecretNames(p)
	out := make([]types.NamespacedName, 0, len(names))
	for _, n := range names {
		out = append(out, types.NamespacedName{Namespace: ns, Name: n})
	}
	return out
}

// SecretReaders returns the Providers in ns, and the ClusterProviders
// whose Secrets live in ns, that read Secret name, deleting ones included;
// operatorNS is the operator's namespace (see SecretNamespace). Providers
// per namespace, and ClusterProviders, are few: a filtered list from the
// cache is cheaper than another index.
func SecretReaders(ctx context.Context, cl client.Reader, operatorNS, ns, name string) ([]pailv1.ProviderObject, error) {
	secret := types.NamespacedName{Namespace: ns, Name: name}
	var out []pailv1.ProviderObject
	for _, kind := range Kinds {
		list := NewList(kind)
		var opts []client.ListOption
		if kind == pailv1.KindProvider {
			opts = append(opts, client.InNamespace(ns))
		}
		if err := cl.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("list %ss reading Secret %s: %w", kind, secret, err)
		}
		for _, p := range Items(list) {
			if slices.Contains(Secrets(p, operatorNS), secret) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// SecretMeta returns an empty metadata-only Secret, for reading the
// manager's metadata cache (the operator never caches Secret data).
func SecretMeta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}

// secretsCurrent reports whether every Secret conn was resolved from still
// has the resourceVersion it had then, as the metadata cache sees it. A
// changed Secret (a fixed key) must be read again, even though the
// Provider's spec, and so its generation, did not change. Without Meta the
// cache trusts the generation alone.
func (c *Connector) secretsCurrent(ctx context.Context, conn *Connection) bool {
	if c.Meta == nil {
		return true
	}
	for name, rv := range conn.secretVersions {
		m := SecretMeta()
		if err := c.Meta.Get(ctx, types.NamespacedName{Namespace: conn.secretNS, Name: name}, m); err != nil || m.ResourceVersion != rv {
			return false
		}
	}
	return true
}
