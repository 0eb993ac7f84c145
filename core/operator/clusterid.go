package operator

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pail-dev/pail/core/bucketdiff"
)

// clusterIDNamespace is the Namespace whose UID names the cluster: every
// cluster has it from birth and keeps it for life, which makes its UID the
// conventional cluster id.
const clusterIDNamespace = "kube-system"

// clusterIdentity is the cluster's id for the ownership mark: the override
// when set (tests simulating a second cluster), else the UID of
// kube-system, read once, when a Bucket first needs it. Not at start: an
// operator started before its RBAC is in place must recover once it is
// (test/chart), and a failed read is retried by the next reconcile.
type clusterIdentity struct {
	r  client.Reader
	mu sync.Mutex
	id string
}

// newClusterIdentity checks an override at once, so a bad one stops the
// start rather than every reconcile.
func newClusterIdentity(r client.Reader, override string) (*clusterIdentity, error) {
	if override != "" {
		if err := bucketdiff.ValidClusterID(override); err != nil {
			return nil, fmt.Errorf("cluster id: %w", err)
		}
	}
	return &clusterIdentity{r: r, id: override}, nil
}

// ID returns the cluster's id, reading it on first use.
func (c *clusterIdentity) ID(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id != "" {
		return c.id, nil
	}
	var ns corev1.Namespace
	if err := c.r.Get(ctx, client.ObjectKey{Name: clusterIDNamespace}, &ns); err != nil {
		return "", fmt.Errorf("cluster id: read Namespace %s: %w", clusterIDNamespace, err)
	}
	id := string(ns.UID)
	if err := bucketdiff.ValidClusterID(id); err != nil {
		return "", fmt.Errorf("cluster id: %w", err)
	}
	c.id = id
	return id, nil
}
