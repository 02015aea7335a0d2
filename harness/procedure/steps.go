package procedure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// Procedure builds the runnable procedure s declares. A step that cannot
// work on the database it meets (a table its SQL updates is missing, a
// revision that does not exist) fails with the reason measured there; s
// is expected to have passed Problems.
func (s Spec) Procedure() Procedure {
	desc := s.Description
	if desc == "" {
		desc = s.Summary()
	}
	return Procedure{
		Name:        s.Name,
		Description: desc,
		Spec:        &s,
		Steps: func(pc *Context) []Step {
			var steps []Step
			for i, st := range s.Steps {
				if st.Kind == KindDown {
					for _, m := range downMigrations(pc.Next, st.Range) {
						steps = append(steps, Step{Name: DownStep(m), Run: func(ctx context.Context, pc *Context) (string, error) {
							return downStep(ctx, pc, m)
						}})
					}
					continue
				}
				steps = append(steps, Step{Name: st.StepName(), Run: s.runner(i)})
			}
			return steps
		},
	}
}

// runner is the Run of step i.
func (s Spec) runner(i int) func(context.Context, *Context) (string, error) {
	st := s.Steps[i]
	switch st.Kind {
	case KindHelmRollback:
		return func(ctx context.Context, pc *Context) (string, error) { return rollbackTo(ctx, pc, st.To) }
	case KindScale:
		return func(ctx context.Context, pc *Context) (string, error) {
			if st.Workload != "" && st.Workload != "server" {
				return "", fmt.Errorf("scale %s: the harness runs only the server workload", st.Workload)
			}
			return "", pc.Env.Scale(ctx, *st.Replicas)
		}
	case KindBackup:
		dump := s.backupDump(i)
		return func(ctx context.Context, pc *Context) (string, error) {
			path := dumpPath(pc, dump)
			if err := pc.Env.Backup(ctx, path); err != nil {
				return "", err
			}
			return "pg_dump --format=custom --no-owner --no-acl -> " + path, nil
		}
	case KindVerifyBackup:
		dump := s.readDump(i)
		return func(ctx context.Context, pc *Context) (string, error) {
			if dump == PreUpgradeDump && pc.PreUpgradeBackup == "" {
				return "", fmt.Errorf("no backup was taken before the upgrade")
			}
			return VerifyDump(ctx, pc.PGRestore, dumpPath(pc, dump))
		}
	case KindRestore:
		dump := s.readDump(i)
		return func(ctx context.Context, pc *Context) (string, error) {
			if dump == PreUpgradeDump && pc.PreUpgradeBackup == "" {
				return "", fmt.Errorf("no backup was taken before the upgrade")
			}
			path := dumpPath(pc, dump)
			if err := pc.Env.Restore(ctx, path); err != nil {
				return "", err
			}
			return "pg_restore " + path + " into an empty database", nil
		}
	case KindBookkeeping:
		return func(ctx context.Context, pc *Context) (string, error) { return setBookkeeping(ctx, pc, st.Version) }
	case KindSQL:
		return func(ctx context.Context, pc *Context) (string, error) { return runSQL(ctx, pc, st) }
	case KindExec:
		return func(ctx context.Context, pc *Context) (string, error) { return runExec(ctx, pc, st) }
	case KindWaitReady:
		return func(ctx context.Context, pc *Context) (string, error) { return waitReady(ctx, pc, st.Timeout) }
	case KindSmoke:
		return func(ctx context.Context, pc *Context) (string, error) { return smokeStep(ctx, pc, i) }
	}
	return func(context.Context, *Context) (string, error) {
		return "", fmt.Errorf("unknown step kind %q: use one of %s", st.Kind, strings.Join(Kinds, ", "))
	}
}

// backupDump is the dump backup step i writes.
func (s Spec) backupDump(i int) string {
	if d := s.Steps[i].Dump; d != "" {
		return d
	}
	return s.Name + "-before"
}

// readDump is the dump verify-backup or restore step i reads: its own, else
// the last backup before it, else the pre-upgrade one.
func (s Spec) readDump(i int) string {
	if d := s.Steps[i].Dump; d != "" {
		return d
	}
	for j := i - 1; j >= 0; j-- {
		if s.Steps[j].Kind == KindBackup {
			return s.backupDump(j)
		}
	}
	return PreUpgradeDump
}

func dumpPath(pc *Context, dump string) string {
	if dump == PreUpgradeDump {
		return pc.PreUpgradeBackup
	}
	return filepath.Join(pc.WorkDir, dump+".dump")
}

// Reverts reports whether s applies m's down file (a down step whose
// range holds m): chaos kills a session there.
func (s Spec) Reverts(next []*migrate.Migration, m *migrate.Migration) bool {
	for _, st := range s.Steps {
		if st.Kind == KindDown && slices.Contains(downMigrations(next, st.Range), m) {
			return true
		}
	}
	return false
}

// downMigrations are the migrations of next a down step reverts, newest
// first: all of them, or those of rng ("HIGH..LOW" or one version).
func downMigrations(next []*migrate.Migration, rng string) []*migrate.Migration {
	lo, hi := 0, len(next)-1
	if rng != "" {
		a, b, ok := strings.Cut(rng, "..")
		if !ok {
			b = a
		}
		ia, ib := versionIndex(next, strings.TrimSpace(a)), versionIndex(next, strings.TrimSpace(b))
		if ia < 0 || ib < 0 {
			return nil
		}
		lo, hi = min(ia, ib), max(ia, ib)
	}
	var out []*migrate.Migration
	for i := hi; i >= lo; i-- {
		out = append(out, next[i])
	}
	return out
}

// versionIndex finds version v in ms, ignoring leading zeros.
func versionIndex(ms []*migrate.Migration, v string) int {
	want := strings.TrimLeft(v, "0")
	for i, m := range ms {
		if strings.TrimLeft(m.Version, "0") == want {
			return i
		}
	}
	return -1
}

// rollbackTo starts the release to names (N, N+1, or a Helm revision: 1
// installed N, 2 upgraded to N+1), remembering the schema just before so
// the checks can tell what its boot changed.
func rollbackTo(ctx context.Context, pc *Context, to string) (string, error) {
	rel := pc.From
	switch to {
	case "", "N", "1":
	case "N+1", "2":
		rel = pc.To
	default:
		return "", fmt.Errorf("helm rollback to revision %s: the release has no such revision; its history is 1 (install %s) and 2 (upgrade to %s)", to, pc.From.Name, pc.To.Name)
	}
	snap, err := withConn(ctx, pc, takeSnapshot(ctx))
	if err != nil {
		return "", fmt.Errorf("snapshot before %s's boot: %w", rel.Name, err)
	}
	pc.bootBefore = snap
	if err := pc.Env.Rollback(ctx, rel); err != nil {
		return "", err
	}
	return "release " + rel.Name + " started (no hook runs on rollback)", nil
}

// setBookkeeping records version (default N's last) as current, as the
// runbook's `UPDATE schema_migrations ...` does, through the tool's own
// adapter: every migration after it is marked reverted, newest first.
func setBookkeeping(ctx context.Context, pc *Context, version string) (string, error) {
	bk := pc.Bookkeeping
	if bk == nil || bk.Name() == "none" {
		return "the app keeps no bookkeeping table: nothing to fix (a runbook step editing schema_migrations would fail here; N's server re-runs its up files at boot)", nil
	}
	all := append(append([]*migrate.Migration{}, pc.Base...), pc.Next...)
	stop := len(pc.Base) - 1
	if version != "" {
		if stop = versionIndex(all, version); stop < 0 {
			return "", fmt.Errorf("%s bookkeeping: no migration has version %s", bk.Name(), version)
		}
	}
	return withConn(ctx, pc, func(conn *pgx.Conn) (string, error) {
		for i := len(all) - 1; i > stop; i-- {
			var prev *migrate.Migration
			if i > 0 {
				prev = all[i-1]
			}
			if err := bk.AfterDown(ctx, conn, all[i], prev); err != nil {
				return "", fmt.Errorf("%s bookkeeping after reverting %s: %w", bk.Name(), all[i].ID(), err)
			}
		}
		v, dirty, err := bk.Current(ctx, conn)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: %s now records version %q (dirty %t)", bk.Name(), bk.Table(), v, dirty), nil
	})
}

// runSQL runs a sql step's statements one by one, as `psql -f` does
// (autocommit), stopping at the first error. A statement PostgreSQL refuses
// fails the step with its message and SQLSTATE and where it is written.
func runSQL(ctx context.Context, pc *Context, st StepSpec) (string, error) {
	file, text := "inline statements", st.Statements
	if st.File != "" {
		b, err := os.ReadFile(st.File)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", st.File, err)
		}
		file, text = st.File, string(b)
	}
	script, err := migrate.ParseScript(file, text)
	if err != nil {
		return "", err
	}
	return withConn(ctx, pc, func(conn *pgx.Conn) (string, error) {
		var out []string
		if st.Role != "" {
			if _, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{st.Role}.Sanitize()); err != nil {
				return "", fmt.Errorf("SET ROLE %s: %s", st.Role, pgMessage(err))
			}
			out = append(out, "SET ROLE "+st.Role)
		}
		for _, s := range script.Statements {
			tag, err := conn.Exec(ctx, s.SQL)
			if err != nil {
				return strings.Join(out, "; "), fmt.Errorf("%s:%d: %s", file, s.Line, pgMessage(err))
			}
			out = append(out, fmt.Sprintf("line %d: %s", s.Line, tag.String()))
		}
		return strings.Join(out, "; "), nil
	})
}

// pgMessage is PostgreSQL's own words for err, with its SQLSTATE.
func pgMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		s := fmt.Sprintf("%s: %s (SQLSTATE %s)", pe.Severity, pe.Message, pe.Code)
		if pe.Detail != "" {
			s += ": " + pe.Detail
		}
		return s
	}
	return err.Error()
}

// runExec runs an exec step's command in the server's container (through
// env.ServerExecer) or on the harness (with DATABASE_URL set to the
// current database).
func runExec(ctx context.Context, pc *Context, st StepSpec) (string, error) {
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out string
	var err error
	if st.In == ExecInHarness {
		out, err = execHarness(ctx, pc, st.Command)
	} else {
		ex, ok := pc.Env.(env.ServerExecer)
		if !ok {
			return "", fmt.Errorf("the %s backend cannot run a command in the server's container: use in: harness, or another backend", pc.Env.Name())
		}
		out, err = ex.ExecServer(ctx, st.Command)
	}
	if ctx.Err() == context.DeadlineExceeded {
		return oneline.Shorten(out, 400), fmt.Errorf("exec %q: still running after its timeout of %s", strings.Join(st.Command, " "), timeout)
	}
	return oneline.Shorten(strings.TrimSpace(out), 400), err
}

func execHarness(ctx context.Context, pc *Context, command []string) (string, error) {
	dsn, err := pc.Env.DSN(ctx)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		return b.String(), fmt.Errorf("exec %q on the harness: %w: %s", strings.Join(command, " "), err, oneline.Shorten(strings.TrimSpace(b.String()), 300))
	}
	return b.String(), nil
}

// waitReady waits for the server to become ready and stay ready for the
// scenario's grace period.
func waitReady(ctx context.Context, pc *Context, timeout time.Duration) (string, error) {
	o := pc.Checks.Health
	if timeout > 0 {
		o.Timeout = timeout
	}
	h, err := pc.Env.ServerHealth(ctx, o)
	if err != nil {
		return "", err
	}
	if !h.Ready {
		if h.CrashLoop {
			return "", fmt.Errorf("server not ready: crash loop (%d restarts): %s", h.Restarts, h.Detail)
		}
		return "", fmt.Errorf("server not ready within %s: %s", o.Timeout, h.Detail)
	}
	return fmt.Sprintf("ready after %.1fs and stayed ready for %s", h.ReadySeconds, o.Grace), nil
}

// smokeStep sends the smoke requests now, with their own ${unique} so the
// smoke check after the procedure does not collide with what they wrote.
// The rows they write are the procedure's own, not release N's data: they
// are recorded apart (as the seeder's N+1-era rows are), so nEraKept
// compares N's data only.
func smokeStep(ctx context.Context, pc *Context, i int) (string, error) {
	saved := pc.Checks.Unique
	pc.Checks.Unique = saved + "-step" + strconv.Itoa(i)
	defer func() { pc.Checks.Unique = saved }()
	var before uint64
	if _, err := withConn(ctx, pc, func(conn *pgx.Conn) (struct{}, error) {
		return struct{}{}, conn.QueryRow(ctx, "SELECT txid_current()").Scan(&before)
	}); err != nil {
		return "", fmt.Errorf("before the smoke requests: %w", err)
	}
	c := smokeRun(ctx, pc, nil)
	n, err := recordWrittenSince(ctx, pc, before, "smoke step")
	if err != nil {
		return "", err
	}
	switch c.Status {
	case StatusFail:
		return "", errors.New(c.Summary)
	case StatusSkip:
		return c.Summary, nil
	}
	return fmt.Sprintf("%s (%d rows written, kept apart from N's data)", c.Summary, n), nil
}

// recordWrittenSince records the rows of every keyed table written by
// transactions after txid as the procedure's own (era.RowsTable).
func recordWrittenSince(ctx context.Context, pc *Context, txid uint64, step string) (int64, error) {
	return withConn(ctx, pc, func(conn *pgx.Conn) (int64, error) {
		snap, err := schema.Take(ctx, conn, schema.Options{})
		if err != nil {
			return 0, fmt.Errorf("snapshot after the smoke requests: %w", err)
		}
		if err := era.Ensure(ctx, conn); err != nil {
			return 0, err
		}
		// age() counts transactions back from now: a row a later
		// transaction wrote is younger than txid.
		where := fmt.Sprintf("age(r.xmin) < age('%d'::xid)", txid%(1<<32))
		var total int64
		for _, t := range snap.Tables {
			if t.Schema == schema.HarnessSchema || era.KeyExpr(t, "r") == "" || pc.Bookkeeping != nil && t.Schema == "public" && t.Name == pc.Bookkeeping.Table() {
				continue
			}
			n, err := era.RecordWhere(ctx, conn, t, step, where)
			if err != nil {
				return 0, err
			}
			total += n
		}
		return total, nil
	})
}
