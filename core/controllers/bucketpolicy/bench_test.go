package bucketpolicy

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// BenchmarkValidateAndDiff times what a BucketPolicy reconcile spends in the
// host for a 20-statement document, with the calls the reconciler makes:
// check (parse spec.policy once into a policydoc.Document, build the
// input, evaluate the packs), then the Document compared with the one
// parsed from the copy MinIO stores (lists for strings, {"AWS":["*"]} for
// "*", statements in another order), and its hash for status. The design target is p99 ≤ 2 ms; -benchtime and the figures are
// in docs/benchmarks.md.
//
// "uncached" evaluates the packs every time (a new or changed document, or
// the first reconcile after the packs changed); "cached" is a resync of an
// unchanged document, answered from the engine's result cache; the
// operator-heap variants hold, during the run, a live heap shaped like a
// running operator's (liveHeap).
func BenchmarkValidateAndDiff(b *testing.B) {
	ctx := context.Background()
	var want, stored []string
	for i := range 20 {
		want = append(want, fmt.Sprintf(`{"Sid":"S%02d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app%d"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/p%d/*"]}`, i, i, i))
		stored = append([]string{fmt.Sprintf(`{"Sid":"S%02d","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/app%d"]},"Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::b/p%d/*","arn:aws:s3:::b"]}`, i, i, i)}, stored...)
	}
	doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(want, ",") + `]}`
	storedDoc := `{"Statement":[` + strings.Join(stored, ",") + `],"Version":"2012-10-17"}`
	bp := &pailv1.BucketPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "read"},
		Spec:       pailv1.BucketPolicySpec{BucketRef: pailv1.BucketReference{Name: "b"}, Policy: kruntime.RawExtension{Raw: []byte(doc)}},
	}
	bucket := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "b"}, Spec: pailv1.BucketSpec{BucketName: "b"}}
	provider := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Name: "minio"}, Spec: pailv1.ProviderSpec{Driver: "minio"}}

	for _, bc := range []struct {
		name         string
		cached       bool
		operatorHeap bool
	}{
		{"uncached", false, false},
		{"cached", true, false},
		{"uncached/operator-heap", false, true},
		{"cached/operator-heap", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var heap *liveHeap
			if bc.operatorHeap {
				heap = newLiveHeap()
			}
			defer runtime.KeepAlive(heap)
			e := policy.NewEngine()
			if !bc.cached {
				e.SetCacheSize(0)
			}
			if err := e.LoadDir(ctx, "../../../policies"); err != nil {
				b.Fatal(err)
			}
			durations := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				doc, res, err := check(ctx, e, bp, bucket, provider)
				if err != nil || len(res.Deny) > 0 {
					b.Fatal(err, res.Deny)
				}
				have, err := policydoc.ParseString(storedDoc)
				if err != nil || !doc.Equal(have) || doc.Hash() == "" {
					b.Fatal("canonical forms differ", err)
				}
				durations = append(durations, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(durations)
			if n := len(durations); n > 0 {
				b.ReportMetric(float64(durations[n/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(durations[n*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

// liveHeap is the heap of the demo's operator (make demo, one driver
// loaded, metrics read after it settled): go_memstats_heap_alloc_bytes
// 82 MB, go_memstats_heap_objects 179k. The wasm instances' linear memory
// is pointer-free bytes the collector does not scan; informer caches,
// compiled Rego and the rest are many small objects with pointers, which
// it marks on every cycle. The live heap sets how often the collector
// runs: with the bare benchmark's 2 MB it runs every ~15 evaluations.
type liveHeap struct {
	linearMemory []byte
	objects      []*heapObject
}

type heapObject struct {
	name   string
	labels map[string]string
	next   *heapObject
}

func newLiveHeap() *liveHeap {
	h := &liveHeap{linearMemory: make([]byte, 64<<20)}
	for i := range 45_000 {
		// Four objects each (the struct, its name, the map and its
		// group): 180k, and 64 MiB + 17 MiB in all.
		o := &heapObject{name: fmt.Sprintf("object-%d", i), labels: map[string]string{"i": "x"}}
		if i > 0 {
			o.next = h.objects[i-1]
		}
		h.objects = append(h.objects, o)
	}
	return h
}
