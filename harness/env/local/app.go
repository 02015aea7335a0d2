package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rehearse-dev/rehearse/harness/env"
)

// logBuffer collects the output of every replica of a rollout.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// replica is one server process of a release, restarted when it exits the
// way a Deployment's pod is (restartPolicy Always, with back-off).
type replica struct {
	release env.Release
	port    int
	dsn     string
	logs    io.Writer

	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	restarts int
	lastExit string
	up       bool // a process is running right now
	pid      int  // of the running process
}

// restartBackoff is the delay before restart n (kubelet doubles from 10s;
// a rehearsal cannot wait that long to see a crash loop).
func restartBackoff(n int) time.Duration {
	d := 250 * time.Millisecond << min(n, 4)
	return min(d, 4*time.Second)
}

// serverEnv is the process environment of a server: the harness's own minus
// what the backend sets, plus the release's variables.
func serverEnv(r env.Release, extra map[string]string) []string {
	owned := map[string]bool{"DATABASE_URL": true, "LISTEN_ADDR": true, "MIGRATIONS_VIA_HOOK": true}
	for k := range r.Env {
		owned[k] = true
	}
	for k := range extra {
		owned[k] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !owned[k] {
			out = append(out, kv)
		}
	}
	for k, v := range r.Env {
		out = append(out, k+"="+v)
	}
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	return out
}

func startReplica(r env.Release, dsn string, logs io.Writer) (*replica, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	rp := &replica{release: r, port: port, dsn: dsn, logs: logs, stop: make(chan struct{}), done: make(chan struct{})}
	go rp.supervise()
	return rp, nil
}

func (rp *replica) url() string { return "http://127.0.0.1:" + strconv.Itoa(rp.port) }

func (rp *replica) command() *exec.Cmd {
	cmd := exec.Command(rp.release.Binary, rp.release.Args...)
	cmd.Env = serverEnv(rp.release, map[string]string{
		"DATABASE_URL":        rp.dsn,
		"LISTEN_ADDR":         "127.0.0.1:" + strconv.Itoa(rp.port),
		"MIGRATIONS_VIA_HOOK": strconv.FormatBool(rp.release.ViaHook),
	})
	cmd.Stdout, cmd.Stderr = rp.logs, rp.logs
	// The server dies with the harness, so a crash leaves no process behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

func (rp *replica) supervise() {
	defer close(rp.done)
	for n := 0; ; n++ {
		cmd := rp.command()
		if err := cmd.Start(); err != nil {
			rp.exited(fmt.Sprintf("start %s: %v", rp.release.Binary, err))
		} else {
			rp.setUp(true)
			rp.mu.Lock()
			rp.pid = cmd.Process.Pid
			rp.mu.Unlock()
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case <-rp.stop:
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				select {
				case <-waited:
				case <-time.After(10 * time.Second):
					_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-waited
				}
				rp.setUp(false)
				return
			case err := <-waited:
				rp.exited(exitText(err))
			}
		}
		select {
		case <-rp.stop:
			return
		case <-time.After(restartBackoff(n)):
		}
		rp.mu.Lock()
		rp.restarts++
		rp.mu.Unlock()
		fmt.Fprintf(rp.logs, "rehearse: restarting release %s server (restart %d)\n", rp.release.Name, n+1)
	}
}

func exitText(err error) string {
	if err == nil {
		return "exited with status 0"
	}
	return err.Error()
}

func (rp *replica) setUp(up bool) {
	rp.mu.Lock()
	rp.up = up
	rp.mu.Unlock()
}

func (rp *replica) exited(why string) {
	rp.mu.Lock()
	rp.up = false
	rp.lastExit = why
	rp.mu.Unlock()
	fmt.Fprintf(rp.logs, "rehearse: release %s server %s\n", rp.release.Name, why)
}

// kill sends SIGKILL to the running process group; the supervisor restarts it.
func (rp *replica) kill() error {
	rp.mu.Lock()
	pid, up := rp.pid, rp.up
	rp.mu.Unlock()
	if !up || pid == 0 {
		return fmt.Errorf("release %s server on port %d is not running", rp.release.Name, rp.port)
	}
	return syscall.Kill(-pid, syscall.SIGKILL)
}

// state returns restarts, the last exit and whether a process runs.
func (rp *replica) state() (int, string, bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.restarts, rp.lastExit, rp.up
}

// halt stops the process and its supervisor.
func (rp *replica) halt(ctx context.Context) error {
	select {
	case <-rp.stop:
	default:
		close(rp.stop)
	}
	select {
	case <-rp.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop release %s server on port %d: %w", rp.release.Name, rp.port, ctx.Err())
	}
}

// URL implements env.Replica.
func (rp *replica) URL() string { return rp.url() }

// State implements env.Replica.
func (rp *replica) State(context.Context) (int, string, bool) { return rp.state() }
