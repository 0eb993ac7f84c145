package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
)

// TestStaleStatusWriteIsRefused plays a stale operator process: it computed
// a status from a Bucket it read before a newer process wrote a newer
// status. Its write goes through the controllers' status write path
// (status.Patch) and is refused, and the newer status survives. A write
// after the reconcile's own metadata patch is not stale.
func TestStaleStatusWriteIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	// No such Provider: the operator writes ProviderNotFound once and then
	// leaves the Bucket alone until the Provider appears.
	b := newBucket(ns, "contested", "absent", uniqueBucket("contested"), "")
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	waitBucket(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonProviderNotFound, 30*time.Second)

	var stale pailv1.Bucket
	require.NoError(t, suite.k8s.Get(ctx, key, &stale))

	// The newer process writes its status.
	newer := stale.DeepCopy()
	newerBefore := newer.DeepCopy()
	status.True(&newer.Status.Conditions, newer.Generation, pailv1.ConditionSynced, pailv1.ReasonInSync, "Written by the newer process.")
	require.NoError(t, status.Patch(ctx, suite.k8s, newerBefore, newer, newerBefore.Status, newer.Status))

	// The stale process writes a status computed from its older read.
	staleBefore := stale.DeepCopy()
	status.False(&stale.Status.Conditions, stale.Generation, pailv1.ConditionSynced, pailv1.ReasonBackendError, "Written by the stale process.")
	err := status.Patch(ctx, suite.k8s, staleBefore, &stale, staleBefore.Status, stale.Status)
	require.Error(t, err, "a status computed from an older resourceVersion is refused")
	assert.True(t, apierrors.IsConflict(err), "refused as a conflict: %v", err)
	res, quiet := status.Stale(err)
	assert.True(t, quiet, "a stale write requeues without an error")
	assert.Positive(t, res.RequeueAfter)

	var got pailv1.Bucket
	require.NoError(t, suite.k8s.Get(ctx, key, &got))
	c := condition(got.Status.Conditions, pailv1.ConditionSynced)
	require.NotNil(t, c)
	assert.Equal(t, "Written by the newer process.", c.Message, "the newer status survives")

	// A reconcile that patches metadata first (a finalizer, the create
	// intent) writes its status on the resourceVersion that patch returned.
	fresh := got.DeepCopy()
	freshBefore := fresh.DeepCopy()
	require.NoError(t, status.PatchMetadata(ctx, suite.k8s, fresh, func(o *pailv1.Bucket) {
		if o.Annotations == nil {
			o.Annotations = map[string]string{}
		}
		o.Annotations["pail.dev/test"] = "metadata first"
	}))
	status.True(&fresh.Status.Conditions, fresh.Generation, pailv1.ConditionSynced, pailv1.ReasonInSync, "Written after a metadata patch.")
	require.NoError(t, status.Patch(ctx, suite.k8s, freshBefore, fresh, freshBefore.Status, fresh.Status),
		"the reconcile's own metadata patch does not make its status write stale")
	require.NoError(t, suite.k8s.Get(ctx, key, &got))
	assert.Equal(t, "Written after a metadata patch.", condition(got.Status.Conditions, pailv1.ConditionSynced).Message)
	assert.Equal(t, "metadata first", got.Annotations["pail.dev/test"])
}
