package chaos

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
)

func TestParsePoint(t *testing.T) {
	cases := []struct {
		in, err string
		want    Point
	}{
		{in: "up:000012:2", want: Point{Phase: PhaseUp, Version: "000012", After: 2}},
		{in: "down:17:0", want: Point{Phase: PhaseDown, Version: "17", After: 0}},
		{in: "restore", want: Point{Phase: PhaseRestore}},
		{in: "backup:full-restore", want: Point{Phase: PhaseBackup, Procedure: "full-restore"}},
		{in: "rollback:standard", want: Point{Phase: PhaseRollback, Procedure: "standard"}},
		{in: "upgrade", want: Point{Phase: PhaseUpgrade}},
		{in: "up:000012", err: "needs a migration version and a statement count"},
		{in: "up:000012:-1", err: "K must be the number of statements"},
		{in: "backup:nightly", want: Point{Phase: PhaseBackup, Procedure: "nightly"}}, // checked against the scenario's procedures by CheckPoint
		{in: "rollback:", err: "needs a procedure name"},
		{in: "restore:now", err: "takes no argument"},
		{in: "midway", err: `unknown kind "midway"`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParsePoint(tc.in)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, p)
			assert.Equal(t, tc.in, p.String(), "String writes what ParsePoint reads")
		})
	}
}

func planMigrations() []*migrate.Migration {
	st := func(n int) *migrate.Script {
		s := &migrate.Script{File: "f.sql"}
		for i := 0; i < n; i++ {
			s.Statements = append(s.Statements, migrate.Statement{SQL: "SELECT 1", Line: i + 1})
		}
		return s
	}
	return []*migrate.Migration{
		{Version: "000004", Name: "a", Up: st(1), Down: st(1)},
		{Version: "000005", Name: "b", Up: st(3), Down: st(2)},
		{Version: "000006", Name: "c", Up: st(2)}, // no down file
	}
}

func TestPlan(t *testing.T) {
	all := []string{"standard", "schema-revert", "full-restore"}
	o := PlanOptions{Seed: 7, Next: planMigrations(), Procedures: all}

	plan, err := Plan([]Request{{Fault: KillMigration}}, o)
	require.NoError(t, err)
	assert.Len(t, plan, 5, "one boundary per up file (3) and per down file (2)")
	again, err := Plan([]Request{{Fault: KillMigration}}, o)
	require.NoError(t, err)
	assert.Equal(t, plan, again, "the same seed gives the same plan")

	o.Exhaustive = true
	plan, err = Plan([]Request{{Fault: KillMigration}}, o)
	require.NoError(t, err)
	assert.Len(t, plan, (2+4+3)+(2+3), "every boundary 0..n of every script")

	// A file outside a transaction is sampled between two statements.
	nt := planMigrations()
	nt[1].Up.NoTransaction = true
	for seed := int64(0); seed < 20; seed++ {
		p, err := Plan([]Request{{Fault: KillMigration, At: nil}}, PlanOptions{Seed: seed, Next: nt, Procedures: all})
		require.NoError(t, err)
		for _, in := range p {
			if in.Point.Phase == PhaseUp && in.Point.Version == "000005" {
				assert.True(t, in.Point.After >= 1 && in.Point.After <= 2, "seed %d: %s", seed, in.Point)
			}
		}
	}

	o.Exhaustive = false
	plan, err = Plan([]Request{{Fault: KillPostgres}, {Fault: CrashLoop}, {Fault: ReadyTimeout}, {Fault: BackupTruncated}}, o)
	require.NoError(t, err)
	var points []string
	for _, in := range plan {
		if in.Point.Phase != PhaseUp && in.Point.Phase != PhaseDown {
			points = append(points, in.String())
		}
	}
	assert.Equal(t, []string{
		"kill-postgres@restore",
		"crash-loop@rollback:standard", "crash-loop@rollback:schema-revert", "crash-loop@rollback:full-restore",
		"ready-timeout@upgrade",
		"backup-truncated@backup:schema-revert", "backup-truncated@backup:full-restore",
	}, points)
	assert.Len(t, plan, len(points)+2, "kill-postgres: one up and one down boundary")
}

// declared are two declared procedures: mine rolls back without a backup,
// nightly backs up without rolling back.
func declared() []procedure.Spec {
	return []procedure.Spec{
		{Name: "mine", Steps: []procedure.StepSpec{{Kind: procedure.KindSQL, Statements: "SELECT 1"}, {Kind: procedure.KindHelmRollback, Name: "back to N"}}},
		{Name: "nightly", Steps: []procedure.StepSpec{{Kind: procedure.KindBackup, Name: "nightly dump"}, {Kind: procedure.KindWaitReady}}},
	}
}

func TestPlanDeclaredProcedures(t *testing.T) {
	o := PlanOptions{Seed: 7, Next: planMigrations(), Procedures: []string{"standard", "mine", "nightly", "full-restore"}, Specs: declared()}
	plan, err := Plan([]Request{{Fault: CrashLoop}, {Fault: BackupFail}}, o)
	require.NoError(t, err)
	var points []string
	for _, in := range plan {
		points = append(points, in.String())
	}
	assert.Equal(t, []string{
		"crash-loop@rollback:standard", "crash-loop@rollback:mine", "crash-loop@rollback:full-restore",
		"backup-fail@backup:nightly", "backup-fail@backup:full-restore",
	}, points, "default points: each procedure with the step the fault needs")
	_, err = Plan([]Request{{Fault: CrashLoop, At: []Point{{Phase: PhaseRollback, Procedure: "mine"}}}}, o)
	require.NoError(t, err)

	// Down points go to every procedure that applies that down file.
	o.Procedures = []string{"schema-revert", "only-5"}
	o.Specs = []procedure.Spec{{Name: "only-5", Steps: []procedure.StepSpec{{Kind: procedure.KindDown, Range: "5"}}}}
	plan, err = Plan([]Request{{Fault: KillMigration}}, o)
	require.NoError(t, err)
	var downs []string
	for _, in := range plan {
		if in.Point.Phase == PhaseDown {
			downs = append(downs, in.Point.Version+" in "+in.Point.Procedure)
		}
	}
	assert.Equal(t, []string{"000004 in schema-revert", "000005 in schema-revert", "000005 in only-5"}, downs)

	o.Procedures = []string{"standard", "only-5"}
	plan, err = Plan([]Request{{Fault: KillPostgres, At: []Point{{Phase: PhaseDown, Version: "000005", After: 1}}}}, o)
	require.NoError(t, err)
	assert.Equal(t, []Injection{{Fault: KillPostgres, Point: Point{Phase: PhaseDown, Version: "000005", After: 1, Procedure: "only-5"}}}, plan)
	_, err = Plan([]Request{{Fault: KillPostgres, At: []Point{{Phase: PhaseDown, Version: "000004", After: 1}}}}, o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no procedure the scenario runs (standard, only-5) applies 000004_a's down file")
}

func TestPlanBadRequests(t *testing.T) {
	o := PlanOptions{Next: planMigrations(), Procedures: []string{"standard", "schema-revert", "mine", "nightly"}, Specs: declared()}
	cases := []struct {
		req Request
		err string
	}{
		{Request{Fault: "unplug"}, `unknown fault "unplug"`},
		{Request{Fault: KillMigration, At: []Point{{Phase: PhaseRestore}}}, "cannot be injected at restore"},
		{Request{Fault: KillMigration, At: []Point{{Phase: PhaseUp, Version: "000099"}}}, "no migration 000099 among release N+1's (000004, 000005, 000006)"},
		{Request{Fault: KillMigration, At: []Point{{Phase: PhaseDown, Version: "000006"}}}, "has no down file"},
		{Request{Fault: KillMigration, At: []Point{{Phase: PhaseUp, Version: "000005", After: 4}}}, "has 3 statements, K must be 0..3"},
		{Request{Fault: BackupEmpty, At: []Point{{Phase: PhaseBackup, Procedure: "full-restore"}}}, `does not run procedure "full-restore": use one it runs (standard, schema-revert, mine, nightly)`},
		{Request{Fault: CrashLoop, At: []Point{{Phase: PhaseRollback, Procedure: "everything"}}}, `does not run procedure "everything"`},
		{Request{Fault: BackupFail, At: []Point{{Phase: PhaseBackup, Procedure: "mine"}}}, "procedure mine has no backup step to break"},
		{Request{Fault: CrashLoop, At: []Point{{Phase: PhaseRollback, Procedure: "nightly"}}}, "procedure nightly has no helm-rollback step"},
		{Request{Fault: KillPostgres, At: []Point{{Phase: PhaseRestore}}}, "does not run full-restore"},
	}
	for _, tc := range cases {
		t.Run(tc.err, func(t *testing.T) {
			_, err := Plan([]Request{tc.req}, o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}
