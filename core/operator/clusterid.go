package operator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pail-dev/pail/core/bucketdiff"
)

// clusterIDNamespace is the Namespace whose UID names the cluster: every
// cluster has it from birth and keeps it for life, which makes its UID the
// conventional cluster id.
const clusterIDNamespace = "kube-system"

// resolveClusterID returns the cluster's id for the ownership mark: id when
// set (tests simulating a second cluster), else the UID of kube-system,
// read once at start.
func resolveClusterID(ctx context.Context, r client.Reader, id string) (string, error) {
	if id == "" {
		var ns corev1.Namespace
		if err := r.Get(ctx, client.ObjectKey{Name: clusterIDNamespace}, &ns); err != nil {
			return "", fmt.Errorf("cluster id: read Namespace %s: %w", clusterIDNamespace, err)
		}
		id = string(ns.UID)
	}
	if err := bucketdiff.ValidClusterID(id); err != nil {
		return "", fmt.Errorf("cluster id: %w", err)
	}
	return id, nil
}
