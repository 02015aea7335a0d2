package chaos

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// Config is one chaos run.
type Config struct {
	// PC is the prepared procedure context: procedure.Prepare ran with
	// SavePreUpgrade, so the pre-upgrade and post-upgrade states exist.
	PC   *procedure.Context
	Plan []Injection
	// Clean are the procedures' results without faults, by name: a
	// procedure re-run after a fault has recovered when it ends no worse.
	Clean map[string]*procedure.Result
	// Specs declare the scenario's procedures; a name without a spec here
	// is a built-in's.
	Specs []procedure.Spec
	// Replay returns the command that rehearses one injection alone.
	Replay   func(Injection) string
	Progress io.Writer
	Logger   *slog.Logger
}

type runner struct {
	cfg Config
	pc  *procedure.Context
	// upgradedNEra and cleanSchema are release N's data and the schema as
	// an uninterrupted upgrade leaves them.
	upgradedNEra fingerprint.Set
	cleanSchema  *schema.Snapshot
	// note is what a pod deletion reported, for the cell's detail.
	note string
}

// Run injects every fault of the plan, one at a time, each on a fresh copy
// of the state it needs, and returns one cell per injection. An error
// means the run was interrupted; a cell the harness could not complete
// has VerdictError.
func Run(ctx context.Context, cfg Config) ([]Cell, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &runner{cfg: cfg, pc: cfg.PC}
	saved := *cfg.PC
	defer func() { *cfg.PC = saved }()
	if slices.ContainsFunc(cfg.Plan, func(in Injection) bool { return in.Point.Phase == PhaseUp }) {
		if err := r.takeCleanUpgrade(ctx); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	var cells []Cell
	for i, inj := range cfg.Plan {
		fmt.Fprintf(cfg.Progress, "chaos %d/%d: %s at %s\n", i+1, len(cfg.Plan), inj.Fault, inj.Point)
		t0 := time.Now()
		cell, err := r.cell(ctx, inj)
		*cfg.PC = saved
		if ctx.Err() != nil {
			return cells, fmt.Errorf("chaos %s: %w", inj, ctx.Err())
		}
		cell.Fault, cell.Point = inj.Fault, inj.Point.String()
		if r.note != "" {
			cell.Detail = strings.TrimSpace(r.note + "\n" + cell.Detail)
		}
		if err != nil {
			cell.Verdict = VerdictError
			cell.Detail = strings.TrimSpace("the harness could not complete this cell: " + err.Error() + "\n" + cell.Detail)
		}
		if cfg.Replay != nil {
			cell.Replay = cfg.Replay(inj)
		}
		cell.Seconds = time.Since(t0).Seconds()
		summary := cell.StateFound
		if cell.Verdict == VerdictError || summary == "" || summary == "not injected" {
			summary = strings.TrimSpace(summary + " " + cell.Detail)
		}
		fmt.Fprintf(cfg.Progress, "chaos %d/%d: %s at %s: %s: %s (%.1fs)\n", i+1, len(cfg.Plan), inj.Fault, inj.Point, cell.Verdict, oneline.First(summary), cell.Seconds)
		cells = append(cells, cell)
	}
	return cells, nil
}

func (r *runner) cell(ctx context.Context, inj Injection) (Cell, error) {
	c := Cell{Statements: -1, Effective: -1, Total: -1}
	r.note = ""
	if inj.Fault == KillPostgresPod && r.skipUnlessPodDeleter(&c, inj.Fault) {
		return c, nil
	}
	switch inj.Point.Phase {
	case PhaseUp:
		if inj.Fault == KillHook {
			return r.hookCell(ctx, inj, c)
		}
		return r.upCell(ctx, inj, c)
	case PhaseDown:
		return r.downCell(ctx, inj, c)
	case PhaseRestore:
		c.Procedure = "full-restore"
		return r.procedureCell(ctx, inj, c, procedure.FullRestore(), procedure.StepRestore)
	case PhaseBackup, PhaseRollback:
		c.Procedure = inj.Point.Procedure
		sp, ok := PlanOptions{Specs: r.cfg.Specs}.spec(c.Procedure)
		if !ok {
			return c, fmt.Errorf("no procedure %q among the scenario's", c.Procedure)
		}
		resumeAt := ""
		if inj.Point.Phase == PhaseRollback {
			resumeAt = StepOfKind(sp, procedure.KindHelmRollback)
		}
		return r.procedureCell(ctx, inj, c, sp.Procedure(), resumeAt)
	case PhaseUpgrade:
		return r.upgradeCell(ctx, inj, c)
	}
	return c, fmt.Errorf("no injector for %s", inj)
}

func (r *runner) bookkeeping() migrate.Bookkeeping {
	if r.pc.Bookkeeping == nil {
		bk, _ := migrate.BookkeepingFor("none")
		return bk
	}
	return r.pc.Bookkeeping
}

func (r *runner) bkTable() string { return r.bookkeeping().Table() }

func (r *runner) skipUnlessServerKiller(c *Cell, fault string) bool {
	if _, ok := r.pc.Env.(env.ServerKiller); ok {
		return false
	}
	c.Verdict = VerdictSkipped
	c.StateFound = "not injected"
	c.Detail = fmt.Sprintf("SKIPPED: the %s backend cannot kill the app server's process, so %s is not rehearsed there; run it on the local, docker or kind backend", r.pc.Env.Name(), fault)
	return true
}

// upCell kills the upgrade's migration between two statements, measures
// what is left, then re-runs the upgrade (and, when golang-migrate left
// the version dirty, forces it back first, as its docs tell operators).
func (r *runner) upCell(ctx context.Context, inj Injection, c Cell) (Cell, error) {
	pc, e := r.pc, r.pc.Env
	idx := slices.IndexFunc(pc.Next, func(m *migrate.Migration) bool { return m == find(pc.Next, inj.Point.Version) })
	m := pc.Next[idx]
	c.Migration, c.Total, c.Statements = m.ID(), len(m.Up.Statements), inj.Point.After
	if err := e.LoadState(ctx, procedure.PreUpgradeState); err != nil {
		return c, err
	}
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return c, err
	}
	bk := r.bookkeeping()
	if err := bk.Ensure(ctx, conn); err != nil {
		conn.Close(context.Background())
		return c, fmt.Errorf("create %s bookkeeping table: %w", bk.Name(), err)
	}
	for _, prev := range pc.Next[:idx] {
		if err := migrate.Up(ctx, conn, prev, bk, nil); err != nil {
			conn.Close(context.Background())
			c.Verdict, c.StateFound = VerdictNotReached, "not injected"
			c.Detail = fmt.Sprintf("the upgrade fails before %s: %v", m.ID(), err)
			return c, nil
		}
	}
	in, err := interruptUp(ctx, conn, e.AdminDSN, m, bk, inj.Fault, inj.Point.After)
	conn.Close(context.Background())
	if err != nil {
		return c, fmt.Errorf("inject %s: %w", inj, err)
	}
	if !in.landed {
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = fmt.Sprintf("%s fails on release N's data before statement %d: %v", m.Up.File, inj.Point.After+1, in.applyErr)
		return c, nil
	}
	before, at := in.before, in.at
	if err := r.measure(ctx, &c, m.Up, before, at); err != nil {
		return c, err
	}
	return r.rerunUpgrade(ctx, c)
}

// interruption is what a fault inside a script saw.
type interruption struct {
	before, at probe // before the script; as its session saw it at the fault
	landed     bool
	applyErr   error // how the script ended
}

// interruptUp applies m's up on conn with bk's bookkeeping and kills the
// session (fault) after `after` statements.
func interruptUp(ctx context.Context, conn *pgx.Conn, admin dsnFunc, m *migrate.Migration, bk migrate.Bookkeeping, fault string, after int) (interruption, error) {
	var in interruption
	var err error
	if in.before, err = takeProbe(ctx, conn, bk.Table()); err != nil {
		return in, err
	}
	var injectErr error
	hook := func(i int, _ migrate.Statement) error {
		if i != after {
			return nil
		}
		if in.at, injectErr = takeProbe(ctx, conn, bk.Table()); injectErr != nil {
			return injectErr
		}
		if injectErr = killSession(ctx, fault, admin, conn.PgConn().PID()); injectErr != nil {
			return injectErr
		}
		in.landed = true
		return errInjected
	}
	in.applyErr = migrate.Up(ctx, conn, m, bk, hook)
	return in, injectErr
}

// measure fills StateFound, Effective, HalfApplied and Bookkeeping after a
// fault inside script s.
func (r *runner) measure(ctx context.Context, c *Cell, s *migrate.Script, before, at probe) error {
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	now, err := takeProbe(ctx, conn, r.bkTable())
	if err != nil {
		return err
	}
	st := measureScript(s, c.Statements, before, at, now)
	c.Effective = st.effective
	// Until a re-run says otherwise: the rows are as the file left them
	// (before it, or as its session saw them), nothing else was lost.
	c.NEraKept = st.effective >= 0
	c.HalfApplied = st.effective > 0 && st.effective < c.Total
	bkText, _, err := bookkeepingText(ctx, conn, r.bookkeeping())
	if err != nil {
		return err
	}
	c.Bookkeeping = bkText
	c.StateFound = st.text + "; " + bkText
	c.Detail = st.detail
	return nil
}

// retryUpgrade rolls release N+1 out again on the current database and
// says whether that is a clean upgrade: its server ready, the schema and
// the bookkeeping as after an uninterrupted upgrade, N's data as a clean
// upgrade leaves it.
func (r *runner) retryUpgrade(ctx context.Context, c *Cell) (bool, string, error) {
	pc, e := r.pc, r.pc.Env
	// A rollout that fails leaves NEraKept as measured right after the fault.
	if err := e.Upgrade(ctx, pc.To); err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		why := "the rollout of release " + pc.To.Name + " failed: " + oneline.First(err.Error())
		if logs, lerr := e.ServerLogs(ctx); lerr == nil {
			if line := lastAppError(logs); line != "" {
				why += "; its last error: " + line
			}
		}
		return false, why, nil
	}
	return r.upgradeComplete(ctx, c)
}

// upgradeComplete says whether the database and release N+1's server are
// as after an uninterrupted upgrade (see retryUpgrade).
func (r *runner) upgradeComplete(ctx context.Context, c *Cell) (bool, string, error) {
	pc, e := r.pc, r.pc.Env
	h, err := e.ServerHealth(ctx, pc.Checks.Health)
	if err != nil {
		return false, "", err
	}
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return false, "", err
	}
	defer conn.Close(context.Background())
	if !h.Ready {
		return false, "release " + pc.To.Name + "'s server is not ready: " + oneline.First(h.Detail), nil
	}
	now, err := takeProbe(ctx, conn, r.bkTable())
	if err != nil {
		return false, "", err
	}
	if d := r.schemaDiff(now); d != "" {
		return false, "the schema differs from an uninterrupted upgrade: " + d, nil
	}
	// The upgrade is complete: release N's rows must be as a clean one leaves them.
	kept, err := r.nEraAsUpgraded(ctx, conn)
	if err != nil {
		return false, "", err
	}
	c.NEraKept = kept == ""
	bkText, dirty, err := bookkeepingText(ctx, conn, r.bookkeeping())
	if err != nil {
		return false, "", err
	}
	if bk := r.bookkeeping(); bk.Name() != "none" {
		v, _, _ := bk.Current(ctx, conn)
		if dirty || !sameVersion(v, pc.To.Version) {
			return false, "the bookkeeping is wrong after the re-run: " + bkText, nil
		}
	}
	if kept != "" {
		return false, "release N's data differs from an uninterrupted upgrade: " + kept, nil
	}
	return true, fmt.Sprintf("release %s ready, schema and bookkeeping as after an uninterrupted upgrade (%s)", pc.To.Name, bkText), nil
}

func (r *runner) schemaDiff(now probe) string {
	if d := schema.Diff(r.cleanSchema, now.snap); !d.Empty() {
		ch := schema.Changes(d)
		return fmt.Sprintf("%d changes, first: %s", len(ch), ch[0])
	}
	return ""
}

// nEraAsUpgraded compares release N's rows with a clean upgrade's ("" =
// equal).
func (r *runner) nEraAsUpgraded(ctx context.Context, conn *pgx.Conn) (string, error) {
	now, err := takeProbe(ctx, conn, r.bkTable())
	if err != nil {
		return "", err
	}
	got, err := fingerprint.TakeLike(ctx, conn, now.snap, fingerprint.NEraOnly, r.upgradedNEra)
	if err != nil {
		return "", fmt.Errorf("fingerprint N-era data: %w", err)
	}
	if d := fingerprint.Compare(r.upgradedNEra, got); len(d) > 0 {
		return d[0].String(), nil
	}
	return "", nil
}

// takeCleanUpgrade records what an uninterrupted upgrade leaves: from a
// fresh copy of the pre-upgrade state, N+1's ups applied with the app's
// bookkeeping, before any N+1-era write. Re-run upgrades compare with it,
// over release N's tables and columns only (rows a migration inserts may
// carry now()).
func (r *runner) takeCleanUpgrade(ctx context.Context) error {
	if err := r.pc.Env.LoadState(ctx, procedure.PreUpgradeState); err != nil {
		return err
	}
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	pre, err := takeProbe(ctx, conn, r.bkTable())
	if err != nil {
		return err
	}
	if err := migrate.Migrate(ctx, conn, r.pc.Next, r.bookkeeping()); err != nil {
		return fmt.Errorf("uninterrupted upgrade: %w", err)
	}
	p, err := takeProbe(ctx, conn, r.bkTable())
	if err != nil {
		return err
	}
	r.cleanSchema = p.snap
	r.upgradedNEra, err = fingerprint.TakeLike(ctx, conn, p.snap, fingerprint.NEraOnly, pre.data)
	if err != nil {
		return fmt.Errorf("fingerprint N-era data after the upgrade: %w", err)
	}
	return nil
}

// procedureCell runs procedure p with the fault wired into the
// environment, measures what it left, then resumes p (without the fault)
// from the step that broke, or from resumeAt.
func (r *runner) procedureCell(ctx context.Context, inj Injection, c Cell, p procedure.Procedure, resumeAt string) (Cell, error) {
	pc := r.pc
	if (inj.Fault == CrashLoop) && r.skipUnlessServerKiller(&c, inj.Fault) {
		return c, nil
	}
	if clean := r.cfg.Clean[p.Name]; inj.Fault == CrashLoop && clean != nil && !checkOK(clean, procedure.CheckServerReady) {
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = fmt.Sprintf("release N's server is not ready after %s even without a fault (%s), so there is no running server to crash", p.Name, oneline.First(clean.Check(procedure.CheckServerReady).Summary))
		return c, nil
	}
	if err := pc.Env.LoadState(ctx, procedure.StartState); err != nil {
		return c, err
	}
	real := pc.Env
	fe := &faultyEnv{Environment: real, fault: inj.Fault, health: pc.Checks.Health, deletePod: r.deletePostgresPod}
	pc.Env = fe
	cleanup := func() {}
	if inj.Point.Phase == PhaseBackup && p.Name == "full-restore" {
		// The pre-upgrade backup is the one full-restore relies on: break a copy.
		orig := pc.PreUpgradeBackup
		broken, err := r.brokenCopy(orig, inj.Fault)
		if err != nil {
			return c, err
		}
		pc.PreUpgradeBackup = broken
		fe.landed = true
		cleanup = func() { pc.PreUpgradeBackup = orig; os.Remove(broken) }
	}
	res, err := procedure.Run(ctx, p, pc)
	pc.Env = real
	if err != nil {
		cleanup()
		return c, err
	}
	if fe.err != nil {
		cleanup()
		return c, fmt.Errorf("inject %s: %w", inj, fe.err)
	}
	if !fe.landed {
		cleanup()
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = "the fault's moment never came: " + strings.TrimPrefix(fe.why+"; ", "; ") + describe(res)
		if inj.Point.Phase == PhaseRestore {
			c.Detail = "pg_restore finished before its session was seen (the dump is too small to interrupt); " + describe(res)
		}
		return c, nil
	}
	failed := res.FailedStep()
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		cleanup()
		return c, err
	}
	untouched, why, err := procedure.Untouched(ctx, conn, pc.Baseline)
	restored := ""
	if err == nil && inj.Point.Phase == PhaseRestore && res.FailedStep() != nil {
		restored, err = restoredTables(ctx, conn, pc.Baseline)
	}
	if err == nil {
		var bkText string
		bkText, _, err = bookkeepingText(ctx, conn, r.bookkeeping())
		c.Bookkeeping = bkText
	}
	conn.Close(context.Background())
	if err != nil {
		cleanup()
		return c, err
	}
	c.StateFound = stateAfterProcedure(res, untouched, why) + restored + "; " + c.Bookkeeping
	if inj.Point.Phase == PhaseRestore && res.FailedStep() == nil {
		what := "PostgreSQL crashed"
		if inj.Fault == KillPostgresPod {
			what = "PostgreSQL's pod was deleted"
		}
		c.StateFound = what + " as pg_restore was finishing and the restore still completed; " + c.StateFound
	}
	c.Detail = describe(res)
	noticed := noticedFault(inj, p, res)
	if !noticed {
		cleanup()
		if inj.Point.Phase == PhaseRestore {
			// PostgreSQL came back and pg_restore still finished: judge
			// what the procedure left as it is.
			return r.judgeResumed(c, p.Name, "(not re-run: every step passed despite the crash)", res), nil
		}
		c.Verdict = VerdictUnrecovered
		c.NEraKept = checkOK(res, procedure.CheckNEraKept)
		c.Recovery = fmt.Sprintf("not re-run: %s ended %s without noticing the fault", p.Name, res.Verdict)
		return c, nil
	}
	// Backups: a fault noticed before anything changed is the best outcome;
	// full-restore cannot get its pre-upgrade backup back by re-running.
	if inj.Point.Phase == PhaseBackup {
		c.NEraKept = untouched
		if p.Name == "full-restore" {
			cleanup()
			c.Verdict = VerdictDetected
			if !untouched {
				c.Verdict = VerdictDataLost
			}
			c.Recovery = "not re-run: the pre-upgrade backup is the only copy of release N's state, and re-running cannot make it again; fall back to schema-revert (which takes its own backup)"
			return c, nil
		}
		resumeAt = StepOfKind(*p.Spec, procedure.KindBackup)
	}
	if resumeAt == "" && failed != nil {
		resumeAt = failed.Name
	}
	cleanup()
	again, err := procedure.Resume(ctx, p, pc, resumeAt)
	if err != nil {
		return c, err
	}
	c = r.judgeResumed(c, p.Name, resumeAt, again)
	if inj.Point.Phase == PhaseBackup && c.Verdict == VerdictAsWithoutFault {
		// Caught before anything changed: the fault's part is done well;
		// the re-run's own verdict is the procedure's, reported without it.
		c.Verdict = VerdictDetected
	}
	return c, nil
}

// judgeResumed sets the verdict from a procedure resumed after a fault,
// against the same procedure without faults.
func (r *runner) judgeResumed(c Cell, name, from string, again *procedure.Result) Cell {
	c.NEraKept = checkOK(again, procedure.CheckNEraKept)
	clean := r.cfg.Clean[name]
	want := procedure.VerdictRecovered
	if clean != nil {
		want = clean.Verdict
	}
	c.Recovered = again.Verdict == procedure.VerdictRecovered
	c.Recovery = fmt.Sprintf("%s resumed at %q: %s%s (without the fault: %s)", name, from, again.Verdict, reasonSuffix(again.Reasons), want)
	if !c.Recovered {
		if c.Detail != "" {
			c.Detail += "\n"
		}
		c.Detail += "after the re-run: " + describe(again)
	}
	switch {
	case !c.NEraKept && (clean == nil || checkOK(clean, procedure.CheckNEraKept)):
		c.Verdict = VerdictDataLost
	case c.Recovered:
		c.Verdict = VerdictRecovered
	case !procedure.Worse(again.Verdict, want):
		c.Verdict = VerdictAsWithoutFault
	default:
		c.Verdict = VerdictUnrecovered
	}
	return c
}

// downCell kills the session of the point's procedure (schema-revert, or
// a declared one with a down step) between two statements of a down file,
// measures what is left, then resumes the procedure at that down.
func (r *runner) downCell(ctx context.Context, inj Injection, c Cell) (Cell, error) {
	pc, e := r.pc, r.pc.Env
	m := find(pc.Next, inj.Point.Version)
	name := inj.Point.Procedure
	if name == "" {
		name = "schema-revert" // a point planned before down points named their procedure
	}
	sp, ok := PlanOptions{Specs: r.cfg.Specs}.spec(name)
	if !ok {
		return c, fmt.Errorf("no procedure %q among the scenario's", name)
	}
	c.Migration, c.Procedure, c.Total, c.Statements = m.ID(), name, len(m.Down.Statements), inj.Point.After
	if err := e.LoadState(ctx, procedure.StartState); err != nil {
		return c, err
	}
	var before, at probe
	landed := false
	var injectErr error
	p := sp.Procedure()
	pc.DownHook = downHook(ctx, m, inj, r.bkTable(), r.killer(inj.Fault), &before, &at, &landed, &injectErr)
	res, err := procedure.Run(ctx, p, pc)
	pc.DownHook = nil
	if err != nil {
		return c, err
	}
	if injectErr != nil {
		return c, fmt.Errorf("inject %s: %w", inj, injectErr)
	}
	if !landed {
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = name + " did not reach statement " + fmt.Sprint(inj.Point.After+1) + " of " + m.Down.File + ": " + describe(res)
		return c, nil
	}
	if err := r.measure(ctx, &c, m.Down, before, at); err != nil {
		return c, err
	}
	again, err := procedure.Resume(ctx, p, pc, procedure.DownStep(m))
	if err != nil {
		return c, err
	}
	return r.judgeResumed(c, p.Name, procedure.DownStep(m), again), nil
}

// downHook builds the per-statement hook of m's down file: at the fault's
// boundary it records the state before the file and the state the
// session sees, then kills the session.
func downHook(ctx context.Context, m *migrate.Migration, inj Injection, bkTable string, kill func(context.Context, uint32) error, before, at *probe, landed *bool, injectErr *error) func(*migrate.Migration, *pgx.Conn) migrate.Hook {
	return func(dm *migrate.Migration, conn *pgx.Conn) migrate.Hook {
		if dm != m {
			return nil
		}
		return func(i int, _ migrate.Statement) error {
			var err error
			if i == 0 {
				if *before, err = takeProbe(ctx, conn, bkTable); err != nil {
					*injectErr = err
					return err
				}
			}
			if i != inj.Point.After {
				return nil
			}
			if *at, err = takeProbe(ctx, conn, bkTable); err != nil {
				*injectErr = err
				return err
			}
			if err := kill(ctx, conn.PgConn().PID()); err != nil {
				*injectErr = err
				return err
			}
			*landed = true
			return errInjected
		}
	}
}

// readyTimeoutCell upgrades from the pre-upgrade state with release N+1's
// server killed as it comes up, so it misses its readiness timeout, and
// rolls back as `helm upgrade --atomic` does: release N on N+1's schema.
func (r *runner) readyTimeoutCell(ctx context.Context, inj Injection, c Cell) (Cell, error) {
	pc := r.pc
	if r.skipUnlessServerKiller(&c, inj.Fault) {
		return c, nil
	}
	if err := pc.Env.LoadState(ctx, procedure.PreUpgradeState); err != nil {
		return c, err
	}
	real := pc.Env
	fe := &faultyEnv{Environment: real, fault: inj.Fault, health: pc.Checks.Health}
	if err := fe.Upgrade(ctx, pc.To); err != nil {
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = "the upgrade's rollout failed before its readiness could time out: " + err.Error()
		return c, nil
	}
	if fe.err != nil {
		return c, fmt.Errorf("inject %s: %w", inj, fe.err)
	}
	h, err := real.ServerHealth(ctx, pc.Checks.Health)
	if err != nil {
		return c, err
	}
	if !fe.landed {
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = "release " + pc.To.Name + "'s server never became ready, so there was nothing to crash: " + fe.why
		return c, nil
	}
	if h.Ready {
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = "release " + pc.To.Name + "'s server stayed ready despite the kill"
		return c, nil
	}
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return c, err
	}
	c.Bookkeeping, _, err = bookkeepingText(ctx, conn, r.bookkeeping())
	conn.Close(context.Background())
	if err != nil {
		return c, err
	}
	c.StateFound = fmt.Sprintf("release %s's server crashed during its rollout, so the rollout was not ready within %s (%s); its migrations had run: %s", pc.To.Name, pc.Checks.Health.Timeout, oneline.First(h.Detail), c.Bookkeeping)
	// --atomic: the upgrade's own rollback, which is the standard procedure.
	again, err := procedure.Run(ctx, procedure.Standard(), pc)
	if err != nil {
		return c, err
	}
	return r.judgeResumed(c, "standard", procedure.StepRollback, again), nil
}

// brokenCopy copies the dump at path and breaks the copy as fault says
// (backup-fail: no file at all).
func (r *runner) brokenCopy(path, fault string) (string, error) {
	out := filepath.Join(r.pc.WorkDir, "chaos-"+fault+".dump")
	_ = os.Remove(out)
	if fault == BackupFail {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("copy the pre-upgrade backup: %w", err)
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		return "", fmt.Errorf("copy the pre-upgrade backup: %w", err)
	}
	return out, breakDump(out, fault)
}

// noticedFault: the procedure stopped because of the fault (backups: at
// the backup or its verification, before anything destructive), or its
// steps or checks caught it (crash loop: a step after the rollback failed,
// or the server is not ready).
func noticedFault(inj Injection, p procedure.Procedure, res *procedure.Result) bool {
	fs := res.FailedStep()
	switch inj.Point.Phase {
	case PhaseBackup:
		if fs == nil || p.Spec == nil {
			return false
		}
		for _, st := range p.Spec.Steps {
			if (st.Kind == procedure.KindBackup || st.Kind == procedure.KindVerifyBackup) && st.StepName() == fs.Name {
				return true
			}
		}
		return false
	case PhaseRollback:
		// The crash lands after the rollback step succeeded: a later step
		// failing (a runbook's wait-ready or smoke) noticed it too.
		return fs != nil || !checkOK(res, procedure.CheckServerReady)
	}
	return fs != nil
}

func stateAfterProcedure(res *procedure.Result, untouched bool, why string) string {
	where := "every step ran"
	if fs := res.FailedStep(); fs != nil {
		where = fmt.Sprintf("%s stopped at step %q: %s", res.Name, fs.Name, oneline.First(fs.Error))
	} else if res.Verdict != procedure.VerdictRecovered {
		where = fmt.Sprintf("%s ran every step and ended %s%s", res.Name, res.Verdict, reasonSuffix(res.Reasons))
	}
	if untouched {
		return where + "; the database is still the post-upgrade state"
	}
	return where + "; the database is no longer the post-upgrade state (" + why + ")"
}

func describe(res *procedure.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s%s", res.Name, res.Verdict, reasonSuffix(res.Reasons))
	for _, s := range res.Steps {
		if s.Status == procedure.StatusSkip {
			continue
		}
		text := s.Output
		if s.Error != "" {
			text = s.Error
		}
		fmt.Fprintf(&b, "\n  step %s: %s %s", s.Name, s.Status, oneline.First(text))
	}
	return b.String()
}

func checkOK(res *procedure.Result, name string) bool {
	c := res.Check(name)
	return c != nil && c.Status != procedure.StatusFail
}

func reasonSuffix(reasons []string) string {
	if len(reasons) == 0 {
		return ""
	}
	return " (" + strings.Join(reasons, "; ") + ")"
}

// restoredTables says how many of release N's tables an interrupted
// restore left, and how many of them hold rows.
func restoredTables(ctx context.Context, conn *pgx.Conn, b *procedure.Baseline) (string, error) {
	present, filled := 0, 0
	for name := range b.NEra {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
			return "", fmt.Errorf("count restored tables: %w", err)
		}
		if !exists {
			continue
		}
		present++
		var rows bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier(strings.SplitN(name, ".", 2)).Sanitize()+`)`).Scan(&rows); err != nil {
			return "", fmt.Errorf("count restored rows of %s: %w", name, err)
		}
		if rows {
			filled++
		}
	}
	return fmt.Sprintf(" (the interrupted restore left %d of release N's %d tables, %d of them with rows)", present, len(b.NEra), filled), nil
}

// lastAppError is the last line of the server's logs that reports an
// error (the harness's own supervisor lines left out), for a rollout that
// failed: e.g. golang-migrate's "Dirty database version 12".
func lastAppError(logs string) string {
	lines := strings.Split(logs, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "rehearse:") {
			continue
		}
		if strings.Contains(strings.ToLower(l), "error") || strings.Contains(strings.ToLower(l), "dirty") {
			return oneline.Shorten(l, 300)
		}
	}
	return ""
}

// finish sets an upgrade cell's verdict from what was measured.
func (r *runner) finish(c Cell) Cell {
	switch {
	case !c.NEraKept:
		c.Verdict = VerdictDataLost
	case c.Recovered && len(c.ManualSteps) > 0:
		c.Verdict = VerdictManual
	case c.Recovered:
		c.Verdict = VerdictRecovered
	default:
		c.Verdict = VerdictUnrecovered
	}
	return c
}
