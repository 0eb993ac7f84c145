package hosthttp_test

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/hosthttp"
)

// server is an httptest server on 127.0.0.1 that counts the requests it gets.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func newTLSServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }
}

func newPolicy(t *testing.T, endpoints []string, opts hosthttp.TLSOptions) *hosthttp.Policy {
	t.Helper()
	p, err := hosthttp.NewPolicy(endpoints, opts)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func get(t *testing.T, rawURL string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	return req
}

// observation is one Observer callback.
type observation struct {
	method, host string
	status       int
	err          error
}

type observations struct {
	mu   sync.Mutex
	list []observation
}

func (o *observations) observe(method, host string, status int, _ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, observation{method, host, status, err})
}

func (o *observations) all() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]observation(nil), o.list...)
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.Host
}

func TestDoAllowedEndpoint(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		_, _ = io.WriteString(w, "hello")
	})
	op := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).NewOp(nil)

	resp, body, err := op.Do(context.Background(), get(t, srv.URL+"/bucket/key?x=1"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/bucket/key", resp.Header.Get("X-Path"))
	assert.Equal(t, "hello", string(body))
	assert.EqualValues(t, 1, op.Calls())
	assert.EqualValues(t, 1, srv.hits.Load())
}

func TestDoSendsHeadersAndBodyAsGiven(t *testing.T) {
	type seen struct {
		acceptEncoding, custom, host, body string
		contentLength                      int64
	}
	got := make(chan seen, 1)
	srv := newServer(t, func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Get("Accept-Encoding"), r.Header.Get("X-Amz-Content-Sha256"), r.Host, string(b), r.ContentLength}
	})
	op := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).NewOp(nil)

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPut, srv.URL+"/b/k", strings.NewReader("payload"))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req.Host = "bucket.s3.example.com" // a virtual-host-style Host header does not change the destination
	resp, _, err := op.Do(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	s := <-got
	assert.Empty(t, s.acceptEncoding, "the host must not add Accept-Encoding under a signature")
	assert.Equal(t, "UNSIGNED-PAYLOAD", s.custom)
	assert.Equal(t, "bucket.s3.example.com", s.host)
	assert.Equal(t, "payload", s.body)
	assert.EqualValues(t, 7, s.contentLength)
}

func TestDoRefusesOtherHost(t *testing.T) {
	allowed := newServer(t, text("allowed"))
	other := newServer(t, text("other"))
	var obs observations
	op := newPolicy(t, []string{allowed.URL}, hosthttp.TLSOptions{}).NewOp(obs.observe)

	tests := []struct {
		name string
		url  string
	}{
		{"other server", other.URL + "/"},
		{"other server by name", strings.Replace(other.URL, "127.0.0.1", "localhost", 1)},
		{"allowed host, https instead of http", strings.Replace(allowed.URL, "http://", "https://", 1)},
		{"allowed server via localhost alias", strings.Replace(allowed.URL, "127.0.0.1", "localhost", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := op.Do(context.Background(), get(t, tt.url))
			require.ErrorIs(t, err, hosthttp.ErrNotAllowed)
			assert.True(t, hosthttp.IsRefused(err))
			assert.Contains(t, err.Error(), hostOf(t, tt.url), "the error names the refused host")
			assert.Nil(t, resp)
			assert.Nil(t, body)
		})
	}
	assert.Zero(t, other.hits.Load(), "a refused request never leaves the host")
	assert.Zero(t, allowed.hits.Load())
	assert.Zero(t, op.Calls(), "refused requests do not count against the call cap")

	got := obs.all()
	require.Len(t, got, len(tests), "the observer sees refused requests too")
	for _, o := range got {
		assert.Equal(t, http.MethodGet, o.method)
		assert.Zero(t, o.status)
		assert.ErrorIs(t, o.err, hosthttp.ErrNotAllowed)
	}
}

func TestDoDoesNotFollowRedirects(t *testing.T) {
	other := newServer(t, text("secret elsewhere"))
	allowed := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/loot", http.StatusFound)
	})
	op := newPolicy(t, []string{allowed.URL}, hosthttp.TLSOptions{}).NewOp(nil)

	resp, _, err := op.Do(context.Background(), get(t, allowed.URL+"/start"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusFound, resp.StatusCode, "the 3xx is handed back as-is")
	assert.Equal(t, other.URL+"/loot", resp.Header.Get("Location"))
	assert.EqualValues(t, 1, allowed.hits.Load())
	assert.Zero(t, other.hits.Load(), "the redirect target must not be contacted")
	assert.EqualValues(t, 1, op.Calls())
}

func TestDoResponseBodyCap(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"empty", 0, false},
		{"below the cap", limit - 1, false},
		{"exactly the cap", limit, false},
		{"one byte over", limit + 1, true},
		{"far over", 1 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, text(strings.Repeat("x", tt.size)))
			var obs observations
			op := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).WithLimits(limit, 0, 0).NewOp(obs.observe)
			resp, body, err := op.Do(context.Background(), get(t, srv.URL))
			if !tt.wantErr {
				require.NoError(t, err)
				assert.Len(t, body, tt.size)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				return
			}
			require.ErrorIs(t, err, hosthttp.ErrLimit)
			assert.True(t, hosthttp.IsRefused(err))
			assert.Nil(t, resp)
			assert.Nil(t, body, "an oversized body is an error, never a truncated body")
			got := obs.all()
			require.Len(t, got, 1)
			assert.ErrorIs(t, got[0].err, hosthttp.ErrLimit)
		})
	}
}

func TestDoCallsPerOpCap(t *testing.T) {
	srv := newServer(t, text("ok"))
	p := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).WithLimits(0, 3, 0)
	op := p.NewOp(nil)
	for i := range 3 {
		_, _, err := op.Do(context.Background(), get(t, srv.URL))
		require.NoError(t, err, "call %d", i+1)
	}
	_, _, err := op.Do(context.Background(), get(t, srv.URL))
	require.ErrorIs(t, err, hosthttp.ErrLimit)
	assert.True(t, hosthttp.IsRefused(err))
	assert.Contains(t, err.Error(), "3")
	assert.EqualValues(t, 3, srv.hits.Load(), "the request over the cap is not sent")

	_, _, err = p.NewOp(nil).Do(context.Background(), get(t, srv.URL))
	require.NoError(t, err, "the cap is per operation: a new Op starts from zero")
}

func TestDoCallsPerOpCapConcurrent(t *testing.T) {
	srv := newServer(t, text("ok"))
	op := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).WithLimits(0, 5, 0).NewOp(nil)
	var wg sync.WaitGroup
	var ok, limited atomic.Int64
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			if _, _, err := op.Do(context.Background(), req); err == nil {
				ok.Add(1)
			} else if errors.Is(err, hosthttp.ErrLimit) {
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 5, ok.Load())
	assert.EqualValues(t, 15, limited.Load())
	assert.EqualValues(t, 5, srv.hits.Load())
}

func TestWithLimitsReturnsCopy(t *testing.T) {
	srv := newServer(t, text("0123456789"))
	base := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{})
	small := base.WithLimits(5, 1, 0)
	require.NotSame(t, base, small)

	_, _, err := small.NewOp(nil).Do(context.Background(), get(t, srv.URL))
	require.ErrorIs(t, err, hosthttp.ErrLimit)

	op := base.NewOp(nil)
	for range 2 {
		_, body, err := op.Do(context.Background(), get(t, srv.URL))
		require.NoError(t, err, "the original policy keeps its caps")
		assert.Equal(t, "0123456789", string(body))
	}
	// Zero keeps the current value.
	same := small.WithLimits(0, 0, 0)
	_, _, err = same.NewOp(nil).Do(context.Background(), get(t, srv.URL))
	require.ErrorIs(t, err, hosthttp.ErrLimit)
}

func TestDoRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	op := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).WithLimits(0, 0, 200*time.Millisecond).NewOp(nil)

	done := make(chan error, 1)
	req := get(t, srv.URL) // built here: require may only stop the test goroutine
	go func() {
		_, _, err := op.Do(context.Background(), req)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, hosthttp.IsRefused(err), "a timeout is a network failure, not a policy refusal")
	case <-time.After(20 * time.Second):
		t.Fatal("a 200 ms request timeout did not fire within 20 s")
	}
}

func TestDoCallerContextCanceled(t *testing.T) {
	srv := newServer(t, text("ok"))
	op := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).NewOp(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := op.Do(ctx, get(t, srv.URL))
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, srv.hits.Load())
}

func TestObserverSeesMethodAndStatus(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		case "/created":
			w.WriteHeader(http.StatusCreated)
		case "/moved":
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(http.StatusMovedPermanently)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodHead, "/", http.StatusOK},
		{http.MethodPut, "/created", http.StatusCreated},
		{http.MethodDelete, "/missing", http.StatusNotFound},
		{http.MethodPost, "/broken", http.StatusInternalServerError},
		{http.MethodGet, "/moved", http.StatusMovedPermanently},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var obs observations
			op := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).NewOp(obs.observe)
			req, err := http.NewRequestWithContext(context.Background(), tt.method, srv.URL+tt.path, nil)
			require.NoError(t, err)
			resp, _, err := op.Do(context.Background(), req)
			require.NoError(t, err, "an HTTP error status is a response, not an error")
			assert.Equal(t, tt.status, resp.StatusCode)
			got := obs.all()
			require.Len(t, got, 1)
			assert.Equal(t, observation{method: tt.method, host: hostOf(t, srv.URL), status: tt.status}, got[0])
		})
	}
}

func TestObserverSeesNetworkFailure(t *testing.T) {
	srv := newServer(t, text("ok"))
	dead := srv.URL
	srv.Close() // nothing listens there any more
	var obs observations
	op := newPolicy(t, []string{dead}, hosthttp.TLSOptions{}).NewOp(obs.observe)
	_, _, err := op.Do(context.Background(), get(t, dead))
	require.Error(t, err)
	assert.False(t, hosthttp.IsRefused(err), "connection refused is the network, not the policy")
	got := obs.all()
	require.Len(t, got, 1)
	assert.Zero(t, got[0].status)
	require.Error(t, got[0].err)
	assert.EqualValues(t, 1, op.Calls(), "an allowed request counts even when it fails")
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name      string
		endpoints []string
		url       string
		want      bool
	}{
		{"http default port implicit vs explicit", []string{"http://h"}, "http://h:80/b", true},
		{"http explicit vs implicit", []string{"http://h:80"}, "http://h/b", true},
		{"https default port", []string{"https://s3.example.com"}, "https://s3.example.com:443/b", true},
		{"https explicit vs implicit", []string{"https://s3.example.com:443"}, "https://s3.example.com/", true},
		{"https is not http", []string{"https://h"}, "http://h/", false},
		{"http is not https", []string{"http://h"}, "https://h/", false},
		{"http on 443 is not https", []string{"https://h"}, "http://h:443/", false},
		{"https on 80 is not http", []string{"http://h"}, "https://h:80/", false},
		{"host is case-insensitive", []string{"http://MinIO.Example.COM:9000"}, "http://minio.example.com:9000/x", true},
		{"request host case-insensitive", []string{"http://minio:9000"}, "http://MINIO:9000/x", true},
		{"scheme is case-insensitive", []string{"http://h"}, "HTTP://h/", true},
		{"other port", []string{"http://h:9000"}, "http://h:9001/", false},
		{"implicit port differs from explicit non-default", []string{"http://h:9000"}, "http://h/", false},
		{"path and query do not matter", []string{"http://h:9000/prefix?x=1"}, "http://h:9000/other/path?y=2#f", true},
		{"subdomain is another host", []string{"http://example.com"}, "http://bucket.example.com/", false},
		{"suffix trick", []string{"http://example.com"}, "http://example.com.evil.net/", false},
		{"userinfo trick", []string{"http://example.com"}, "http://example.com@evil.net/", false},
		{"userinfo on the allowed host is still that host", []string{"http://example.com"}, "http://user:pw@example.com/", true},
		{"fragment trick", []string{"http://example.com"}, "http://evil.net#@example.com", false},
		{"query trick", []string{"http://example.com"}, "http://evil.net/?u=http://example.com", false},
		{"one of several endpoints", []string{"http://a:1", "https://b:2"}, "https://b:2/", true},
		{"none of several endpoints", []string{"http://a:1", "https://b:2"}, "http://b:2/", false},
		{"IPv6", []string{"http://[::1]:9000"}, "http://[::1]:9000/", true},
		{"IPv6 default port", []string{"http://[::1]"}, "http://[::1]:80/", true},
		{"IPv6 vs IPv4 loopback", []string{"http://[::1]:9000"}, "http://127.0.0.1:9000/", false},
		{"not a URL", []string{"http://h"}, "::not a url", false},
		{"empty", []string{"http://h"}, "", false},
		{"no host", []string{"http://h"}, "http:///path", false},
		{"opaque URL", []string{"http://h"}, "http:h", false},
		{"other scheme", []string{"http://h"}, "ftp://h/", false},
		{"file scheme", []string{"http://h"}, "file:///etc/passwd", false},
		{"no endpoints allow nothing", nil, "http://h/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, tt.endpoints, hosthttp.TLSOptions{})
			assert.Equal(t, tt.want, p.Allowed(tt.url))
		})
	}
}

func TestNewPolicyErrors(t *testing.T) {
	tests := []struct {
		name      string
		endpoints []string
		tls       hosthttp.TLSOptions
		wantMsg   string
	}{
		{"CA that is not PEM", []string{"https://h"}, hosthttp.TLSOptions{CAPEM: []byte("not a certificate")}, "PEM"},
		{"PEM block that is not a certificate", []string{"https://h"},
			hosthttp.TLSOptions{CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})}, "PEM"},
		{"endpoint with another scheme", []string{"ftp://h"}, hosthttp.TLSOptions{}, "ftp"},
		{"endpoint without scheme", []string{"h:9000"}, hosthttp.TLSOptions{}, "h:9000"},
		{"endpoint without host", []string{"http://"}, hosthttp.TLSOptions{}, "no host"},
		{"unparsable endpoint", []string{"http://h:port"}, hosthttp.TLSOptions{}, "http://h:port"},
		{"one bad endpoint among good ones", []string{"http://ok", "gopher://bad"}, hosthttp.TLSOptions{}, "gopher"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := hosthttp.NewPolicy(tt.endpoints, tt.tls)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestTLS(t *testing.T) {
	srv := newTLSServer(t, text("secure"))
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	tests := []struct {
		name    string
		opts    hosthttp.TLSOptions
		wantErr bool
	}{
		{"unknown CA is refused", hosthttp.TLSOptions{}, true},
		{"the server's CA in the bundle", hosthttp.TLSOptions{CAPEM: caPEM}, false},
		{"the CA bundle with other text around it", hosthttp.TLSOptions{CAPEM: append(append([]byte("# comment\n"), caPEM...), "trailer\n"...)}, false},
		{"insecureSkipVerify", hosthttp.TLSOptions{InsecureSkipVerify: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.hits.Load()
			op := newPolicy(t, []string{srv.URL}, tt.opts).NewOp(nil)
			resp, body, err := op.Do(context.Background(), get(t, srv.URL+"/x"))
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "certificate")
				assert.False(t, hosthttp.IsRefused(err), "a TLS failure is not a policy refusal")
				assert.Equal(t, before, srv.hits.Load())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "secure", string(body))
			assert.Equal(t, before+1, srv.hits.Load())
		})
	}
}

func TestTLSPlainHTTPToHTTPSEndpoint(t *testing.T) {
	srv := newTLSServer(t, text("secure"))
	op := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{InsecureSkipVerify: true}).NewOp(nil)
	_, _, err := op.Do(context.Background(), get(t, strings.Replace(srv.URL, "https://", "http://", 1)))
	require.ErrorIs(t, err, hosthttp.ErrNotAllowed, "plain http to a https endpoint's port is another origin")
	assert.Zero(t, srv.hits.Load())
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

func TestTransport(t *testing.T) {
	allowed := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		w.Header().Set("X-Method", r.Method)
		_, _ = io.WriteString(w, "native body")
	})
	other := newServer(t, text("other"))
	p := newPolicy(t, []string{allowed.URL}, hosthttp.TLSOptions{})
	client := &http.Client{Transport: hosthttp.Transport{}}

	t.Run("with an op in the request context", func(t *testing.T) {
		op := p.NewOp(nil)
		req, err := http.NewRequestWithContext(hosthttp.WithOp(context.Background(), op), http.MethodGet, allowed.URL+"/b", nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "native body", string(b))
		assert.EqualValues(t, len("native body"), resp.ContentLength)
		assert.Equal(t, http.MethodGet, resp.Header.Get("X-Method"))
		assert.EqualValues(t, 1, op.Calls(), "the request went through the Op")
	})

	t.Run("without an op", func(t *testing.T) {
		before := allowed.hits.Load()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, allowed.URL+"/b", nil)
		require.NoError(t, err)
		resp, err := hosthttp.Transport{}.RoundTrip(req)
		require.Error(t, err)
		assert.Nil(t, resp)
		assert.Contains(t, err.Error(), "outside a driver operation")
		assert.Equal(t, before, allowed.hits.Load())
	})

	t.Run("refused host", func(t *testing.T) {
		op := p.NewOp(nil)
		req, err := http.NewRequestWithContext(hosthttp.WithOp(context.Background(), op), http.MethodGet, other.URL, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		if resp != nil {
			_ = resp.Body.Close()
		}
		require.ErrorIs(t, err, hosthttp.ErrNotAllowed)
		assert.Zero(t, other.hits.Load())
	})

	t.Run("a client following a redirect is still held to the allow-list", func(t *testing.T) {
		op := p.NewOp(nil)
		target := allowed.URL + "/redirect?to=" + url.QueryEscape(other.URL+"/loot")
		req, err := http.NewRequestWithContext(hosthttp.WithOp(context.Background(), op), http.MethodGet, target, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		if resp != nil {
			_ = resp.Body.Close()
		}
		require.ErrorIs(t, err, hosthttp.ErrNotAllowed)
		assert.Zero(t, other.hits.Load())
	})
}

// http.RoundTripper: "RoundTrip must always close the body, including on errors".
func TestTransportClosesRequestBodyOnError(t *testing.T) {
	allowed := newServer(t, text("ok"))
	p := newPolicy(t, []string{allowed.URL}, hosthttp.TLSOptions{})
	tests := []struct {
		name string
		ctx  context.Context
		url  string
	}{
		{"no op", context.Background(), allowed.URL},
		{"refused host", hosthttp.WithOp(context.Background(), p.NewOp(nil)), "http://127.0.0.1:1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &closeRecorder{Reader: strings.NewReader("payload")}
			req, err := http.NewRequestWithContext(tt.ctx, http.MethodPut, tt.url, body)
			require.NoError(t, err)
			_, err = hosthttp.Transport{}.RoundTrip(req)
			require.Error(t, err)
			assert.True(t, body.closed.Load(), "request body left open")
		})
	}
}

func TestContextHelpers(t *testing.T) {
	ctx := context.Background()
	assert.Nil(t, hosthttp.OpFrom(ctx))
	assert.Nil(t, hosthttp.PolicyFrom(ctx))
	assert.Equal(t, hosthttp.CallInfo{}, hosthttp.CallInfoFrom(ctx))

	p := newPolicy(t, []string{"http://h"}, hosthttp.TLSOptions{})
	op := p.NewOp(nil)
	ci := hosthttp.CallInfo{Provider: "ns/p", ReconcileID: "r1", Secrets: []string{"s"}}
	ctx = hosthttp.WithCallInfo(hosthttp.WithOp(hosthttp.WithPolicy(ctx, p), op), ci)
	assert.Same(t, op, hosthttp.OpFrom(ctx))
	assert.Same(t, p, hosthttp.PolicyFrom(ctx))
	assert.Equal(t, ci, hosthttp.CallInfoFrom(ctx))
}

func TestIsRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not allowed", hosthttp.ErrNotAllowed, true},
		{"limit", hosthttp.ErrLimit, true},
		{"wrapped not allowed", errors.Join(errors.New("x"), hosthttp.ErrNotAllowed), true},
		{"network", errors.New("connection refused"), false},
		{"deadline", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, hosthttp.IsRefused(tt.err))
		})
	}
}

func FuzzAllowed(f *testing.F) {
	for _, s := range []string{
		"http://h", "https://h:443/x", "HTTP://H:80", "http://[::1]:9000", "http://[fe80::1%25en0]:80",
		"ftp://h", "", "http://", "http:h", "//h", "http://h:99999", "http://a@b", "http://h:/",
	} {
		f.Add(s, "http://h/")
	}
	f.Fuzz(func(t *testing.T, endpoint, target string) {
		p, err := hosthttp.NewPolicy([]string{endpoint}, hosthttp.TLSOptions{})
		if err != nil {
			return
		}
		defer p.Close()
		if !p.Allowed(endpoint) {
			t.Fatalf("NewPolicy accepted %q but Allowed refuses it", endpoint)
		}
		_ = p.Allowed(target) // must not panic
		empty, err := hosthttp.NewPolicy(nil, hosthttp.TLSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if empty.Allowed(target) {
			t.Fatalf("a policy with no endpoints allowed %q", target)
		}
	})
}

// TestDoRateLimitIsShared: every operation of a Provider draws from one token
// bucket. With one request per second and a burst of 2, a deadline 1.5 s
// away leaves room for exactly three requests across two operations; the
// fourth is refused before it is sent.
func TestDoRateLimitIsShared(t *testing.T) {
	srv := newServer(t, text("ok"))
	p := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{}).WithRateLimit(1, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	a, b := p.NewOp(nil), p.NewOp(nil)
	var ok, refused int
	for _, op := range []*hosthttp.Op{a, b, a, b} {
		_, _, err := op.Do(ctx, get(t, srv.URL))
		switch {
		case err == nil:
			ok++
		case errors.Is(err, hosthttp.ErrLimit):
			refused++
			assert.Contains(t, err.Error(), "rate limit")
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 3, ok, "the burst of 2, then one more after a second")
	assert.Equal(t, 1, refused)
	assert.EqualValues(t, 3, srv.hits.Load(), "the refused request was never sent")

	unlimited := p.WithRateLimit(0, 0).NewOp(nil)
	for range 5 {
		_, _, err := unlimited.Do(context.Background(), get(t, srv.URL))
		require.NoError(t, err, "no rate limit: nothing waits")
	}
}

// TestSharingLimiter: a connection rebuilt with the same rate limit keeps
// drawing from the old token bucket (no fresh burst); another limit starts
// its own.
func TestSharingLimiter(t *testing.T) {
	srv := newServer(t, text("ok"))
	base := newPolicy(t, []string{srv.URL}, hosthttp.TLSOptions{})
	old := base.WithRateLimit(0.001, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := old.NewOp(nil).Do(ctx, get(t, srv.URL))
	require.NoError(t, err, "the burst of one")

	same := base.WithRateLimit(0.001, 1).SharingLimiter(old)
	_, _, err = same.NewOp(nil).Do(ctx, get(t, srv.URL))
	require.ErrorIs(t, err, hosthttp.ErrLimit, "the same limit shares the spent bucket")

	other := base.WithRateLimit(0.001, 2).SharingLimiter(old)
	_, _, err = other.NewOp(nil).Do(ctx, get(t, srv.URL))
	require.NoError(t, err, "another limit has a bucket of its own")
}
