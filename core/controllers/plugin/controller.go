package plugin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/registry"
)

// Event reasons on plugin ConfigMaps.
const (
	ReasonLoaded  = "PluginLoaded"
	ReasonInvalid = "PluginInvalid"
	ReasonRefused = "PluginRefused"
	ReasonFailed  = "PluginFailed"
)

// Reconciler installs the plugin of each labelled ConfigMap in the
// operator's namespace.
type Reconciler struct {
	// Cache holds only plugin ConfigMaps of the operator's namespace: a
	// plugin runs code in the operator, so tenants' namespaces are never read.
	Cache    cache.Cache
	Client   client.Client
	Registry *registry.Registry
	Recorder events.EventRecorder
	// Recheck receives, per kind (connect.Kinds), the Providers and
	// ClusterProviders of a driver that changed.
	Recheck map[string]chan event.GenericEvent

	mu        sync.Mutex
	installed map[client.ObjectKey]string // ConfigMap → plugin name
	announced map[client.ObjectKey]string // ConfigMap → sha256 announced as loaded
	// requested is the manifest last handed to the registry per ConfigMap:
	// while it compiles, the controller polls its state instead of reading
	// and hashing a multi-MB module again every half second.
	requested map[client.ObjectKey]registry.Plugin
}

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=pail.dev,resources=providers,verbs=get;list;watch
// +kubebuilder:rbac:groups=pail.dev,resources=clusterproviders,verbs=get;list;watch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.installed = map[client.ObjectKey]string{}
	r.announced = map[client.ObjectKey]string{}
	r.requested = map[client.ObjectKey]registry.Plugin{}
	return ctrl.NewControllerManagedBy(mgr).
		Named("plugin").
		WatchesRawSource(source.Kind(r.Cache, &corev1.ConfigMap{}, &handler.TypedEnqueueRequestForObject[*corev1.ConfigMap]{})).
		Complete(r)
}

// Reconcile installs, upgrades or uninstalls one ConfigMap's plugin.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cm corev1.ConfigMap
	if err := r.Cache.Get(ctx, req.NamespacedName, &cm); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		if name := r.installed[req.NamespacedName]; name != "" {
			r.Registry.Uninstall(name) //nolint:contextcheck // the registry closes a retired driver minutes later, after this reconcile
			delete(r.installed, req.NamespacedName)
			delete(r.announced, req.NamespacedName)
			delete(r.requested, req.NamespacedName)
			log.FromContext(ctx).Info("driver plugin unloaded", "driver", name)
			r.recheck(ctx, name)
		}
		return ctrl.Result{}, nil
	}
	p, err := Parse(&cm)
	if err != nil {
		r.Recorder.Eventf(&cm, nil, corev1.EventTypeWarning, ReasonInvalid, "Load", "The plugin manifest is invalid, so nothing changed: %v", err)
		return ctrl.Result{}, nil
	}
	if prev := r.installed[req.NamespacedName]; prev != "" && prev != p.Name {
		r.Registry.Uninstall(prev) //nolint:contextcheck // the registry closes a retired driver minutes later, after this reconcile
		r.recheck(ctx, prev)
	}
	r.installed[req.NamespacedName] = p.Name
	if last, ok := r.requested[req.NamespacedName]; ok && reflect.DeepEqual(last, p) {
		return r.report(ctx, &cm, p), nil
	}
	delete(r.requested, req.NamespacedName)
	if err := r.Registry.Install(p); err != nil { //nolint:contextcheck // compiling runs in the background on the registry's own context
		msg := fmt.Sprintf("Refused driver plugin %s %s, so the serving version (if any) is unchanged: %v", p.Name, p.Version, err)
		if errors.Is(err, registry.ErrSHA256Mismatch) {
			msg += ". Fix data.sha256 or the module."
		}
		r.Recorder.Eventf(&cm, nil, corev1.EventTypeWarning, ReasonRefused, "Load", "%s", msg)
		return ctrl.Result{}, nil
	}
	r.requested[req.NamespacedName] = p
	return r.report(ctx, &cm, p), nil
}

// report turns the registry's state of an installed plugin into events and
// a requeue while it compiles.
func (r *Reconciler) report(ctx context.Context, cm *corev1.ConfigMap, p registry.Plugin) ctrl.Result {
	key := client.ObjectKeyFromObject(cm)
	st, _ := r.Registry.PluginStatus(p.Name)
	switch {
	case st.PendingSHA256 != "":
		// Compiling in the background; look again shortly.
		return ctrl.Result{RequeueAfter: 500 * time.Millisecond}
	case st.ServingSHA256 == p.SHA256:
		if r.announced[key] != p.SHA256 {
			r.announced[key] = p.SHA256
			r.Recorder.Eventf(cm, nil, corev1.EventTypeNormal, ReasonLoaded, "Load", "Driver plugin %s %s serves (sha256 %s)", p.Name, p.Version, p.SHA256[:12])
			r.recheck(ctx, p.Name)
		}
	case st.Err != nil:
		r.Recorder.Eventf(cm, nil, corev1.EventTypeWarning, ReasonFailed, "Load", "Driver plugin %s %s did not load, so the serving version (if any) is unchanged: %v", p.Name, p.Version, st.Err)
	}
	return ctrl.Result{}
}

// recheck asks the Provider controllers to check every Provider and
// ClusterProvider of driver now, so a new version or a missing driver
// shows at once.
func (r *Reconciler) recheck(ctx context.Context, driver string) {
	for _, kind := range connect.Kinds {
		ch := r.Recheck[kind]
		if ch == nil {
			continue
		}
		list := connect.NewList(kind)
		if err := r.Client.List(ctx, list); err != nil {
			log.FromContext(ctx).Error(err, "list to recheck", "kind", kind, "driver", driver)
			continue
		}
		for _, p := range connect.Items(list) {
			if p.ProviderSpec().Driver != driver {
				continue
			}
			ev := event.GenericEvent{Object: p}
			select {
			case ch <- ev:
			default:
				go func() { ch <- ev }()
			}
		}
	}
}

var _ reconcile.Reconciler = (*Reconciler)(nil)
