// Package guardrails serves the Guardrail kind: it reads the Guardrails and
// namespaces from the manager's cache for the pure rules of core/guardrail,
// checks each kind's objects with them (the same checks at admission, in
// Webhooks, and in every kind's sync), requeues the objects a Guardrail or
// a namespace's labels change, and reports each Guardrail's status.
package guardrails

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/guardrail"
)

// The operator reads Guardrails and namespaces (their labels) from its cache.
// +kubebuilder:rbac:groups=pail.dev,resources=guardrails,verbs=get;list;watch
// +kubebuilder:rbac:groups=pail.dev,resources=guardrails/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=pail.dev,resources=clusterproviders,verbs=get;list;watch

// namespaceMeta is an empty namespace metadata object: only the labels are
// read, so only metadata is cached.
func namespaceMeta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return m
}

// Rules combines the Guardrails that select namespace ns.
func Rules(ctx context.Context, c client.Reader, ns string) (guardrail.Rules, error) {
	var list pailv1.GuardrailList
	if err := c.List(ctx, &list); err != nil {
		return guardrail.Rules{}, fmt.Errorf("list Guardrails: %w", err)
	}
	n := guardrail.Namespace{Name: ns}
	if len(list.Items) == 0 {
		return guardrail.Effective(nil, n), nil
	}
	m := namespaceMeta()
	if err := c.Get(ctx, types.NamespacedName{Name: ns}, m); err != nil {
		return guardrail.Rules{}, fmt.Errorf("read namespace %s: %w", ns, err)
	}
	n.Labels = m.Labels
	return guardrail.Effective(list.Items, n), nil
}

// clusterProvider reads the ClusterProvider ref names; nil when ref names
// a Provider, or a ClusterProvider that does not exist (the kind's sync
// reports that).
func clusterProvider(ctx context.Context, c client.Reader, ref pailv1.ProviderReference) (*pailv1.ClusterProvider, error) {
	if !ref.Cluster() {
		return nil, nil
	}
	var cp pailv1.ClusterProvider
	err := c.Get(ctx, types.NamespacedName{Name: ref.Name}, &cp)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ClusterProvider %s: %w", ref.Name, err)
	}
	return &cp, nil
}

// ahead counts the objects of list's kind in obj's namespace that come
// before obj: all others when creating, else the older ones (by
// creationTimestamp, then name), so that past a limit the newest are
// refused.
func ahead(ctx context.Context, c client.Reader, list client.ObjectList, obj client.Object, creating bool) (int, error) {
	if err := c.List(ctx, list, client.InNamespace(obj.GetNamespace())); err != nil {
		return 0, fmt.Errorf("list %s: %w", obj.GetNamespace(), err)
	}
	n := 0
	err := meta.EachListItem(list, func(o runtimeObject) error {
		m, err := meta.Accessor(o)
		if err != nil {
			return err
		}
		if m.GetName() != obj.GetName() && (creating || before(m, obj)) {
			n++
		}
		return nil
	})
	return n, err
}

// before orders objects by creationTimestamp, then name.
func before(a, b metav1.Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	return strings.Compare(a.GetName(), b.GetName()) < 0
}
