// Command pail-bench is what `make bench` runs: it measures how fast the
// operator brings N Buckets to Ready and what an in-sync resync costs, with
// the MinIO driver run as wasm (as shipped) and natively (the same driver code
// compiled into the operator, behind the same host network policy).
//
// One kube-apiserver + etcd and one MinIO are started on this machine and
// shared by every run; each run gets a fresh namespace, Provider and
// operator (in this process), and deletes everything it created at the end.
//
// Paths default to the layout seen from test/, where `make bench` runs it:
//
//	cd test && go run ./cmd/pail-bench --out ../docs/benchmarks.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minio/minio-go/v7"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pail-dev/pail/core/logging"
	"github.com/pail-dev/pail/core/operator"
	"github.com/pail-dev/pail/test/env"
)

// minioKMSKey enables SSE-S3 and SSE-KMS in MinIO, as in the integration suite.
const minioKMSKey = "pail-test-key:6fA/NTdKaMX/p4Td8fdgjy/mZCQ3I0KboV5uxBDKXoQ="

const (
	modeWasm      = "wasm"
	modeNative    = "native"
	variantPlain  = "plain"
	variantFull   = "full"
	driverName    = "minio"
	createWorkers = 8
)

type options struct {
	n           int
	variants    []string
	modes       []string
	out         string
	resyncs     int
	concurrency int
	pool        int
	driverDir   string
	crds        string
	timeout     time.Duration
	verbose     bool
}

// keepMarker starts the part of the report file that make bench keeps.
const keepMarker = "<!-- kept by make bench: figures from other commands -->"

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "pail-bench:", err)
		os.Exit(2)
	}
	if err := runUntilSignalled(o); err != nil {
		fmt.Fprintln(os.Stderr, "pail-bench:", err)
		os.Exit(1)
	}
}

// runUntilSignalled runs the benchmark; SIGINT or SIGTERM cancels it.
func runUntilSignalled(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, o, os.Args[1:])
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	var variants, modes string
	fs := flag.NewFlagSet("pail-bench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.IntVar(&o.n, "n", 200, "Buckets per run")
	fs.StringVar(&variants, "variants", "plain,full", "comma-separated Bucket specs to run: plain (providerRef + bucketName) and/or full (versioning, SSE-S3, lifecycle, tags, policy)")
	fs.StringVar(&modes, "modes", "wasm,native", "comma-separated driver modes to run: wasm and/or native")
	fs.StringVar(&o.out, "out", "", `write the markdown report to this file ("" = stdout only)`)
	fs.IntVar(&o.resyncs, "resyncs", 3, "in-sync full resyncs to measure per run (each is a fresh operator start)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "operator MaxConcurrentReconciles for Buckets")
	fs.IntVar(&o.pool, "pool", 8, "wasm driver instance pool size (the operator default)")
	fs.StringVar(&o.driverDir, "driver-dir", "../bin/drivers", "directory holding minio.wasm (make plugins)")
	fs.StringVar(&o.crds, "crds", "../charts/pail/crds", "directory of Pail CRDs")
	fs.DurationVar(&o.timeout, "timeout", 0, "how long each wait may take (0 = 60s + 100ms per Bucket)")
	fs.BoolVar(&o.verbose, "v", false, "copy the operator's warnings and errors to stderr as they happen")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if o.variants, err = parseList(variants, variantPlain, variantFull); err != nil {
		return o, fmt.Errorf("-variants: %w", err)
	}
	if o.modes, err = parseList(modes, modeWasm, modeNative); err != nil {
		return o, fmt.Errorf("-modes: %w", err)
	}
	switch {
	case o.n < 1:
		return o, errors.New("-n must be at least 1")
	case o.n > 9999:
		return o, errors.New("-n must be at most 9999")
	case o.resyncs < 0:
		return o, errors.New("-resyncs must not be negative")
	case o.concurrency < 1:
		return o, errors.New("-concurrency must be at least 1")
	case o.pool < 1:
		return o, errors.New("-pool must be at least 1")
	}
	if o.timeout == 0 {
		o.timeout = 60*time.Second + time.Duration(o.n)*100*time.Millisecond
	}
	return o, nil
}

// parseList splits a comma-separated list, keeps the order given, drops
// duplicates and refuses names outside allowed.
func parseList(s string, allowed ...string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || f == a
		}
		if !ok {
			return nil, fmt.Errorf("unknown value %q (want one of %s)", f, strings.Join(allowed, ", "))
		}
		dup := false
		for _, have := range out {
			dup = dup || have == f
		}
		if !dup {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// bench holds what is shared by every run.
type bench struct {
	o      options
	kube   *env.Kube
	minio  *env.MinIO
	s3     *minio.Client
	k8s    client.Client
	opCfg  *rest.Config
	logs   *ringBuffer
	logger hclog.Logger
}

// resolvePaths makes o's directories absolute and checks that the CRDs and,
// for the wasm mode, the driver are there.
func resolvePaths(o *options) error {
	var err error
	if o.crds, err = filepath.Abs(o.crds); err != nil {
		return err
	}
	if o.driverDir, err = filepath.Abs(o.driverDir); err != nil {
		return err
	}
	if _, err := os.Stat(o.crds); err != nil {
		return fmt.Errorf("CRD directory: %w", err)
	}
	for _, m := range o.modes {
		if m != modeWasm {
			continue
		}
		if _, err := os.Stat(filepath.Join(o.driverDir, driverName+".wasm")); err != nil {
			return fmt.Errorf("wasm mode needs %s.wasm in -driver-dir (run `make plugins`): %w", driverName, err)
		}
	}
	return nil
}

func run(ctx context.Context, o options, args []string) (retErr error) {
	if err := resolvePaths(&o); err != nil {
		return err
	}

	b := &bench{o: o, logs: newRingBuffer(60)}
	var logOut io.Writer = b.logs
	if o.verbose {
		logOut = io.MultiWriter(b.logs, os.Stderr)
	}
	b.logger = logging.New("pail", "warn", false, logOut)
	ctrl.SetLogger(logging.Logr(b.logger))
	defer func() {
		if retErr != nil {
			if tail := b.logs.String(); tail != "" {
				fmt.Fprintln(os.Stderr, "---- operator log tail (warnings and errors) ----")
				fmt.Fprint(os.Stderr, tail)
			}
		}
	}()

	load := loadAverage()
	progressf("starting kube-apiserver + etcd and MinIO")
	kube, err := env.StartKube(ctx, env.KubeOptions{CRDDirs: []string{o.crds}})
	if err != nil {
		return err
	}
	defer func() {
		if err := kube.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop kube-apiserver:", err)
		}
	}()
	b.kube = kube
	mio, err := env.StartMinIO(ctx, env.MinIOOptions{Env: []string{"MINIO_KMS_SECRET_KEY=" + minioKMSKey}})
	if err != nil {
		return err
	}
	defer func() {
		if err := mio.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop MinIO:", err)
		}
	}()
	b.minio = mio
	if b.s3, err = mio.Client(); err != nil {
		return err
	}
	// envtest caps the admin config at 1000 QPS; the shipped binary
	// (ctrl.GetConfig) disables client-side rate limiting, and so do we.
	b.opCfg = rest.CopyConfig(kube.Config)
	b.opCfg.QPS, b.opCfg.Burst = -1, 0
	scheme, err := operator.Scheme()
	if err != nil {
		return err
	}
	if b.k8s, err = client.New(b.opCfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}

	started := time.Now()
	results, failures := b.runAll(ctx)
	report := renderReport(reportInfo{
		opts:      o,
		args:      args,
		results:   results,
		date:      started,
		goVersion: goVersion(ctx),
		cpu:       cpuModel(),
		loadAvg:   load,
	})
	fmt.Print(report)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; the report was not written to -out: %w", ctx.Err())
	}
	if o.out != "" {
		if err := writeReport(o.out, report); err != nil {
			return err
		}
		progressf("report written to %s", o.out)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d runs failed: %w", len(failures), len(results), errors.Join(failures...))
	}
	return nil
}

// runAll runs every mode and variant. A failed run is recorded in the
// report and the others still run; an interrupt ends the series.
func (b *bench) runAll(ctx context.Context) (results []*result, failures []error) {
	for _, mode := range b.o.modes {
		for _, variant := range b.o.variants {
			res, err := b.run(ctx, mode, variant)
			if err != nil {
				if res == nil {
					res = &result{Mode: mode, Variant: variant, N: b.o.n}
				}
				res.Err = err.Error()
				failures = append(failures, fmt.Errorf("%s/%s: %w", mode, variant, err))
				progressf("%s/%s: FAILED: %v", mode, variant, err)
			}
			results = append(results, res)
			if ctx.Err() != nil {
				return results, failures
			}
		}
	}
	return results, failures
}

// writeReport writes report to path. Sections measured by other commands
// (policy evaluation, driver loads) live below keepMarker and survive a
// rewrite.
func writeReport(path, report string) error {
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), keepMarker); i >= 0 {
			report = strings.TrimRight(report, "\n") + "\n\n" + string(old[i:])
		}
	}
	return os.WriteFile(path, []byte(report), 0o644) //nolint:gosec // G306: a checked-in report, readable like the rest of the repository
}

// progressf prints one line to stderr.
func progressf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
