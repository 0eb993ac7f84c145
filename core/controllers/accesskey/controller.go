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
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/policy"
)

const (
	indexUser = "pail.dev/accesskey-user"
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
	// SlowRetry schedules the retries of errors in the backend's state
	// (AccessDenied); nil uses the skeleton's defaults.
	SlowRetry *managed.SlowRetry

	// The skeleton runs the kind (and serves Reconcile).
	*managed.Reconciler[*pailv1.AccessKey, state]

	// Repack receives an event per AccessKey when the policy packs change.
	Repack chan event.GenericEvent
}

// setup fills the defaults and builds the skeleton; SetupWithManager and
// the decision tests call it.
func (r *Reconciler) setup() {
	managed.Default(&r.ResyncPeriod, 10*time.Minute)
	if r.Now == nil {
		r.Now = time.Now
	}
	managed.Default(&r.MaxConcurrentReconciles, 4)
	r.Reconciler = managed.New(r.Client, r.Recorder, r.kind(), r.SlowRetry)
}

// +kubebuilder:rbac:groups=pail.dev,resources=accesskeys,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=accesskeys/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=accesskeys/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;update;patch;delete

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.setup()
	// Cluster-wide by user name alone: whether two AccessKeys reach the same
	// user also depends on where their Providers point, which an index
	// function cannot see; userOwner compares the locations.
	if err := managed.Index(mgr, &pailv1.AccessKey{}, indexUser, func(ak *pailv1.AccessKey) []string {
		return []string{UserName(ak)}
	}); err != nil {
		return err
	}
	if err := indexInputs(mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&pailv1.AccessKey{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, status.Deleting())))
	newList := func() client.ObjectList { return &pailv1.AccessKeyList{} }
	b = guardrails.WatchDeletes(guardrails.Watch(b, r.Client, newList), r.Client, &pailv1.AccessKey{}, newList)
	return r.watchInputs(managed.WatchProviders(b, r.Client, &pailv1.AccessKeyList{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: r.MaxConcurrentReconciles,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](500*time.Millisecond, 2*time.Minute),
		}).
		Complete(r)
}

// kind describes AccessKeys to the managed skeleton.
func (r *Reconciler) kind() managed.Kind[*pailv1.AccessKey, state] {
	return managed.Kind[*pailv1.AccessKey, state]{
		Name:      "AccessKey",
		Finalizer: pailv1.AccessKeyFinalizer,
		New:       func() *pailv1.AccessKey { return &pailv1.AccessKey{} },
		Start: func(ak *pailv1.AccessKey) *state {
			return &state{deleting: !ak.DeletionTimestamp.IsZero(), user: UserName(ak), now: r.now()}
		},
		Sync:     r.syncPhases(),
		Delete:   r.deletePhases(),
		Report:   report,
		Released: func(s *state) bool { return s.released },
	}
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
	if limit := 64 - len(uid) - 1; len(base) > limit {
		base = base[:limit]
	}
	return base + "-" + uid
}

// eventf records a Kubernetes event; messages carry key ids, never secrets.
func (r *Reconciler) eventf(ak *pailv1.AccessKey, typ, reason, action, format string, a ...any) {
	r.Recorder.Eventf(ak, nil, typ, reason, action, format, a...)
}
