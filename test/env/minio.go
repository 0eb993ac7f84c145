package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/pail-dev/pail/test/tools"
)

// Default MinIO root credentials used when MinIOOptions leaves them empty.
const (
	DefaultMinIOAccessKey = "pail-test-admin"
	DefaultMinIOSecretKey = "pail-test-admin-secret"
)

// MinIOReadyTimeout bounds how long StartMinIO and Restart wait for
// /minio/health/live.
const MinIOReadyTimeout = 60 * time.Second

// MinIOOptions configures StartMinIO.
type MinIOOptions struct {
	// Port to listen on, on 127.0.0.1. 0 picks an ephemeral port.
	Port int
	// Dir is the data directory. "" uses a temporary directory that Stop removes.
	Dir string
	// AccessKey and SecretKey are the root credentials; they default to
	// DefaultMinIOAccessKey and DefaultMinIOSecretKey.
	AccessKey, SecretKey string
	// Env holds extra environment variables (KEY=VALUE), e.g. MINIO_KMS_SECRET_KEY.
	Env []string
	// Log receives MinIO's stdout and stderr. nil discards it (the tail is
	// still kept for error messages).
	Log io.Writer
}

// MinIO is a running MinIO server started by StartMinIO.
type MinIO struct {
	// Endpoint is the S3 endpoint URL, "http://127.0.0.1:PORT".
	Endpoint string
	// Host is "127.0.0.1:PORT".
	Host string
	// Port is the S3 API port.
	Port int
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Dir is the data directory.
	Dir string

	mu       sync.Mutex
	bin      string
	certsDir string
	ownDir   bool
	env      []string
	log      io.Writer
	tail     *tail
	proc     *Process
	stopped  bool
}

// StartMinIO starts a MinIO server on 127.0.0.1 and waits until it is live.
// The binary comes from tools.Ensure, which builds it if it is not cached.
func StartMinIO(ctx context.Context, opts MinIOOptions) (_ *MinIO, retErr error) {
	paths, err := tools.Ensure(ensureLog(tools.MinIO), tools.MinIO)
	if err != nil {
		return nil, err
	}
	m := &MinIO{
		AccessKey: opts.AccessKey,
		SecretKey: opts.SecretKey,
		Dir:       opts.Dir,
		bin:       paths[tools.MinIO],
		log:       logWriter(opts.Log),
		tail:      newTail(8 << 10),
	}
	if m.AccessKey == "" {
		m.AccessKey = DefaultMinIOAccessKey
	}
	if m.SecretKey == "" {
		m.SecretKey = DefaultMinIOSecretKey
	}
	defer func() {
		if retErr != nil {
			_ = m.Stop()
		}
	}()
	if m.Dir == "" {
		if m.Dir, err = os.MkdirTemp("", "pail-minio-data-"); err != nil {
			return nil, err
		}
		m.ownDir = true
	} else if err := os.MkdirAll(m.Dir, 0o750); err != nil {
		return nil, err
	}
	// A private certs dir keeps MinIO from picking up ~/.minio/certs (which
	// would switch it to TLS). It must not live inside the data dir, where it
	// would show up as a bucket.
	if m.certsDir, err = os.MkdirTemp("", "pail-minio-certs-"); err != nil {
		return nil, err
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") {
			m.env = append(m.env, kv)
		}
	}
	m.env = append(m.env,
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	m.env = append(m.env, opts.Env...)

	// An ephemeral port can be taken between FreePort and MinIO binding it;
	// retry a few times with a fresh one. A fixed port is tried once.
	attempts := 1
	if opts.Port == 0 {
		attempts = 3
	}
	for range attempts {
		port := opts.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		m.setPort(port)
		if err = m.start(ctx); err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func (m *MinIO) setPort(port int) {
	m.Port = port
	m.Host = "127.0.0.1:" + strconv.Itoa(port)
	m.Endpoint = "http://" + m.Host
}

// start launches the process on m.Port and waits for it to be live. On
// failure the process is stopped. Callers hold m.mu or own m exclusively.
func (m *MinIO) start(ctx context.Context) error {
	// MinIO listens with SO_REUSEPORT, so a second server on a busy port
	// starts "fine" and the health check would be answered by the first.
	if !PortFree(m.Port) {
		return fmt.Errorf("minio: %s is already in use", m.Host)
	}
	consolePort, err := FreePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(m.bin, "server", m.Dir, //nolint:noctx // the server outlives ctx, which bounds only its start; Stop ends it
		"--address", m.Host,
		"--console-address", "127.0.0.1:"+strconv.Itoa(consolePort),
		"--certs-dir", m.certsDir,
	)
	cmd.Env = m.env
	out := io.MultiWriter(m.log, m.tail)
	cmd.Stdout, cmd.Stderr = out, out
	proc, err := StartProcess("minio", cmd)
	if err != nil {
		return err
	}
	m.proc = proc
	if err := m.waitLive(ctx, proc); err != nil {
		_ = proc.Stop()
		return fmt.Errorf("minio on %s: %w\n--- minio log (tail) ---\n%s", m.Host, err, m.tail.String())
	}
	return nil
}

func (m *MinIO) waitLive(ctx context.Context, proc *Process) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	return proc.WaitReady(ctx, "live", MinIOReadyTimeout, 100*time.Millisecond, HTTPOK(hc, m.Endpoint+"/minio/health/live"))
}

// Restart stops the MinIO process and starts it again on the same port with
// the same data directory, waiting until it is live.
func (m *MinIO) Restart(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return fmt.Errorf("restart minio: %w", errStopped)
	}
	if m.proc != nil {
		if err := m.proc.Stop(); err != nil {
			return fmt.Errorf("restart minio: %w", err)
		}
		m.proc = nil
	}
	return m.start(ctx)
}

// Kill stops the MinIO process without removing anything, leaving the
// server down until Restart. Tests use it to simulate an outage.
func (m *MinIO) Kill() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return nil
	}
	err := m.proc.Stop()
	m.proc = nil
	return err
}

// Stop stops MinIO and removes the temporary directories StartMinIO
// created. It is idempotent.
func (m *MinIO) Stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return nil
	}
	m.stopped = true
	var errs []error
	if m.proc != nil {
		errs = append(errs, m.proc.Stop())
		m.proc = nil
	}
	if m.certsDir != "" {
		errs = append(errs, os.RemoveAll(m.certsDir))
	}
	if m.ownDir && m.Dir != "" {
		errs = append(errs, os.RemoveAll(m.Dir))
	}
	return errors.Join(errs...)
}

// Client returns a minio-go client for the root user, using path-style
// bucket addressing.
func (m *MinIO) Client() (*minio.Client, error) {
	return minio.New(m.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""),
		Secure:       false,
		BucketLookup: minio.BucketLookupPath,
	})
}

// LogTail returns the last few KiB MinIO wrote to stdout and stderr.
func (m *MinIO) LogTail() string { return m.tail.String() }
