// Package policypack loads policy packs that compliance teams ship as
// labelled ConfigMaps, and reloads them without a restart.
package policypack

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/policy"
)

// Label marks a ConfigMap as a policy pack; its value names the pack (the
// ConfigMap's name when empty). Keys ending in .rego are the pack's modules;
// *_test.rego keys are skipped.
const Label = "pail.dev/policy-pack"

// Reconciler keeps the engine's packs in step with the ConfigMaps.
type Reconciler struct {
	Client   client.Client
	Engine   *policy.Engine
	Recorder events.EventRecorder
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
}

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch

// SetupWithManager registers the controller. The manager's cache should
// restrict ConfigMaps to the label (see operator.New), so the operator never
// holds every ConfigMap of the cluster.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.packs = map[types.NamespacedName]string{}
	labelled := predicate.NewPredicateFuncs(func(o client.Object) bool {
		_, ok := o.GetLabels()[Label]
		return ok
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("policypack").
		For(&corev1.ConfigMap{}, builder.WithPredicates(labelled)).
		Complete(r)
}

// Reconcile loads, reloads or unloads one ConfigMap's pack.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cm corev1.ConfigMap
	err := r.Client.Get(ctx, req.NamespacedName, &cm)
	r.mu.Lock()
	prev, had := r.packs[req.NamespacedName]
	r.mu.Unlock()
	if apierrors.IsNotFound(err) || err == nil && (!cm.DeletionTimestamp.IsZero() || !hasLabel(&cm)) {
		if had {
			_ = r.Engine.RemovePack(ctx, prev)
			r.forget(req.NamespacedName)
			r.repack(ctx)
		}
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	name := cm.Labels[Label]
	if name == "" {
		name = cm.Name
	}
	if had && prev != name {
		_ = r.Engine.RemovePack(ctx, prev)
	}
	files := map[string]string{}
	for k, v := range cm.Data {
		if strings.HasSuffix(k, ".rego") && !strings.HasSuffix(k, "_test.rego") {
			files[k] = v
		}
	}
	if len(files) == 0 {
		r.Recorder.Eventf(&cm, nil, corev1.EventTypeWarning, "PackEmpty", "Load", "ConfigMap has the %s label but no .rego keys; nothing loaded", Label)
		return ctrl.Result{}, nil
	}
	r.mu.Lock()
	r.packs[req.NamespacedName] = name
	r.mu.Unlock()
	if err := r.Engine.SetPack(ctx, name, files); err != nil {
		r.Recorder.Eventf(&cm, nil, corev1.EventTypeWarning, "PackBroken", "Load", "Policy pack %s was not loaded, the other packs keep working: %v", name, err)
	} else {
		keys := make([]string, 0, len(files))
		for k := range files {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		r.Recorder.Eventf(&cm, nil, corev1.EventTypeNormal, "PackLoaded", "Load", "Loaded policy pack %s (%s)", name, strings.Join(keys, ", "))
	}
	r.repack(ctx)
	return ctrl.Result{}, nil
}

func hasLabel(cm *corev1.ConfigMap) bool { _, ok := cm.Labels[Label]; return ok }

func (r *Reconciler) forget(k types.NamespacedName) {
	r.mu.Lock()
	delete(r.packs, k)
	r.mu.Unlock()
}

// repack queues every object the packs check (each BucketPolicy, each
// AccessKey with an identity policy, each Bucket with an inline policy) for
// evaluation against the new packs.
func (r *Reconciler) repack(ctx context.Context) {
	var objs []event.GenericEvent
	if r.Repack != nil {
		var list pailv1.BucketPolicyList
		if err := r.Client.List(ctx, &list); err == nil {
			for i := range list.Items {
				objs = append(objs, event.GenericEvent{Object: &list.Items[i]})
			}
		}
	}
	var keys []event.GenericEvent
	if r.RepackAccessKeys != nil {
		var list pailv1.AccessKeyList
		if err := r.Client.List(ctx, &list); err == nil {
			for i := range list.Items {
				if s := list.Items[i].Spec; s.Policy != nil || len(s.Buckets) > 0 {
					keys = append(keys, event.GenericEvent{Object: &list.Items[i]})
				}
			}
		}
	}
	var buckets []event.GenericEvent
	if r.RepackBuckets != nil {
		var list pailv1.BucketList
		if err := r.Client.List(ctx, &list); err == nil {
			for i := range list.Items {
				if list.Items[i].Spec.Policy != nil {
					buckets = append(buckets, event.GenericEvent{Object: &list.Items[i]})
				}
			}
		}
	}
	go func() {
		for _, e := range objs {
			r.Repack <- e
		}
		for _, e := range keys {
			r.RepackAccessKeys <- e
		}
		for _, e := range buckets {
			r.RepackBuckets <- e
		}
	}()
}

// String names the packs this controller loaded, for logs.
func (r *Reconciler) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.packs)
}
