package policypacks

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

// benchDoc is a typical policy: TLS enforcement and one read grant.
const benchDoc = `{"Version":"2012-10-17","Statement":[
 {"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::team-a-photos","arn:aws:s3:::team-a-photos/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
 {"Sid":"Read","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/app"]},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::team-a-photos","arn:aws:s3:::team-a-photos/*"]}]}`

// BenchmarkPacks evaluates data.pail (every pack, as the engine does) on a
// typical document and reports the p99.
func BenchmarkPacks(b *testing.B) {
	ctx := context.Background()
	opts := []func(*rego.Rego){rego.Query("data.pail")}
	for _, p := range loadPacks(b) {
		for f, src := range p.files {
			opts = append(opts, rego.Module(p.name+"/"+f, src))
		}
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var policy any
	if err := json.Unmarshal([]byte(benchDoc), &policy); err != nil {
		b.Fatal(err)
	}
	input := map[string]any{
		"policy":   policy,
		"bucket":   map[string]any{"namespace": "team-a", "name": "photos", "bucketName": "team-a-photos", "public": false},
		"provider": map[string]any{"name": "aws-prod", "driver": "aws"},
		"raw_size": len(benchDoc),
	}
	durations := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		if _, err := pq.Eval(ctx, rego.EvalInput(input)); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	if n := len(durations); n > 0 {
		b.ReportMetric(float64(durations[n*99/100].Microseconds()), "p99-µs")
	}
}
