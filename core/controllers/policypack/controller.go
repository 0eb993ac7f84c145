// Package policypack loads policy packs that compliance teams ship as
// labelled ConfigMaps, and reloads them without a restart.
package policypack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/pail-dev/pail/core/policy"
)

// Label marks a ConfigMap as a policy pack; its value names the pack (the
// ConfigMap's name when empty). Keys ending in .rego are the pack's modules;
// *_test.rego keys are skipped. Only ConfigMaps in the operator's namespace
// are loaded (Decide).
const Label = "pail.dev/policy-pack"

// ReplaceAnnotation is the annotation that, "true" on a pack ConfigMap in
// the operator's namespace, lets its pack replace the built-in pack of the
// same name.
const ReplaceAnnotation = "pail.dev/replace-builtin"

// Event reasons, on the ConfigMap.
const (
	ReasonLoaded  = "PackLoaded"
	ReasonBroken  = "PackBroken"
	ReasonEmpty   = "PackEmpty"
	ReasonIgnored = "PackIgnored"
	// ReasonRefused: a built-in's name without ReplaceAnnotation, or a
	// call of a denied builtin (policy.DeniedBuiltins).
	ReasonRefused = "PackRefused"
)

// Reconciler keeps the engine's packs in step with the ConfigMaps. It runs
// on every replica, leader or not, so that each replica's webhook judges
// with the same packs.
type Reconciler struct {
	Client   client.Client
	Engine   *policy.Engine
	Recorder events.EventRecorder
	// Namespace is the operator's: the only one whose ConfigMaps are
	// loaded. Labelled ConfigMaps elsewhere get a PackIgnored event.
	Namespace string
	// Repack receives every BucketPolicy when a pack changed, so each is
	// evaluated again against the new rules.
	Repack chan<- event.GenericEvent
	// RepackAccessKeys receives every AccessKey with an identity policy
	// when a pack changed, for the same reason.
	RepackAccessKeys chan<- event.GenericEvent
	// RepackBuckets receives every Bucket with an inline spec.policy when a
	// pack changed, for the same reason.
	RepackBuckets chan<- event.GenericEvent

	mu    sync.Mutex
	packs map[types.NamespacedName]string
	// pending holds at most one repack for the leader to send (repacker).
	pending chan struct{}
}

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch

// SetupWithManager registers the controller. The manager's cache should
// restrict ConfigMaps to the label (see operator.New), so the operator never
// holds every ConfigMap of the cluster. It watches labelled ConfigMaps in
// every namespace, only to tell those outside its own that they are
// ignored.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.packs = map[types.NamespacedName]string{}
	r.pending = make(chan struct{}, 1)
	if err := mgr.Add(&repacker{r: r}); err != nil {
		return err
	}
	labelled := predicate.NewPredicateFuncs(func(o client.Object) bool {
		_, ok := o.GetLabels()[Label]
		return ok
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("policypack").
		For(&corev1.ConfigMap{}, builder.WithPredicates(labelled)).
		WithOptions(controller.Options{NeedLeaderElection: new(false)}).
		Complete(r)
}

// Reconcile loads, reloads or unloads one ConfigMap's pack.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cm corev1.ConfigMap
	err := r.Client.Get(ctx, req.NamespacedName, &cm)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	if apierrors.IsNotFound(err) || !cm.DeletionTimestamp.IsZero() || !hasLabel(&cm) {
		r.unload(ctx, req.NamespacedName)
		return ctrl.Result{}, nil
	}
	d := Decide(&cm, r.Namespace, r.Engine.Builtin)
	if d.Trust == Ignore || d.Trust == Refuse {
		// It may have been loaded before its label, annotation or
		// namespace's standing changed.
		r.unload(ctx, req.NamespacedName)
		r.Recorder.Eventf(&cm, nil, corev1.EventTypeWarning, d.Reason(), "Load", "%s", d.Message)
		return ctrl.Result{}, nil
	}
	r.load(ctx, &cm, d)
	return ctrl.Result{}, nil
}

// load sets the pack of a trusted ConfigMap, and says how it went.
func (r *Reconciler) load(ctx context.Context, cm *corev1.ConfigMap, d Decision) {
	key := client.ObjectKeyFromObject(cm)
	r.mu.Lock()
	prev, had := r.packs[key]
	r.mu.Unlock()
	if had && prev != d.Pack {
		r.unload(ctx, key)
	}
	files := map[string]string{}
	for k, v := range cm.Data {
		if strings.HasSuffix(k, ".rego") && !strings.HasSuffix(k, "_test.rego") {
			files[k] = v
		}
	}
	if len(files) == 0 {
		r.unload(ctx, key)
		r.Recorder.Eventf(cm, nil, corev1.EventTypeWarning, ReasonEmpty, "Load", "ConfigMap has the %s label but no .rego keys; nothing loaded", Label)
		return
	}
	r.mu.Lock()
	r.packs[key] = d.Pack
	r.mu.Unlock()
	err := r.Engine.SetPack(ctx, d.Pack, files)
	kept := ""
	if _, broken := r.Engine.Broken()[d.Pack]; broken && d.Trust == Replace {
		// Not when the pack compiled and only clashed with another one:
		// then it is loaded, and the last good queries serve.
		kept = fmt.Sprintf("; the built-in pack %s stays in force", d.Pack)
	}
	switch {
	case errors.Is(err, policy.ErrDeniedBuiltin):
		r.Recorder.Eventf(cm, nil, corev1.EventTypeWarning, ReasonRefused, "Load", "Policy pack %s was refused, the other packs keep working%s: %v", d.Pack, kept, err)
	case err != nil:
		r.Recorder.Eventf(cm, nil, corev1.EventTypeWarning, ReasonBroken, "Load", "Policy pack %s was not loaded, the other packs keep working%s: %v", d.Pack, kept, err)
	default:
		keys := slices.Sorted(maps.Keys(files))
		replaced := ""
		if d.Trust == Replace {
			replaced = ", replacing the built-in pack"
		}
		r.Recorder.Eventf(cm, nil, corev1.EventTypeNormal, ReasonLoaded, "Load", "Loaded policy pack %s (%s)%s", d.Pack, strings.Join(keys, ", "), replaced)
	}
	r.repack()
}

// unload drops the pack a ConfigMap loaded, if it loaded one; a built-in
// pack it replaced is back at once.
func (r *Reconciler) unload(ctx context.Context, key types.NamespacedName) {
	r.mu.Lock()
	prev, had := r.packs[key]
	delete(r.packs, key)
	r.mu.Unlock()
	if had {
		_ = r.Engine.RemovePack(ctx, prev)
		r.repack()
	}
}

func hasLabel(cm *corev1.ConfigMap) bool { _, ok := cm.Labels[Label]; return ok }

// String names the packs this controller loaded, for logs.
func (r *Reconciler) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.packs)
}
