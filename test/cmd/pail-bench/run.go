package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
)

// result is what one mode × variant run measured.
type result struct {
	Mode, Variant string
	N             int
	// Managed lists the sub-resources each Bucket manages.
	Managed []string
	// ApplySeconds is how long creating the N Buckets took.
	ApplySeconds float64
	// ReadySeconds runs from the last Create returning to all N Ready.
	ReadySeconds float64
	// In-sync resyncs: how many, and the host-counted deltas over all of them.
	Resyncs      int
	Observations float64
	Writes       float64
	Reads        float64
	ReadsByOp    map[string]float64
	Failed       float64
	// RSSMiB is this process's VmRSS at the end of the run, operator running.
	RSSMiB float64
	// Err is why the run failed, or "".
	Err string
}

func (r *result) label() string { return r.Mode + "/" + r.Variant }

func (r *result) bucketsPerSecond() float64 {
	if r.ReadySeconds <= 0 {
		return 0
	}
	return float64(r.N) / r.ReadySeconds
}

// writesPerResync is the host-counted write requests of one full in-sync resync.
func (r *result) writesPerResync() float64 {
	if r.Resyncs == 0 {
		return 0
	}
	return r.Writes / float64(r.Resyncs)
}

// readsPerBucket is the host-counted read requests per Bucket per resync
// (each resync observes every Bucket once).
func (r *result) readsPerBucket() float64 {
	if r.Observations == 0 {
		return 0
	}
	// Only ObserveBucket's reads: the Provider check of each operator start
	// (one ListBuckets) is not part of a Bucket's resync.
	if n, ok := r.ReadsByOp["ObserveBucket"]; ok {
		return n / r.Observations
	}
	return r.Reads / r.Observations
}

// runState is what a run has created, for cleanup.
type runState struct {
	label, mode string
	ns          string
	prefix      string // of every S3 bucket name in the run
	provider    string
	secret      string
	op          *runningOperator
}

func (b *bench) run(ctx context.Context, mode, variant string) (res *result, retErr error) {
	st := &runState{
		label:  mode + "/" + variant,
		mode:   mode,
		prefix: fmt.Sprintf("pb-%c%c-%s-", mode[0], variant[0], strconv.FormatInt(time.Now().UnixMilli(), 36)),
	}
	res = &result{Mode: mode, Variant: variant, N: b.o.n, Resyncs: b.o.resyncs}
	defer func() {
		if err := b.cleanup(ctx, st); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("cleanup: %w", err))
		}
	}()
	desired, err := bucketdiff.Desired(&b.bucket(variant, "", "", "pb-example-0000").Spec)
	if err != nil {
		return nil, err
	}
	res.Managed = bucketdiff.Managed(desired)

	progressf("%s: starting the operator", st.label)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-" + mode + "-" + variant + "-"}}
	if err := b.k8s.Create(ctx, ns); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	st.ns = ns.Name
	if st.op, err = b.startOperator(ctx, mode); err != nil {
		return nil, err
	}

	if err := b.createProvider(ctx, st); err != nil {
		return nil, err
	}

	// Create N Buckets as fast as a few clients can, then time until all are Ready.
	progressf("%s: creating %d Buckets", st.label, b.o.n)
	applyStart := time.Now()
	if err := b.createBuckets(ctx, st, variant); err != nil {
		return nil, err
	}
	t0 := time.Now()
	res.ApplySeconds = t0.Sub(applyStart).Seconds()
	progressf("%s: %d Buckets applied in %.2fs", st.label, b.o.n, res.ApplySeconds)
	ready, err := b.waitReady(ctx, st, t0)
	if err != nil {
		return nil, err
	}
	res.ReadySeconds = ready.Seconds()
	progressf("%s: all %d Ready %.2fs after the apply (%.0f Buckets/s)", st.label, b.o.n, res.ReadySeconds, res.bucketsPerSecond())

	if b.o.resyncs > 0 {
		if err := b.measureResyncs(ctx, st, res); err != nil {
			return nil, err
		}
	}
	if res.RSSMiB, err = rssMiB(); err != nil {
		return nil, err
	}
	return res, nil
}

// createProvider creates the run's Provider and its credentials and waits
// for it to be Ready.
func (b *bench) createProvider(ctx context.Context, st *runState) error {
	st.secret, st.provider = "minio-creds", "minio"
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: st.secret},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": b.minio.AccessKey, "AWS_SECRET_ACCESS_KEY": b.minio.SecretKey},
	}
	if err := b.k8s.Create(ctx, sec); err != nil {
		return fmt.Errorf("create Secret: %w", err)
	}
	p := &pailv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: st.provider},
		Spec: pailv1.ProviderSpec{
			Driver:               driverName,
			Endpoint:             b.minio.Endpoint,
			Region:               "us-east-1",
			PathStyle:            true,
			CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: st.secret},
		},
	}
	if err := b.k8s.Create(ctx, p); err != nil {
		return fmt.Errorf("create Provider: %w", err)
	}
	return b.waitProviderReady(ctx, st)
}

// measureResyncs restarts the operator b.o.resyncs times on the in-sync
// Buckets (each fresh operator observes every Bucket once at start) and
// records what the resyncs cost in res.
func (b *bench) measureResyncs(ctx context.Context, st *runState, res *result) error {
	if err := st.op.stop(); err != nil {
		return err
	}
	before, err := gatherCounters()
	if err != nil {
		return err
	}
	for i := 1; i <= b.o.resyncs; i++ {
		if i > 1 {
			if err := st.op.stop(); err != nil {
				return err
			}
		}
		if st.op, err = b.startOperator(ctx, st.mode); err != nil {
			return err
		}
		if err := b.waitObserved(ctx, st, i, before.observeOK+float64(i*b.o.n)); err != nil {
			return err
		}
	}
	after, err := gatherCounters()
	if err != nil {
		return err
	}
	res.Observations = after.observeOK - before.observeOK
	res.Writes = after.writes - before.writes
	res.Reads = after.reads - before.reads
	res.Failed = after.failed - before.failed
	res.ReadsByOp = map[string]float64{}
	for op, v := range after.readsByOp {
		if d := v - before.readsByOp[op]; d != 0 {
			res.ReadsByOp[op] = d
		}
	}
	progressf("%s: %d in-sync resyncs: %.0f observations, %.0f writes, %.2f reads per Bucket per resync",
		st.label, b.o.resyncs, res.Observations, res.Writes, res.readsPerBucket())
	return nil
}

// bucket returns Bucket number name of the variant. The full variant is the
// integration suite's fullyConfigured without forceDelete.
func (b *bench) bucket(variant, ns, name, bucketName string) *pailv1.Bucket {
	bk := &pailv1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: pailv1.BucketSpec{
			ProviderRef: pailv1.ProviderReference{Name: "minio"},
			BucketName:  bucketName,
		},
	}
	if variant != variantFull {
		return bk
	}
	bk.Spec.DeletionPolicy = pailv1.DeletionDelete
	bk.Spec.Versioning = &pailv1.VersioningSpec{Status: "Enabled"}
	bk.Spec.Encryption = &pailv1.EncryptionSpec{Algorithm: "AES256"}
	bk.Spec.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{
		{ID: "expire-logs", Filter: &pailv1.LifecycleFilter{Prefix: "logs/"}, Expiration: &pailv1.LifecycleExpiration{Days: 30}},
		{ID: "old-versions", Filter: &pailv1.LifecycleFilter{Tags: map[string]string{"class": "tmp"}},
			NoncurrentVersionExpiration: &pailv1.NoncurrentVersionExpiration{NoncurrentDays: 7}},
	}}
	bk.Spec.Tags = map[string]string{"team": "storage", "env": "test"}
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucketName)
	bk.Spec.Policy = &runtime.RawExtension{Raw: []byte(doc)}
	return bk
}

func (b *bench) createBuckets(ctx context.Context, st *runState, variant string) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range createWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.o.n || cctx.Err() != nil {
					return
				}
				bk := b.bucket(variant, st.ns, fmt.Sprintf("b%04d", i), fmt.Sprintf("%s%04d", st.prefix, i))
				if err := b.k8s.Create(cctx, bk); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("create Bucket %s: %w", bk.Name, err); cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func (b *bench) waitProviderReady(ctx context.Context, st *runState) error {
	deadline := time.Now().Add(b.o.timeout)
	for {
		var p pailv1.Provider
		err := b.k8s.Get(ctx, client.ObjectKey{Namespace: st.ns, Name: st.provider}, &p)
		if err == nil && meta.IsStatusConditionTrue(p.Status.Conditions, pailv1.ConditionReady) {
			return nil
		}
		if time.Now().After(deadline) {
			state := "no Ready condition"
			if err != nil {
				state = err.Error()
			} else if c := meta.FindStatusCondition(p.Status.Conditions, pailv1.ConditionReady); c != nil {
				state = fmt.Sprintf("%s: %s", c.Reason, c.Message)
			}
			return fmt.Errorf("provider not Ready after %s: %s", b.o.timeout, state)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// terminalReasons are Ready=False reasons that no retry changes: the spec
// itself must change.
var terminalReasons = map[string]bool{
	pailv1.ReasonUnsupported:    true,
	pailv1.ReasonInvalidSpec:    true,
	pailv1.ReasonBucketExists:   true,
	"BucketNameTaken":           true,
	pailv1.ReasonMFAUnavailable: true,
}

// readyCount counts the Buckets whose Ready condition is True for their
// current generation, and those stuck for a reason no retry changes, and
// summarizes why the others are not Ready.
func readyCount(items []pailv1.Bucket) (ready, stuck int, why string) {
	reasons := map[string]int{}
	for i := range items {
		c := meta.FindStatusCondition(items[i].Status.Conditions, pailv1.ConditionReady)
		current := c != nil && c.ObservedGeneration == items[i].Generation
		switch {
		case current && c.Status == metav1.ConditionTrue:
			ready++
			continue
		case current && terminalReasons[c.Reason]:
			stuck++
		}
		if c == nil {
			reasons["no Ready condition yet"]++
			continue
		}
		msg := c.Message
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		reasons[c.Reason+": "+msg]++
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return reasons[keys[i]] > reasons[keys[j]] || reasons[keys[i]] == reasons[keys[j]] && keys[i] < keys[j]
	})
	var parts []string
	for i, k := range keys {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more reasons", len(keys)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%d× %s", reasons[k], k))
	}
	return ready, stuck, strings.Join(parts, "; ")
}

// waitReady polls with a List every 100 ms until all N Buckets are Ready and
// returns the time since t0.
func (b *bench) waitReady(ctx context.Context, st *runState, t0 time.Time) (time.Duration, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastPrint time.Time
	for {
		var list pailv1.BucketList
		if err := b.k8s.List(ctx, &list, client.InNamespace(st.ns)); err != nil {
			return 0, fmt.Errorf("list Buckets: %w", err)
		}
		ready, stuck, why := readyCount(list.Items)
		elapsed := time.Since(t0)
		if ready == b.o.n && len(list.Items) == b.o.n {
			return elapsed, nil
		}
		if stuck > 0 && ready+stuck == b.o.n {
			return 0, fmt.Errorf("%d/%d Buckets Ready and %d can never become Ready as specified: %s", ready, b.o.n, stuck, why)
		}
		if time.Since(lastPrint) >= time.Second {
			progressf("%s: %d/%d Ready", st.label, ready, b.o.n)
			lastPrint = time.Now()
		}
		if elapsed > b.o.timeout {
			return 0, fmt.Errorf("only %d/%d Buckets Ready after %s; not Ready: %s", ready, b.o.n, b.o.timeout, why)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}

// waitObserved waits until the successful ObserveBucket count reaches want.
func (b *bench) waitObserved(ctx context.Context, st *runState, resync int, want float64) error {
	start := time.Now()
	var lastPrint time.Time
	for {
		c, err := gatherCounters()
		if err != nil {
			return err
		}
		done := c.observeOK - (want - float64(b.o.n))
		if c.observeOK >= want {
			progressf("%s: resync %d/%d: %d/%d observed", st.label, resync, b.o.resyncs, b.o.n, b.o.n)
			return nil
		}
		if time.Since(lastPrint) >= time.Second {
			progressf("%s: resync %d/%d: %.0f/%d observed", st.label, resync, b.o.resyncs, done, b.o.n)
			lastPrint = time.Now()
		}
		if time.Since(start) > b.o.timeout {
			var list pailv1.BucketList
			_ = b.k8s.List(ctx, &list, client.InNamespace(st.ns))
			_, _, why := readyCount(list.Items)
			return fmt.Errorf("resync %d: only %.0f/%d Buckets observed after %s (failed driver operations so far: %.0f); not Ready: %s",
				resync, done, b.o.n, b.o.timeout, c.failed, why)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// cleanup deletes every Bucket of the run (the operator removes its
// finalizers, and the buckets of deletionPolicy Delete), stops the operator,
// removes what is left in MinIO under the run's prefix, then the Provider,
// Secret and namespace. It always stops the operator.
func (b *bench) cleanup(ctx context.Context, st *runState) error {
	if ctx.Err() != nil {
		// Interrupted: the servers, and their data, go away right after.
		return st.op.stop()
	}
	var errs []error
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.o.timeout)
	defer cancel()
	if st.ns != "" {
		if err := b.deleteBuckets(cctx, st); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, st.op.stop())
	if err := b.removeS3Buckets(cctx, st.prefix); err != nil {
		errs = append(errs, err)
	}
	if st.ns != "" {
		for _, o := range []client.Object{
			&pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: st.provider}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: st.secret}},
			// Stays Terminating: envtest runs no namespace controller. It is empty by now.
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: st.ns}},
		} {
			if o.GetName() == "" {
				continue
			}
			if err := b.k8s.Delete(cctx, o); client.IgnoreNotFound(err) != nil {
				errs = append(errs, fmt.Errorf("delete %T %s: %w", o, o.GetName(), err))
			}
		}
	}
	return errors.Join(errs...)
}

func (b *bench) deleteBuckets(ctx context.Context, st *runState) error {
	list := func() ([]pailv1.Bucket, error) {
		var l pailv1.BucketList
		err := b.k8s.List(ctx, &l, client.InNamespace(st.ns))
		return l.Items, err
	}
	items, err := list()
	if err != nil || len(items) == 0 {
		return err
	}
	progressf("%s: cleanup: deleting %d Buckets", st.label, len(items))
	if !st.op.running() && st.provider != "" {
		if st.op, err = b.startOperator(ctx, st.mode); err != nil {
			progressf("%s: cleanup: no operator (%v); removing finalizers instead", st.label, err)
		}
	}
	if err := b.k8s.DeleteAllOf(ctx, &pailv1.Bucket{}, client.InNamespace(st.ns)); err != nil {
		return fmt.Errorf("delete Buckets: %w", err)
	}
	if st.op.running() {
		var lastPrint time.Time
		for ctx.Err() == nil {
			if items, err = list(); err == nil && len(items) == 0 {
				return nil
			}
			if time.Since(lastPrint) >= time.Second {
				progressf("%s: cleanup: %d Buckets left", st.label, len(items))
				lastPrint = time.Now()
			}
			_ = sleep(ctx, 100*time.Millisecond)
		}
	}
	// No operator, or it did not finish in time: drop the finalizers; the S3
	// side is removed by prefix afterwards.
	errs := []error{st.op.stop()}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var l pailv1.BucketList
	if err := b.k8s.List(fctx, &l, client.InNamespace(st.ns)); err != nil {
		return errors.Join(append(errs, err)...)
	}
	progressf("%s: cleanup: removing the finalizers of %d Buckets", st.label, len(l.Items))
	for i := range l.Items {
		bk := &l.Items[i]
		patch := client.MergeFrom(bk.DeepCopy())
		bk.Finalizers = nil
		if err := b.k8s.Patch(fctx, bk, patch); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove finalizer of Bucket %s: %w", bk.Name, err))
		}
	}
	return errors.Join(errs...)
}

// removeS3Buckets deletes, with their contents, the MinIO buckets whose name
// starts with prefix: Retain buckets, and any the operator could not delete.
func (b *bench) removeS3Buckets(ctx context.Context, prefix string) error {
	all, err := b.s3.ListBuckets(ctx)
	if err != nil {
		return fmt.Errorf("list MinIO buckets: %w", err)
	}
	var names []string
	for _, bi := range all {
		if strings.HasPrefix(bi.Name, prefix) {
			names = append(names, bi.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	var (
		mu   sync.Mutex
		errs []error
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range createWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(names) {
					return
				}
				if err := b.s3.RemoveBucketWithOptions(ctx, names[i], minio.RemoveBucketOptions{ForceDelete: true}); err != nil &&
					minio.ToErrorResponse(err).Code != minio.NoSuchBucket {
					mu.Lock()
					errs = append(errs, fmt.Errorf("remove MinIO bucket %s: %w", names[i], err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
