// Command pail is the Pail operator.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pail-dev/pail/core/logging"
	"github.com/pail-dev/pail/core/operator"
)

func main() {
	// --kubeconfig is registered by controller-runtime's config package.
	var (
		o        operator.Options
		logLevel string
		logJSON  bool
		preload  string
		warm     bool
		seed     string
		denied   string
	)
	flag.StringVar(&o.DriverDir, "driver-dir", envOr("PAIL_DRIVER_DIR", "/drivers"), "Directory holding the built-in drivers as <name>.wasm.")
	flag.StringVar(&o.CacheDir, "cache-dir", operator.DefaultCacheDir(), "wazero compilation cache; keep it private to the operator.")
	flag.StringVar(&o.PolicyDir, "policy-dir", envOr("PAIL_POLICY_DIR", "/policies"), "Directory of built-in Rego policy packs, one subdirectory per pack.")
	flag.StringVar(&preload, "preload", "", "Comma-separated drivers to load at start (default: load on first use).")
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "Metrics endpoint address; 0 disables it.")
	flag.BoolVar(&o.MetricsSecure, "metrics-secure", true, "Serve the metrics over HTTPS, only to bearer tokens the apiserver authorizes for GET /metrics (TokenReview, SubjectAccessReview); false serves plain HTTP to anyone.")
	flag.StringVar(&o.MetricsCertDir, "metrics-cert-dir", "", "Directory holding tls.crt and tls.key for the secure metrics endpoint (default: a self-signed certificate made at start).")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "healthz/readyz address.")
	flag.StringVar(&o.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "The operator's own namespace: the only one whose ConfigMaps labelled pail.dev/policy-pack are loaded as policy packs, and where a ClusterProvider's Secrets live when it names no spec.secretNamespace (default $POD_NAMESPACE; empty falls back to --plugin-namespace).")
	flag.StringVar(&o.PluginNamespace, "plugin-namespace", os.Getenv("POD_NAMESPACE"), "Namespace whose ConfigMaps labelled pail.dev/plugin=true install driver plugins (default $POD_NAMESPACE; empty disables).")
	flag.IntVar(&o.WebhookPort, "webhook-port", 9443, "Port of the BucketPolicy validating webhook; 0 disables it.")
	flag.StringVar(&o.WebhookHost, "webhook-host", "", "Address the webhook listens on (default all).")
	flag.StringVar(&o.WebhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "Directory holding the webhook's tls.crt and tls.key.")
	flag.BoolVar(&o.LeaderElect, "leader-elect", false, "Elect a leader so only one replica reconciles.")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease.")
	flag.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", 16, "Buckets reconciled in parallel.")
	flag.IntVar(&o.DriverPoolSize, "driver-pool-size", 8, "wasm instances per driver: the most driver calls in flight at once (about 9 MB each).")
	flag.DurationVar(&o.DriverCallTimeout, "driver-call-timeout", 30*time.Second, "Deadline of one driver call.")
	flag.IntVar(&o.DriftLoopThreshold, "drift-loop-threshold", 5, "Drift corrections of one Bucket within --drift-loop-window that pause writes to it (a drift loop); negative disables.")
	flag.DurationVar(&o.DriftLoopWindow, "drift-loop-window", 10*time.Minute, "Window of --drift-loop-threshold.")
	flag.DurationVar(&o.BucketResync, "bucket-resync-period", 10*time.Minute, "How often a Ready Bucket is observed again.")
	flag.DurationVar(&o.ProviderRecheck, "provider-recheck-period", 5*time.Minute, "How often a Ready Provider is checked again.")
	flag.StringVar(&denied, "denied-addresses", "", "Comma-separated host:port addresses no Provider may reach (etcd, the kubelet), besides the Kubernetes API server, which is always denied.")
	flag.StringVar(&logLevel, "log-level", "info", "trace, debug, info, warn or error.")
	flag.BoolVar(&logJSON, "log-json", true, "JSON logs (hclog).")
	flag.BoolVar(&warm, "warm-cache", false, "Compile every driver in --driver-dir into --cache-dir and exit (image builds).")
	flag.StringVar(&seed, "cache-seed-dir", os.Getenv("PAIL_CACHE_SEED_DIR"), "Copy compiled drivers from this directory (the image's warmed cache) into --cache-dir at start.")
	flag.Parse()

	o.Logger = logging.New("pail", logLevel, logJSON, os.Stderr)
	if seed != "" {
		n, err := operator.SeedCache(seed, o.CacheDir)
		if err != nil {
			fail(err)
		}
		o.Logger.Info("seeded the compilation cache", "from", seed, "to", o.CacheDir, "files", n)
	}
	if warm {
		// Needs no cluster: the image build runs it to ship compiled drivers.
		names, err := operator.WarmCache(context.Background(), o.DriverDir, o.CacheDir, o.Logger)
		if err != nil {
			fail(err)
		}
		fmt.Printf("compiled %s into %s\n", strings.Join(names, ", "), o.CacheDir)
		return
	}
	if preload != "" {
		o.Preload = strings.Split(preload, ",")
	}
	if denied != "" {
		o.DeniedAddresses = strings.Split(denied, ",")
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fail(err)
	}
	o.RestConfig = cfg
	ctx := ctrl.SetupSignalHandler()
	op, err := operator.New(ctx, o)
	if err != nil {
		fail(err)
	}
	o.Logger.Info("starting pail", "driver_dir", o.DriverDir, "available_drivers", op.Registry.Available())
	if err := op.Start(ctx); err != nil {
		fail(err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pail:", err)
	os.Exit(1)
}
