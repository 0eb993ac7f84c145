package bucketpolicy

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
)

// deletePhases are the BucketPolicy's delete rule, in order: only the
// governing policy removes what the bucket holds, and only from a Bucket
// that is still there, has no inline policy and is not being deleted; in
// every other case the BucketPolicy is released and the bucket left alone.
func (r *Reconciler) deletePhases() []managed.Phase[*pailv1.BucketPolicy, state] {
	return []managed.Phase[*pailv1.BucketPolicy, state]{
		{Name: "bucket", Run: r.governsOnDelete},
		{Name: "provider", Run: r.deleteProvider},
		{Name: "connect", Run: r.connect},
		{Name: "remove", Run: r.removePolicy},
	}
}

// release ends the delete rule: the finalizer may go.
func release(s *state) (managed.Step, error) {
	s.released = true
	return managed.Stop(0), nil
}

// governsOnDelete releases a BucketPolicy that holds nothing to remove: a
// refused one wrote nothing, and the bucket may hold another policy's
// document. Which bucket holds the policy is unknown until the Bucket can
// be read, so an unreadable one makes the delete wait.
func (r *Reconciler) governsOnDelete(ctx context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	b, err := r.getBucket(ctx, bp)
	if err == nil && b.DecodeError() != "" {
		s.verdict = managed.NotReady(pailv1.ReasonBucketNotReady, fmt.Sprintf("Cannot remove the policy while Bucket %s cannot be read (its InvalidSpec condition says why).", b.Name))
		return managed.Stop(waitRetry), nil
	}
	win, werr := r.winner(ctx, bp)
	if werr != nil {
		return managed.Stop(0), werr
	}
	switch {
	case err == nil && win == bp.Name && b.Spec.Policy == nil && b.DeletionTimestamp.IsZero():
		s.b = b
		return managed.Next, nil
	case err != nil && !apierrors.IsNotFound(err):
		return managed.Stop(0), err
	}
	return release(s)
}

// deleteProvider reads the Provider or ClusterProvider; while it is
// missing the delete waits.
func (r *Reconciler) deleteProvider(ctx context.Context, _ *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	p, err := connect.Lookup(ctx, r.Client, s.b.Namespace, s.b.Spec.ProviderRef)
	if err != nil {
		s.verdict = managed.NotReady(pailv1.ReasonProviderNotFound, fmt.Sprintf("Cannot remove the policy from bucket %s: %v.", s.b.Spec.BucketName, err))
		return managed.Stop(waitRetry), nil
	}
	s.p = p
	return managed.Next, nil
}

// removePolicy removes the document from the bucket; one already gone
// counts as removed.
func (r *Reconciler) removePolicy(ctx context.Context, bp *pailv1.BucketPolicy, s *state) (managed.Step, error) {
	name := s.b.Spec.BucketName
	args := abi.BucketArgs{Name: name, Region: s.b.Status.Region, Config: abi.BucketConfig{Policy: &abi.Policy{}}}
	if err := s.conn.Driver.ApplyBucket(callContext(ctx, s), s.conn.Config, args); err != nil && abi.CodeOf(err) != abi.CodeNotFound {
		s.verdict = managed.NotReady(pailv1.ReasonBackendError, fmt.Sprintf("Could not remove the policy from bucket %s: %s.", name, strings.TrimRight(err.Error(), ". ")))
		return managed.Stop(0), managed.Backend(err)
	}
	r.Recorder.Eventf(bp, nil, corev1.EventTypeNormal, "Removed", "Delete", "Removed the policy from bucket %s", name)
	return release(s)
}
