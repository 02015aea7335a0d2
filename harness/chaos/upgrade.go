package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// upgradeCell runs a fault at the upgrade point. ready-timeout is Helm's
// own --atomic on a backend that deploys with Helm (kind, kube), and the
// emulation (N+1's server killed, then the standard rollback) elsewhere.
func (r *runner) upgradeCell(ctx context.Context, inj Injection, c Cell) (Cell, error) {
	_, helm := r.pc.Env.(env.AtomicUpgrader)
	switch {
	case inj.Fault == AtomicTimeout || (inj.Fault == ReadyTimeout && helm):
		c.Procedure = "helm upgrade --atomic"
		return r.atomicCell(ctx, c)
	case inj.Fault == RestartNode:
		c.Procedure = "upgrade"
		return r.restartNodeCell(ctx, c)
	}
	c.Procedure = "upgrade --atomic"
	return r.readyTimeoutCell(ctx, inj, c)
}

// atomicTimeout is the --timeout of atomic-timeout: the scenario's
// readiness timeout, at least 30s so the migration hook fits in it (Helm
// bounds each hook by the same timeout).
func (r *runner) atomicTimeout() time.Duration {
	return max(r.pc.Checks.Health.Timeout, 30*time.Second)
}

// atomicCell runs the upgrade as `helm upgrade --atomic --wait --timeout T`
// from the pre-upgrade state, with release N+1's server pods made unready
// (a readiness probe that never passes, injected by a post-renderer): the
// kubelet fails the rollout, Helm's wait times out, and Helm rolls back to
// release N by itself. That rollback is the procedure under test: what
// the upgrade left (schema, bookkeeping, N's data) and whether release N
// serves afterwards are measured, and compared with the standard
// procedure (a helm rollback with the schema left at N+1) without fault.
func (r *runner) atomicCell(ctx context.Context, c Cell) (Cell, error) {
	pc := r.pc
	au, ok := pc.Env.(env.AtomicUpgrader)
	if !ok {
		c.Verdict, c.StateFound = VerdictSkipped, "not injected"
		c.Detail = fmt.Sprintf("SKIPPED: the %s backend does not deploy with Helm, so Helm's own `helm upgrade --atomic` rollback cannot run there; run it on the kind or kube backend (ready-timeout emulates it on local and docker)", pc.Env.Name())
		return c, nil
	}
	before, err := r.startUpgradeCell(ctx)
	if err != nil {
		return c, err
	}
	t := r.atomicTimeout()
	res, err := au.UpgradeAtomic(ctx, pc.To, env.AtomicOptions{Timeout: t, Unready: true})
	if err != nil {
		return c, fmt.Errorf("helm upgrade --atomic: %w", err)
	}
	c.Helm = res.Revisions
	history := helmHistory(res.Revisions)
	if res.Error == "" {
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = "the upgrade succeeded although release " + pc.To.Name + "'s server pods were given a readiness probe that never passes\n" + history
		return c, nil
	}
	state, err := r.upgradeState(ctx, &c, before)
	if err != nil {
		return c, err
	}
	rolled := "Helm's automatic rollback did not deploy release " + pc.From.Name
	if res.RolledBack {
		last := res.Revisions[len(res.Revisions)-1]
		rolled = fmt.Sprintf("Helm rolled back by itself (revision %d: %s, %s)", last.Revision, last.Description, hooksText(last.Hooks))
	}
	c.StateFound = fmt.Sprintf("helm upgrade --atomic --timeout %s failed after %.0fs: %s; %s; %s", t, res.Seconds, oneline.Shorten(oneline.First(res.Error), 200), rolled, state)
	// Helm's rollback is done: only the checks remain (release N serves?
	// N's data kept?), as after the standard procedure's helm rollback.
	checks := procedure.Spec{Name: "helm upgrade --atomic", Description: "Helm's automatic rollback after a failed --atomic upgrade; checks only"}.Procedure()
	// The upgrade never completed, so no N+1-era row was written in this
	// cell: none can be lost.
	npc := *pc
	if pc.Baseline != nil {
		b := *pc.Baseline
		b.NextEra = nil
		npc.Baseline = &b
	}
	again, err := procedure.Run(ctx, checks, &npc)
	if err != nil {
		return c, err
	}
	c = r.judgeResumed(c, "standard", "", again)
	c.Recovery = fmt.Sprintf("after Helm's automatic rollback: release %s %s%s (the standard procedure without the fault: %s)", pc.From.Name, again.Verdict, reasonSuffix(again.Reasons), r.cleanVerdict("standard"))
	c.Detail = strings.TrimSpace(history + "\n" + c.Detail)
	return c, nil
}

// restartNodeCell restarts the cluster's nodes while the upgrade runs
// (Helm's revision pending, a pod of it running: the migration hook's or
// the new server's), measures how long the cluster took to come back and
// what the upgrade left, then re-runs the upgrade as an operator would
// (with `migrate force` first when golang-migrate left the version dirty).
func (r *runner) restartNodeCell(ctx context.Context, c Cell) (Cell, error) {
	pc := r.pc
	nr, ok := pc.Env.(env.NodeRestarter)
	if !ok {
		c.Verdict, c.StateFound = VerdictSkipped, "not injected"
		c.Detail = fmt.Sprintf("SKIPPED: the %s backend cannot reach the cluster's nodes, so restart-node is not rehearsed there; it needs the kind backend, whose nodes are containers the harness runs (on an existing cluster, the nodes are not the harness's to restart)", pc.Env.Name())
		return c, nil
	}
	before, err := r.startUpgradeCell(ctx)
	if err != nil {
		return c, err
	}
	uctx, ucancel := context.WithCancel(ctx)
	defer ucancel()
	ictx, icancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var upErr error
	go func() {
		defer close(done)
		defer icancel()
		upErr = pc.Env.Upgrade(uctx, pc.To)
	}()
	what, ierr := nr.UpgradeInFlight(ictx, pc.Checks.Health.Timeout+2*time.Minute)
	if ierr != nil {
		<-done
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
		c.Verdict, c.StateFound = VerdictNotReached, "not injected"
		c.Detail = "the upgrade ended before a pod of it was seen running: "
		if upErr != nil {
			c.Detail += oneline.First(upErr.Error())
		} else {
			c.Detail += "it succeeded (" + ierr.Error() + ")"
		}
		return c, nil
	}
	restart, rerr := nr.RestartNodes(ctx)
	c.Node = &restart
	if rerr != nil {
		ucancel()
		<-done
		return c, rerr
	}
	<-done
	if ctx.Err() != nil {
		return c, ctx.Err()
	}
	// PostgreSQL restarted with the node: wait until it takes sessions
	// again (its pod's status may still read ready from before).
	if err := r.waitDatabase(ctx, 3*time.Minute); err != nil {
		return c, err
	}
	upgrade := "the upgrade completed despite the restart"
	if upErr != nil {
		upgrade = "the upgrade failed: " + oneline.Shorten(oneline.First(upErr.Error()), 200)
	}
	state, err := r.upgradeState(ctx, &c, before)
	if err != nil {
		return c, err
	}
	c.StateFound = fmt.Sprintf("node %s restarted while %s (restart %.1fs, API answered after %.1fs, Ready after %.1fs); %s; %s",
		strings.Join(restart.Nodes, ", "), what, restart.RestartSeconds, restart.APISeconds, restart.ReadySeconds, upgrade, state)
	if upErr == nil {
		ok, why, err := r.upgradeComplete(ctx, &c)
		if err != nil {
			return c, err
		}
		if ok {
			c.Recovered, c.Recovery = true, "nothing to re-run: "+why
			return r.finish(c), nil
		}
		c.Recovery = "the upgrade reported success but is not complete: " + why + "; "
	}
	return r.rerunUpgrade(ctx, c)
}

// startUpgradeCell loads the pre-upgrade state (after recording what an
// uninterrupted upgrade leaves, once) and returns its probe.
func (r *runner) startUpgradeCell(ctx context.Context) (probe, error) {
	if r.cleanSchema == nil {
		if err := r.takeCleanUpgrade(ctx); err != nil {
			return probe{}, err
		}
	}
	if err := r.pc.Env.LoadState(ctx, procedure.PreUpgradeState); err != nil {
		return probe{}, err
	}
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return probe{}, err
	}
	defer conn.Close(context.Background())
	return takeProbe(ctx, conn, r.bkTable())
}

// upgradeState says where the database is after a faulted upgrade: at
// release N's schema, at N+1's, or in between; it fills Bookkeeping and
// NEraKept (N's rows against a clean upgrade's when the schema is N+1's,
// else against before the upgrade).
func (r *runner) upgradeState(ctx context.Context, c *Cell, before probe) (string, error) {
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	now, err := takeProbe(ctx, conn, r.bkTable())
	if err != nil {
		return "", err
	}
	bkText, _, err := bookkeepingText(ctx, conn, r.bookkeeping())
	if err != nil {
		return "", err
	}
	c.Bookkeeping = bkText
	var where string
	switch {
	case r.schemaDiff(now) == "":
		where = "the schema is release " + r.pc.To.Name + "'s, as after an uninterrupted upgrade (the migrations ran)"
		kept, err := r.nEraAsUpgraded(ctx, conn)
		if err != nil {
			return "", err
		}
		c.NEraKept = kept == ""
		if !c.NEraKept {
			where += "; release N's data differs from an uninterrupted upgrade: " + kept
		}
	default:
		if d := schema.Diff(before.snap, now.snap); d.Empty() {
			where = "the schema is still release " + r.pc.From.Name + "'s (no migration took effect)"
		} else {
			where = "the schema is neither release's: " + r.schemaDiff(now)
		}
		ck, err := procedure.NEraKept(ctx, conn, r.pc)
		if err != nil {
			return "", err
		}
		c.NEraKept = ck.Status != procedure.StatusFail
		if !c.NEraKept {
			where += "; " + ck.Summary
		}
	}
	return where + "; " + bkText, nil
}

// rerunUpgrade rolls release N+1 out again; when that fails on a dirty
// golang-migrate version, it forces the version before it (what
// golang-migrate's docs tell operators) and tries once more.
func (r *runner) rerunUpgrade(ctx context.Context, c Cell) (Cell, error) {
	if hl, ok := r.pc.Env.(env.HelmLockClearer); ok {
		step, err := hl.ClearPendingRelease(ctx)
		if err != nil {
			return c, err
		}
		if step != "" {
			c.ManualSteps = append(c.ManualSteps, step)
			c.Recovery += "the fault left Helm's release locked (every upgrade refuses: another operation is in progress); `" + step + "` cleared it; "
		}
	}
	ok, why, err := r.retryUpgrade(ctx, &c)
	if err != nil {
		return c, err
	}
	if ok {
		c.Recovered = true
		c.Recovery += "re-running the upgrade recovered: " + why
		return r.finish(c), nil
	}
	c.Recovery += "re-running the upgrade failed: " + why
	bk := r.bookkeeping()
	if bk.Name() != "golang-migrate" {
		return r.finish(c), nil
	}
	conn, err := procedure.Connect(ctx, r.pc)
	if err != nil {
		return c, err
	}
	v, dirty, err := bk.Current(ctx, conn)
	if err != nil || !dirty {
		conn.Close(context.Background())
		return r.finish(c), nil
	}
	all := append(slices.Clone(r.pc.Base), r.pc.Next...)
	i := slices.IndexFunc(all, func(m *migrate.Migration) bool { return sameVersion(m.Version, v) })
	if i < 0 {
		conn.Close(context.Background())
		return r.finish(c), nil
	}
	var prev *migrate.Migration
	force := "migrate force -1"
	if i > 0 {
		prev = all[i-1]
		force = "migrate force " + strings.TrimLeft(prev.Version, "0")
	}
	err = bk.AfterDown(ctx, conn, all[i], prev)
	conn.Close(context.Background())
	if err != nil {
		return c, fmt.Errorf("migrate force: %w", err)
	}
	c.ManualSteps = append(c.ManualSteps, force)
	ok, why, err = r.retryUpgrade(ctx, &c)
	if err != nil {
		return c, err
	}
	if ok {
		c.Recovered = true
		c.Recovery += fmt.Sprintf("; after `%s` (the version before the dirty one) the re-run upgrade recovered: %s", force, why)
	} else {
		c.Recovery += fmt.Sprintf("; after `%s` the re-run upgrade failed too: %s", force, why)
	}
	return r.finish(c), nil
}

func (r *runner) cleanVerdict(name string) string {
	if res := r.cfg.Clean[name]; res != nil {
		return res.Verdict
	}
	return "not run"
}

// helmHistory renders revisions as `helm history` lines with their hooks.
func helmHistory(revs []env.HelmRevision) string {
	var b strings.Builder
	for _, rv := range revs {
		fmt.Fprintf(&b, "helm history: revision %d %s %s %q; %s\n", rv.Revision, rv.Action, rv.Status, oneline.Shorten(rv.Description, 200), hooksText(rv.Hooks))
	}
	return strings.TrimSpace(b.String())
}

func hooksText(hooks []string) string {
	if len(hooks) == 0 {
		return "no hook ran"
	}
	return "hooks ran: " + strings.Join(hooks, "; ")
}

// waitDatabase waits until the current database takes a session.
func (r *runner) waitDatabase(ctx context.Context, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		cctx, ccancel := context.WithTimeout(wctx, 10*time.Second)
		conn, err := procedure.Connect(cctx, r.pc)
		if err == nil {
			err = conn.Ping(cctx)
			conn.Close(context.Background())
		}
		ccancel()
		if err == nil {
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("the database did not take a session within %s of the node restart: %w", timeout, err)
		case <-time.After(time.Second):
		}
	}
}
