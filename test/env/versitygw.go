package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/pail-dev/pail/test/tools"
)

// Default versitygw root credentials used when the options leave them empty.
const (
	DefaultVersityGWAccessKey = "pail-test-vgw"
	DefaultVersityGWSecretKey = "pail-test-vgw-secret" //nolint:gosec // G101: a throwaway key for a local test server
)

// VersityGWReadyTimeout bounds how long StartVersityGW, StartVersityIAM and
// Restart wait for the server to answer.
const VersityGWReadyTimeout = 60 * time.Second

// VersityGWOptions configures StartVersityGW.
type VersityGWOptions struct {
	// Port to listen on, on 127.0.0.1. 0 picks an ephemeral port.
	Port int
	// Dir is the posix backend's root: every directory in it is a bucket.
	// "" uses a temporary directory that Stop removes.
	Dir string
	// AccessKey and SecretKey are the root credentials; they default to
	// DefaultVersityGWAccessKey and DefaultVersityGWSecretKey.
	AccessKey, SecretKey string
	// Versioning gives the gateway a versioning directory (--versioning-dir),
	// without which it cannot version buckets. The directory lives outside
	// Dir, in the server's private state directory.
	Versioning bool
	// IAM, when set, makes the gateway resolve access keys and identity
	// policies through that IAM server's private socket instead of its own
	// store, so keys created with the IAM API sign S3 requests. The IAM
	// server must have been started with VersityIAMOptions.PrivateSocket.
	IAM *VersityIAM
	// Log receives versitygw's stdout and stderr. nil discards it (the tail
	// is still kept for error messages).
	Log io.Writer
}

// VersityGW is a running versitygw S3 gateway (posix backend) started by
// StartVersityGW.
//
// It runs with a file IAM store (--iam-dir) in its private state directory:
// in single-account mode versitygw answers an unknown access key with
// XAdminUserNotFound (404) instead of S3's InvalidAccessKeyId (403).
type VersityGW struct {
	// Endpoint is the S3 endpoint URL, "http://127.0.0.1:PORT".
	Endpoint string
	// Host is "127.0.0.1:PORT".
	Host string
	// Port is the S3 API port.
	Port int
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Dir is the posix backend's root directory.
	Dir string
	// VersioningDir holds object versions; "" when versioning is off.
	VersioningDir string

	server
	ownDir bool
}

// StartVersityGW starts `versitygw posix` on 127.0.0.1 and waits until a
// signed ListBuckets succeeds. The binary comes from tools.Ensure, which
// builds it if it is not cached.
func StartVersityGW(ctx context.Context, opts VersityGWOptions) (_ *VersityGW, retErr error) {
	g := &VersityGW{
		AccessKey: opts.AccessKey,
		SecretKey: opts.SecretKey,
		Dir:       opts.Dir,
	}
	if g.AccessKey == "" {
		g.AccessKey = DefaultVersityGWAccessKey
	}
	if g.SecretKey == "" {
		g.SecretKey = DefaultVersityGWSecretKey
	}
	if err := g.init("versitygw", opts.Log); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			_ = g.Stop()
		}
	}()
	var err error
	if g.Dir == "" {
		if g.Dir, err = os.MkdirTemp("", "pail-versitygw-data-"); err != nil {
			return nil, err
		}
		g.ownDir = true
	} else if err := os.MkdirAll(g.Dir, 0o750); err != nil {
		return nil, err
	}
	g.cleanup = func() error {
		if g.ownDir && g.Dir != "" {
			return os.RemoveAll(g.Dir)
		}
		return nil
	}
	iamDir := filepath.Join(g.stateDir, "iam")
	if err := os.MkdirAll(iamDir, 0o700); err != nil {
		return nil, err
	}
	if opts.Versioning {
		g.VersioningDir = filepath.Join(g.stateDir, "versions")
		if err := os.MkdirAll(g.VersioningDir, 0o750); err != nil {
			return nil, err
		}
	}
	iamArgs := []string{"--iam-dir", iamDir}
	if opts.IAM != nil {
		if opts.IAM.Socket == "" {
			return nil, errors.New("versitygw: VersityGWOptions.IAM needs an IAM server started with PrivateSocket")
		}
		// versitygw iam keeps IAM users in its own store (iam.json), which
		// the gateway's --iam-dir (users.json) does not read; the private
		// socket is how the two share them.
		iamArgs = []string{"--iam-standalone-endpoint", opts.IAM.Socket}
	}
	g.args = func(host string) []string {
		args := append([]string{
			"--access", g.AccessKey, "--secret", g.SecretKey,
			"--port", host,
		}, iamArgs...)
		args = append(args, "posix")
		if g.VersioningDir != "" {
			args = append(args, "--versioning-dir", g.VersioningDir)
		}
		return append(args, g.Dir)
	}
	g.ready = g.listBuckets
	if err := g.startOnPort(ctx, opts.Port); err != nil {
		return nil, err
	}
	g.setAddr()
	return g, nil
}

func (g *VersityGW) setAddr() { g.Endpoint, g.Host, g.Port = g.endpoint, g.host, g.port }

// listBuckets is the readiness probe: a signed request must succeed, which
// needs the S3 API and the IAM store both up.
func (g *VersityGW) listBuckets(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return err
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(g.AccessKey, g.SecretKey, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		return err
	}
	_, err = c.ListBuckets(ctx)
	return err
}

// Client returns a minio-go client for the root user, using path-style
// bucket addressing.
func (g *VersityGW) Client() (*minio.Client, error) {
	return minio.New(g.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(g.AccessKey, g.SecretKey, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
}

// Restart stops the gateway and starts it again on the same port with the
// same directories, waiting until it answers.
func (g *VersityGW) Restart(ctx context.Context) error { return g.restart(ctx) }

// VersityGWForTest starts versitygw for t, failing the test if it cannot, and
// stops it when the test finishes.
func VersityGWForTest(t testing.TB, opts VersityGWOptions) *VersityGW {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	g, err := StartVersityGW(ctx, opts)
	if err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Stop(); err != nil {
			t.Errorf("stop versitygw: %v", err)
		}
	})
	return g
}

// VersityIAMOptions configures StartVersityIAM.
type VersityIAMOptions struct {
	// Port to listen on, on 127.0.0.1. 0 picks an ephemeral port.
	Port int
	// Dir holds the file-backed IAM store. "" uses a temporary directory
	// that Stop removes.
	Dir string
	// AccessKey and SecretKey are the root credentials; they default to
	// DefaultVersityGWAccessKey and DefaultVersityGWSecretKey.
	AccessKey, SecretKey string
	// PrivateSocket serves the IAM store on a unix socket (--private-ports)
	// that a gateway started with VersityGWOptions.IAM reads keys from.
	PrivateSocket bool
	// Log receives the server's stdout and stderr; nil discards it.
	Log io.Writer
}

// VersityIAM is a running standalone versitygw IAM API server (the AWS IAM
// protocol: CreateUser, CreateAccessKey, …) started by StartVersityIAM.
type VersityIAM struct {
	// Endpoint is the IAM endpoint URL, "http://127.0.0.1:PORT".
	Endpoint string
	// Host is "127.0.0.1:PORT".
	Host string
	// Port is the IAM API port.
	Port int
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Dir is the IAM store directory.
	Dir string
	// Socket is the private unix socket path, when PrivateSocket was set.
	Socket string

	server
	ownDir bool
}

// StartVersityIAM starts `versitygw iam --dir DIR` on 127.0.0.1 and waits
// until the IAM API answers. Readiness is an unsigned ListUsers drawing the
// IAM API's own MissingAuthenticationToken error, which proves the IAM
// handler (not just the listener) is up.
func StartVersityIAM(ctx context.Context, opts VersityIAMOptions) (_ *VersityIAM, retErr error) {
	s := &VersityIAM{AccessKey: opts.AccessKey, SecretKey: opts.SecretKey, Dir: opts.Dir}
	if s.AccessKey == "" {
		s.AccessKey = DefaultVersityGWAccessKey
	}
	if s.SecretKey == "" {
		s.SecretKey = DefaultVersityGWSecretKey
	}
	if err := s.init("versitygw-iam", opts.Log); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			_ = s.Stop()
		}
	}()
	var err error
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "pail-versitygw-iam-"); err != nil {
			return nil, err
		}
		s.ownDir = true
	} else if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	var sockDir string
	if opts.PrivateSocket {
		// A unix socket path is limited to about 108 bytes: keep it short.
		if sockDir, err = os.MkdirTemp("", "pail-iam-"); err != nil {
			return nil, err
		}
		s.Socket = filepath.Join(sockDir, "private.sock")
	}
	s.cleanup = func() error {
		if sockDir != "" {
			_ = os.RemoveAll(sockDir)
		}
		if s.ownDir && s.Dir != "" {
			return os.RemoveAll(s.Dir)
		}
		return nil
	}
	s.args = func(host string) []string {
		args := []string{"--access", s.AccessKey, "--secret", s.SecretKey, "--port", host, "iam", "--dir", s.Dir}
		if s.Socket != "" {
			_ = os.Remove(s.Socket) // a killed server leaves it behind
			args = append(args, "--private-ports", s.Socket)
		}
		return args
	}
	s.ready = iamAnswers
	if err := s.startOnPort(ctx, opts.Port); err != nil {
		return nil, err
	}
	s.Endpoint, s.Host, s.Port = s.endpoint, s.host, s.port
	return s, nil
}

func iamAnswers(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader("Action=ListUsers&Version=2010-05-08"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if !strings.Contains(string(body), "MissingAuthenticationToken") {
		return fmt.Errorf("unsigned ListUsers answered %s: %.200s", resp.Status, body)
	}
	return nil
}

// Restart stops the IAM server and starts it again on the same port with the
// same store, waiting until it answers.
func (s *VersityIAM) Restart(ctx context.Context) error { return s.restart(ctx) }

// server is the process handling StartVersityGW and StartVersityIAM share:
// a fixed port once started, a private state directory, Kill/Restart/Stop.
type server struct {
	name     string
	bin      string
	stateDir string
	log      io.Writer
	tail     *tail
	args     func(host string) []string
	ready    func(ctx context.Context, endpoint string) error
	cleanup  func() error

	mu       sync.Mutex
	port     int
	host     string
	endpoint string
	proc     *Process
	stopped  bool
}

func (s *server) init(name string, log io.Writer) error {
	paths, err := tools.Ensure(ensureLog(tools.VersityGW), tools.VersityGW)
	if err != nil {
		return err
	}
	s.name, s.bin, s.log, s.tail = name, paths[tools.VersityGW], logWriter(log), newTail(8<<10)
	s.stateDir, err = os.MkdirTemp("", "pail-"+name+"-state-")
	return err
}

// startOnPort starts the server on port, or on an ephemeral one (retrying
// with a fresh port if it was taken in between).
func (s *server) startOnPort(ctx context.Context, port int) error {
	attempts := 1
	if port == 0 {
		attempts = 3
	}
	var err error
	for range attempts {
		p := port
		if p == 0 {
			if p, err = FreePort(); err != nil {
				return err
			}
		}
		s.port = p
		s.host = "127.0.0.1:" + strconv.Itoa(p)
		s.endpoint = "http://" + s.host
		if err = s.start(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return err
}

// start launches the process on s.port and waits for it to be ready. On
// failure the process is stopped. Callers hold s.mu or own s exclusively.
func (s *server) start(ctx context.Context) error {
	if !PortFree(s.port) {
		return fmt.Errorf("%s: %s is already in use", s.name, s.host)
	}
	cmd := exec.Command(s.bin, s.args(s.host)...) //nolint:noctx // the server outlives ctx, which bounds only its start; Stop ends it
	// Only what the server needs: VGW_* and ROOT_* variables from the
	// caller's environment would silently change its flags.
	cmd.Env = []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") && !strings.HasPrefix(kv, "ROOT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out := io.MultiWriter(s.log, s.tail)
	cmd.Stdout, cmd.Stderr = out, out
	proc, err := StartProcess(s.name, cmd)
	if err != nil {
		return err
	}
	s.proc = proc
	if err := s.waitReady(ctx, proc); err != nil {
		_ = proc.Stop()
		s.proc = nil
		return fmt.Errorf("%s on %s: %w\n--- %s log (tail) ---\n%s", s.name, s.host, err, s.name, s.tail.String())
	}
	return nil
}

func (s *server) waitReady(ctx context.Context, proc *Process) error {
	return proc.WaitReady(ctx, "ready", VersityGWReadyTimeout, 50*time.Millisecond, func(ctx context.Context) error {
		return s.ready(ctx, s.endpoint)
	})
}

func (s *server) restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return fmt.Errorf("restart %s: %w", s.name, errStopped)
	}
	if s.proc != nil {
		if err := s.proc.Stop(); err != nil {
			return fmt.Errorf("restart %s: %w", s.name, err)
		}
		s.proc = nil
	}
	return s.start(ctx)
}

// Kill stops the process without removing anything, leaving the server down
// until Restart. Tests use it to simulate an outage.
func (s *server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := s.proc.Stop()
	s.proc = nil
	return err
}

// Stop stops the server and removes the temporary directories it created.
// It is idempotent.
func (s *server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	if s.proc != nil {
		errs = append(errs, s.proc.Stop())
		s.proc = nil
	}
	if s.cleanup != nil {
		errs = append(errs, s.cleanup())
	}
	if s.stateDir != "" {
		errs = append(errs, os.RemoveAll(s.stateDir))
	}
	return errors.Join(errs...)
}

// LogTail returns the last few KiB the server wrote to stdout and stderr.
func (s *server) LogTail() string { return s.tail.String() }
