package registry

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/sdk/abi"
)

// BenchmarkMetricsCost measures what the metrics add to one driver
// operation that makes one HTTP request through the host: the same native
// driver instrumented with and without collectors, and the size and cost of
// a scrape after many distinct series. `make bench` runs it:
//
//	cd core && go test -run XXX -bench BenchmarkMetricsCost ./registry/
func BenchmarkMetricsCost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.Cleanup(srv.Close)
	var calls atomic.Int64
	var sawOp atomic.Bool
	ctx := policyCtx(b, srv.URL)
	p := abi.ProviderConfig{Region: srv.URL}
	for _, withMetrics := range []bool{false, true} {
		name := "without"
		var m *metrics.Metrics
		if withMetrics {
			name = "with"
			var err error
			if m, err = metrics.New(prometheus.NewRegistry()); err != nil {
				b.Fatal(err)
			}
		}
		d := Instrument(nativeDouble(&calls, &sawOp), "double", m)
		b.Run("operation/"+name, func(b *testing.B) {
			for range b.N {
				if _, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "b"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	// A scrape with the series 1,000 Buckets' drift counters and three
	// drivers' operations would create.
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		m.ObserveDriftCorrected("ns", "bucket-"+string(rune('a'+i%26))+string(rune('a'+i/26%26)))
	}
	for _, drv := range []string{"minio", "aws", "wasabi"} {
		for _, op := range []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket} {
			m.DriverOperations.WithLabelValues(drv, op, "ok").Inc()
			m.DriverRequestDuration.WithLabelValues(drv, op).Observe(0.01)
		}
	}
	var size int
	b.Run("scrape", func(b *testing.B) {
		for range b.N {
			mfs, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			for _, mf := range mfs {
				if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
					b.Fatal(err)
				}
			}
			size = buf.Len()
		}
		b.ReportMetric(float64(size)/1024, "KiB/scrape")
	})
}
