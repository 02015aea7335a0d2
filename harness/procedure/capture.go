package procedure

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Recording release N's statements: pg_stat_statements is cleared before N
// is installed, read after its boot ("boot"), cleared after seeding (the
// harness's own statements), then read after each smoke request sent to N
// ("smoke: NAME"). What N runs becomes old-code probes of the matrix.

// startCapture clears the recorder; a server that cannot record says why
// in pc.Capture.Problem and nothing is recorded.
func startCapture(ctx context.Context, pc *Context) bool {
	if pc.Capture == nil || pc.Capture.Problem != "" {
		return false
	}
	if err := pc.Capture.Enable(ctx); err != nil {
		pc.Capture.Problem = err.Error()
		return false
	}
	return true
}

// takeCapture records what ran since the last reset as step's.
func takeCapture(ctx context.Context, pc *Context, dsn, step string) bool {
	if pc.Capture.Database == "" {
		if cfg, err := pgconn.ParseConfig(dsn); err == nil {
			pc.Capture.Database = cfg.Database
		}
	}
	if err := pc.Capture.Take(ctx, step); err != nil {
		pc.Capture.Problem = fmt.Sprintf("recording %s failed: %v", step, err)
		return false
	}
	return true
}

// captureSmoke sends the smoke requests to release N on its own seeded
// state, recording each one's statements. A request failing there is a
// baseline finding about N itself, returned as a note.
func captureSmoke(ctx context.Context, pc *Context, dsn string) []string {
	if err := pc.Capture.Reset(ctx); err != nil {
		pc.Capture.Problem = fmt.Sprintf("clearing pg_stat_statements after seeding failed: %v", err)
		return nil
	}
	if len(pc.Checks.Smoke) == 0 {
		return nil
	}
	saved := pc.Checks.Unique
	pc.Checks.Unique = fmt.Sprintf("n-%d", time.Now().UnixNano()%1e9)
	defer func() { pc.Checks.Unique = saved }()
	ok := true
	res := smokeRun(ctx, pc, func(label string) {
		if ok {
			ok = takeCapture(ctx, pc, dsn, "smoke: "+label)
		}
	})
	if res.Status == StatusFail {
		return []string{fmt.Sprintf("release %s's smoke requests fail on its own seeded state (before any upgrade): %s", pc.From.Name, res.Summary)}
	}
	return nil
}
