package accesskey

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/abi"
)

// createKey creates a key (due says why) and stores it in the Secret. The
// intent goes into the Secret first, so that a crash before the key is
// stored leaves a key Pail can prove is its own; the key's secret and its
// promotion to current go in one Secret update.
func (r *Reconciler) createKey(ctx context.Context, ak *pailv1.AccessKey, s *state, due string) error {
	cctx, pc, user, now := r.callContext(ctx, s), s.conn.Config, s.user, s.now
	log.FromContext(ctx).Info("creating access key", "user", user, "due", due)
	rec := s.rec
	rec.Pending = &pendingCreate{Since: now, Before: slices.Sorted(maps.Keys(s.at))}
	if err := r.writeSecret(ctx, ak, s, rec); err != nil {
		return err
	}
	nk, err := s.ud.CreateAccessKey(cctx, pc, abi.AccessKeyArgs{User: user})
	if err != nil {
		if notCreated(err) {
			rec.Pending = nil
			_ = r.writeSecret(ctx, ak, s, rec) // else the next reconcile resolves it
		}
		return err
	}
	created := nk.Created
	if created.IsZero() {
		created = now
	}
	next := rec
	next.Pending = nil
	next.Current = keyPair{ID: nk.ID, Secret: nk.Secret.Reveal()}
	next.Created = created
	next.Trigger = trigger(ak)
	if due != dueCreate {
		next.Previous = rec.Current
		next.PreviousExpires = now.Add(retention(ak))
	}
	if err := r.writeSecret(ctx, ak, s, next); err != nil {
		// Nothing else holds this key's secret: delete the key now rather
		// than leave it. (After a crash here, the pending create in the
		// Secret lets cleanupKeys do it.)
		if derr := s.ud.DeleteAccessKey(cctx, pc, abi.AccessKeyArgs{User: user, ID: nk.ID}); derr == nil {
			return fmt.Errorf("store key %s in Secret %s (the key was deleted again): %w", nk.ID, s.secret.obj.Name, err)
		}
		return fmt.Errorf("store key %s in Secret %s: %w", nk.ID, s.secret.obj.Name, err)
	}
	log.FromContext(ctx).Info("stored access key", "user", user, "key", nk.ID, "secret", s.secret.obj.Name)
	s.at[nk.ID] = abi.AccessKeyInfo{ID: nk.ID, Status: abi.KeyActive, Created: created}
	if due == dueCreate {
		r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonKeyCreated, "Create", "Created key %s for user %s and stored it in Secret %s", nk.ID, user, s.secret.obj.Name)
		r.countRotation("created")
	} else {
		r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonKeyRotated, "Rotate", "Rotated user %s to key %s (%s); previous key %s stays valid until %s", user, nk.ID, due, rec.Current.ID, timeString(next.PreviousExpires))
		ak.Status.LastRotatedAt = metaTime(now)
		r.countRotation("rotated")
	}
	s.rec = next
	return nil
}
