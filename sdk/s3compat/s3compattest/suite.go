package s3compattest

import (
	"net/http"
	"sync/atomic"
)

// EnvKMSKeyID names the environment variable that, when set, names the KMS
// key with which the conformance suite (drivertest.Target.KMSKeyID) also
// round-trips SSE-KMS default encryption (only a real AWS account has one).
const EnvKMSKeyID = "PAIL_S3_KMS_KEY_ID"

// CountingTransport counts the requests a driver sends through it, for
// drivertest.Target.Requests: the suite then checks that an undeclared
// capability is refused before any request.
type CountingTransport struct {
	Next http.RoundTripper
	n    atomic.Int64
}

// NewCountingTransport counts the requests of a fresh clone of
// http.DefaultTransport.
func NewCountingTransport() *CountingTransport {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return &CountingTransport{Next: t.Clone()}
	}
	return &CountingTransport{Next: http.DefaultTransport}
}

// RoundTrip counts r and sends it on.
func (c *CountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.Next.RoundTrip(r)
}

// Requests is how many requests have gone through c.
func (c *CountingTransport) Requests() int64 { return c.n.Load() }
