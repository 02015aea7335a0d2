package kind_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/scenario"
)

// The cluster faults of issue 13 on one throwaway kind cluster, in hook
// mode: the migration hook Job's pod deleted mid-file, PostgreSQL's pod
// deleted during a down, a backup and a restore. The points are the
// cluster-chaos scenario's; each verdict is measured on the cluster, and
// nothing is left behind.
func TestKindClusterChaos(t *testing.T) {
	nodeImage, pgImage := requireKind(t)
	st := &stages{t: t, start: time.Now()}
	defer func() { t.Log(st.summary()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()

	runID := fmt.Sprintf("cc%d", time.Now().UnixNano()%1e6)
	c := newE2ECluster(t, ctx, st, nodeImage, runID, pgImage)
	e, bins := c.Environment, c.bins
	// The sample's releases in hook mode, with the cluster-chaos scenario's
	// procedures and data.
	sm := loadSample(t, true, bins)
	cc, err := scenario.Load(filepath.Join(repoRoot, "scenarios", "sample-1.0-to-1.1-cluster-chaos.yaml"))
	require.NoError(t, err)
	sm.s = cc
	st.do("load the sample images 1.0 and 1.1", func() {
		require.NoError(t, e.LoadImages(ctx, sm.from.Image, sm.to.Image))
	})

	plan := clusterChaosPlan(t, sm)
	out := rehearse(t, st, "kind hook", e, sm, env.HealthOptions{Timeout: 40 * time.Second, Grace: 3 * time.Second}, plan...)
	for _, in := range plan {
		got := out["chaos "+in.String()].Verdict
		assert.NotContains(t, []string{chaos.VerdictSkipped, chaos.VerdictError, ""}, got, "%s is measured on kind", in)
	}
	// What the sample gives (measured; docs/chaos.md "Cluster faults").
	// The hook's session waits on the lock without reading its socket: when
	// it is released it applies 000009 and commits, but golang-migrate
	// (gone with its pod) never marks the version clean; the Job's retry
	// refuses the dirty version, and after `migrate force 8` the re-run
	// hook applies 000009 again over the renamed column and fails.
	hook := out["chaos kill-hook@up:000009:0"]
	assert.Equal(t, chaos.VerdictUnrecovered, hook.Verdict)
	// Every procedure is also rehearsed from the state the deleted hook
	// pod left, beside its verdict without the fault.
	// The pre-upgrade dump brings back release N whatever the hook left.
	var ran []string
	for _, p := range hook.FromFault {
		ran = append(ran, p.Procedure)
		if p.Procedure == "full-restore" {
			assert.Equal(t, procedure.VerdictRecovered, p.Verdict, "full-restore from the kill-hook state")
		}
		assert.Contains(t, []string{procedure.VerdictRecovered, procedure.VerdictDegraded, procedure.VerdictFailed}, p.Verdict, "%s from the kill-hook state", p.Procedure)
		assert.NotEmpty(t, p.WithoutFault)
	}
	assert.ElementsMatch(t, sm.s.ProcedureNames(), ran)
	// schema-revert stops at 000008's down with or without the pod deleted.
	assert.Equal(t, chaos.VerdictAsWithoutFault, out["chaos kill-postgres-pod@down:000011:0"].Verdict)
	// pg_dump (in the pod) dies with it; schema-revert stops before
	// changing anything and its re-run takes a new backup.
	assert.Equal(t, chaos.VerdictDetected, out["chaos kill-postgres-pod@backup:schema-revert"].Verdict)
	// pg_restore dies with the pod; full-restore resumed at its restore
	// step restores again on the new pod.
	assert.Equal(t, chaos.VerdictRecovered, out["chaos kill-postgres-pod@restore"].Verdict)

	c.teardown(t, ctx, st)
}

// clusterChaosPlan is the cluster-chaos scenario's pod-deletion cells, read
// from the scenario file so the test and `make cluster-chaos` inject the same.
func clusterChaosPlan(t *testing.T, sm *sample) []chaos.Injection {
	t.Helper()
	reqs, err := sm.s.FaultRequests()
	require.NoError(t, err)
	plan, err := chaos.Plan(reqs, chaos.PlanOptions{Next: sm.next, Procedures: sm.s.ProcedureNames(), Specs: sm.s.ProcedureSpecs()})
	require.NoError(t, err)
	// atomic-timeout and restart-node have their own kind test
	// (TestKindAtomicAndNodeRestart): these are the pod deletions.
	var pods []chaos.Injection
	for _, in := range plan {
		if in.Fault == chaos.KillHook || in.Fault == chaos.KillPostgresPod {
			pods = append(pods, in)
		}
	}
	require.Len(t, pods, 4)
	return pods
}
