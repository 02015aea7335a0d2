// Package procedure holds the rollback procedures an operator may follow
// (standard, schema-revert, full-restore) as lists of named, timed steps
// sharing one Context, in the shape of kind's create actions, and the checks
// run after each: is release N's server ready and does it stay ready, do
// smoke requests pass, do its logs show schema errors, did N-era data
// survive, how many N+1-era writes were lost, and what did N's own boot do
// to the schema.
//
// Every procedure starts from the same post-upgrade state: the caller loads
// a fresh copy (env.LoadState) before Run.
package procedure

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/capture"
	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// Context is what every step of a procedure shares.
type Context struct {
	Env env.Environment
	// From is release N (rolled back to), To release N+1 (running when the
	// procedure starts).
	From, To env.Release
	// Base are release N's migrations; Next the ones N+1 adds, in order.
	Base, Next  []*migrate.Migration
	Bookkeeping migrate.Bookkeeping
	// PreUpgradeBackup is the dump taken just before the upgrade.
	PreUpgradeBackup string
	// WorkDir receives the backups procedures take.
	WorkDir string
	// Baseline is what the checks compare with (see Baseline).
	Baseline *Baseline
	Checks   CheckOptions
	Logger   *slog.Logger
	// Progress receives one line per finished step and check.
	Progress io.Writer
	// PGRestore is the pg_restore on the harness's machine that verifies
	// backups before a procedure relies on them ("" = not verified).
	PGRestore string
	// DownHook, when set, gives the hook run before each statement of m's
	// down file on conn (the chaos package kills that session there).
	DownHook func(m *migrate.Migration, conn *pgx.Conn) migrate.Hook
	// SavePreUpgrade makes Prepare also save PreUpgradeState.
	SavePreUpgrade bool
	// Capture, when set, records release N's statements while Prepare
	// installs it (boot) and sends it the smoke requests (see capture.go).
	Capture *capture.Recorder

	// bootBefore is the schema just before release N's server was started.
	bootBefore *schema.Snapshot
}

// CheckOptions tune the checks after the steps.
type CheckOptions struct {
	Health env.HealthOptions
	Smoke  []SmokeRequest
	// Unique is substituted for ${unique} in smoke requests.
	Unique string
}

// Step is one named action of a procedure. Run returns a short output for
// the report.
type Step struct {
	Name string
	Run  func(ctx context.Context, pc *Context) (string, error)
}

// Procedure is a named list of steps.
type Procedure struct {
	Name        string
	Description string
	// Steps builds the step list (a down step expands to one step per
	// migration of N+1).
	Steps func(pc *Context) []Step
	// Spec is what the procedure was declared as.
	Spec *Spec
}

// Names lists the built-in procedures, in the order a run performs them.
var Names = []string{"standard", "schema-revert", "full-restore"}

// Get returns the built-in procedure called name.
func Get(name string) (Procedure, error) {
	if s, ok := Builtin(name); ok {
		return s.Procedure(), nil
	}
	return Procedure{}, fmt.Errorf("unknown procedure %q: use one of %s, or declare it in the scenario's spec.procedures", name, strings.Join(Names, ", "))
}

// Step names other packages refer to (chaos resumes procedures from them).
const (
	StepBackup           = "backup"
	StepVerifyBackup     = "verify backup"
	StepVerifyPreUpgrade = "verify pre-upgrade backup"
	StepRestore          = "restore pre-upgrade backup"
	StepRollback         = "rollback server to N"
)

// DownStep names the step that applies m's down file.
func DownStep(m *migrate.Migration) string { return "down " + m.ID() }

// SchemaRevertBackup is where schema-revert writes its backup.
func SchemaRevertBackup(pc *Context) string {
	return filepath.Join(pc.WorkDir, "schema-revert-before.dump")
}

// Standard is `helm rollback` to N only: the schema stays at N+1.
func Standard() Procedure { return mustBuiltin("standard") }

// SchemaRevert backs up, stops the server, applies N+1's down files in
// reverse, fixes the bookkeeping the app's way and rolls the server back.
func SchemaRevert() Procedure { return mustBuiltin("schema-revert") }

// FullRestore restores the dump taken before the upgrade and rolls back.
func FullRestore() Procedure { return mustBuiltin("full-restore") }

func mustBuiltin(name string) Procedure {
	p, err := Get(name)
	if err != nil {
		panic(err)
	}
	return p
}

func takeSnapshot(ctx context.Context) func(*pgx.Conn) (*schema.Snapshot, error) {
	return func(conn *pgx.Conn) (*schema.Snapshot, error) {
		return schema.Take(ctx, conn, schema.Options{})
	}
}

func downStep(ctx context.Context, pc *Context, m *migrate.Migration) (string, error) {
	if m.Down == nil {
		return "", fmt.Errorf("%s has no down file: %w; only a full restore undoes it", m.ID(), migrate.ErrNoDown)
	}
	_, err := withConn(ctx, pc, func(conn *pgx.Conn) (struct{}, error) {
		var hook migrate.Hook
		if pc.DownHook != nil {
			hook = pc.DownHook(m, conn)
		}
		return struct{}{}, migrate.ApplyStatements(ctx, conn, m.Down, hook)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %d statements", m.Down.File, len(m.Down.Statements)), nil
}

func withConn[T any](ctx context.Context, pc *Context, f func(*pgx.Conn) (T, error)) (T, error) {
	var zero T
	conn, err := Connect(ctx, pc)
	if err != nil {
		return zero, err
	}
	defer conn.Close(context.Background())
	return f(conn)
}

// Run performs p's steps in order, stopping at the first failure, then the
// checks, and returns the timeline and verdict. An error means the harness
// itself failed (not the procedure).
func Run(ctx context.Context, p Procedure, pc *Context) (*Result, error) {
	return run(ctx, p, pc, "")
}

// Resume performs p from the step named from (an operator re-running the
// runbook from where it broke), then the checks. The steps before it are
// listed as skipped.
func Resume(ctx context.Context, p Procedure, pc *Context, from string) (*Result, error) {
	found := false
	for _, s := range p.Steps(pc) {
		found = found || s.Name == from
	}
	if !found {
		return nil, fmt.Errorf("resume %s: no step %q", p.Name, from)
	}
	return run(ctx, p, pc, from)
}

func run(ctx context.Context, p Procedure, pc *Context, from string) (*Result, error) {
	if pc.Logger == nil {
		pc.Logger = slog.Default()
	}
	if pc.Progress == nil {
		pc.Progress = io.Discard
	}
	pc.bootBefore = nil
	res := &Result{Name: p.Name, Description: p.Description}
	start := time.Now()
	stepTimeout := 15 * time.Minute
	failed := false
	skipping := from != ""
	for _, s := range p.Steps(pc) {
		if skipping && s.Name != from {
			res.Steps = append(res.Steps, StepResult{Name: s.Name, Status: StatusSkip, Error: "not re-run: the procedure resumed at " + from})
			continue
		}
		skipping = false
		if failed {
			res.Steps = append(res.Steps, StepResult{Name: s.Name, Status: StatusSkip, At: time.Since(start).Seconds(), Error: "not run: an earlier step failed"})
			continue
		}
		t0 := time.Now()
		sctx, cancel := context.WithTimeout(ctx, stepTimeout)
		out, err := s.Run(sctx, pc)
		cancel()
		sr := StepResult{Name: s.Name, Status: StatusOK, At: t0.Sub(start).Seconds(), Seconds: time.Since(t0).Seconds(), Output: out}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: step %q: %w", p.Name, s.Name, ctx.Err())
			}
			sr.Status, sr.Error = StatusFail, err.Error()
			failed = true
		}
		res.Steps = append(res.Steps, sr)
		fmt.Fprintf(pc.Progress, "  %s: %s ... %s (%.1fs)%s\n", p.Name, s.Name, sr.Status, sr.Seconds, firstLineSuffix(sr.Error))
	}
	if failed {
		fs := res.FailedStep()
		res.Verdict = VerdictFailed
		res.Reasons = []string{fmt.Sprintf("step %q failed: %s", fs.Name, oneline.First(fs.Error))}
		for _, name := range checkNames {
			res.Checks = append(res.Checks, CheckResult{Name: name, Status: StatusSkip, Summary: "not run: step " + fs.Name + " failed"})
		}
	} else {
		if err := runChecks(ctx, pc, res); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		res.Verdict, res.Reasons = decide(res)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

var checkNames = []string{CheckServerReady, CheckBootSchema, CheckNEraKept, CheckNextEraLost, CheckSmoke, CheckSchemaErrors}

// decide turns the checks into a verdict.
func decide(res *Result) (string, []string) {
	var reasons []string
	verdict := VerdictRecovered
	for _, c := range res.Checks {
		if c.Status != StatusFail {
			continue
		}
		reasons = append(reasons, c.Name+": "+c.Summary)
		if c.Name == CheckServerReady {
			verdict = VerdictFailed
		} else if verdict == VerdictRecovered {
			verdict = VerdictDegraded
		}
	}
	return verdict, reasons
}

// Worse reports whether verdict a is worse than b.
func Worse(a, b string) bool {
	order := []string{VerdictRecovered, VerdictDegraded, VerdictFailed}
	return slices.Index(order, a) > slices.Index(order, b)
}

func firstLineSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + oneline.First(s)
}
