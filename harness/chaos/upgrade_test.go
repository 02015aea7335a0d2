package chaos

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/procedure"
)

// The cluster upgrade faults take the upgrade point only, by default and
// when asked; any other point is an input error naming what they take.
func TestPlanClusterUpgradeFaults(t *testing.T) {
	o := PlanOptions{Seed: 7, Next: planMigrations(), Procedures: []string{"standard", "schema-revert", "full-restore"}}
	cases := []struct {
		req  Request
		want []string
		err  string
	}{
		{req: Request{Fault: AtomicTimeout}, want: []string{"atomic-timeout@upgrade"}},
		{req: Request{Fault: RestartNode}, want: []string{"restart-node@upgrade"}},
		{req: Request{Fault: AtomicTimeout, At: []Point{{Phase: PhaseUpgrade}}}, want: []string{"atomic-timeout@upgrade"}},
		{req: Request{Fault: RestartNode, At: []Point{{Phase: PhaseRestore}}}, err: "fault restart-node cannot be injected at restore: it takes upgrade points"},
		{req: Request{Fault: AtomicTimeout, At: []Point{{Phase: PhaseUp, Version: "000005", After: 1}}}, err: "fault atomic-timeout cannot be injected at up:000005:1: it takes upgrade points"},
		{req: Request{Fault: AtomicTimeout, At: []Point{{Phase: PhaseRollback, Procedure: "standard"}}}, err: "it takes upgrade points"},
	}
	for _, tc := range cases {
		t.Run(tc.req.Fault+" "+tc.err, func(t *testing.T) {
			plan, err := Plan([]Request{tc.req}, o)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, in := range plan {
				got = append(got, in.String())
			}
			assert.Equal(t, tc.want, got)
		})
	}
	assert.Contains(t, Faults, AtomicTimeout)
	assert.Contains(t, Faults, RestartNode)
}

// On a backend without Helm or nodes (local, on a real PostgreSQL), the
// cluster upgrade faults are skipped with the reason, before any state is
// touched; ready-timeout stays the emulation there.
func TestClusterUpgradeFaultsSkippedLocally(t *testing.T) {
	ctx := context.Background()
	le, err := local.NewEnvironment(ctx, local.EnvOptions{Options: env.Options{RunID: "chaosskip"}, Server: pgtest.Server(t)})
	require.NoError(t, err)
	defer le.Close(ctx)
	pc := &procedure.Context{Env: le}
	plan := []Injection{
		{Fault: AtomicTimeout, Point: Point{Phase: PhaseUpgrade}},
		{Fault: RestartNode, Point: Point{Phase: PhaseUpgrade}},
	}
	cells, err := Run(ctx, Config{PC: pc, Plan: plan})
	require.NoError(t, err)
	require.Len(t, cells, 2)
	want := []struct{ procedure, detail string }{
		{"helm upgrade --atomic", "the local backend does not deploy with Helm"},
		{"upgrade", "the local backend cannot reach the cluster's nodes"},
	}
	for i, c := range cells {
		assert.Equal(t, VerdictSkipped, c.Verdict, c.Detail)
		assert.Equal(t, "not injected", c.StateFound)
		assert.Equal(t, want[i].procedure, c.Procedure)
		assert.Contains(t, c.Detail, want[i].detail)
		assert.False(t, c.Failed())
	}
}

func TestHelmHistoryText(t *testing.T) {
	revs := []env.HelmRevision{
		{Revision: 7, Action: "upgrade", Status: "failed", Description: `Upgrade "app" failed: context deadline exceeded`, Hooks: []string{"Job/app-migrate (pre-upgrade) succeeded"}},
		{Revision: 8, Action: "rollback", Status: "deployed", Description: "Rollback to 6", Hooks: []string{}},
	}
	assert.Equal(t, `helm history: revision 7 upgrade failed "Upgrade \"app\" failed: context deadline exceeded"; hooks ran: Job/app-migrate (pre-upgrade) succeeded
helm history: revision 8 rollback deployed "Rollback to 6"; no hook ran`, helmHistory(revs))
}
