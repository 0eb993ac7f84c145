package bucket

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// otherManager returns the Bucket, in any namespace, that manages b's
// bucket at cur in b's stead (see managedBy), or nil. It reads the
// manager's cluster-wide cache through indexLocation.
func (r *Reconciler) otherManager(ctx context.Context, b *pailv1.Bucket, cur pailv1.Location) (*pailv1.Bucket, error) {
	var list pailv1.BucketList
	if err := r.Client.List(ctx, &list, client.MatchingFields{indexLocation: locationKey(cur.Endpoint, b.Spec.BucketName)}); err != nil {
		return nil, fmt.Errorf("list Buckets managing %s: %w", b.Spec.BucketName, err)
	}
	if o := managedBy(b, cur, list.Items); o != nil {
		return o.DeepCopy(), nil
	}
	return nil, nil
}
