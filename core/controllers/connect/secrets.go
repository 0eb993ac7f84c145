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

// SecretNames are the Secrets (in its namespace) Provider p reads: its
// credentials and, when it names one, its CA. Everything that follows a
// Provider's Secrets (watches, in-use protection, the connection cache)
// derives from this one list.
func SecretNames(p *pailv1.Provider) []string {
	out := []string{p.Spec.CredentialsSecretRef.Name}
	if t := p.Spec.TLS; t != nil && t.CASecretRef != nil && t.CASecretRef.Name != out[0] {
		out = append(out, t.CASecretRef.Name)
	}
	return out
}

// SecretReaders returns the Providers in ns that read Secret name, deleting
// ones included. Providers per namespace are few: a filtered list from the
// cache is cheaper than another index.
func SecretReaders(ctx context.Context, cl client.Reader, ns, name string) ([]pailv1.Provider, error) {
	var list pailv1.ProviderList
	if err := cl.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list Providers in %s: %w", ns, err)
	}
	return slices.DeleteFunc(list.Items, func(p pailv1.Provider) bool {
		return !slices.Contains(SecretNames(&p), name)
	}), nil
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
		if err := c.Meta.Get(ctx, types.NamespacedName{Namespace: conn.key.Namespace, Name: name}, m); err != nil || m.ResourceVersion != rv {
			return false
		}
	}
	return true
}
