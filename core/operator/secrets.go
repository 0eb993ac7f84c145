package operator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The operator caches no Secret data. Every controller reads Secret
// contents through the manager's API reader and watches Secrets as
// metadata only (connect.SecretMeta); secretsLive makes that hold for any
// future caller as well: a full Secret read through the manager's client
// goes to the apiserver, where an informer of the cached client would
// otherwise list and keep every Secret in the cluster.
type secretsLive struct {
	client.Client
	live client.Reader
}

// Get reads a full Secret live, anything else as the manager's client does.
func (c secretsLive) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		return c.live.Get(ctx, key, obj, opts...)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// List lists full Secrets live, anything else as the manager's client does.
func (c secretsLive) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*corev1.SecretList); ok {
		return c.live.List(ctx, list, opts...)
	}
	return c.Client.List(ctx, list, opts...)
}

// newClient is the manager's client: cached as usual, but never for full
// Secrets (secretsLive).
func newClient(config *rest.Config, options client.Options) (client.Client, error) {
	cached, err := client.New(config, options)
	if err != nil {
		return nil, err
	}
	options.Cache = nil
	live, err := client.New(config, options)
	if err != nil {
		return nil, fmt.Errorf("uncached client for Secrets: %w", err)
	}
	return secretsLive{Client: cached, live: live}, nil
}
