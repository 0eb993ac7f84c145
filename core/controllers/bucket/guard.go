package bucket

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
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

// LocationIndex registers, on a fake client in another package's decision
// tests, the index OwnersAt reads (the bucket controller registers it on the
// manager).
func LocationIndex() (name string, fn client.IndexerFunc) {
	return indexLocation, managed.IndexFunc(indexByLocation)
}

// OwnersAt returns the Buckets, in any namespace, that own (created or
// adopted, or set out to create) the bucket named bucketName at loc. The
// AccessKey controller and webhook read it to tell a grant on a bucket of
// another namespace. It reads the manager's cluster-wide cache through
// indexLocation.
func OwnersAt(ctx context.Context, c client.Reader, loc pailv1.Location, bucketName string) ([]pailv1.Bucket, error) {
	var list pailv1.BucketList
	if err := c.List(ctx, &list, client.MatchingFields{indexLocation: locationKey(loc.Endpoint, bucketName)}); err != nil {
		return nil, fmt.Errorf("list Buckets owning %s: %w", bucketName, err)
	}
	var out []pailv1.Bucket
	for i := range list.Items {
		o := &list.Items[i]
		if rec, ok := record(o); ok && o.Spec.BucketName == bucketName {
			if moved, _ := connect.Moved(rec, loc); !moved {
				out = append(out, *o)
			}
		}
	}
	return out, nil
}

// Location is where the Bucket established its bucket (see record); ok is
// false while it owns nothing there, or owns with no trace of where.
func Location(b *pailv1.Bucket) (pailv1.Location, bool) { return record(b) }
