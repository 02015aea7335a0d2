package kind_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/kube"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// The cluster faults of the upgrade, on one throwaway kind cluster with the
// chart's migration hook: Helm's own `helm upgrade --atomic` whose new pods
// the kubelet never finds ready (Helm rolls back by itself) -- ready-timeout
// on the kind backend, atomic-timeout on the kube backend in a namespace of
// the same cluster -- and the kind node restarted while the upgrade runs
// (skipped on kube). Verdicts, Helm's history and the node's times are
// measured; nothing is left behind.
func TestKindAtomicAndNodeRestart(t *testing.T) {
	nodeImage, pgImage := requireKind(t)
	st := &stages{t: t, start: time.Now()}
	defer func() { t.Log(st.summary()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	runID := fmt.Sprintf("e2eatomic%d", time.Now().UnixNano()%1e6)
	c := newE2ECluster(t, ctx, st, nodeImage, runID, pgImage)
	e, name := c.Environment, c.name
	sm := loadSample(t, true, c.bins)
	st.do("load the sample images 1.0 and 1.1", func() {
		require.NoError(t, e.LoadImages(ctx, sm.from.Image, sm.to.Image))
	})

	health := env.HealthOptions{Timeout: 40 * time.Second, Grace: 3 * time.Second}
	plan := []chaos.Injection{
		{Fault: chaos.ReadyTimeout, Point: chaos.Point{Phase: chaos.PhaseUpgrade}},
		{Fault: chaos.AtomicTimeout, Point: chaos.Point{Phase: chaos.PhaseUpgrade}},
		{Fault: chaos.RestartNode, Point: chaos.Point{Phase: chaos.PhaseUpgrade}},
	}
	// kind: ready-timeout is Helm's own --atomic there; the node restarts.
	cells, clean := upgradeFaults(t, st, "kind", e, sm, health, plan[0], plan[2])
	rt := cells[chaos.ReadyTimeout]
	checkAtomic(t, rt, clean, sm)

	rn := cells[chaos.RestartNode]
	require.NotEqual(t, chaos.VerdictError, rn.Verdict, rn.Detail)
	require.NotNil(t, rn.Node, rn.Detail)
	assert.Equal(t, []string{name + "-control-plane"}, rn.Node.Nodes)
	assert.Greater(t, rn.Node.APISeconds, 0.0)
	assert.GreaterOrEqual(t, rn.Node.ReadySeconds, rn.Node.APISeconds)
	assert.Contains(t, rn.StateFound, "restarted while")
	assert.True(t, rn.NEraKept, "N's data as after an uninterrupted upgrade once the upgrade is re-run")
	assert.Contains(t, []string{chaos.VerdictRecovered, chaos.VerdictManual}, rn.Verdict, "%s\n%s\n%s", rn.StateFound, rn.Recovery, rn.Detail)

	// An existing cluster (kube backend, its own namespace on the same
	// cluster): atomic-timeout needs only the API and runs; the nodes are
	// not the harness's, so restart-node is skipped with the reason.
	ke, err := kube.New(ctx, kube.Options{Options: env.Options{RunID: runID + "-kube"}, Kubeconfig: e.Kubeconfig()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ke.Close(context.Background())) })
	kcells, kclean := upgradeFaults(t, st, "kube", ke, sm, health, plan[1], plan[2])
	checkAtomic(t, kcells[chaos.AtomicTimeout], kclean, sm)
	assert.Equal(t, chaos.VerdictSkipped, kcells[chaos.RestartNode].Verdict)
	assert.Contains(t, kcells[chaos.RestartNode].Detail, "the kube backend cannot reach the cluster's nodes")

	// A helm client cut off mid-upgrade (what the node restart can do)
	// leaves the newest revision pending-upgrade: every upgrade refuses
	// until an operator's `helm rollback` clears it.
	st.do("kube: a release left pending-upgrade, cleared by helm rollback", func() {
		require.NoError(t, ke.LoadState(ctx, procedure.PreUpgradeState))
		step, err := ke.ClearPendingRelease(ctx)
		require.NoError(t, err)
		assert.Empty(t, step, "nothing pending yet")
		pending := leavePending(t, ke)
		err = ke.Upgrade(ctx, sm.to)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "another operation (install/upgrade/rollback) is in progress")
		step, err = ke.ClearPendingRelease(ctx)
		require.NoError(t, err)
		assert.Contains(t, step, fmt.Sprintf("helm rollback app %d (revision %d was left pending-upgrade)", 1, pending))
		require.NoError(t, ke.Upgrade(ctx, sm.to), "the upgrade runs once the lock is cleared")
	})
	require.NoError(t, ke.Close(ctx))

	c.teardown(t, ctx, st)
}

// upgradeFaults prepares the sample on e (install 1.0 with the migration
// hook, seed, upgrade to 1.1), runs the standard procedure without fault,
// then the chaos plan; it returns the cells by fault and the clean results.
func upgradeFaults(t *testing.T, st *stages, label string, e env.Environment, sm *sample, health env.HealthOptions, plan ...chaos.Injection) (map[string]chaos.Cell, map[string]*procedure.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var progress strings.Builder
	t.Cleanup(func() { t.Logf("%s progress:\n%s", label, progress.String()) })
	pc := &procedure.Context{
		Env: e, From: sm.from, To: sm.to, Base: sm.base, Next: sm.next, Bookkeeping: sm.bk,
		WorkDir: t.TempDir(), Progress: &progress, SavePreUpgrade: true,
		Checks: procedure.CheckOptions{Health: health, Smoke: sm.smoke, Unique: label},
	}
	st.do(label+": install 1.0 (hook), seed, back up, upgrade to 1.1, seed", func() {
		_, err := procedure.Prepare(ctx, pc, seed.New(seed.Options{Seed: sm.s.Spec.Data.Seed, Rows: sm.s.Spec.Data.Rows}))
		require.NoError(t, err, "progress:\n%s", progress.String())
	})
	clean := map[string]*procedure.Result{}
	st.do(label+": procedure standard without fault", func() {
		require.NoError(t, e.LoadState(ctx, procedure.StartState))
		res, err := procedure.Run(ctx, procedure.Standard(), pc)
		require.NoError(t, err)
		clean["standard"] = res
		t.Logf("%s standard: %s %v", label, res.Verdict, res.Reasons)
	})
	cells := map[string]chaos.Cell{}
	for _, inj := range plan {
		st.do(label+": chaos "+inj.String(), func() {
			out, err := chaos.Run(ctx, chaos.Config{PC: pc, Plan: []chaos.Injection{inj}, Clean: clean, Progress: &progress})
			require.NoError(t, err)
			require.Len(t, out, 1)
			c := out[0]
			cells[c.Fault] = c
			t.Logf("%s cell %s@%s: %s (%.1fs)\n  state: %s\n  recovery: %s\n  detail: %s", label, c.Fault, c.Point, c.Verdict, c.Seconds, c.StateFound, c.Recovery, c.Detail)
		})
	}
	return cells, clean
}

// checkAtomic checks an --atomic cell: the upgrade's revision failed after
// its migration Job ran; Helm's own rollback deployed release N again,
// with no hook; the state and the verdict are as measured against the
// standard procedure (Helm's rollback is a helm rollback leaving the
// schema at N+1).
func checkAtomic(t *testing.T, c chaos.Cell, clean map[string]*procedure.Result, sm *sample) {
	t.Helper()
	require.NotEqual(t, chaos.VerdictError, c.Verdict, c.Detail)
	assert.Equal(t, "helm upgrade --atomic", c.Procedure)
	require.Len(t, c.Helm, 2, "the upgrade's revision and the rollback's: %+v", c.Helm)
	up, rb := c.Helm[0], c.Helm[1]
	assert.Equal(t, "upgrade", up.Action)
	assert.Equal(t, "failed", up.Status)
	assert.Contains(t, up.Description, "failed")
	job := ""
	for _, h := range up.Hooks {
		if strings.HasPrefix(h, "Job/") {
			job = h
		}
	}
	assert.Contains(t, job, "pre-upgrade", "the migration Job ran on the upgrade: %v", up.Hooks)
	assert.Contains(t, job, "succeeded", up.Hooks)
	assert.Equal(t, "rollback", rb.Action)
	assert.Equal(t, "deployed", rb.Status)
	assert.Equal(t, up.Revision+1, rb.Revision)
	assert.True(t, strings.HasPrefix(rb.Description, "Rollback to "), rb.Description)
	assert.Empty(t, rb.Hooks, "no hook runs on Helm's automatic rollback")
	assert.Contains(t, c.Detail, "helm history: revision")
	// The Job migrated before the rollout failed: the schema stays N+1's,
	// with N's rows as an uninterrupted upgrade leaves them.
	assert.Contains(t, c.StateFound, "as after an uninterrupted upgrade", c.StateFound)
	assert.NotContains(t, c.StateFound, "differs")
	assert.Contains(t, c.Bookkeeping, fmt.Sprintf("%q", strings.TrimLeft(sm.to.Version, "0")))
	assert.NotContains(t, c.Bookkeeping, "dirty")
	std := clean["standard"]
	assert.Equal(t, std.Check(procedure.CheckNEraKept).Status != procedure.StatusFail, c.NEraKept, "N's data kept as after the standard procedure")
	want := chaos.VerdictAsWithoutFault
	if std.Verdict == procedure.VerdictRecovered {
		want = chaos.VerdictRecovered
	}
	assert.Equal(t, want, c.Verdict, "%s\n%s", c.Recovery, c.Detail)
}

// leavePending writes what a helm client cut off after it took the
// release's lock leaves: a newer revision, copied from the newest, in
// status pending-upgrade, through Helm's own Secret storage. It returns the
// pending revision.
func leavePending(t *testing.T, ke *kube.Environment) int {
	t.Helper()
	store := storage.Init(driver.NewSecrets(ke.Cluster().Clientset.CoreV1().Secrets(ke.Namespace())))
	last, err := store.Last(ke.ReleaseName())
	require.NoError(t, err)
	p := *last
	info := *last.Info
	p.Info, p.Version = &info, last.Version+1
	p.Info.Status, p.Info.Description = release.StatusPendingUpgrade, "Preparing upgrade"
	require.NoError(t, store.Create(&p))
	return p.Version
}
