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
