package procedure_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
)

// runSpec performs a declared procedure on a fresh copy of the
// post-upgrade state, after checking it as a scenario load would.
func (r *rehearsal) runSpec(t *testing.T, spec procedure.Spec) *procedure.Result {
	t.Helper()
	require.Empty(t, spec.Problems(procedure.Known{Base: r.pc.Base, Next: r.pc.Next}), "the test's procedure is valid")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, r.e.LoadState(ctx, procedure.StartState))
	r.pc.Checks.Unique = fmt.Sprintf("%s-%d", spec.Name, time.Now().UnixNano())
	res, err := procedure.Run(ctx, spec.Procedure(), r.pc)
	require.NoError(t, err, "a runbook step that cannot work is a failed step, not a harness error")
	return res
}

func step(res *procedure.Result, name string) procedure.StepResult {
	for _, s := range res.Steps {
		if s.Name == name {
			return s
		}
	}
	return procedure.StepResult{Name: name, Status: "missing"}
}

func n(i int) *int { return &i }

// Every step kind, declared as a user would, on the local backend: a real
// PostgreSQL and the sample app's real servers. The verdicts and the
// failing steps' reasons are measured, never set by the test's names.
func TestDeclaredProcedures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sample app: not in -short")
	}
	r := prepare(t, "harness/procedure/testdata/additive", "1.0", "1.1")
	pgRestore, err := exec.LookPath("pg_restore")
	require.NoError(t, err, "verify-backup reads the dump with pg_restore")
	r.pc.PGRestore = pgRestore
	fixup := filepath.Join(t.TempDir(), "fixup.sql")
	require.NoError(t, os.WriteFile(fixup, []byte("-- the manual fix-up between two downs\nUPDATE certificates SET renewal_state = 'manual' WHERE renewal_state IS NOT NULL;\n"), 0o644))
	tests := []struct {
		name string
		spec procedure.Spec
		// verdict wanted; failedStep and errContains say which step fails and why.
		verdict     string
		failedStep  string
		errContains []string
		// outputs: step -> text its output contains.
		outputs map[string]string
	}{
		{
			name: "every kind in a runbook that works",
			spec: procedure.Spec{Name: "manual-fixup", Steps: []procedure.StepSpec{
				{Kind: procedure.KindBackup, Dump: "mine"},
				{Kind: procedure.KindVerifyBackup},
				{Kind: procedure.KindExec, Name: "feature flag off", Command: []string{"sh", "-c", `test -n "$DATABASE_URL" && echo flag-off`}},
				{Kind: procedure.KindScale, Replicas: n(0)},
				{Kind: procedure.KindDown, Range: "000006..000005"},
				{Kind: procedure.KindSQL, File: fixup, Role: "CURRENT_USER_PLACEHOLDER"},
				{Kind: procedure.KindDown, Range: "000004"},
				{Kind: procedure.KindBookkeeping, Version: "000003"},
				{Kind: procedure.KindExec, Name: "audit on the harness", In: procedure.ExecInHarness, Command: []string{"sh", "-c", `echo "$DATABASE_URL" | grep -q postgres && echo harness-ok`}},
				{Kind: procedure.KindHelmRollback, To: "N"},
				{Kind: procedure.KindWaitReady, Timeout: 20 * time.Second},
				{Kind: procedure.KindSmoke},
			}},
			verdict: procedure.VerdictRecovered,
			outputs: map[string]string{
				"backup":                              "mine.dump",
				"verify backup":                       "read through by pg_restore",
				"feature flag off":                    "flag-off",
				"sql " + fixup:                        "UPDATE",
				"fix bookkeeping":                     `records version "3"`,
				"audit on the harness":                "harness-ok",
				procedure.StepRollback:                "release 1.0 started",
				"wait for ready":                      "ready after",
				"smoke requests":                      "5 requests pass",
				"down 000005_create_renewal_policies": "statements",
			},
		},
		{
			// The seed-shaped runbook: the bookkeeping table it edits is
			// not the app's.
			name: "sql on a table the app does not keep",
			spec: procedure.Spec{Name: "flyway-runbook", Steps: []procedure.StepSpec{
				{Kind: procedure.KindScale, Replicas: n(0)},
				{Kind: procedure.KindDown},
				{Kind: procedure.KindSQL, Name: "forget N+1's migrations", Statements: "DELETE FROM flyway_schema_history WHERE version > '3';"},
				{Kind: procedure.KindHelmRollback},
			}},
			verdict:     procedure.VerdictFailed,
			failedStep:  "forget N+1's migrations",
			errContains: []string{`relation "flyway_schema_history" does not exist`, "42P01", "inline statements:1"},
		},
		{
			name: "restore that forgets to scale down",
			spec: procedure.Spec{Name: "hasty-restore", Steps: []procedure.StepSpec{
				{Kind: procedure.KindRestore, Dump: procedure.PreUpgradeDump},
				{Kind: procedure.KindHelmRollback},
			}},
			verdict:     procedure.VerdictFailed,
			failedStep:  procedure.StepRestore,
			errContains: []string{"still run"},
		},
		{
			name: "helm rollback to a revision the release does not have",
			spec: procedure.Spec{Name: "wrong-revision", Steps: []procedure.StepSpec{
				{Kind: procedure.KindHelmRollback, To: "7"},
			}},
			verdict:     procedure.VerdictFailed,
			failedStep:  "rollback server to revision 7",
			errContains: []string{"no such revision", "1 (install 1.0)"},
		},
		{
			name: "exec that outlives its timeout",
			spec: procedure.Spec{Name: "slow-hook", Steps: []procedure.StepSpec{
				{Kind: procedure.KindExec, Command: []string{"sleep", "30"}, Timeout: time.Second},
				{Kind: procedure.KindHelmRollback},
			}},
			verdict:     procedure.VerdictFailed,
			failedStep:  "exec sleep",
			errContains: []string{"timeout of 1s"},
		},
		{
			name: "wait-ready with the server scaled to 0",
			spec: procedure.Spec{Name: "forgot-to-scale-up", Steps: []procedure.StepSpec{
				{Kind: procedure.KindScale, Replicas: n(0)},
				{Kind: procedure.KindWaitReady, Timeout: 2 * time.Second},
			}},
			verdict:     procedure.VerdictFailed,
			failedStep:  "wait for ready",
			errContains: []string{"no replica is running"},
		},
		{
			name: "sql as a role the database does not have",
			spec: procedure.Spec{Name: "as-ops", Steps: []procedure.StepSpec{
				{Kind: procedure.KindSQL, Statements: "SELECT 1;", Role: "ops_runbook"},
			}},
			verdict:     procedure.VerdictFailed,
			failedStep:  "sql",
			errContains: []string{`role "ops_runbook" does not exist`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			for i := range spec.Steps {
				if spec.Steps[i].Role == "CURRENT_USER_PLACEHOLDER" {
					spec.Steps[i].Role = currentUser(t, r)
				}
			}
			res := r.runSpec(t, spec)
			require.Equal(t, tt.verdict, res.Verdict, describe(res))
			if tt.failedStep != "" {
				fs := res.FailedStep()
				require.NotNil(t, fs, describe(res))
				assert.Equal(t, tt.failedStep, fs.Name, describe(res))
				for _, want := range tt.errContains {
					assert.Contains(t, fs.Error, want, describe(res))
				}
				assert.Contains(t, res.Reasons[0], tt.failedStep, "the verdict names the failing step")
			} else {
				assert.Nil(t, res.FailedStep(), describe(res))
			}
			for name, want := range tt.outputs {
				s := step(res, name)
				assert.Equal(t, procedure.StatusOK, s.Status, "%s\n%s", name, describe(res))
				assert.Contains(t, s.Output, want, "%s\n%s", name, describe(res))
			}
			assert.Len(t, res.Checks, 6, "a declared procedure gets every check")
		})
	}
}

func currentUser(t *testing.T, r *rehearsal) string {
	t.Helper()
	conn, err := procedure.Connect(context.Background(), r.pc)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var u string
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT current_user").Scan(&u))
	return u
}

// The built-ins are declared like a user's procedure and are valid.
func TestBuiltinsAreDeclared(t *testing.T) {
	for _, s := range procedure.Builtins() {
		assert.Empty(t, s.Problems(procedure.Known{}), s.Name)
		p, err := procedure.Get(s.Name)
		require.NoError(t, err)
		assert.Equal(t, s.Name, p.Name)
	}
	text, err := procedure.YAML(procedure.Builtins())
	require.NoError(t, err)
	for _, want := range []string{"- name: standard", "kind: helm-rollback", "kind: down", "dump: pre-upgrade"} {
		assert.Contains(t, text, want)
	}
}

// Validation names the step and field of each problem.
func TestSpecProblems(t *testing.T) {
	next := []*migrate.Migration{{Version: "000004", Name: "a"}, {Version: "000005", Name: "b"}}
	tests := []struct {
		name  string
		steps []procedure.StepSpec
		step  int
		field string
		msg   string
	}{
		{"unknown kind", []procedure.StepSpec{{Kind: "psql"}}, 0, "kind", `unknown step kind "psql"`},
		{"missing kind", []procedure.StepSpec{{}}, 0, "kind", "missing"},
		{"range N+1 lacks", []procedure.StepSpec{{Kind: procedure.KindDown, Range: "000009..000004"}}, 0, "range", "N+1 has no migration 000009: its migrations are 000004 to 000005"},
		{"range syntax", []procedure.StepSpec{{Kind: procedure.KindDown, Range: "latest"}}, 0, "range", "HIGH..LOW"},
		{"missing sql file", []procedure.StepSpec{{Kind: procedure.KindSQL, File: "/nonexistent/fix.sql"}}, 0, "file", "cannot be read"},
		{"sql syntax", []procedure.StepSpec{{Kind: procedure.KindSQL, Statements: "DELET FROM x;"}}, 0, "statements", "syntax error"},
		{"sql without source", []procedure.StepSpec{{Kind: procedure.KindSQL}}, 0, "", "give file"},
		{"field of another kind", []procedure.StepSpec{{Kind: procedure.KindScale, Replicas: n(0), Dump: "x"}}, 0, "dump", "not used by a scale step"},
		{"scale without replicas", []procedure.StepSpec{{Kind: procedure.KindScale}}, 0, "replicas", "missing"},
		{"restore of a dump never taken", []procedure.StepSpec{{Kind: procedure.KindScale, Replicas: n(0)}, {Kind: procedure.KindRestore, Dump: "nightly"}}, 1, "dump", `"nightly": no earlier backup step`},
		{"bad revision", []procedure.StepSpec{{Kind: procedure.KindHelmRollback, To: "previous"}}, 0, "to", "N, N+1 or a Helm revision"},
		{"exec without command", []procedure.StepSpec{{Kind: procedure.KindExec}}, 0, "command", "missing"},
		{"duplicate names", []procedure.StepSpec{{Kind: procedure.KindScale, Replicas: n(0)}, {Kind: procedure.KindScale, Replicas: n(0)}}, 1, "name", "step 1 is also named"},
		{"bookkeeping version unknown", []procedure.StepSpec{{Kind: procedure.KindBookkeeping, Version: "42"}}, 0, "version", "no migration of N or N+1 has version 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := procedure.Spec{Name: "mine", Steps: tt.steps}.Problems(procedure.Known{Next: next})
			require.NotEmpty(t, ps)
			assert.Equal(t, tt.step, ps[0].Step)
			assert.Equal(t, tt.field, ps[0].Field)
			assert.Contains(t, ps[0].Msg, tt.msg)
		})
	}
}
