package local

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/env"
)

// ServerCheck is one observation of a server probe: its start-up, then
// each smoke request. Err is "" when it passed.
type ServerCheck struct {
	Name string
	Err  string
}

var schemaError = regexp.MustCompile(`[^\n]*SQLSTATE (42703|42P01|42883|42804)[^\n]*`)

// ProbeServer starts release r's server against dsn, waits up to timeout for
// /readyz, sends a GET to each path, and stops it. The matrix uses it to ask
// "does release N's server work on the state after this migration?".
func ProbeServer(ctx context.Context, r env.Release, dsn string, timeout time.Duration, paths []string) []ServerCheck {
	logs := &logBuffer{}
	checks := make([]ServerCheck, 0, len(paths)+1)
	rp, err := startReplica(r, dsn, logs)
	if err != nil {
		return append(checks, ServerCheck{Name: "start-up", Err: err.Error()})
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = rp.halt(ctx)
	}()
	startErr := waitReady(ctx, rp, timeout)
	if startErr != "" {
		if found := schemaError.FindAllString(logs.String(), 3); len(found) > 0 {
			startErr += "; log: " + strings.Join(found, " | ")
		}
		checks = append(checks, ServerCheck{Name: "start-up", Err: startErr})
		for _, p := range paths {
			checks = append(checks, ServerCheck{Name: "GET " + p, Err: "server not ready"})
		}
		return checks
	}
	checks = append(checks, ServerCheck{Name: "start-up"})
	for _, p := range paths {
		code, body := env.Probe(ctx, rp.url(), p)
		c := ServerCheck{Name: "GET " + p}
		if code < 200 || code > 299 {
			c.Err = fmt.Sprintf("HTTP %d: %s", code, oneLine(body))
		}
		checks = append(checks, c)
	}
	return checks
}

// waitReady waits for /readyz; it returns "" or why the server is not ready.
func waitReady(ctx context.Context, rp *replica, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		code, body := env.Probe(ctx, rp.url(), "/readyz")
		if code == http.StatusOK {
			return ""
		}
		if code != 0 {
			last = fmt.Sprintf("/readyz %d: %s", code, oneLine(body))
		}
		if restarts, exit, _ := rp.state(); restarts > 0 && exit != "" {
			return fmt.Sprintf("server %s (restarted %d times); last %s", exit, restarts, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Sprintf("not ready within %s: %s", timeout, last)
		case <-tick.C:
		}
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 240 {
		s = s[:237] + "..."
	}
	return s
}
