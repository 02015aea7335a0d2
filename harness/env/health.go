package env

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Replica is one server instance, as ObserveHealth watches it.
type Replica interface {
	// URL is the base URL of the server, reachable from the harness.
	URL() string
	// State returns how often the server restarted, how it last exited
	// ("" if it never did) and whether a process runs now.
	State(ctx context.Context) (restarts int, lastExit string, running bool)
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// Probe GETs base+path and returns the status code and a short body; 0 when
// the server does not answer.
func Probe(ctx context.Context, base, path string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// ObserveHealth implements ServerHealth for any backend whose replicas
// answer /readyz: every replica must become ready within o.Timeout and stay
// ready, without a restart, for o.Grace. A restart at any time of the
// rollout makes it a crash loop.
func ObserveHealth(ctx context.Context, reps []Replica, o HealthOptions) (Health, error) {
	if len(reps) == 0 {
		return Health{}, fmt.Errorf("server health: no replica is running (scaled to 0)")
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	start := time.Now()
	var h Health
	restarts := func() (int, string, bool) {
		n, last, down := 0, "", false
		for _, rp := range reps {
			r, exit, running := rp.State(ctx)
			n += r
			if exit != "" {
				last = exit
			}
			down = down || !running
		}
		return n, last, down
	}
	allReady := func() (bool, string) {
		for _, rp := range reps {
			code, body := Probe(ctx, rp.URL(), "/readyz")
			if code != http.StatusOK {
				if code == 0 {
					return false, "no answer on /readyz: " + body
				}
				return false, fmt.Sprintf("/readyz %d: %s", code, body)
			}
		}
		return true, ""
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(o.Timeout)
	defer deadline.Stop()
	for {
		ready, why := allReady()
		if ready {
			break
		}
		h.Detail = why
		// A server that keeps exiting before it was ever ready is a failed
		// rollout now, not at the timeout.
		if exits, last := Exits(ctx, reps); exits >= CrashLoopExits {
			h.Restarts, _, _ = restarts()
			h.CrashLoop = true
			h.Detail = fmt.Sprintf("exited %d times in %.1fs without becoming ready: %s; last exit: %s",
				exits, time.Since(start).Seconds(), h.Detail, last)
			return h, nil
		}
		select {
		case <-ctx.Done():
			return h, fmt.Errorf("server health: %w", ctx.Err())
		case <-deadline.C:
			n, exit, _ := restarts()
			h.Restarts, h.CrashLoop = n, n > 0
			if exit != "" {
				h.Detail = fmt.Sprintf("%s; last exit: %s", h.Detail, exit)
			}
			h.Detail = fmt.Sprintf("not ready within %s: %s", o.Timeout, h.Detail)
			return h, nil
		case <-tick.C:
		}
	}
	h.ReadySeconds = time.Since(start).Seconds()
	h.Detail = ""
	before, _, _ := restarts()
	graceEnd := time.Now().Add(o.Grace)
	for time.Now().Before(graceEnd) {
		select {
		case <-ctx.Done():
			return h, fmt.Errorf("server health: %w", ctx.Err())
		case <-tick.C:
		}
		if n, exit, down := restarts(); n > before || down {
			h.Restarts, h.CrashLoop = n, true
			h.Detail = fmt.Sprintf("ready after %.1fs, then exited within the %s grace period: %s", h.ReadySeconds, o.Grace, exit)
			return h, nil
		}
		if ok, why := allReady(); !ok {
			h.Restarts, _, _ = restarts()
			h.Detail = fmt.Sprintf("ready after %.1fs, then not ready within the %s grace period: %s", h.ReadySeconds, o.Grace, why)
			return h, nil
		}
	}
	h.Restarts, _, _ = restarts()
	h.CrashLoop = h.Restarts > 0
	h.Ready = !h.CrashLoop
	if h.CrashLoop {
		h.Detail = fmt.Sprintf("ready, but restarted %d times during the rollout", h.Restarts)
	}
	return h, nil
}

// CrashLoopExits is how many exits of a server, before it was ever ready,
// make a rollout failed without waiting out the readiness timeout: one exit
// may be a start race its restart fixes (the database not up yet), a second
// is a crash loop.
const CrashLoopExits = 2

// Exits counts the exits of reps so far (each restart followed one; a
// replica down now has exited once more) and returns the last exit.
func Exits(ctx context.Context, reps []Replica) (int, string) {
	n, last := 0, ""
	for _, rp := range reps {
		restarts, exit, running := rp.State(ctx)
		n += restarts
		if !running && exit != "" {
			n++
		}
		if exit != "" {
			last = exit
		}
	}
	return n, last
}

// WaitUp waits until rp answers /healthz (it has migrated, in boot mode, and
// listens). An exit before that is an error at once: a release whose server
// dies at boot fails its install or upgrade when it dies.
func WaitUp(ctx context.Context, rp Replica, release string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if code, _ := Probe(ctx, rp.URL(), "/healthz"); code == http.StatusOK {
			return nil
		}
		if n, exit := Exits(ctx, []Replica{rp}); n > 0 {
			return fmt.Errorf("release %s server %s before answering /healthz", release, exit)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("release %s server did not answer /healthz at %s within %s", release, rp.URL(), timeout)
		case <-tick.C:
		}
	}
}

// RolloutSteps are a process backend's parts of a rollout (local, docker);
// Rollout runs them in the order helm does.
type RolloutSteps struct {
	// Hook runs the release's migration hook (`--migrate-only`).
	Hook func(ctx context.Context) error
	// Stop removes the running servers, keeping their logs for the rollout.
	Stop func(ctx context.Context) error
	// Start makes r the current release and starts its servers.
	Start func(ctx context.Context) ([]Replica, error)
	// Logs returns the tail of the rollout's logs, for an error.
	Logs func() string
	// UpTimeout bounds each server's wait for /healthz.
	UpTimeout time.Duration
}

// Rollout replaces the running servers by release r's. With hooks (install,
// upgrade) a ViaHook release's migration hook runs first and every new
// server must answer /healthz before Rollout returns; without (rollback)
// readiness is ServerHealth's question.
func Rollout(ctx context.Context, r Release, hooks bool, s RolloutSteps) error {
	if hooks && r.ViaHook {
		if err := s.Hook(ctx); err != nil {
			return err
		}
	}
	if err := s.Stop(ctx); err != nil {
		return err
	}
	reps, err := s.Start(ctx)
	if err != nil {
		return err
	}
	if !hooks {
		return nil
	}
	for _, rp := range reps {
		if err := WaitUp(ctx, rp, r.Name, s.UpTimeout); err != nil {
			return fmt.Errorf("%w\n%s", err, s.Logs())
		}
	}
	return nil
}
