package accesskey

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// deleteRetry is how often a delete waiting for its Provider looks again.
const deleteRetry = 15 * time.Second

// deletePhases are the AccessKey's delete rule, in order: deletionPolicy
// Delete deletes only what Pail created for this AccessKey, where it
// created it, and never a user another AccessKey manages or one holding a
// key Pail did not record creating.
func (r *Reconciler) deletePhases() []managed.Phase[*pailv1.AccessKey, state] {
	return []managed.Phase[*pailv1.AccessKey, state]{
		{Name: "established", Run: r.releaseUnestablished},
		{Name: "policy", Run: r.retainUnlessDelete},
		{Name: "provider", Run: r.deleteProvider},
		{Name: "location", Run: r.checkLocation},
		{Name: "owner", Run: r.releaseOthers},
		{Name: "driver", Run: deleteDriver},
		{Name: "user", Run: r.deleteUser},
		{Name: "secret", Run: r.deleteSecret},
	}
}

// release ends the delete rule: the finalizer may go.
func release(s *state) (managed.Step, error) {
	s.released = true
	return managed.Stop(0), nil
}

// releaseUnestablished: no location was recorded, and it is recorded
// before the first write, so Pail created nothing for this AccessKey and a
// user of that name belongs to someone else.
func (r *Reconciler) releaseUnestablished(_ context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	if established(ak) {
		return managed.Next, nil
	}
	r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left user %s alone: this AccessKey never created or took it", s.user)
	return release(s)
}

// retainUnlessDelete releases an AccessKey whose user is to stay, and
// orphans its Secret so garbage collection leaves the credentials.
func (r *Reconciler) retainUnlessDelete(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	if ak.Spec.DeletionPolicy != pailv1.DeletionRetain {
		return managed.Next, nil
	}
	if err := r.orphanSecret(ctx, ak); err != nil {
		return managed.Stop(0), err
	}
	r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left user %s, its keys and Secret %s in place (deletionPolicy Retain)", s.user, secretName(ak))
	return release(s)
}

// deleteProvider resolves the Provider. When it is gone, nothing can reach
// the user any more, and keeping the AccessKey would only block its
// namespace; while it is not Ready, the delete waits.
func (r *Reconciler) deleteProvider(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	p, conn, nr, err := r.Connector.Ready(ctx, r.Client, ak.Namespace, ak.Spec.ProviderRef, "AccessKey")
	switch {
	case nr != nil && nr.Reason == pailv1.ReasonProviderNotFound:
		r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonProviderNotFound, "Delete", "%s is gone, so user %s and its keys could not be deleted; delete them at the provider", ak.Spec.ProviderRef, s.user)
		return release(s)
	case nr != nil:
		s.verdict = managed.NotReady(pailv1.ReasonDeleting, "Cannot delete the user while its Provider is not Ready: "+nr.Message)
		return managed.Stop(deleteRetry), err
	case err != nil:
		return managed.Stop(0), err
	}
	s.p, s.conn = p, conn
	return managed.Next, nil
}

// releaseOthers: the user is another AccessKey's, and deleting it would
// take that one's live keys with it.
func (r *Reconciler) releaseOthers(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	other, err := r.userOwner(ctx, ak, s.user, s.loc)
	if err != nil || other == "" {
		return managed.Next, err
	}
	r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left user %s alone: AccessKey %s manages it", s.user, other)
	return release(s)
}

// deleteDriver: a driver without users never created anything.
func deleteDriver(_ context.Context, _ *pailv1.AccessKey, s *state) (managed.Step, error) {
	ud, ok := s.conn.Driver.(driver.UserDriver)
	if !ok || !s.conn.Driver.Describe().Supports(abi.CapAccessKeys) {
		return release(s)
	}
	s.ud, s.info = ud, s.conn.Driver.Describe()
	return managed.Next, nil
}

// deleteUser deletes the keys Pail recorded creating for this AccessKey,
// then the user, unless it holds any other key: then it stays, with that
// key.
func (r *Reconciler) deleteUser(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	cctx, user := r.callContext(ctx, s), s.user
	obs, err := s.ud.ObserveUser(cctx, s.conn.Config, abi.UserArgs{Name: user, Observe: []string{abi.UserKeys}})
	if err != nil {
		return managed.Stop(0), r.backendError(ak, s, "observe user "+user+" for deletion", err)
	}
	if !obs.Exists {
		return managed.Next, nil
	}
	foreign, wait, err := r.deleteOwnKeys(cctx, ak, s, obs.Keys)
	switch {
	case err != nil:
		return managed.Stop(0), r.backendError(ak, s, "delete the keys of user "+user, err)
	case wait > 0:
		return managed.Stop(wait), nil
	case len(foreign) > 0:
		r.eventf(ak, corev1.EventTypeWarning, pailv1.ReasonRetained, "Delete", "Left user %s in place: it holds key(s) %s that Pail did not record creating for this AccessKey; delete them and the user at the provider if no one uses them", user, strings.Join(foreign, ", "))
		return managed.Next, nil
	}
	if err := s.ud.DeleteUser(cctx, s.conn.Config, abi.UserArgs{Name: user, Policy: &abi.UserPolicyDoc{Name: user}}); err != nil {
		return managed.Stop(0), r.backendError(ak, s, "delete user "+user, err)
	}
	r.eventf(ak, corev1.EventTypeNormal, pailv1.ReasonUserDeleted, "Delete", "Deleted user %s", user)
	return managed.Next, nil
}

// deleteSecret deletes the Secret when this AccessKey controls it, and
// ends the delete rule.
func (r *Reconciler) deleteSecret(ctx context.Context, ak *pailv1.AccessKey, s *state) (managed.Step, error) {
	var sec corev1.Secret
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: secretName(ak)}, &sec)
	switch {
	case err == nil && metav1.IsControlledBy(&sec, ak):
		if err := r.Client.Delete(ctx, &sec); client.IgnoreNotFound(err) != nil {
			return managed.Stop(0), err
		}
	case client.IgnoreNotFound(err) != nil:
		return managed.Stop(0), err
	}
	return release(s)
}

// orphanSecret removes the AccessKey's owner reference from its Secret, so
// garbage collection leaves the credentials in place.
func (r *Reconciler) orphanSecret(ctx context.Context, ak *pailv1.AccessKey) error {
	var s corev1.Secret
	if err := r.Reader.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: secretName(ak)}, &s); err != nil {
		return client.IgnoreNotFound(err)
	}
	refs := s.OwnerReferences[:0]
	for _, o := range s.OwnerReferences {
		if o.UID != ak.UID {
			refs = append(refs, o)
		}
	}
	if len(refs) == len(s.OwnerReferences) {
		return nil
	}
	s.OwnerReferences = refs
	return r.Client.Update(ctx, &s)
}
