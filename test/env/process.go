package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/pail-dev/pail/test/tools"
)

// FreePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// released before FreePort returns, so another process can in principle take
// it before the caller binds it; callers that start servers on it should
// treat a bind failure as retryable.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0") //nolint:noctx // a bind probe, closed at once
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("find free port: %T is not a TCP address", l.Addr())
	}
	return addr.Port, nil
}

// PortFree reports whether 127.0.0.1:port can be bound right now.
func PortFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)) //nolint:noctx // a bind probe, closed at once
	if err != nil {
		return false
	}
	_ = l.Close() // only the bind was in question
	return true
}

// StopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
const StopTimeout = 10 * time.Second

// Process is a child process running in its own process group. Stop signals
// the whole group, so grandchildren started by the process go away with it.
type Process struct {
	Name string
	cmd  *exec.Cmd

	done    chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// StartProcess starts cmd in a new process group (and, on Linux, asks the
// kernel to kill it if this process dies). name is used in error messages.
func StartProcess(name string, cmd *exec.Cmd) (*Process, error) {
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id (and process group id) of the process.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and with what error.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the process group, waits up to StopTimeout, then
// sends SIGKILL to the group. It is safe to call more than once and after
// the process has exited on its own; it always signals the group so that
// leftover children are reaped too.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(StopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(StopTimeout):
				p.stopErr = fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, pgid)
				return
			}
		}
		// Anything left in the group (a child that ignored SIGTERM while its
		// parent exited) is killed outright; ESRCH just means nothing is left.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
	return p.stopErr
}

// Kill sends SIGKILL to the process group at once, with no chance to clean
// up (crash tests use it), and waits for the process to exit.
func (p *Process) Kill() error {
	p.stopOnce.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(StopTimeout):
			p.stopErr = fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.cmd.Process.Pid)
		}
	})
	return p.stopErr
}

// tail keeps the last max bytes written to it, for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTail(limit int) *tail { return &tail{max: limit} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// ensureLog is where tools.Ensure reports progress: stderr when something
// has to be built (which takes minutes, so say so), nowhere when all of names
// are cached already.
func ensureLog(names ...string) io.Writer {
	for _, n := range names {
		if !tools.Cached(n) {
			return os.Stderr
		}
	}
	return io.Discard
}

// logWriter returns w, or io.Discard if w is nil.
func logWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

var errStopped = errors.New("already stopped")

// WaitReady polls probe every interval until it succeeds, the process
// exits, or timeout passes: how every server the tests start is awaited.
// what names the state awaited in errors ("live", "healthy", "ready").
func (p *Process) WaitReady(ctx context.Context, what string, timeout, interval time.Duration, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last error
	for {
		if exited, werr := p.Exited(); exited {
			if werr == nil {
				return fmt.Errorf("exited (status 0) before becoming %s", what)
			}
			return fmt.Errorf("exited before becoming %s: %w", what, werr)
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not %s after %s: %w (last probe: %w)", what, timeout, ctx.Err(), last)
		case <-p.Done():
		case <-tick.C:
		}
	}
}

// HTTPOK is a WaitReady probe: GET url answers 200.
func HTTPOK(hc *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}
