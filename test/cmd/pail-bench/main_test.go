package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 200, o.n)
	require.Equal(t, []string{"plain", "full"}, o.variants)
	require.Equal(t, []string{"wasm", "native"}, o.modes)
	require.Equal(t, 3, o.resyncs)
	require.Equal(t, 16, o.concurrency)
	require.Equal(t, 8, o.pool)
	require.Equal(t, 80*time.Second, o.timeout)

	o, err = parseFlags([]string{"-n", "1000", "-modes", "native, wasm,native", "-variants", "full"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"native", "wasm"}, o.modes)
	require.Equal(t, []string{"full"}, o.variants)

	for _, bad := range [][]string{{"-modes", "js"}, {"-variants", ""}, {"-n", "0"}, {"-pool", "0"}, {"extra"}} {
		_, err := parseFlags(bad, io.Discard)
		require.Error(t, err, bad)
	}
}

func TestReadyCount(t *testing.T) {
	bk := func(status metav1.ConditionStatus, reason string, og int64) pailv1.Bucket {
		b := pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
		b.Status.Conditions = []metav1.Condition{{Type: pailv1.ConditionReady, Status: status, Reason: reason, Message: "m", ObservedGeneration: og}}
		return b
	}
	items := []pailv1.Bucket{
		bk(metav1.ConditionTrue, "Available", 1),
		bk(metav1.ConditionTrue, "Available", 0), // stale
		bk(metav1.ConditionFalse, pailv1.ReasonUnsupported, 1),
		{},
	}
	ready, stuck, why := readyCount(items)
	require.Equal(t, 1, ready)
	require.Equal(t, 1, stuck)
	require.Contains(t, why, "1× Unsupported: m")
	require.Contains(t, why, "1× no Ready condition yet")
}

func TestRenderReport(t *testing.T) {
	rs := []*result{
		{Mode: "wasm", Variant: "full", N: 200, Managed: []string{"versioning", "tagging"}, ReadySeconds: 2.2, Resyncs: 3,
			Observations: 600, Reads: 1803, ReadsByOp: map[string]float64{"ObserveBucket": 1800, "CheckProvider": 3}, RSSMiB: 300},
		{Mode: "native", Variant: "full", N: 200, Managed: []string{"versioning", "tagging"}, ReadySeconds: 2, Resyncs: 3,
			Observations: 600, Reads: 1803, Writes: 3, RSSMiB: 200},
		{Mode: "wasm", Variant: "plain", N: 200, Err: "boom"},
	}
	out := renderReport(reportInfo{opts: options{resyncs: 3, concurrency: 16, pool: 4}, args: []string{"--out", "../docs/benchmarks.md"}, results: rs, date: time.Unix(0, 0)})
	require.Contains(t, out, "make bench N=1000")
	require.Contains(t, out, "go run ./cmd/pail-bench --out ../docs/benchmarks.md")
	require.Contains(t, out, "| wasm | full | 200 | 2.20 | 91 | 0 | 3.00 | 300 |")
	require.Contains(t, out, "| native | full | 200 | 2.00 | 100 | 1 | 3.00 | 200 |")
	require.Contains(t, out, "| wasm | plain | 200 | failed |")
	require.Contains(t, out, "WASM/native time to all Ready, full: **1.10**")
	require.NotContains(t, out, "time to all Ready, plain")
	require.Contains(t, out, "native/full: 2.00 s to all Ready (≤ 3 s: met); 1 writes per in-sync resync (target 0: **missed**)")
	require.Contains(t, out, "3.00 reads per Bucket per resync for 2 managed sub-resources, 1.50 per sub-resource (≤ 1: **missed**)")
	require.Contains(t, out, "CheckProvider 3, ObserveBucket 1800")
	require.Contains(t, out, "```text\nboom\n```")
}

func TestRingBuffer(t *testing.T) {
	r := newRingBuffer(2)
	_, _ = r.Write([]byte("a\nb\nc"))
	_, _ = r.Write([]byte("d\ne\n"))
	require.Equal(t, "cd\ne\n", r.String())
}
