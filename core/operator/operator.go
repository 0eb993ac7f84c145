// Package operator wires the manager, the wasm host, the driver registry and
// the controllers. The pail binary and the integration tests both use it, so
// tests run exactly what ships.
package operator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/accesskey"
	"github.com/pail-dev/pail/core/controllers/bucket"
	"github.com/pail-dev/pail/core/controllers/bucketpolicy"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/controllers/inuse"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/controllers/plugin"
	"github.com/pail-dev/pail/core/controllers/policypack"
	"github.com/pail-dev/pail/core/controllers/provider"
	"github.com/pail-dev/pail/core/guardrail"
	"github.com/pail-dev/pail/core/logging"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/core/registry"
	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/driver"
)

// Options configure the operator. Zero values take the documented defaults.
type Options struct {
	RestConfig *rest.Config
	// DriverDir holds the built-in drivers as <name>.wasm.
	DriverDir string
	// CacheDir is wazero's compilation cache; keep it private to the operator.
	CacheDir string
	// Preload names drivers to load at start instead of on first use.
	Preload []string
	// Native serves these drivers in-process instead of from wasm.
	Native map[string]driver.Driver
	// PolicyDir holds the built-in policy packs, one directory per pack.
	PolicyDir string

	MetricsAddr, ProbeAddr string
	// MetricsSecure serves the metrics over HTTPS to scrapers whose bearer
	// token the apiserver authenticates and authorizes for GET /metrics
	// (the binary and the chart turn it on); false serves plain HTTP to
	// anyone who reaches the port.
	MetricsSecure bool
	// MetricsCertDir holds tls.crt and tls.key for the secure metrics
	// endpoint; "" serves a self-signed certificate made at start.
	MetricsCertDir string

	// Namespace is the operator's own: the only namespace whose labelled
	// ConfigMaps are loaded as policy packs (those elsewhere get a
	// PackIgnored event), and where a ClusterProvider's Secrets live when
	// it names no spec.secretNamespace. "" means PluginNamespace; when both
	// are "", no ConfigMap pack is loaded, only the built-in ones.
	Namespace string
	// PluginNamespace is where plugin ConfigMaps are read; "" disables
	// plugins from ConfigMaps.
	PluginNamespace string
	// WebhookPort serves the validating webhooks (BucketPolicy, Bucket,
	// AccessKey); 0 disables it.
	WebhookPort int
	// WebhookHost is the address the webhook listens on ("" means all).
	WebhookHost string
	// WebhookCertDir holds tls.crt and tls.key for the webhook.
	WebhookCertDir          string
	LeaderElect             bool
	LeaderElectionNamespace string

	MaxConcurrentReconciles int
	DriverPoolSize          int
	DriverCallTimeout       time.Duration
	BucketResync            time.Duration
	// DriftLoopThreshold corrections of one Bucket within DriftLoopWindow
	// pause writes to it (defaults 5 and 10m; a negative threshold disables).
	DriftLoopThreshold int
	DriftLoopWindow    time.Duration
	BucketRetryMax     time.Duration
	ProviderRecheck    time.Duration
	ProviderRetryBase  time.Duration
	ProviderRetryMax   time.Duration

	// Resolver resolves the hosts drivers call, at dial time, and the
	// addresses below at start; nil is the system's resolver. Tests point
	// it at a DNS server of their own.
	Resolver *net.Resolver
	// DeniedAddresses are host:port addresses no Provider may reach, in
	// addition to the Kubernetes API server (always denied); a name is
	// resolved once, at start.
	DeniedAddresses []string
	// ClusterID names this cluster in the ownership mark on buckets; ""
	// reads the UID of the kube-system Namespace, once, when a Bucket first
	// needs it. Set it only to simulate another cluster (tests).
	ClusterID string

	Logger hclog.Logger
}

// Operator is a configured, not yet started, operator.
type Operator struct {
	Manager  manager.Manager
	Registry *registry.Registry
	Metrics  *metrics.Metrics
	Policy   *policy.Engine
	host     *wasmhost.Host
	log      hclog.Logger
	preload  []string
}

// Scheme returns a scheme with the core kinds and Pail's.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := pailv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// DefaultCacheDir is $XDG_CACHE_HOME/pail/wasm (or ~/.cache/pail/wasm).
func DefaultCacheDir() string {
	if d := os.Getenv("PAIL_WASM_CACHE"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "pail", "wasm")
}

// New builds the operator.
func New(ctx context.Context, o Options) (*Operator, error) {
	if o.RestConfig == nil {
		return nil, errors.New("operator: no rest config")
	}
	o.defaults()
	ctrl.SetLogger(logging.Logr(o.Logger))
	mgr, hookServer, err := newManager(o)
	if err != nil {
		return nil, err
	}
	m, err := metrics.New(nil)
	if err != nil {
		return nil, err
	}
	// Provider readiness is read from the cache at scrape time (alerting).
	if err := metrics.RegisterState(nil, metrics.NewStateCollector(mgr.GetClient())); err != nil {
		return nil, err
	}
	host, reg, err := newRegistry(ctx, o, m)
	if err != nil {
		return nil, err
	}
	// One Provider index for Buckets and AccessKeys, read by their
	// controllers and by in-use protection.
	if err := managed.IndexProviderRefs(mgr); err != nil { //nolint:contextcheck // field indexes are registered with context.Background(), the controller-runtime convention
		return nil, err
	}
	recorder, err := inUse(mgr, o.Namespace)
	if err != nil {
		return nil, err
	}
	denied, err := deniedAddrs(ctx, o)
	if err != nil {
		return nil, err
	}
	cluster, err := newClusterIdentity(mgr.GetAPIReader(), o.ClusterID)
	if err != nil {
		return nil, err
	}
	w := wiring{
		mgr: mgr, metrics: m, registry: reg, recorder: recorder, cluster: cluster,
		conn: &connect.Connector{Reader: mgr.GetAPIReader(), Registry: reg, Meta: mgr.GetClient(),
			Namespace: o.Namespace, Resolver: o.Resolver, Denied: denied,
			Guardrails: func(ctx context.Context, ns string) (guardrail.Rules, error) {
				return guardrails.Rules(ctx, mgr.GetClient(), ns)
			}},
		engine:        newEngine(ctx, o, m),
		recheck:       map[string]chan event.GenericEvent{},
		repack:        make(chan event.GenericEvent, 64),
		repackKeys:    make(chan event.GenericEvent, 64),
		repackBuckets: make(chan event.GenericEvent, 64),
	}
	if err := w.storageControllers(o); err != nil { //nolint:contextcheck // as inUse: SetupWithManager takes no context
		return nil, err
	}
	if err := w.extensionControllers(o); err != nil {
		return nil, err
	}
	if err := w.checks(hookServer); err != nil {
		return nil, err
	}
	return &Operator{Manager: mgr, Registry: reg, Metrics: m, Policy: w.engine, host: host, log: o.Logger, preload: o.Preload}, nil
}

// defaults fills the zero Options with the documented defaults.
func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Namespace == "" {
		o.Namespace = o.PluginNamespace
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Namespace == "" {
		// Callers from before Namespace set only the plugins' namespace,
		// which is the operator's.
		o.Namespace = o.PluginNamespace
	}
	if o.MaxConcurrentReconciles <= 0 {
		o.MaxConcurrentReconciles = 16
	}
	if o.MetricsAddr == "" {
		o.MetricsAddr = "0"
	}
	if o.ProbeAddr == "" {
		o.ProbeAddr = "0"
	}
	if o.DriftLoopThreshold == 0 {
		o.DriftLoopThreshold = 5
	}
	if o.DriftLoopWindow == 0 {
		o.DriftLoopWindow = 10 * time.Minute
	}
}

// newManager builds the controller manager, and the webhook server when
// o serves the webhook (nil otherwise).
func newManager(o Options) (manager.Manager, webhook.Server, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, nil, err
	}
	skip := true
	var hookServer webhook.Server
	if o.WebhookPort > 0 {
		hookServer = webhook.NewServer(webhook.Options{Host: o.WebhookHost, Port: o.WebhookPort, CertDir: o.WebhookCertDir})
	}
	metricsOpts, err := metricsOptions(o)
	if err != nil {
		return nil, nil, err
	}
	mgr, err := ctrl.NewManager(o.RestConfig, ctrl.Options{
		WebhookServer: hookServer,
		Scheme:        scheme,
		NewClient:     newClient,
		// Only labelled ConfigMaps (policy packs) are cached, never all of them.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Label: packSelector()},
		}},
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  o.ProbeAddr,
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        "pail-operator.pail.dev",
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		// Release the lease on shutdown so a standby takes over at once.
		LeaderElectionReleaseOnCancel: true,
		Logger:                        logging.Logr(o.Logger),
		// Tests run several managers in one process.
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("manager: %w", err)
	}
	return mgr, hookServer, nil
}

// newRegistry builds the wasm host and the driver registry over it, with
// the native drivers o names.
func newRegistry(ctx context.Context, o Options, m *metrics.Metrics) (*wasmhost.Host, *registry.Registry, error) {
	hostCfg := wasmhost.NewConfig().
		WithCacheDir(o.CacheDir).
		WithPoolSize(o.DriverPoolSize).
		WithCallTimeout(o.DriverCallTimeout).
		WithLogger(o.Logger).
		WithInstantiateObserver(func(driver string, d time.Duration) {
			m.DriverInstantiateSeconds.WithLabelValues(driver).Observe(d.Seconds())
		})
	host, err := wasmhost.New(hostCfg)
	if err != nil {
		return nil, nil, err
	}
	reg := registry.New(ctx, host, o.DriverDir, m, o.Logger)
	for name, d := range o.Native {
		reg.RegisterNative(name, d)
	}
	return host, reg, nil
}

// newEngine builds the policy engine with the built-in packs. A pack that
// does not compile is left out and counted, not fatal: the others still
// guard every document.
func newEngine(ctx context.Context, o Options, m *metrics.Metrics) *policy.Engine {
	engine := policy.NewEngine()
	engine.OnBroken = func(pack string, err error) {
		m.PolicyPackErrors.WithLabelValues(pack).Inc()
		o.Logger.Error("policy pack does not compile; it is left out", "pack", pack, "error", err)
	}
	if o.PolicyDir != "" {
		if err := engine.LoadDir(ctx, o.PolicyDir); err != nil {
			o.Logger.Warn("no built-in policy packs", "dir", o.PolicyDir, "error", err)
		}
	}
	return engine
}

// wiring is what the controllers share: one connection cache for every
// kind, one policy engine, and the channels by which the plugin and
// policy-pack controllers wake the Providers and the BucketPolicies.
type wiring struct {
	mgr      manager.Manager
	metrics  *metrics.Metrics
	registry *registry.Registry
	conn     *connect.Connector
	engine   *policy.Engine
	// cluster names this cluster in the ownership mark on buckets.
	cluster *clusterIdentity
	// recorder gives each controller its event recorder (inUse).
	recorder func(name string) events.EventRecorder
	// recheck wakes Providers and ClusterProviders, a channel per kind (a
	// plugin changed); repack BucketPolicies, repackKeys AccessKeys and
	// repackBuckets Buckets with an inline policy (the packs changed).
	recheck                           map[string]chan event.GenericEvent
	repack, repackKeys, repackBuckets chan event.GenericEvent
}

// storageControllers registers the controllers of the storage kinds:
// Providers and ClusterProviders, Buckets, BucketPolicies and AccessKeys.
func (w *wiring) storageControllers(o Options) error {
	mgr := w.mgr
	// One Provider check, run once per kind.
	for _, kind := range connect.Kinds {
		w.recheck[kind] = make(chan event.GenericEvent, 64)
		if err := (&provider.Reconciler{
			Kind:                    kind,
			Recheck:                 w.recheck[kind],
			Client:                  mgr.GetClient(),
			Connector:               w.conn,
			Recorder:                w.recorder("pail-" + strings.ToLower(kind)),
			RecheckInterval:         o.ProviderRecheck,
			RetryBase:               o.ProviderRetryBase,
			RetryMax:                o.ProviderRetryMax,
			MaxConcurrentReconciles: 4,
		}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("%s controller: %w", strings.ToLower(kind), err)
		}
	}
	if err := (&bucket.Reconciler{
		DriftLoop:               &bucket.DriftLoop{Threshold: o.DriftLoopThreshold, Window: o.DriftLoopWindow},
		Client:                  mgr.GetClient(),
		Reader:                  mgr.GetAPIReader(),
		Connector:               w.conn,
		Engine:                  w.engine,
		Repack:                  w.repackBuckets,
		Recorder:                w.recorder("pail-bucket"),
		ResyncPeriod:            o.BucketResync,
		RetryMax:                o.BucketRetryMax,
		MaxConcurrentReconciles: o.MaxConcurrentReconciles,
		Metrics:                 w.metrics,
		ClusterID:               w.cluster.ID,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("bucket controller: %w", err)
	}
	if err := (&bucketpolicy.Reconciler{
		Client:       mgr.GetClient(),
		Connector:    w.conn,
		Engine:       w.engine,
		Recorder:     w.recorder("pail-bucketpolicy"),
		Metrics:      w.metrics,
		ResyncPeriod: o.BucketResync,
		Repack:       w.repack,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("bucketpolicy controller: %w", err)
	}
	if err := (&accesskey.Reconciler{
		Client:       mgr.GetClient(),
		Reader:       mgr.GetAPIReader(),
		Scheme:       mgr.GetScheme(),
		Connector:    w.conn,
		Engine:       w.engine,
		Recorder:     w.recorder("pail-accesskey"),
		Metrics:      w.metrics,
		ResyncPeriod: o.BucketResync,
		Repack:       w.repackKeys,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("accesskey controller: %w", err)
	}
	return nil
}

// extensionControllers registers the controllers of what extends Pail:
// driver plugins (when o names their namespace), Guardrails, and policy
// packs (from o's namespace, on every replica: see policypack.Reconciler).
func (w *wiring) extensionControllers(o Options) error {
	if o.PluginNamespace != "" {
		if err := w.pluginController(o.PluginNamespace); err != nil {
			return err
		}
	}
	if err := (&guardrails.Reconciler{Client: w.mgr.GetClient()}).SetupWithManager(w.mgr); err != nil {
		return fmt.Errorf("guardrail controller: %w", err)
	}
	if err := (&policypack.Reconciler{
		Client:           w.mgr.GetClient(),
		Engine:           w.engine,
		Recorder:         w.mgr.GetEventRecorder("pail-policypack"),
		Namespace:        o.Namespace,
		Repack:           w.repack,
		RepackAccessKeys: w.repackKeys,
		RepackBuckets:    w.repackBuckets,
	}).SetupWithManager(w.mgr); err != nil {
		return fmt.Errorf("policypack controller: %w", err)
	}
	return nil
}

// pluginController registers the plugin controller, over a cache of its
// own that holds only the labelled ConfigMaps of ns.
func (w *wiring) pluginController(ns string) error {
	mgr := w.mgr
	pluginCache, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		DefaultNamespaces: map[string]cache.Config{ns: {}},
		ByObject:          map[client.Object]cache.ByObject{&corev1.ConfigMap{}: {Label: labels.SelectorFromSet(labels.Set{plugin.Label: "true"})}},
	})
	if err != nil {
		return fmt.Errorf("plugin cache: %w", err)
	}
	if err := mgr.Add(pluginCache); err != nil {
		return err
	}
	if err := (&plugin.Reconciler{
		Cache:    pluginCache,
		Client:   mgr.GetClient(),
		Registry: w.registry,
		Recorder: mgr.GetEventRecorder("pail-plugin"),
		Recheck:  w.recheck,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("plugin controller: %w", err)
	}
	return nil
}

// checks registers the webhook (when served) and the health and readiness
// checks.
func (w *wiring) checks(hookServer webhook.Server) error {
	mgr := w.mgr
	if hookServer != nil {
		if err := (&bucketpolicy.Validator{Reader: mgr.GetClient(), Engine: w.engine}).SetupWebhookWithManager(mgr); err != nil {
			return fmt.Errorf("bucketpolicy webhook: %w", err)
		}
		if err := guardrails.SetupWebhooks(mgr, mgr.GetClient()); err != nil {
			return fmt.Errorf("guardrail webhooks: %w", err)
		}
		if err := (&bucket.Validator{Reader: mgr.GetClient(), Engine: w.engine}).SetupWebhookWithManager(mgr); err != nil {
			return fmt.Errorf("bucket webhook: %w", err)
		}
		if err := (&accesskey.Validator{Reader: mgr.GetClient()}).SetupWebhookWithManager(mgr); err != nil {
			return fmt.Errorf("accesskey webhook: %w", err)
		}
		if err := mgr.AddReadyzCheck("webhook", hookServer.StartedChecker()); err != nil {
			return err
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// Ready means every driver load started so far has finished.
	return mgr.AddReadyzCheck("drivers", func(*http.Request) error {
		if !w.registry.Loaded() {
			return errors.New("drivers are loading")
		}
		return nil
	})
}

// Start preloads drivers in the background and runs the manager until ctx ends.
func (op *Operator) Start(ctx context.Context) error {
	for _, name := range op.preload {
		op.Registry.Preload(name)
		go func() {
			if _, err := op.Registry.Load(ctx, name); err != nil {
				op.log.Error("preload driver", "driver", name, "error", err)
			}
		}()
	}
	err := op.Manager.Start(ctx)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	op.Registry.Close(shutdown)
	_ = op.host.Close(shutdown)
	return err
}

// inUse sets up in-use protection (core/controllers/inuse) and returns how
// the controllers get their event recorders: events about objects deleted
// with their namespace are recorded about the namespace, where they
// outlive it. ns is the operator's namespace (Options.Namespace).
func inUse(mgr manager.Manager, ns string) (func(name string) events.EventRecorder, error) {
	for _, kind := range connect.Kinds {
		if err := (&inuse.ProviderReconciler{Client: mgr.GetClient(), Kind: kind}).SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("%s in-use controller: %w", strings.ToLower(kind), err)
		}
	}
	if err := (&inuse.SecretReconciler{Client: mgr.GetClient(), Namespace: ns}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("secret in-use controller: %w", err)
	}
	return func(name string) events.EventRecorder {
		return inuse.NamespaceRecorder(mgr.GetEventRecorder(name), mgr.GetAPIReader(), mgr.GetScheme())
	}, nil
}

// packSelector matches ConfigMaps that carry the policy-pack label.
func packSelector() labels.Selector {
	req, err := labels.NewRequirement(policypack.Label, selection.Exists, nil)
	if err != nil {
		return labels.Nothing()
	}
	return labels.NewSelector().Add(*req)
}
