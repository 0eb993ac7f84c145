// Package accesskey reconciles AccessKeys: a provider user with an identity
// policy and tags, and one access key kept in a Secret and rotated with
// overlap.
//
// Crash safety rests on one rule: the Secret is the record of which keys
// exist. A new key's secret is stored in the same Secret update that makes
// it current, so after a crash at any point every key at the provider is
// either in the Secret (and kept) or not (and deleted, since its secret is
// gone for good). A key in the Secret is deleted only after its replacement
// is stored there and its retention has passed. At most two keys exist at
// once, which fits AWS's limit.
package accesskey

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

const (
	indexProvider = "pail.dev/accesskey-provider"
	indexUser     = "pail.dev/accesskey-user"
)

// DefaultRetention is how long a previous key lives when spec.rotation.retention is empty.
const DefaultRetention = 24 * time.Hour

// Reconciler manages AccessKeys.
type Reconciler struct {
	Client client.Client
	// Reader reads Secrets uncached: the protocol must never act on a stale
	// copy of the key record (it would delete the key it just stored).
	Reader    client.Reader
	Scheme    *runtime.Scheme
	Connector *connect.Connector
	Engine    *policy.Engine
	Recorder  events.EventRecorder
	Metrics   *metrics.Metrics
	// ResyncPeriod re-observes a Ready AccessKey (policy drift, usage).
	ResyncPeriod            time.Duration
	MaxConcurrentReconciles int
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Repack receives an event per AccessKey when the policy packs change.
	Repack chan event.GenericEvent
}

// +kubebuilder:rbac:groups=pail.dev,resources=accesskeys,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=accesskeys/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=accesskeys/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;update;patch;delete

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.ResyncPeriod == 0 {
		r.ResyncPeriod = 10 * time.Minute
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.MaxConcurrentReconciles == 0 {
		r.MaxConcurrentReconciles = 4
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pailv1.AccessKey{}, indexProvider, func(o client.Object) []string {
		return []string{o.(*pailv1.AccessKey).Spec.ProviderRef.Name}
	}); err != nil {
		return err
	}
	// Cluster-wide by user name alone: whether two AccessKeys reach the same
	// user also depends on where their Providers point, which an index
	// function cannot see; userOwner compares the locations.
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pailv1.AccessKey{}, indexUser, func(o client.Object) []string {
		return []string{UserName(o.(*pailv1.AccessKey))}
	}); err != nil {
		return err
	}
	if err := indexInputs(mgr); err != nil {
		return err
	}
	return r.watchInputs(ctrl.NewControllerManagedBy(mgr).
		For(&pailv1.AccessKey{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, status.Deleting()))).
		Watches(&pailv1.Provider{}, handler.EnqueueRequestsFromMapFunc(r.forProvider), builder.WithPredicates(connect.ReadinessChanged()))).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: r.MaxConcurrentReconciles,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](500*time.Millisecond, 2*time.Minute),
		}).
		Complete(r)
}

func (r *Reconciler) forProvider(ctx context.Context, o client.Object) []reconcile.Request {
	var list pailv1.AccessKeyList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexProvider: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, ak := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ak.Namespace, Name: ak.Name}})
	}
	return out
}

// Reconcile drives one AccessKey.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ak pailv1.AccessKey
	if err := r.Client.Get(ctx, req.NamespacedName, &ak); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if msg := ak.DecodeError(); msg != "" {
		return ctrl.Result{}, status.Unreadable(ctx, r.Client, r.Recorder, &ak, &ak.Status.Conditions, &ak.Status.ObservedGeneration, "AccessKey", msg)
	}
	before := ak.DeepCopy()
	var res ctrl.Result
	var err error
	if ak.DeletionTimestamp.IsZero() {
		res, err = r.sync(ctx, &ak)
	} else {
		res, err = r.finalize(ctx, &ak)
		if err == nil && !controllerutil.ContainsFinalizer(&ak, pailv1.AccessKeyFinalizer) {
			return res, nil // gone: no status to write
		}
	}
	if after, wait := connect.Waiting(err); wait {
		// The Provider's driver is loading (after a restart): keep the
		// state the AccessKey had.
		return ctrl.Result{RequeueAfter: after}, nil
	}
	if perr := status.Patch(ctx, r.Client, before, &ak, before.Status, ak.Status); perr != nil {
		if res, stale := status.Stale(perr); stale {
			return res, nil
		}
		return ctrl.Result{}, errors.Join(err, fmt.Errorf("write AccessKey status: %w", perr))
	}
	return res, err
}

// UserName is spec.userName, else the name recorded in status, else one
// derived from namespace, name and UID: stable across restarts even if the
// status write that records it is lost.
func UserName(ak *pailv1.AccessKey) string {
	if ak.Spec.UserName != "" {
		return ak.Spec.UserName
	}
	if ak.Status.UserName != "" {
		return ak.Status.UserName
	}
	clean := func(s string) string {
		return strings.Map(func(c rune) rune {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("+=,.@_-", c):
				return c
			}
			return '-'
		}, s)
	}
	uid := strings.ReplaceAll(string(ak.UID), "-", "")
	if len(uid) > 8 {
		uid = uid[:8]
	}
	base := clean("pail-" + ak.Namespace + "-" + ak.Name)
	if max := 64 - len(uid) - 1; len(base) > max {
		base = base[:max]
	}
	return base + "-" + uid
}

func (r *Reconciler) notReady(ak *pailv1.AccessKey, reason, msg string) {
	status.False(&ak.Status.Conditions, ak.Generation, pailv1.ConditionReady, reason, msg)
}

// event records a Kubernetes event; messages carry key ids, never secrets.
func (r *Reconciler) event(ak *pailv1.AccessKey, typ, reason, action, format string, a ...any) {
	r.Recorder.Eventf(ak, nil, typ, reason, action, format, a...)
}

func (r *Reconciler) sync(ctx context.Context, ak *pailv1.AccessKey) (ctrl.Result, error) {
	gen := ak.Generation
	conds := &ak.Status.Conditions
	ak.Status.ObservedGeneration = gen
	user := UserName(ak)
	ak.Status.UserName = user
	ak.Status.SecretName = secretName(ak)
	if msg := specError(ak); msg != "" {
		if c := meta.FindStatusCondition(*conds, pailv1.ConditionReady); c == nil || c.Message != msg {
			r.event(ak, corev1.EventTypeWarning, pailv1.ReasonInvalidSpec, "Validate", "%s", msg)
		}
		r.notReady(ak, pailv1.ReasonInvalidSpec, msg)
		return ctrl.Result{}, nil // a fix changes the generation, which reconciles again
	}

	p, conn, nr, err := r.Connector.Ready(ctx, r.Client, ak.Namespace, ak.Spec.ProviderRef.Name, "AccessKey")
	if nr != nil {
		status.False(conds, gen, pailv1.ConditionProviderReady, nr.Reason, nr.Message)
		r.notReady(ak, nr.Reason, nr.Message)
	}
	if err != nil || nr != nil {
		return ctrl.Result{}, err
	}
	status.True(conds, gen, pailv1.ConditionProviderReady, pailv1.ReasonProviderReady, fmt.Sprintf("Provider %s is Ready.", p.Name))
	loc, stop := r.checkLocation(ak, p, user)
	if stop {
		return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
	}
	// Two AccessKeys on one user would each delete the keys the other's
	// Secret holds: the one that holds the user (else the earlier one)
	// keeps it, in any namespace; the other waits.
	if other, err := r.userOwner(ctx, ak, user, loc); err != nil {
		return ctrl.Result{}, err
	} else if other != "" {
		msg := fmt.Sprintf("AccessKey %s already manages user %s at %s; this one changes and deletes nothing there while it does. Give this AccessKey another spec.userName.", other, user, loc.Endpoint)
		if c := meta.FindStatusCondition(*conds, pailv1.ConditionConflict); c == nil || c.Message != msg {
			r.event(ak, corev1.EventTypeWarning, pailv1.ReasonUserConflict, "Validate", "%s", msg)
		}
		status.True(conds, gen, pailv1.ConditionConflict, pailv1.ReasonUserConflict, msg)
		r.notReady(ak, pailv1.ReasonUserConflict, msg)
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	meta.RemoveStatusCondition(conds, pailv1.ConditionConflict)
	info := conn.Driver.Describe()
	ud, ok := conn.Driver.(driver.UserDriver)
	if !ok || !info.Supports(abi.CapAccessKeys) {
		msg := fmt.Sprintf("Driver %s cannot manage users and access keys; use a Provider whose driver declares the %s capability.", info.Name, abi.CapAccessKeys)
		status.True(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonUnsupported, msg)
		r.notReady(ak, pailv1.ReasonUnsupported, msg)
		return ctrl.Result{}, nil
	}

	// The policy is checked before anything is created.
	buckets, err := bucketNames(ctx, r.Client, ak)
	var refErr *BucketRefError
	if errors.As(err, &refErr) {
		msg := refErr.Error() + "; the AccessKey proceeds once it does."
		r.notReady(ak, pailv1.ReasonBucketRefNotFound, msg)
		return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	doc, err := Document(ak, buckets)
	if err != nil {
		msg := status.Sentence(err.Error())
		status.False(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyNotJSON, msg)
		r.notReady(ak, pailv1.ReasonPolicyNotJSON, msg)
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	if stop, res := r.validate(ctx, ak, user, doc, info.Name); stop {
		return res, nil
	}

	var unsupported []string
	if doc != "" && !info.Supports(abi.CapInlinePolicy) {
		unsupported = append(unsupported, "an identity policy (spec.policy, spec.buckets)")
	}
	if len(ak.Spec.Tags) > 0 && !info.Supports(abi.CapUserTags) {
		unsupported = append(unsupported, "user tags (spec.tags)")
	}
	if len(unsupported) > 0 {
		status.True(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonUnsupported,
			fmt.Sprintf("Driver %s cannot apply %s; remove it from the spec. The rest is applied.", info.Name, strings.Join(unsupported, " or ")))
	} else {
		status.False(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonAllSupported, "The driver supports everything in the spec.")
	}

	if err := r.recordLocation(ctx, ak, loc); err != nil {
		return ctrl.Result{}, err
	}
	if !controllerutil.ContainsFinalizer(ak, pailv1.AccessKeyFinalizer) {
		if err := status.PatchMetadata(ctx, r.Client, ak, func(o *pailv1.AccessKey) { controllerutil.AddFinalizer(o, pailv1.AccessKeyFinalizer) }); err != nil {
			return ctrl.Result{}, err
		}
	}
	cctx := conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
	obs, err := r.syncUser(cctx, ak, ud, conn, info, user, doc)
	if err != nil {
		return ctrl.Result{}, r.backendError(ak, "manage user "+user, err)
	}
	if doc != "" {
		ak.Status.PolicyHash, _ = bucketdiff.PolicyHash([]byte(doc))
	} else {
		ak.Status.PolicyHash = ""
	}
	content := secretContent{Endpoint: p.Spec.Endpoint, Region: p.Spec.Region, Buckets: buckets, User: user}
	after, err := r.syncKeys(cctx, ak, ud, conn.Config, obs.Keys, content)
	if errors.Is(err, errSecretConflict) {
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	if after, ok := asKeysNotReady(err); ok {
		return ctrl.Result{RequeueAfter: after}, nil
	}
	if err != nil {
		return ctrl.Result{}, r.backendError(ak, "manage the keys of user "+user, err)
	}
	status.True(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInSync, fmt.Sprintf("User %s, its policy, tags and keys match the spec.", user))
	if len(unsupported) > 0 {
		r.notReady(ak, pailv1.ReasonUnsupported, meta.FindStatusCondition(*conds, pailv1.ConditionUnsupported).Message)
	} else {
		status.True(conds, gen, pailv1.ConditionReady, pailv1.ReasonAvailable, fmt.Sprintf("Key %s of user %s is in Secret %s.", ak.Status.AccessKeyID, user, ak.Status.SecretName))
	}
	next := r.ResyncPeriod
	if after > 0 && after < next {
		next = after
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

// validate runs the identity packs. It reports stop when the document is
// denied or cannot be checked; nothing is created then.
func (r *Reconciler) validate(ctx context.Context, ak *pailv1.AccessKey, user, doc, driverName string) (bool, ctrl.Result) {
	gen := ak.Generation
	conds := &ak.Status.Conditions
	if doc == "" {
		status.True(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyAllowed, "No identity policy: the user has no permissions of its own.")
		return false, ctrl.Result{}
	}
	start := time.Now()
	res, err := Check(ctx, r.Engine, ak, user, doc, driverName)
	if r.Metrics != nil {
		r.Metrics.ObservePolicyEvaluation(time.Since(start), len(res.Deny), len(res.Warn))
	}
	if err != nil {
		msg := status.Sentence(fmt.Sprintf("The identity policy cannot be checked: %v", err))
		status.False(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPacksUnavailable, msg)
		r.notReady(ak, pailv1.ReasonPacksUnavailable, msg)
		return true, ctrl.Result{RequeueAfter: 30 * time.Second}
	}
	prev := meta.FindStatusCondition(*conds, pailv1.ConditionPolicyValid)
	if len(res.Deny) > 0 {
		msg := fmt.Sprintf("The policy packs deny the identity policy, so nothing is applied: %s.", status.Summarize(res.Deny, ""))
		if prev == nil || prev.Message != msg {
			r.event(ak, corev1.EventTypeWarning, pailv1.ReasonPolicyDenied, "Validate", "%s", msg)
		}
		status.False(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyDenied, msg)
		r.notReady(ak, pailv1.ReasonPolicyDenied, msg)
		return true, ctrl.Result{}
	}
	if len(res.Warn) > 0 {
		msg := status.Sentence(fmt.Sprintf("The policy packs allow the identity policy, with warnings: %s", status.Summarize(res.Warn, "")))
		if prev == nil || prev.Message != msg {
			r.event(ak, corev1.EventTypeWarning, pailv1.ReasonPolicyWarnings, "Validate", "%s", msg)
		}
		status.True(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyWarnings, msg)
	} else {
		status.True(conds, gen, pailv1.ConditionPolicyValid, pailv1.ReasonPolicyAllowed, "Every selected policy pack allows the identity policy.")
	}
	return false, ctrl.Result{}
}

// syncUser creates the user and writes its policy and tags where they differ
// from what the provider holds. It returns the observation, with the keys.
func (r *Reconciler) syncUser(ctx context.Context, ak *pailv1.AccessKey, ud driver.UserDriver, conn *connect.Connection, info abi.DriverInfo, user, doc string) (abi.UserObservation, error) {
	observe := []string{abi.UserKeys}
	if info.Supports(abi.CapInlinePolicy) {
		observe = append(observe, abi.UserPolicy)
	}
	if info.Supports(abi.CapUserTags) {
		observe = append(observe, abi.UserTags)
	}
	if info.Supports(abi.CapKeyLastUsed) {
		observe = append(observe, abi.UserLastUsed)
	}
	// The policy is read by the name the host gives it: the user's name.
	obs, err := ud.ObserveUser(ctx, conn.Config, abi.UserArgs{Name: user, Observe: observe, Policy: &abi.UserPolicyDoc{Name: user}})
	if err != nil {
		return obs, err
	}
	args := abi.UserArgs{Name: user, Create: !obs.Exists}
	var what []string
	if info.Supports(abi.CapInlinePolicy) {
		have := ""
		if obs.Policy != nil {
			have = obs.Policy.Document
		}
		if !bucketdiff.SamePolicy(doc, have) {
			args.Policy = &abi.UserPolicyDoc{Name: user, Document: doc}
			what = append(what, "policy")
		}
	}
	if info.Supports(abi.CapUserTags) {
		var have map[string]string
		if obs.Tags != nil {
			have = obs.Tags.Tags
		}
		if want := userTags(ak); !maps.Equal(have, want) {
			args.Tags = &abi.Tagging{Tags: want}
			what = append(what, "tags")
		}
	}
	if !args.Create && len(what) == 0 {
		return obs, nil
	}
	if err := ud.ApplyUser(ctx, conn.Config, args); err != nil {
		return obs, err
	}
	if args.Create {
		r.event(ak, corev1.EventTypeNormal, pailv1.ReasonUserCreated, "Create", "Created user %s", user)
		obs.Exists, obs.Keys = true, nil
	}
	if len(what) > 0 {
		r.event(ak, corev1.EventTypeNormal, pailv1.ReasonApplied, "Apply", "Applied the %s of user %s", strings.Join(what, " and "), user)
	}
	return obs, nil
}

// backendError records a failed driver call and returns the error for the
// workqueue's backoff, or a terminal error for one a retry cannot fix.
func (r *Reconciler) backendError(ak *pailv1.AccessKey, what string, err error) error {
	gen := ak.Generation
	msg := fmt.Sprintf("Could not %s: %v", what, err)
	if prev := meta.FindStatusCondition(ak.Status.Conditions, pailv1.ConditionReady); prev == nil || prev.Reason != pailv1.ReasonBackendError {
		// Once per transition: the retries that follow only back off.
		r.event(ak, corev1.EventTypeWarning, pailv1.ReasonBackendError, "Sync", "%s", msg)
	}
	status.False(&ak.Status.Conditions, gen, pailv1.ConditionSynced, pailv1.ReasonBackendError, msg)
	r.notReady(ak, pailv1.ReasonBackendError, msg)
	switch abi.CodeOf(err) {
	case abi.CodeInvalidArgument, abi.CodeUnimplemented:
		return reconcile.TerminalError(err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (r *Reconciler) finalize(ctx context.Context, ak *pailv1.AccessKey) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(ak, pailv1.AccessKeyFinalizer) {
		return ctrl.Result{}, nil
	}
	gen := ak.Generation
	user := UserName(ak)
	release := func() (ctrl.Result, error) {
		return ctrl.Result{}, status.PatchMetadata(ctx, r.Client, ak, func(o *pailv1.AccessKey) { controllerutil.RemoveFinalizer(o, pailv1.AccessKeyFinalizer) })
	}
	if !established(ak) {
		// No location was recorded, and it is recorded before the first
		// write: Pail created nothing for this AccessKey, and a user of
		// that name belongs to someone else.
		r.event(ak, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left user %s alone: this AccessKey never created or took it", user)
		return release()
	}
	if ak.Spec.DeletionPolicy == pailv1.DeletionRetain {
		if err := r.orphanSecret(ctx, ak); err != nil {
			return ctrl.Result{}, err
		}
		r.event(ak, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left user %s, its keys and Secret %s in place (deletionPolicy Retain)", user, secretName(ak))
		return release()
	}
	p, conn, nr, err := r.Connector.Ready(ctx, r.Client, ak.Namespace, ak.Spec.ProviderRef.Name, "AccessKey")
	if nr != nil && nr.Reason == pailv1.ReasonProviderNotFound {
		// Nothing can reach the user any more; keeping the AccessKey would
		// only block its namespace.
		r.event(ak, corev1.EventTypeWarning, pailv1.ReasonProviderNotFound, "Delete", "Provider %s is gone, so user %s and its keys could not be deleted; delete them at the provider", ak.Spec.ProviderRef.Name, user)
		return release()
	}
	if nr != nil {
		msg := "Cannot delete the user while its Provider is not Ready: " + nr.Message
		status.False(&ak.Status.Conditions, gen, pailv1.ConditionReady, pailv1.ReasonDeleting, msg)
		return ctrl.Result{RequeueAfter: 15 * time.Second}, err
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	loc, stop := r.checkLocation(ak, p, user)
	if stop {
		return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
	}
	if other, err := r.userOwner(ctx, ak, user, loc); err != nil {
		return ctrl.Result{}, err
	} else if other != "" {
		// The user is another AccessKey's: deleting it would take that
		// one's live keys with it.
		r.event(ak, corev1.EventTypeNormal, pailv1.ReasonRetained, "Delete", "Left user %s alone: AccessKey %s manages it", user, other)
		return release()
	}
	ud, ok := conn.Driver.(driver.UserDriver)
	if !ok || !conn.Driver.Describe().Supports(abi.CapAccessKeys) {
		return release() // it never created anything
	}
	cctx := conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
	obs, err := ud.ObserveUser(cctx, conn.Config, abi.UserArgs{Name: user, Observe: []string{abi.UserKeys}})
	if err != nil {
		return ctrl.Result{}, r.backendError(ak, "observe user "+user+" for deletion", err)
	}
	if obs.Exists {
		// Only keys Pail recorded creating for this AccessKey are deleted;
		// a user holding any other key stays, with that key.
		foreign, wait, err := r.deleteOwnKeys(cctx, ak, ud, conn.Config, user, obs.Keys)
		if err != nil {
			return ctrl.Result{}, r.backendError(ak, "delete the keys of user "+user, err)
		}
		if wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
		if len(foreign) > 0 {
			r.event(ak, corev1.EventTypeWarning, pailv1.ReasonRetained, "Delete", "Left user %s in place: it holds key(s) %s that Pail did not record creating for this AccessKey; delete them and the user at the provider if no one uses them", user, strings.Join(foreign, ", "))
		} else {
			if err := ud.DeleteUser(cctx, conn.Config, abi.UserArgs{Name: user, Policy: &abi.UserPolicyDoc{Name: user}}); err != nil {
				return ctrl.Result{}, r.backendError(ak, "delete user "+user, err)
			}
			r.event(ak, corev1.EventTypeNormal, pailv1.ReasonUserDeleted, "Delete", "Deleted user %s", user)
		}
	}
	var s corev1.Secret
	err = r.Reader.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: secretName(ak)}, &s)
	if err == nil && metav1.IsControlledBy(&s, ak) {
		if err := r.Client.Delete(ctx, &s); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
	} else if client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, err
	}
	return release()
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
