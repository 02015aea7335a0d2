package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/scenario"
)

// declared is valid plus a procedures list starting at line 17.
func declared(procs string) string { return valid + "  procedures:\n" + procs }

func TestDeclaredProcedureLoads(t *testing.T) {
	path := write(t, declared(`    - standard
    - name: my-runbook
      description: the ops team's rollback
      steps:
        - {kind: scale, replicas: 0}
        - {kind: sql, file: fix.sql, role: ops}
        - kind: exec
          command: [sh, -c, "echo hi"]
          timeout: 30s
        - {kind: helm-rollback, to: "1"}
  policy:
    procedures: {my-runbook: degraded}
`))
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "fix.sql"), []byte("UPDATE t SET x = 1;\n"), 0o644))
	s, err := scenario.Load(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"standard", "my-runbook"}, s.ProcedureNames())
	specs := s.ProcedureSpecs()
	require.Len(t, specs, 2)
	assert.Equal(t, procedure.Builtins()[0], specs[0])
	mine := specs[1]
	assert.Equal(t, "the ops team's rollback", mine.Description)
	require.Len(t, mine.Steps, 4)
	assert.Equal(t, filepath.Join(filepath.Dir(path), "fix.sql"), mine.Steps[1].File, "sql files resolve against the scenario's folder")
	assert.Equal(t, "30s", mine.Steps[2].Timeout.String())
	assert.Equal(t, "rollback server to revision 1", mine.Procedure().Steps(&procedure.Context{})[3].Name)
}

func TestDeclaredProcedureErrors(t *testing.T) {
	tests := []struct {
		name  string
		procs string
		want  []string
	}{
		{"unknown step kind", "    - name: mine\n      steps:\n        - {kind: psql}\n",
			[]string{`s.yaml:20: spec.procedures[0].steps[0].kind: unknown step kind "psql": use one of helm-rollback, scale`}},
		{"missing sql file", "    - name: mine\n      steps:\n        - kind: sql\n          file: fixes/down.sql\n",
			[]string{"s.yaml:21: spec.procedures[0].steps[0].file: fixes/down.sql cannot be read"}},
		{"unknown field of a step", "    - name: mine\n      steps:\n        - {kind: scale, replicas: 0, replica: 1}\n",
			[]string{"s.yaml:20: spec.procedures[0].steps[0].replica: unknown field"}},
		{"field of another kind", "    - name: mine\n      steps:\n        - {kind: backup, replicas: 0}\n",
			[]string{"s.yaml:20: spec.procedures[0].steps[0].replicas: not used by a backup step (it takes dump)"}},
		{"built-in name with steps", "    - name: standard\n      steps:\n        - {kind: helm-rollback}\n",
			[]string{`s.yaml:18: spec.procedures[0].name: "standard" is a built-in procedure's name`}},
		{"declared without steps", "    - name: mine\n      description: x\n",
			[]string{"s.yaml:18: spec.procedures[0].steps: missing"}},
		{"unknown built-in", "    - yolo\n",
			[]string{`s.yaml:18: spec.procedures[0]: unknown procedure "yolo"`}},
		{"bad timeout", "    - name: mine\n      steps:\n        - {kind: exec, command: [true], timeout: soon}\n",
			[]string{"s.yaml:20:"}},
		{"restore of a dump never taken", "    - name: mine\n      steps:\n        - {kind: scale, replicas: 0}\n        - {kind: restore, dump: nightly}\n",
			[]string{`s.yaml:21: spec.procedures[0].steps[1].dump: "nightly": no earlier backup step`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, declared(tt.procs))
			_, err := scenario.Load(path)
			require.Error(t, err)
			msg := strings.ReplaceAll(err.Error(), path, "s.yaml")
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

// A range N+1 does not have is found once the migrations are known, still
// with the file's line.
func TestCheckProceduresAgainstMigrations(t *testing.T) {
	path := write(t, declared("    - name: mine\n      steps:\n        - {kind: scale, replicas: 0}\n        - {kind: down, range: 000009..000002}\n        - {kind: bookkeeping, version: \"77\"}\n"))
	s, err := scenario.Load(path)
	require.NoError(t, err, "the range's syntax is fine; its versions are checked against the set")
	base := []*migrate.Migration{{Version: "000001", Name: "a"}}
	next := []*migrate.Migration{{Version: "000002", Name: "b"}}
	err = s.CheckProcedures(base, next)
	require.Error(t, err)
	msg := strings.ReplaceAll(err.Error(), path, "s.yaml")
	assert.Contains(t, msg, "s.yaml:21: spec.procedures[0].steps[1].range: N+1 has no migration 000009: its migrations are 000002")
	assert.Contains(t, msg, "s.yaml:22: spec.procedures[0].steps[2].version: no migration of N or N+1 has version 77")
	err = s.CheckProcedures(base, append(next, &migrate.Migration{Version: "000009", Name: "c"}, &migrate.Migration{Version: "77", Name: "d"}))
	assert.NoError(t, err, "both ends of the range and the version exist")
}
