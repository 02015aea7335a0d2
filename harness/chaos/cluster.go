package chaos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// hookBlockTimeout bounds the wait for the hook's session to block on the
// lock (the Job's pod must be scheduled, start and reach the statement).
const hookBlockTimeout = 5 * time.Minute

// skipUnlessPodDeleter marks a cluster fault skipped on a backend without
// the Kubernetes API, with the reason.
func (r *runner) skipUnlessPodDeleter(c *Cell, fault string) bool {
	if _, ok := r.pc.Env.(env.PodDeleter); ok {
		return false
	}
	c.Verdict = VerdictSkipped
	c.StateFound = "not injected"
	what := "PostgreSQL runs as a process or container, not as a pod a controller re-creates on its volume"
	if fault == KillHook {
		what = "migrations run in the harness's or the server's process, not in a hook Job's pod"
	}
	c.Detail = fmt.Sprintf("SKIPPED: %s deletes a pod through the Kubernetes API, and on the %s backend %s; it runs on the kind and kube backends (kill-migration and kill-postgres cover the session and the server here)", fault, r.pc.Env.Name(), what)
	return true
}

// deletePostgresPod is kill-postgres-pod's kill: PostgreSQL's pod deleted
// through the API, back on its volume when this returns. r.note keeps what
// happened for the cell's detail.
func (r *runner) deletePostgresPod(ctx context.Context) error {
	e := r.pc.Env
	if fe, ok := e.(*faultyEnv); ok {
		e = fe.Environment // inside a procedure the environment is wrapped
	}
	pd, ok := e.(env.PodDeleter)
	if !ok {
		return fmt.Errorf("the %s backend cannot delete pods", e.Name())
	}
	note, err := pd.DeleteDatabasePod(ctx)
	if err != nil {
		return fmt.Errorf("delete the PostgreSQL pod: %w", err)
	}
	r.note = note
	return nil
}

// killer is how fault ends the session pid of a migration file.
func (r *runner) killer(fault string) func(context.Context, uint32) error {
	if fault == KillPostgresPod {
		return func(ctx context.Context, _ uint32) error { return r.deletePostgresPod(ctx) }
	}
	admin := r.pc.Env.AdminDSN
	return func(ctx context.Context, pid uint32) error { return killSession(ctx, fault, admin, pid) }
}

// hookRefs are the reference states of a kill-hook cell, measured by the
// harness: before the file, after statements 1..K, after the whole file.
type hookRefs struct {
	before, at, full probe
	haveAt, haveFull bool
	why              string // why at/full could not be measured
}

// hookCell deletes the real migration hook Job's pod while it applies the
// point's up file, held before statement K+1 by a lock on the table that
// statement needs; the Job's backoffLimit re-runs it (or not); then what
// the file left is measured and the upgrade re-run as in an up cell.
func (r *runner) hookCell(ctx context.Context, inj Injection, c Cell) (Cell, error) {
	pc, e := r.pc, r.pc.Env
	if r.skipUnlessPodDeleter(&c, inj.Fault) {
		return c, nil
	}
	pd := e.(env.PodDeleter)
	if !pc.To.ViaHook {
		c.Verdict, c.StateFound = VerdictSkipped, "not injected"
		c.Detail = fmt.Sprintf("SKIPPED: release %s migrates at its server's boot, not through the chart's hook Job, so there is no hook pod to delete: set migrationsViaHook: true (kill-migration covers a killed migration here)", pc.To.Name)
		return c, nil
	}
	idx := slices.IndexFunc(pc.Next, func(m *migrate.Migration) bool { return m == find(pc.Next, inj.Point.Version) })
	m := pc.Next[idx]
	k := inj.Point.After
	c.Migration, c.Total, c.Statements = m.ID(), len(m.Up.Statements), k
	table, err := HookLockTable(m, k)
	if err != nil {
		return c, fmt.Errorf("kill-hook at %s: %w", inj.Point, err)
	}
	if err := e.LoadState(ctx, procedure.PreUpgradeState); err != nil {
		return c, err
	}
	// The migrations before the point's are applied by the harness with
	// the app's bookkeeping, so the hook starts at the point's file.
	conn, err := procedure.Connect(ctx, pc)
	if err != nil {
		return c, err
	}
	bk := r.bookkeeping()
	refs, skip, err := r.prepareHook(ctx, conn, m, bk, idx, k)
	conn.Close(context.Background())
	if err != nil || skip != "" {
		if skip != "" {
			c.Verdict, c.StateFound, c.Detail = VerdictNotReached, "not injected", skip
		}
		return c, err
	}
	got, err := r.holdAndDelete(ctx, pd, m, table, k)
	if err != nil {
		return c, fmt.Errorf("inject %s: %w", inj, err)
	}
	c.Detail = strings.Join(got.notes, "\n")
	if !got.landed {
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		return c, nil
	}
	if got.nonTx {
		refs.at, refs.haveAt = got.at, true
	}
	if got.upgradeErr == nil {
		// The Job's own retry (backoffLimit) finished the upgrade, so the
		// file's own effect can no longer be told apart: judge the state
		// the retry left as a re-run's.
		c.Effective = -1
		c.StateFound = fmt.Sprintf("the hook pod was deleted before statement %d of %s; the Job's retry completed the upgrade before the state could be measured", k+1, m.Up.File)
		ok, why, err := r.upgradeComplete(ctx, &c)
		if err != nil {
			return c, err
		}
		if ok {
			c.Recovered, c.Recovery = true, "the hook Job's retry (backoffLimit) recovered: "+why
			return r.finish(c), nil
		}
		c.Recovery = "the hook Job's retry (backoffLimit) completed the upgrade, but: " + why
		return r.finish(c), nil
	}
	if err := r.measureHook(ctx, &c, m.Up, refs); err != nil {
		return c, err
	}
	c.Recovery = "the hook Job's retry (backoffLimit) did not recover: " + flat(got.upgradeErr) + "; "
	if err := r.proceduresFromFault(ctx, &c); err != nil {
		return c, err
	}
	return r.rerunUpgrade(ctx, c)
}

// faultState keeps a fault's state while each procedure is rehearsed from it.
const faultState = "chaos-fault"

// proceduresFromFault rehearses every procedure of the scenario from the
// state the fault left, as an operator who rolls back instead of
// re-running the upgrade would, then puts that state back.
func (r *runner) proceduresFromFault(ctx context.Context, c *Cell) error {
	e := r.pc.Env
	save := e.SaveState
	if fs, ok := e.(env.FaultStateSaver); ok {
		save = fs.SaveFaultState
	}
	if err := save(ctx, faultState); err != nil {
		return fmt.Errorf("keep the fault's state: %w", err)
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(r.cfg.Clean)) {
		sp, ok := PlanOptions{Specs: r.cfg.Specs}.spec(name)
		if !ok {
			continue
		}
		if err := e.LoadState(ctx, faultState); err != nil {
			return fmt.Errorf("%s from the fault's state: %w", name, err)
		}
		t0 := time.Now()
		res, err := procedure.Run(ctx, sp.Procedure(), r.pc)
		if err != nil {
			return fmt.Errorf("%s from the fault's state: %w", name, err)
		}
		run := ProcedureRun{Procedure: name, Verdict: res.Verdict, Reasons: res.Reasons, WithoutFault: r.cleanVerdict(name), Seconds: time.Since(t0).Seconds()}
		c.FromFault = append(c.FromFault, run)
		parts = append(parts, fmt.Sprintf("%s %s (without the fault: %s)", name, run.Verdict, run.WithoutFault))
		c.Detail = strings.TrimPrefix(c.Detail+"\nfrom the fault's state: "+describe(res), "\n")
		fmt.Fprintf(r.cfg.Progress, "chaos: %s from the kill-hook state: %s (%.0fs)\n", name, res.Verdict, run.Seconds)
	}
	if len(parts) > 0 {
		c.Recovery += "rolled back from the fault's state instead: " + strings.Join(parts, ", ") + "; "
	}
	if err := e.LoadState(ctx, faultState); err != nil {
		return fmt.Errorf("put the fault's state back: %w", err)
	}
	return nil
}

// prepareHook applies N+1's migrations before m, and measures the
// reference states of m's file: in a transaction rolled back afterwards,
// statements 1..k (as the hook's session sees them at the fault) and all
// of them (as a session that went on alone would leave them).
func (r *runner) prepareHook(ctx context.Context, conn *pgx.Conn, m *migrate.Migration, bk migrate.Bookkeeping, idx, k int) (hookRefs, string, error) {
	var refs hookRefs
	if err := bk.Ensure(ctx, conn); err != nil {
		return refs, "", fmt.Errorf("create %s bookkeeping table: %w", bk.Name(), err)
	}
	for _, prev := range r.pc.Next[:idx] {
		if err := migrate.Up(ctx, conn, prev, bk, nil); err != nil {
			return refs, fmt.Sprintf("the upgrade fails before %s: %v", m.ID(), err), nil
		}
	}
	var err error
	if refs.before, err = takeProbe(ctx, conn, bk.Table()); err != nil {
		return refs, "", err
	}
	if m.Up.NoTransaction {
		// Outside a transaction, statements 1..k are committed when the
		// hook blocks: measured then, from outside.
		refs.why = m.Up.File + " runs outside a transaction: the state after the whole file is not measured"
		return refs, "", nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return refs, "", fmt.Errorf("measure %s in a transaction: %w", m.Up.File, err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // rolled back on purpose
	for i, st := range m.Up.Statements {
		if i == k {
			if refs.at, err = takeProbe(ctx, conn, bk.Table()); err != nil {
				return refs, "", err
			}
			refs.haveAt = true
		}
		if _, err := tx.Exec(ctx, st.SQL); err != nil {
			refs.why = fmt.Sprintf("statement %d of %s fails on this data when the harness applies it (%v): the state after the whole file is not measured", i+1, m.Up.File, oneline.First(err.Error()))
			return refs, "", nil
		}
	}
	if refs.full, err = takeProbe(ctx, conn, bk.Table()); err != nil {
		return refs, "", err
	}
	refs.haveFull = true
	return refs, "", nil
}

// held is what holdAndDelete saw.
type held struct {
	landed     bool
	nonTx      bool
	at         probe // from outside, while the hook was blocked (non-transactional file)
	upgradeErr error // how the upgrade (the Job and its retries) ended
	notes      []string
}

// holdAndDelete takes an ACCESS EXCLUSIVE lock on table, rolls release
// N+1 out (its hook Job migrates), waits until a session from a hook pod
// is blocked on the lock, deletes that pod, waits until its container is
// dead, releases the lock and waits for the upgrade to end.
func (r *runner) holdAndDelete(ctx context.Context, pd env.PodDeleter, m *migrate.Migration, table string, k int) (held, error) {
	pc := r.pc
	var h held
	// Both connections are made before the rollout: a cluster backend may
	// hold its own lock for the whole helm upgrade.
	lockConn, err := procedure.Connect(ctx, pc)
	if err != nil {
		return h, err
	}
	defer lockConn.Close(context.Background())
	watch, err := procedure.Connect(ctx, pc)
	if err != nil {
		return h, err
	}
	defer watch.Close(context.Background())
	var exists bool
	if err := lockConn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
		return h, fmt.Errorf("look up %s: %w", table, err)
	}
	if !exists {
		return h, fmt.Errorf("statement %d of %s (line %d) needs table %s, which does not exist before the file, so no lock can hold the hook there: pick another K (kill-hook needs a table that exists), or use kill-migration", k+1, m.Up.File, m.Up.Statements[k].Line, table)
	}
	tx, err := lockConn.Begin(ctx)
	if err != nil {
		return h, fmt.Errorf("lock %s: %w", table, err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // released on every path
	if _, err := tx.Exec(ctx, `LOCK TABLE `+pgx.Identifier(strings.SplitN(table, ".", 2)).Sanitize()+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		return h, fmt.Errorf("lock %s: %w", table, err)
	}
	lockPID := lockConn.PgConn().PID()
	h.notes = append(h.notes, fmt.Sprintf("held %s ACCESS EXCLUSIVE (the table statement %d of %s needs) during the rollout of release %s", table, k+1, m.Up.File, pc.To.Name))

	upCtx, cancelUp := context.WithCancel(ctx)
	done := make(chan error, 1)
	ended := false
	// On every way out the rollout is over before the next cell starts.
	defer func() {
		if !ended {
			cancelUp()
			<-done
		}
		cancelUp()
	}()
	t0 := time.Now()
	go func() { done <- pc.Env.Upgrade(upCtx, pc.To) }()

	pod, pid, query, err := waitHookBlocked(ctx, pd, watch, lockPID, done, &h)
	if err != nil || pod == "" {
		_ = tx.Rollback(ctx)
		if err == nil {
			ended = true
			h.notes = append(h.notes, fmt.Sprintf("the hook never blocked on %s: the upgrade ended first (%v)", table, h.upgradeErr))
		}
		return h, err
	}
	h.notes = append(h.notes, fmt.Sprintf("hook pod %s's session (pid %d) blocked on %s after %.1fs: %s", pod, pid, table, time.Since(t0).Seconds(), oneline.Shorten(oneline.First(query), 160)))
	if m.Up.NoTransaction {
		if h.at, err = takeProbe(ctx, watch, r.bkTable()); err != nil {
			return h, err
		}
		h.nonTx = true
	}
	td := time.Now()
	if err := pd.DeletePod(ctx, pod); err != nil {
		return h, err
	}
	h.landed = true
	h.notes = append(h.notes, fmt.Sprintf("deleted pod %s through the API; its container was dead %.1fs later", pod, time.Since(td).Seconds()))
	if err := tx.Commit(ctx); err != nil {
		return h, fmt.Errorf("release the lock on %s: %w", table, err)
	}
	// The orphaned session waited on the lock without reading its socket:
	// what it does once released (go on, or notice its client is gone) is
	// the finding, so its end is awaited and reported.
	h.notes = append(h.notes, sessionEnd(ctx, watch, pid))
	h.upgradeErr, ended = <-done, true
	if h.upgradeErr != nil {
		h.notes = append(h.notes, "the upgrade failed: "+flat(h.upgradeErr))
	}
	if la, ok := pc.Env.(interface{ LastAction() string }); ok {
		h.notes = append(h.notes, la.LastAction())
	}
	return h, nil
}

// waitHookBlocked polls until a session from a running hook pod waits on
// the lock held by lockPID; it returns "" when the upgrade ends first.
func waitHookBlocked(ctx context.Context, pd env.PodDeleter, watch *pgx.Conn, lockPID uint32, done <-chan error, h *held) (pod string, pid int32, query string, err error) {
	ctx, cancel := context.WithTimeout(ctx, hookBlockTimeout)
	defer cancel()
	for {
		select {
		case h.upgradeErr = <-done:
			return "", 0, "", nil
		case <-ctx.Done():
			return "", 0, "", fmt.Errorf("no session of the hook Job's pods blocked on the lock within %s", hookBlockTimeout)
		case <-time.After(200 * time.Millisecond):
		}
		pods, err := pd.HookPods(ctx)
		if err != nil {
			return "", 0, "", err
		}
		if len(pods) == 0 {
			continue
		}
		rows, err := watch.Query(ctx, `SELECT pid, coalesce(host(client_addr), ''), query FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`, int32(lockPID))
		if err != nil {
			return "", 0, "", fmt.Errorf("watch the hook's session: %w", err)
		}
		type blocked struct {
			pid         int32
			addr, query string
		}
		bs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (blocked, error) {
			var b blocked
			return b, row.Scan(&b.pid, &b.addr, &b.query)
		})
		if err != nil {
			return "", 0, "", fmt.Errorf("watch the hook's session: %w", err)
		}
		// The running server's sessions may wait on the lock too: only a
		// session from a hook pod's address is the migrator's.
		for _, b := range bs {
			if i := slices.IndexFunc(pods, func(p env.Pod) bool { return p.IP == b.addr }); i >= 0 {
				return pods[i].Name, b.pid, b.query, nil
			}
		}
	}
}

// sessionEnd waits (up to 2 minutes) for the orphaned hook session to end
// and says how it went.
func sessionEnd(ctx context.Context, watch *pgx.Conn, pid int32) string {
	t0 := time.Now()
	for time.Since(t0) < 2*time.Minute {
		var state string
		err := watch.QueryRow(ctx, `SELECT coalesce(state, '') FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Sprintf("released the lock; the deleted pod's session (pid %d) ended %.1fs later", pid, time.Since(t0).Seconds())
		}
		if err != nil {
			return fmt.Sprintf("released the lock; watching the deleted pod's session failed: %v", err)
		}
		select {
		case <-ctx.Done():
			return "released the lock; interrupted"
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Sprintf("released the lock; the deleted pod's session (pid %d) still ran 2 minutes later", pid)
}

// measureHook fills StateFound, Effective, HalfApplied and Bookkeeping
// after a kill-hook: the file's effect compared with the states before
// it, after statements 1..K and after all of them.
func (r *runner) measureHook(ctx context.Context, c *Cell, s *migrate.Script, refs hookRefs) error {
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	now, err := takeProbe(ctx, conn, r.bkTable())
	if err != nil {
		return err
	}
	file := s.File
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		file = file[i+1:]
	}
	total := len(s.Statements)
	switch {
	case len(differences(refs.before, now)) == 0:
		c.Effective = 0
		c.StateFound = fmt.Sprintf("none of %s's %d statements took effect", file, total)
	case refs.haveFull && len(differences(refs.full, now)) == 0:
		c.Effective = total
		c.StateFound = fmt.Sprintf("all %d statements of %s took effect after its hook pod was deleted (the orphaned session went on once the lock was released), but the tool did not get to record it", total, file)
	case refs.haveAt && len(differences(refs.at, now)) == 0:
		c.Effective = c.Statements
		c.StateFound = fmt.Sprintf("statements 1-%d of %d of %s took effect: HALF-APPLIED", c.Statements, total, file)
	default:
		c.Effective = -1
		ref := refs.before
		if refs.haveAt {
			ref = refs.at
		}
		d := differences(ref, now)
		c.StateFound = fmt.Sprintf("the database matches neither the state before %s, nor after statement %d, nor after the whole file (%d differences from the state at the fault)", file, c.Statements, len(d))
		c.Detail = strings.TrimSpace(c.Detail + "\ndifferences from the state at the fault:\n" + strings.Join(d, "\n"))
	}
	if refs.why != "" {
		c.Detail = strings.TrimSpace(c.Detail + "\n" + refs.why)
	}
	c.NEraKept = c.Effective >= 0
	c.HalfApplied = c.Effective > 0 && c.Effective < total
	bkText, _, err := bookkeepingText(ctx, conn, r.bookkeeping())
	if err != nil {
		return err
	}
	c.Bookkeeping = bkText
	c.StateFound += "; " + bkText
	return nil
}

// flat is a multi-line error (Helm's hook failures) on one line.
func flat(err error) string {
	return oneline.Shorten(strings.Join(strings.Fields(err.Error()), " "), 400)
}
