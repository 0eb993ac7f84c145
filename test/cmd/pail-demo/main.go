// Command pail-demo is what `make demo` runs: it starts a real kube-apiserver
// and etcd, a MinIO server and the Pail operator on this machine, applies
// examples/quickstart, waits until every Provider and Bucket is Ready and
// checks the buckets really exist in MinIO. Then it waits for Ctrl-C (or, with
// --exit, stops right away) and stops everything it started.
//
// With --chart (`make demo-chart`) it installs the Helm chart instead of the
// CRDs and webhooks, and stands in for the node the demo apiserver lacks: it
// runs the chart's operator Deployment as a local process with the
// Deployment's own arguments, authenticated as the chart's ServiceAccount
// (chart.go).
//
// Paths default to the layout of the repository root; `make demo` passes them
// explicitly.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pail-dev/pail/test/env"
	"github.com/pail-dev/pail/test/tools"
)

// quickstartEndpoint is the MinIO endpoint the quickstart examples are
// written against; it is rewritten when MinIO cannot get port 9000.
const (
	quickstartEndpoint = "http://127.0.0.1:9000"
	quickstartPort     = 9000
)

var (
	providerListGVK = schema.GroupVersionKind{Group: "pail.dev", Version: "v1alpha1", Kind: "ProviderList"}
	bucketListGVK   = schema.GroupVersionKind{Group: "pail.dev", Version: "v1alpha1", Kind: "BucketList"}
)

type options struct {
	operator  string
	driverDir string
	stateDir  string
	cacheDir  string
	examples  string
	crds      string
	webhooks  string
	timeout   time.Duration
	exit      bool

	// chart mode (chart.go)
	chart     string
	helm      string
	policyDir string
}

func main() {
	var o options
	flag.StringVar(&o.operator, "operator", "bin/pail", "operator binary (make build)")
	flag.StringVar(&o.driverDir, "driver-dir", "bin/drivers", "directory of driver .wasm files (make plugins)")
	flag.StringVar(&o.stateDir, "state-dir", ".demo", "directory for the kubeconfig, MinIO data and logs")
	flag.StringVar(&o.cacheDir, "cache-dir", "", "wasm compilation cache for the operator (default $PAIL_WASM_CACHE, else <state-dir>/wasm-cache)")
	flag.StringVar(&o.examples, "examples", "examples/quickstart", "directory of YAML manifests to apply")
	flag.StringVar(&o.crds, "crds", "charts/pail/crds", "directory of Pail CRDs")
	flag.StringVar(&o.webhooks, "webhooks", "charts/pail/files/manifests.yaml", "webhook configurations the operator serves (\"\" runs without admission webhooks)")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "how long to wait for every Provider and Bucket to become Ready")
	flag.BoolVar(&o.exit, "exit", false, "stop everything once the demo is verified instead of waiting for Ctrl-C")
	flag.StringVar(&o.chart, "chart", "", "install this Helm chart (charts/pail) and run its operator Deployment as a local process, instead of --crds, --webhooks and an admin-credential operator")
	flag.StringVar(&o.helm, "helm", "helm", "helm binary for --chart (make helm)")
	flag.StringVar(&o.policyDir, "policy-dir", "policies", "built-in policy packs, in place of the image's /policies (--chart)")
	flag.Parse()
	os.Exit(run(o))
}

// demo holds what has been started, so that it can all be stopped.
type demo struct {
	o        options
	kubectl  string
	kube     *env.Kube
	minio    *env.MinIO
	operator *env.Process
	opLog    string
	kubecfg  string
	metrics  string
	cleanups []func()

	// steps counts the numbered progress lines; their total differs by mode.
	steps, stepsTotal int
	// chart mode: the operator's own kubeconfig (the ServiceAccount's token)
	// and the Deployment it runs for.
	opKubecfg string
	opUser    string
	chartDep  string
}

func run(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	d := &demo{o: o, stepsTotal: 7}
	if o.chart != "" {
		d.stepsTotal = 8
	}
	defer d.cleanup()
	if err := d.start(ctx); err != nil {
		if ctx.Err() != nil {
			fmt.Println("\nInterrupted; stopping everything.")
		} else {
			fmt.Fprintf(os.Stderr, "\npail-demo: FAILED: %v\n", err)
		}
		return 1
	}
	d.printInfo()
	if o.exit {
		fmt.Println("\n--exit given: stopping everything.")
		return 0
	}
	fmt.Println("\nPress Ctrl-C to stop everything.")
	select {
	case <-ctx.Done():
		fmt.Println("\nStopping everything.")
		return 0
	case <-d.operator.Done():
		// A signal meant for the demo may reach the operator first: that is
		// the demo being stopped, not the operator failing.
		select {
		case <-ctx.Done():
			fmt.Println("\nStopping everything.")
			return 0
		case <-time.After(200 * time.Millisecond):
		}
		_, err := d.operator.Exited()
		how, failed := operatorExit(err)
		if !failed {
			fmt.Printf("\nThe operator %s: something outside the demo stopped it. Stopping everything.\n", how)
			return 0
		}
		fmt.Fprintf(os.Stderr, "\npail-demo: the operator %s; stopping everything. Tail of %s:\n%s\n", how, d.opLog, tailFile(d.opLog))
		return 1
	}
}

// operatorExit says in words how the operator process ended (err is what
// waiting for it returned), and whether that is a failure. A clean exit, or
// a stop by SIGTERM or SIGINT, is someone stopping it; any other status or
// signal (SIGKILL from the OOM killer, a crash) is a failure.
func operatorExit(err error) (string, bool) {
	if err == nil {
		return "exited with status 0", false
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Sprintf("could not be waited for (%v)", err), true
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig := ws.Signal()
		return fmt.Sprintf("was stopped by signal %s (%s)", sig, signalName(sig)), sig != syscall.SIGTERM && sig != syscall.SIGINT
	}
	return fmt.Sprintf("exited with status %d", ee.ExitCode()), true
}

// signalName is the SIG name of the signals a process is commonly stopped by.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	}
	return fmt.Sprintf("signal %d", int(sig))
}

func (d *demo) cleanup() {
	for _, stop := range slices.Backward(d.cleanups) {
		stop()
	}
	d.cleanups = nil
}

func (d *demo) onStop(f func()) { d.cleanups = append(d.cleanups, f) }

func (d *demo) stepf(format string, args ...any) {
	d.steps++
	fmt.Printf("\n==> [%d/%d] %s\n", d.steps, d.stepsTotal, fmt.Sprintf(format, args...))
}

func (d *demo) start(ctx context.Context) error {
	manifests, err := d.prepare()
	if err != nil {
		return err
	}

	d.stepf("Building missing servers (etcd, kube-apiserver, minio); cold builds take minutes, later runs use the cache")
	if _, err := tools.Ensure(os.Stdout, tools.Etcd, tools.KubeAPIServer, tools.MinIO); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	d.stepf("Starting kube-apiserver + etcd and MinIO on 127.0.0.1")
	if err := d.startKube(ctx); err != nil {
		return err
	}
	if err := d.startMinIO(ctx); err != nil {
		return err
	}

	o := &d.o
	if o.chart != "" {
		if err := d.installChart(ctx); err != nil {
			return err
		}
		if err := d.runDeployment(ctx); err != nil {
			return err
		}
	} else if err := d.startOperator(); err != nil {
		return err
	}
	return d.applyAndCheck(ctx, manifests)
}

// prepare resolves the demo's paths, checks the cheap prerequisites before
// the slow builds and returns the example manifests.
func (d *demo) prepare() ([]string, error) {
	o := &d.o
	paths := []*string{&o.operator, &o.driverDir, &o.stateDir, &o.examples, &o.crds}
	if o.chart != "" {
		paths = append(paths, &o.chart, &o.policyDir)
	}
	for _, p := range paths {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		*p = abs
	}
	if o.cacheDir == "" {
		o.cacheDir = os.Getenv("PAIL_WASM_CACHE")
	}
	if o.cacheDir == "" {
		o.cacheDir = filepath.Join(o.stateDir, "wasm-cache")
	}

	// Check the cheap prerequisites before the slow builds.
	if st, err := os.Stat(o.operator); err != nil || st.IsDir() {
		return nil, fmt.Errorf("operator binary %s not found: build it with `make build` (or run `make demo`, which builds it first)", o.operator)
	}
	if _, err := os.Stat(o.driverDir); err != nil {
		return nil, fmt.Errorf("driver directory %s not found: build the drivers with `make plugins` (or run `make demo`)", o.driverDir)
	}
	if o.chart != "" {
		if err := d.checkChartPrereqs(); err != nil {
			return nil, err
		}
	}
	var err error
	if d.kubectl, err = exec.LookPath("kubectl"); err != nil {
		return nil, errors.New("kubectl not found in PATH; install it: https://kubernetes.io/docs/tasks/tools/#kubectl")
	}
	manifests, err := yamlFiles(o.examples)
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{o.stateDir, o.cacheDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
	}
	return manifests, nil
}

// startKube starts kube-apiserver and etcd and writes the admin kubeconfig
// into the state directory.
func (d *demo) startKube(ctx context.Context) error {
	o := &d.o
	kubeLog, err := d.createLog("kube.log")
	if err != nil {
		return err
	}
	// In chart mode helm installs the CRDs (from the chart's crds/) and the
	// webhook configuration, as in a cluster.
	kopts := env.KubeOptions{Log: kubeLog}
	if o.chart == "" {
		kopts.CRDDirs = []string{o.crds}
		if o.webhooks != "" {
			kopts.WebhookPaths = []string{o.webhooks}
		}
	}
	d.kube, err = env.StartKube(ctx, kopts)
	if err != nil {
		return err
	}
	d.onStop(func() {
		fmt.Println("  stopping kube-apiserver and etcd")
		if err := d.kube.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "  stop kube-apiserver: %v\n", err)
		}
	})
	if o.chart == "" {
		fmt.Printf("  kube-apiserver ready at %s (CRDs from %s installed)\n", d.kube.Config.Host, o.crds)
	} else {
		fmt.Printf("  kube-apiserver ready at %s (no nodes, no scheduler, no controller-manager)\n", d.kube.Config.Host)
	}

	d.kubecfg = filepath.Join(o.stateDir, "kubeconfig")
	kc, err := os.ReadFile(d.kube.Kubeconfig)
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.kubecfg, kc, 0o600); err != nil {
		return err
	}
	return nil
}

// startMinIO starts MinIO on empty storage, on the quickstart port when free.
func (d *demo) startMinIO(ctx context.Context) error {
	o := &d.o
	minioLog, err := d.createLog("minio.log")
	if err != nil {
		return err
	}
	port := quickstartPort
	if !env.PortFree(port) {
		fmt.Printf("  port %d is in use; MinIO gets an ephemeral port and the quickstart endpoint is rewritten to match\n", port)
		port = 0
	}
	// Each demo starts from empty storage: the apiserver is new too, and
	// buckets left by an earlier run would be foreign to it (Conflict).
	minioDir := filepath.Join(o.stateDir, "minio")
	if err := os.RemoveAll(minioDir); err != nil {
		return err
	}
	d.minio, err = env.StartMinIO(ctx, env.MinIOOptions{Port: port, Dir: minioDir, Log: minioLog})
	if err != nil {
		return err
	}
	d.onStop(func() {
		fmt.Println("  stopping MinIO")
		if err := d.minio.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "  stop minio: %v\n", err)
		}
	})
	fmt.Printf("  MinIO ready at %s (data in %s)\n", d.minio.Endpoint, d.minio.Dir)
	return nil
}

// startOperator runs the operator with the demo's admin kubeconfig, serving
// the webhooks StartKube installed.
func (d *demo) startOperator() error {
	o := &d.o
	d.stepf("Starting the operator %s", o.operator)
	d.opLog = filepath.Join(o.stateDir, "operator.log")
	opOut, err := d.createLog("operator.log")
	if err != nil {
		return err
	}
	metricsPort, err := env.FreePort()
	if err != nil {
		return err
	}
	d.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	cmd := exec.Command(o.operator, //nolint:noctx // the operator outlives ctx, which bounds only the start; cleanup stops it
		"--kubeconfig", d.kubecfg,
		"--driver-dir", o.driverDir,
		"--cache-dir", o.cacheDir,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		// Plain HTTP on localhost, so the printed curl works as is; in a
		// cluster the chart serves them secure (docs/operations.md).
		"--metrics-secure=false",
		"--health-probe-bind-address", "127.0.0.1:0",
		"--webhook-host", d.kube.Webhook.Host,
		"--webhook-port", strconv.Itoa(d.kube.Webhook.Port),
		"--webhook-cert-dir", d.kube.Webhook.CertDir,
	)
	// KUBECONFIG too, so the operator reaches this apiserver whichever way
	// it resolves its config, and never a cluster from the user's env.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+d.kubecfg)
	cmd.Stdout, cmd.Stderr = opOut, opOut
	if err := d.runOperator(cmd); err != nil {
		return err
	}
	fmt.Printf("  operator running (pid %d), logging to %s\n", d.operator.Pid(), d.opLog)
	return nil
}

// applyAndCheck applies the examples, waits for them to be Ready and checks
// the buckets exist in MinIO.
func (d *demo) applyAndCheck(ctx context.Context, manifests []string) error {
	o := &d.o
	var err error
	d.stepf("Applying %s", o.examples)
	if d.minio.Endpoint != quickstartEndpoint {
		rewritten := filepath.Join(o.stateDir, "quickstart")
		fmt.Printf("  rewriting %s to %s in copies under %s\n", quickstartEndpoint, d.minio.Endpoint, rewritten)
		if manifests, err = rewriteEndpoint(manifests, rewritten, quickstartEndpoint, d.minio.Endpoint); err != nil {
			return err
		}
	}
	for _, f := range manifests {
		out, err := d.kubectlOut(ctx, "apply", "-f", f)
		if err != nil {
			return fmt.Errorf("kubectl apply -f %s: %w", f, err)
		}
		fmt.Print(indent(out))
	}

	d.stepf("Waiting up to %s for every Provider and Bucket to become Ready", o.timeout)
	buckets, err := d.waitReady(ctx)
	if err != nil {
		return err
	}

	d.stepf("Checking the result")
	out, err := d.kubectlOut(ctx, "get", "providers,buckets", "-A")
	if err != nil {
		return fmt.Errorf("kubectl get providers,buckets -A: %w", err)
	}
	fmt.Print(indent(out))
	return d.checkMinIO(ctx, buckets)
}

func (d *demo) createLog(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(d.o.stateDir, name))
	if err != nil {
		return nil, err
	}
	d.onStop(func() { _ = f.Close() })
	return f, nil
}

func (d *demo) kubectlOut(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.kubectl, append([]string{"--kubeconfig", d.kubecfg}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out.String())
	}
	return out.String(), nil
}

// waitReady polls Providers and Buckets every second, printing a line each
// time the summary changes, until all are Ready. It returns the Buckets.
func (d *demo) waitReady(ctx context.Context) ([]unstructured.Unstructured, error) {
	c, err := client.New(d.kube.Config, client.Options{})
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(d.o.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := ""
	for {
		var providers, buckets unstructured.UnstructuredList
		providers.SetGroupVersionKind(providerListGVK)
		buckets.SetGroupVersionKind(bucketListGVK)
		var line string
		var ready bool
		listCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := c.List(listCtx, &providers); err != nil {
			line = "  listing providers: " + err.Error()
		} else if err := c.List(listCtx, &buckets); err != nil {
			line = "  listing buckets: " + err.Error()
		} else {
			line, ready = summarize(providers.Items, buckets.Items)
		}
		cancel()
		if line != last {
			fmt.Println(line)
			last = line
		}
		if ready {
			return buckets.Items, nil
		}
		if exited, werr := d.operator.Exited(); exited {
			return nil, fmt.Errorf("the operator exited (%w); tail of %s:\n%s", werr, d.opLog, tailFile(d.opLog))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("not everything was Ready after %s (last: %s); tail of %s:\n%s",
				d.o.timeout, strings.TrimSpace(last), d.opLog, tailFile(d.opLog))
		case <-tick.C:
		}
	}
}

// summarize renders "  providers 1/1 Ready, buckets 1/2 Ready (waiting:
// photos: ProviderNotReady)" and reports whether everything is Ready.
func summarize(providers, buckets []unstructured.Unstructured) (string, bool) {
	var waiting []string
	count := func(items []unstructured.Unstructured) int {
		n := 0
		for _, it := range items {
			if ok, reason := readyCondition(it); ok {
				n++
			} else {
				waiting = append(waiting, displayName(it)+": "+reason)
			}
		}
		return n
	}
	readyP, readyB := count(providers), count(buckets)
	line := fmt.Sprintf("  providers %d/%d Ready, buckets %d/%d Ready", readyP, len(providers), readyB, len(buckets))
	if len(waiting) > 0 {
		line += " (waiting: " + strings.Join(waiting, ", ") + ")"
	}
	all := len(providers)+len(buckets) > 0 && len(waiting) == 0
	return line, all
}

// readyCondition returns whether the Ready condition is True for the
// object's current generation, and otherwise a short reason.
func readyCondition(u unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Ready" {
			continue
		}
		status, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		if reason == "" {
			reason = "Ready=" + status
		}
		if og, ok, _ := unstructured.NestedInt64(m, "observedGeneration"); ok && og != 0 && og < u.GetGeneration() {
			return false, reason + " (stale)"
		}
		return status == "True", reason
	}
	return false, "NoReadyCondition"
}

func displayName(u unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" && ns != "default" {
		return ns + "/" + u.GetName()
	}
	return u.GetName()
}

func (d *demo) checkMinIO(ctx context.Context, buckets []unstructured.Unstructured) error {
	mc, err := d.minio.Client()
	if err != nil {
		return err
	}
	infos, err := mc.ListBuckets(ctx)
	if err != nil {
		return fmt.Errorf("list buckets in MinIO: %w", err)
	}
	have := map[string]bool{}
	var names []string
	for _, b := range infos {
		have[b.Name] = true
		names = append(names, b.Name)
	}
	sort.Strings(names)
	fmt.Printf("  MinIO at %s has %d bucket(s): %s\n", d.minio.Endpoint, len(names), strings.Join(names, ", "))
	var missing []string
	for _, b := range buckets {
		name, _, _ := unstructured.NestedString(b.Object, "spec", "bucketName")
		switch {
		case name == "":
			fmt.Printf("  ✗ Bucket %s has no spec.bucketName\n", displayName(b))
			missing = append(missing, displayName(b))
		case have[name]:
			fmt.Printf("  ✓ bucket %s exists in MinIO\n", name)
		default:
			fmt.Printf("  ✗ bucket %s (Bucket %s) is missing from MinIO\n", name, displayName(b))
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("buckets Ready in Kubernetes but missing from MinIO: %s; see %s", strings.Join(missing, ", "), d.opLog)
	}
	return nil
}

func (d *demo) printInfo() {
	d.stepf("Pail is running")
	fmt.Printf("  kubeconfig:    %s (valid while the demo runs)\n", d.kubecfg)
	fmt.Printf("                 export KUBECONFIG=%s\n", d.kubecfg)
	fmt.Printf("                 kubectl get providers,buckets -A\n")
	if d.opKubecfg != "" {
		fmt.Printf("                 kubectl get deployment -n %s\n", chartNamespace)
	}
	fmt.Printf("  MinIO:         %s\n", d.minio.Endpoint)
	fmt.Printf("                 access key %s, secret key %s\n", d.minio.AccessKey, d.minio.SecretKey)
	if d.opKubecfg != "" {
		fmt.Printf("  operator:      deployment %s, run by pail-demo as a local process (pid %d)\n", d.chartDep, d.operator.Pid())
		fmt.Printf("                 as %s, kubeconfig %s\n", d.opUser, d.opKubecfg)
	}
	fmt.Printf("  operator log:  %s\n", d.opLog)
	fmt.Printf("  metrics:       %s   (curl -s %s | grep ^pail_)\n", d.metrics, d.metrics)
	fmt.Printf("  server logs:   %s, %s\n", filepath.Join(d.o.stateDir, "kube.log"), filepath.Join(d.o.stateDir, "minio.log"))
}

// yamlFiles lists the .yaml and .yml files in dir, sorted by name.
func yamlFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("examples: %w", err)
	}
	var files []string
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .yaml files in %s", dir)
	}
	slices.Sort(files)
	return files, nil
}

// rewriteEndpoint copies files into dir with every occurrence of from
// replaced by to, and returns the paths of the copies.
func rewriteEndpoint(files []string, dir, from, to string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(dst, bytes.ReplaceAll(b, []byte(from), []byte(to)), 0o600); err != nil {
			return nil, err
		}
		out = append(out, dst)
	}
	return out, nil
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "    " + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// tailLines is how much of a log the demo shows when something fails.
const tailLines = 40

// tailFile returns the last tailLines lines of the file at path.
func tailFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	const maxBytes = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		_, _ = f.Seek(st.Size()-maxBytes, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return strings.Join(lines, "\n")
}

// runOperator starts the operator process and stops it with the demo.
func (d *demo) runOperator(cmd *exec.Cmd) error {
	op, err := env.StartProcess("operator", cmd)
	if err != nil {
		return err
	}
	d.operator = op
	d.onStop(func() {
		fmt.Println("  stopping the operator")
		if err := d.operator.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "  stop operator: %v\n", err)
		}
	})
	return nil
}
