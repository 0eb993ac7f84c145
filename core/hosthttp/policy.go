// Package hosthttp is the host's network for drivers: every request a driver
// makes, from wasm or in native mode, passes through a Policy built from its
// Provider. The Policy enforces the allow-list, never follows redirects,
// applies the Provider's TLS settings and caps what a single operation may do.
package hosthttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Defaults for the per-operation caps.
const (
	DefaultMaxResponseBytes = 16 << 20
	DefaultMaxCallsPerOp    = 64
	DefaultRequestTimeout   = 30 * time.Second
)

// ErrNotAllowed is returned for a request to a host outside the allow-list,
// and wrapped by a DialRefusedError for one whose address is refused.
var ErrNotAllowed = errors.New("host not allowed")

// ErrLimit is returned when an operation exceeds one of its caps.
var ErrLimit = errors.New("limit exceeded")

// IsRefused reports whether err is the policy refusing a request, as opposed
// to the network failing it.
func IsRefused(err error) bool { return errors.Is(err, ErrNotAllowed) || errors.Is(err, ErrLimit) }

// Observer sees every request the host performs, for metrics and logs.
// status is 0 when no response arrived.
type Observer func(method, host string, status int, d time.Duration, err error)

// Policy is immutable once built; With… methods return copies.
type Policy struct {
	allowed          map[string]bool // scheme://host:port
	subdomains       bool
	transport        *http.Transport
	maxResponseBytes int64
	maxCalls         int64
	// limiter is the Provider's token bucket over every request of every
	// operation; nil means unlimited.
	limiter        *rate.Limiter
	requestTimeout time.Duration
	// guard judges each resolved address before the transport connects.
	guard dialGuard
}

// TLSOptions come from the Provider's spec.tls.
type TLSOptions struct {
	CAPEM              []byte
	InsecureSkipVerify bool
}

// NewPolicy allows exactly the scheme and host:port of each endpoint. Its
// transport never connects to a forbidden network (ForbiddenNetworks), by
// IP or by a name that resolves there, unless WithLinkLocal.
func NewPolicy(endpoints []string, tlsOpts TLSOptions) (*Policy, error) {
	p := &Policy{
		allowed:          map[string]bool{},
		maxResponseBytes: DefaultMaxResponseBytes,
		maxCalls:         DefaultMaxCallsPerOp,
		requestTimeout:   DefaultRequestTimeout,
	}
	for _, e := range endpoints {
		key, err := originOf(e)
		if err != nil {
			// Not %w: the parse error quotes the URL, user info included.
			return nil, errors.New(RedactUserinfo(fmt.Sprintf("endpoint %q: %v", e, err)))
		}
		p.allowed[key] = true
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: tlsOpts.InsecureSkipVerify} //nolint:gosec // opt-in per Provider, documented as lab-only
	if len(tlsOpts.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(tlsOpts.CAPEM) {
			return nil, errors.New("the CA bundle holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	p.transport = &http.Transport{
		Proxy:               nil, // the allow-list is about the real destination; a proxy would hide it
		DialContext:         p.guard.dialer(),
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 5 * time.Second,
		DisableCompression:  true, // never rewrite Accept-Encoding under a signature
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return p, nil
}

// WithSubdomains returns a copy that also allows bucket.<endpoint host> on
// the same scheme and port: virtual-hosted addressing puts the bucket name
// in the host. Only direct subdomains are allowed, never the parent domain.
func (p *Policy) WithSubdomains() *Policy { c := *p; c.subdomains = true; return &c }

// WithLimits returns a copy with other caps; zero keeps the current value.
func (p *Policy) WithLimits(maxResponseBytes, maxCallsPerOp int64, requestTimeout time.Duration) *Policy {
	c := *p
	if maxResponseBytes > 0 {
		c.maxResponseBytes = maxResponseBytes
	}
	if maxCallsPerOp > 0 {
		c.maxCalls = maxCallsPerOp
	}
	if requestTimeout > 0 {
		c.requestTimeout = requestTimeout
	}
	return &c
}

// WithRateLimit returns a copy whose requests share a token bucket of
// perSecond requests and burst; perSecond <= 0 means unlimited. Copies made
// from the result share the bucket.
func (p *Policy) WithRateLimit(perSecond float64, burst int) *Policy {
	c := *p
	c.limiter = nil
	if perSecond > 0 {
		if burst < 1 {
			burst = 1
		}
		c.limiter = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	return &c
}

// SharingLimiter returns p with old's token bucket when both limit at the
// same rate and burst: a connection rebuilt for another reason (a Secret
// that changed) must not start its Provider with a fresh burst.
func (p *Policy) SharingLimiter(old *Policy) *Policy {
	if p == nil || old == nil || p.limiter == nil || old.limiter == nil ||
		p.limiter.Limit() != old.limiter.Limit() || p.limiter.Burst() != old.limiter.Burst() {
		return p
	}
	c := *p
	c.limiter = old.limiter
	return &c
}

// Close releases idle connections.
func (p *Policy) Close() { p.transport.CloseIdleConnections() }

func originOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port), nil
}

// Allowed reports whether a request to rawURL may leave the host.
func (p *Policy) Allowed(rawURL string) bool {
	key, err := originOf(rawURL)
	if err != nil {
		return false
	}
	if p.allowed[key] {
		return true
	}
	if !p.subdomains {
		return false
	}
	// scheme://label.rest:port is allowed when scheme://rest:port is.
	scheme, hostport, _ := strings.Cut(key, "://")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	label, parent, ok := strings.Cut(host, ".")
	if !ok || label == "" || net.ParseIP(host) != nil || net.ParseIP(parent) != nil {
		return false
	}
	return p.allowed[scheme+"://"+net.JoinHostPort(parent, port)]
}

// Op counts and bounds the requests of one driver operation.
type Op struct {
	policy  *Policy
	observe Observer
	calls   atomic.Int64
}

// NewOp starts an operation under this policy; observe (may be nil) sees
// every request it makes, allowed or not.
func (p *Policy) NewOp(observe Observer) *Op { return &Op{policy: p, observe: observe} }

// Calls is the number of requests the operation made.
func (o *Op) Calls() int64 { return o.calls.Load() }

// Do performs one request. Redirects are returned, never followed; the body
// is read fully and capped so the caller (often a wasm guest) gets one buffer.
func (o *Op) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	p := o.policy
	// A RoundTripper must close the request body, also when it refuses.
	closeBody := func() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
	}
	start := time.Now()
	host := req.URL.Host
	if !p.Allowed(req.URL.String()) {
		err := fmt.Errorf("%w: %s://%s is not this Provider's endpoint", ErrNotAllowed, req.URL.Scheme, host)
		o.report(req.Method, host, 0, start, err)
		closeBody()
		return nil, nil, err
	}
	if n := o.calls.Add(1); n > p.maxCalls {
		err := fmt.Errorf("%w: operation exceeded %d HTTP requests", ErrLimit, p.maxCalls)
		o.report(req.Method, host, 0, start, err)
		closeBody()
		return nil, nil, err
	}
	if p.limiter != nil {
		// Waiting is the point: the Provider's budget is shared by every
		// Bucket, so a burst of reconciles queues here instead of tripping
		// the provider's own throttling. A wait that cannot finish before
		// the call's deadline fails at once.
		if err := p.limiter.Wait(ctx); err != nil {
			err = fmt.Errorf("%w: the Provider's rate limit (%.3g requests/s) leaves no room before the deadline: %w", ErrLimit, float64(p.limiter.Limit()), err)
			o.report(req.Method, host, 0, start, err)
			closeBody()
			return nil, nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.requestTimeout)
	defer cancel()
	resp, err := p.transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		noteRefusal(ctx, err)
		o.report(req.Method, host, 0, start, err)
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.maxResponseBytes+1))
	if err == nil && int64(len(body)) > p.maxResponseBytes {
		err = fmt.Errorf("%w: response body exceeds %d bytes", ErrLimit, p.maxResponseBytes)
	}
	o.report(req.Method, host, resp.StatusCode, start, err)
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

func (o *Op) report(method, host string, status int, start time.Time, err error) {
	if o.observe != nil {
		o.observe(method, host, status, time.Since(start), err)
	}
}

type opKey struct{}

// WithOp attaches an operation to ctx; the wasm host and the native
// transport find it there.
func WithOp(ctx context.Context, o *Op) context.Context { return context.WithValue(ctx, opKey{}, o) }

// OpFrom returns the operation attached to ctx, or nil.
func OpFrom(ctx context.Context) *Op { o, _ := ctx.Value(opKey{}).(*Op); return o }

// Transport is the http.RoundTripper given to drivers in native mode. It
// routes each request through the Op in the request's context, so native
// drivers obey exactly the policy a wasm driver does.
type Transport struct{}

// RoundTrip implements http.RoundTripper.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := OpFrom(req.Context())
	if op == nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, errors.New("pail host: request outside a driver operation")
	}
	resp, body, err := op.Do(req.Context(), req)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
