package scenario_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/scenario"
)

func TestFaultsParse(t *testing.T) {
	seven := int64(7)
	tests := []struct {
		name     string
		faults   string // appended to valid, under spec
		want     scenario.Faults
		requests []chaos.Request
		seed     int64 // SeedOr(42)
	}{
		{name: "none", faults: "", seed: 42},
		{name: "long form", seed: 7,
			faults: "  faults:\n    exhaustive: true\n    seed: 7\n    inject:\n      - fault: kill-postgres\n        at: [restore, \"up:000002:1\"]\n",
			want: scenario.Faults{Exhaustive: true, Seed: &seven, Inject: []scenario.FaultInjection{
				{Fault: chaos.KillPostgres, At: []string{"restore", "up:000002:1"}},
			}},
			requests: []chaos.Request{{Fault: chaos.KillPostgres, At: []chaos.Point{
				{Phase: chaos.PhaseRestore}, {Phase: chaos.PhaseUp, Version: "000002", After: 1},
			}}},
		},
		{name: "short and long mixed", seed: 42,
			faults: "  faults:\n    inject: [kill-migration, {fault: crash-loop, at: [\"rollback:standard\"]}]\n",
			want: scenario.Faults{Inject: []scenario.FaultInjection{
				{Fault: chaos.KillMigration},
				{Fault: chaos.CrashLoop, At: []string{"rollback:standard"}},
			}},
			requests: []chaos.Request{
				{Fault: chaos.KillMigration},
				{Fault: chaos.CrashLoop, At: []chaos.Point{{Phase: chaos.PhaseRollback, Procedure: "standard"}}},
			},
		},
		{name: "short form block list", seed: 42,
			faults: "  faults:\n    inject:\n      - backup-fail   # a comment\n      - ready-timeout\n",
			want: scenario.Faults{Inject: []scenario.FaultInjection{
				{Fault: chaos.BackupFail}, {Fault: chaos.ReadyTimeout},
			}},
			requests: []chaos.Request{{Fault: chaos.BackupFail}, {Fault: chaos.ReadyTimeout}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := scenario.Load(write(t, valid+tt.faults))
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Spec.Faults)
			reqs, err := s.FaultRequests()
			require.NoError(t, err)
			assert.Equal(t, tt.requests, reqs)
			assert.Equal(t, tt.seed, s.Spec.Faults.SeedOr(42))
		})
	}
}

func TestFaultsValidation(t *testing.T) {
	tests := []struct {
		name   string
		faults string // appended to valid (whose last line is 16), under spec
		want   []string
	}{
		{name: "unknown fault, short form",
			faults: "  faults:\n    inject:\n      - kill-migration\n      - kill-everything\n",
			want:   []string{`s.yaml:20: spec.faults.inject[1].fault: unknown fault "kill-everything": use one of ` + strings.Join(chaos.Faults, ", ")}},
		{name: "unknown fault, long form",
			faults: "  faults:\n    inject:\n      - fault: kill-pg\n        at: [restore]\n",
			want:   []string{`s.yaml:19: spec.faults.inject[0].fault: unknown fault "kill-pg"`}},
		{name: "missing fault name",
			faults: "  faults:\n    inject:\n      - at: [restore]\n",
			want:   []string{`s.yaml:19: spec.faults.inject[0].fault: missing: name a fault`}},
		{name: "bad point",
			faults: "  faults:\n    inject:\n      - fault: kill-migration\n        at:\n          - up:000002:1\n          - up:000002\n",
			want:   []string{`s.yaml:22: spec.faults.inject[0].at[1]: fault point "up:000002": needs a migration version and a statement count`}},
		{name: "bad point, flow list",
			faults: "  faults:\n    inject: [{fault: crash-loop, at: [\"rollback:everything\"]}]\n",
			want:   []string{`s.yaml:18: spec.faults.inject[0].at[0]: fault point rollback:everything: the scenario does not run procedure "everything": use one it runs (standard, schema-revert, full-restore), or declare it in spec.procedures`}},
		{name: "backup point on a declared procedure without a backup step",
			faults: "  faults:\n    inject: [{fault: backup-empty, at: [\"backup:mine\"]}]\n" + mine,
			want:   []string{`s.yaml:18: spec.faults.inject[0].at[0]: fault point backup:mine: procedure mine has no backup step to break: add a {kind: backup} step`}},
		{name: "backup point on a procedure the scenario does not run",
			faults: "  faults:\n    inject: [{fault: backup-empty, at: [\"backup:nightly\"]}]\n" + mine,
			want:   []string{`s.yaml:18: spec.faults.inject[0].at[0]: fault point backup:nightly: the scenario does not run procedure "nightly": use one it runs (standard, mine)`}},
		{name: "unknown key in an entry",
			faults: "  faults:\n    inject:\n      - {fault: kill-migration, when: up}\n",
			want:   []string{`s.yaml:19: spec.faults.inject[0].when: unknown field: use one of fault, at`}},
		{name: "unknown key in faults",
			faults: "  faults:\n    exhaustiv: true\n",
			want:   []string{`s.yaml:18: spec.faults.exhaustiv: unknown field: use one of exhaustive, seed, inject`}},
		{name: "seed not a number",
			faults: "  faults:\n    seed: lucky\n",
			want:   []string{"s.yaml:18: cannot unmarshal !!str `lucky` into int64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, valid+tt.faults)
			_, err := scenario.Load(path)
			require.Error(t, err)
			msg := strings.ReplaceAll(err.Error(), path, "s.yaml")
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

// mine declares a procedure without a backup step (spec.procedures, after
// the faults of a test case).
const mine = "  procedures:\n    - standard\n    - name: mine\n      steps:\n        - {kind: scale, replicas: 0}\n        - {kind: helm-rollback, name: back to N}\n"

func TestFaultsOnDeclaredProcedures(t *testing.T) {
	// A declared procedure's points are accepted like a built-in's.
	s, err := scenario.Load(write(t, valid+"  faults:\n    inject: [{fault: crash-loop, at: [\"rollback:mine\"]}]\n"+mine))
	require.NoError(t, err)
	reqs, err := s.FaultRequests()
	require.NoError(t, err)
	assert.Equal(t, []chaos.Request{{Fault: chaos.CrashLoop, At: []chaos.Point{{Phase: chaos.PhaseRollback, Procedure: "mine"}}}}, reqs)
}

func TestFaultRequestsBadPoint(t *testing.T) {
	// A Scenario changed after Load is converted without panicking.
	s := &scenario.Scenario{File: "x.yaml"}
	s.Spec.Faults.Inject = []scenario.FaultInjection{{Fault: chaos.KillMigration, At: []string{"sideways"}}}
	_, err := s.FaultRequests()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `x.yaml: spec.faults.inject[0].at: fault point "sideways"`)
}

func TestBundledChaosScenario(t *testing.T) {
	s, err := scenario.Load(filepath.Join("..", "..", "scenarios", "sample-1.0-to-1.1-chaos.yaml"))
	require.NoError(t, err)
	reqs, err := s.FaultRequests()
	require.NoError(t, err)
	require.Len(t, reqs, len(chaos.Faults))
	for i, r := range reqs {
		assert.Equal(t, chaos.Faults[i], r.Fault)
		if r.Fault == chaos.KillHook || r.Fault == chaos.KillPostgresPod {
			// One point each: skipped on the local backend, with the reason.
			assert.Len(t, r.At, 1)
			continue
		}
		assert.Empty(t, r.At)
	}
	assert.Equal(t, int64(7), s.Spec.Faults.SeedOr(s.Spec.Data.Seed))
	assert.False(t, s.Spec.Faults.Exhaustive)
}
