package bucket

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/inuse"
)

// blocker is why a deletionPolicy Delete cannot finish now.
type blocker int

const (
	// blockedNotEmpty: the bucket holds objects (Conflict from DeleteBucket).
	blockedNotEmpty blocker = iota + 1
	// blockedCannotEmpty: spec.forceDelete, but the driver cannot empty a bucket.
	blockedCannotEmpty
	// blockedProviderGone: the Provider does not exist.
	blockedProviderGone
	// blockedProviderNotReady: the Provider exists but is not Ready.
	blockedProviderNotReady
)

// cause says, for an event, why the bucket could not be deleted.
func (b blocker) cause() string {
	switch b {
	case blockedNotEmpty:
		return "it still holds objects, and deletionPolicy Delete never deletes data by itself"
	case blockedCannotEmpty:
		return "spec.forceDelete is set but the driver cannot empty a bucket"
	case blockedProviderGone:
		return "its Provider does not exist"
	}
	return "its Provider is not Ready"
}

// releaseBlocked decides whether a Bucket whose delete is blocked is
// released (its finalizer removed, the bucket and its data left in place)
// rather than retried. Only in a namespace being deleted, and only for
// causes no fix can come for there: nothing can be created in such a
// namespace (no Provider again), and Pail never empties a bucket unasked.
// A Provider that is not Ready may recover by itself (an outage), so that
// delete keeps trying; the Provider itself is kept until then (inuse).
func releaseBlocked(why blocker, namespaceTerminating bool) bool {
	if !namespaceTerminating {
		return false
	}
	switch why {
	case blockedNotEmpty, blockedCannotEmpty, blockedProviderGone:
		return true
	}
	return false
}

// providerBlocker names why the Provider cannot be used, from the reason
// the Provider lookup gave.
func providerBlocker(reason string) blocker {
	if reason == pailv1.ReasonProviderNotFound {
		return blockedProviderGone
	}
	return blockedProviderNotReady
}

// releaseIfNamespaceDeleted reports whether b, whose delete why blocks, is
// released because its namespace is being deleted (see releaseBlocked),
// with a Warning event saying what was left in place and why. The
// namespace is read uncached, and only on this path.
func (r *Reconciler) releaseIfNamespaceDeleted(ctx context.Context, b *pailv1.Bucket, why blocker) (bool, error) {
	var ns corev1.Namespace
	if err := r.Reader.Get(ctx, types.NamespacedName{Name: b.Namespace}, &ns); err != nil {
		return false, fmt.Errorf("read namespace %s: %w", b.Namespace, err)
	}
	if !releaseBlocked(why, inuse.Terminating(&ns)) {
		return false, nil
	}
	r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonNamespaceDeleted, "Delete",
		"Left bucket %s and its data in place: %s, and namespace %s is being deleted, so no fix can come. The Bucket is released; the bucket is yours to delete at the provider.",
		b.Spec.BucketName, why.cause(), b.Namespace)
	return true, nil
}
