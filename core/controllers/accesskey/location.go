package accesskey

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/managed"
)

// established reports whether Pail has written anything for ak: its
// location is recorded before the first write. An AccessKey from before
// locations were recorded shows it by the key id in its status.
func established(ak *pailv1.AccessKey) bool {
	return ak.Status.Location != nil || ak.Status.AccessKeyID != ""
}

// checkLocation finds where ak's user lives: the recorded location, else
// (nothing written yet, or an AccessKey from before locations were
// recorded) where the Provider points now. It stops, sync or delete, when
// the Provider points somewhere other than the record: a user of the same
// name there is not the one Pail created.
func (r *Reconciler) checkLocation(_ context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	cur := connect.LocationOf(s.p)
	rec := ak.Status.Location
	if rec == nil {
		s.loc = cur
		return managed.Next, nil
	}
	moved, what := connect.Moved(*rec, cur)
	if !moved {
		s.loc = connect.Backfill(*rec, cur)
		loc := s.loc
		ak.Status.Location = &loc
		return managed.Next, nil
	}
	s.loc = *rec
	msg := fmt.Sprintf("%s no longer points where user %s was created: %s. Pail writes to and deletes no user elsewhere; point the Provider back at %s, or create a new AccessKey for the new location (to delete this one without touching either, set its spec.deletionPolicy to Retain).", s.p.Reference(), s.user, what, rec.Endpoint)
	if managed.Transition(ak.Status.Conditions, pailv1.ConditionReady, pailv1.ReasonLocationChanged, msg) {
		r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonLocationChanged, "Validate", "%s", msg)
	}
	s.verdict = managed.NotSynced(pailv1.ReasonLocationChanged, msg)
	return managed.Stop(r.ResyncPeriod), nil
}

// recordLocation stores loc in the status before the first write to the
// user, so that a crash right after the write still leaves the record.
func (r *Reconciler) recordLocation(ctx context.Context, ak *pailv1.AccessKey, loc pailv1.Location) error {
	if ak.Status.Location != nil {
		return nil
	}
	base := ak.DeepCopy()
	cp := ak.DeepCopy()
	cp.Status.Location = &loc
	if err := r.Client.Status().Patch(ctx, cp, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("record the location of user %s: %w", UserName(ak), err)
	}
	ak.Status.Location = &loc
	ak.SetResourceVersion(cp.GetResourceVersion())
	return nil
}

// userOwner returns namespace/name of another AccessKey, in any namespace,
// that manages the same user at the same location and comes first: one that
// Pail has written for beats one it has not (so an old, idle AccessKey whose
// Provider is re-pointed cannot take a user over), then the earlier-created
// one wins. "" means ak may manage the user.
func (r *Reconciler) userOwner(ctx context.Context, ak *pailv1.AccessKey, user string, loc pailv1.Location) (string, error) {
	var list pailv1.AccessKeyList
	if err := r.Client.List(ctx, &list, client.MatchingFields{indexUser: user}); err != nil {
		return "", err
	}
	for i := range list.Items {
		o := &list.Items[i]
		if o.UID == ak.UID || UserName(o) != user || !before(o, ak) {
			continue
		}
		oloc, ok, err := r.locationOf(ctx, o)
		if err != nil {
			return "", err
		}
		if moved, _ := connect.Moved(oloc, loc); ok && !moved {
			return o.Namespace + "/" + o.Name, nil
		}
	}
	return "", nil
}

// before orders two AccessKeys on one user: established first, then by
// creation time, then by namespace and name.
func before(a, b *pailv1.AccessKey) bool {
	if ea, eb := established(a), established(b); ea != eb {
		return ea
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// locationOf is another AccessKey's recorded location, else where its
// Provider points now; ok is false when it has neither.
func (r *Reconciler) locationOf(ctx context.Context, ak *pailv1.AccessKey) (pailv1.Location, bool, error) {
	if ak.Status.Location != nil {
		return *ak.Status.Location, true, nil
	}
	p, err := connect.Lookup(ctx, r.Client, ak.Namespace, ak.Spec.ProviderRef)
	if apierrors.IsNotFound(err) {
		return pailv1.Location{}, false, nil
	}
	if err != nil {
		return pailv1.Location{}, false, fmt.Errorf("read %s of AccessKey %s/%s: %w", ak.Spec.ProviderRef, ak.Namespace, ak.Name, err)
	}
	return connect.LocationOf(p), true, nil
}

// specError names the first spec field the apiserver should have refused
// (an object stored before the CRD checked it), or returns "".
func specError(ak *pailv1.AccessKey) string {
	ro := ak.Spec.Rotation
	if ro == nil {
		return ""
	}
	for _, f := range []struct {
		name string
		d    *pailv1.Duration
		min  time.Duration
	}{
		{"spec.rotation.interval", ro.Interval, pailv1.MinRotationInterval},
		{"spec.rotation.retention", ro.Retention, pailv1.MinRetention},
	} {
		if f.d == nil {
			continue
		}
		if err := f.d.Err(); err != nil {
			return fmt.Sprintf("%s is invalid: %v; nothing is changed at the provider until it is fixed.", f.name, err)
		}
		if f.d.Duration < f.min {
			return fmt.Sprintf("%s is %s, below the minimum of %s; nothing is changed at the provider until it is fixed.", f.name, f.d.Raw(), f.min)
		}
	}
	return ""
}
