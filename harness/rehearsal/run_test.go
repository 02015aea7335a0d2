package rehearsal_test

import (
	"context"
	"encoding/json"
	"github.com/rehearse-dev/rehearse/harness/matrix"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/env/docker"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/rehearsal"
)

// The whole `rehearse run` on the local backend: its own PostgreSQL, the
// sample app built from source, every procedure, the matrix, the reports.
func TestRunSampleLocal(t *testing.T) {
	out := t.TempDir()
	res := runSample(t, rehearsal.RunOptions{Scenario: "sample-1.0-to-1.1.yaml", Out: out})

	assert.Equal(t, map[string]string{
		"standard":      procedure.VerdictFailed,
		"schema-revert": procedure.VerdictFailed,
		"full-restore":  procedure.VerdictRecovered,
		// declared in the scenario: full-restore that also waits and smoke-tests.
		"restore-and-verify": procedure.VerdictRecovered,
	}, procedureVerdicts(res.Report))
	assert.Empty(t, res.Report.Findings, "full-restore recovers, as the scenario's policy requires")
	require.NotNil(t, res.Report.Matrix)
	assert.Len(t, res.Report.Matrix.Results, 8, "migrations 000004..000011")
	// Release 1.0's SQL was recorded (pg_stat_statements) during its boot
	// and smoke requests, step by step.
	capt := res.Report.Capture
	require.NotNil(t, capt)
	assert.True(t, capt.Available, capt.Problem)
	assert.Empty(t, capt.Problem)
	assert.GreaterOrEqual(t, capt.Statements, 5)
	steps := map[string]int{}
	for _, s := range capt.Steps {
		steps[s.Step] = s.Statements
	}
	for _, step := range []string{"smoke: list certificates", "smoke: list audit events", "smoke: create agent", "smoke: create certificate"} {
		assert.Positive(t, steps[step], "statements of %s in %v", step, capt.Steps)
	}
	assert.Contains(t, res.Report.Matrix.Notes, captureNoteOf(res.Report.Matrix.Notes), "the matrix report says what was captured")
	// The matrix started release 1.0's server on every state: its start-up
	// and smoke requests are old-code probes, attributed per migration, as
	// are the captured statements.
	for _, m := range res.Report.Matrix.Results {
		switch m.Version {
		case "000006":
			assert.Equal(t, matrix.StatusOK, m.Checks.OldCode.Status, m.Checks.OldCode.Error)
		case "000009":
			// audit_events.action renamed: the captured SELECT of
			// "list audit events" breaks here, and nowhere before.
			assert.Equal(t, matrix.StatusFail, m.Checks.OldCode.Status)
			assert.Contains(t, m.Checks.OldCode.Detail, "server: start-up")
			assert.Regexp(t, `captured #\d+ \([^)]*smoke: list audit events[^)]*\): ERROR: column "action" does not exist`, m.Checks.OldCode.Detail)
		}
	}
	assert.True(t, res.Blocking, "the sample's wrong down files block the release")

	for _, f := range []string{"matrix.json", "matrix.md", "matrix.html", "junit.xml", "procedures.json", "procedures.md"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	b, err := os.ReadFile(filepath.Join(out, "procedures.json"))
	require.NoError(t, err)
	var doc struct {
		Procedures []struct {
			Name    string `json:"name"`
			Verdict string `json:"verdict"`
			Steps   []struct {
				Name    string  `json:"name"`
				Status  string  `json:"status"`
				Seconds float64 `json:"seconds"`
			} `json:"steps"`
		} `json:"procedures"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Len(t, doc.Procedures, 4)
	// Where the time went, stage by stage, adding up to most of the run.
	stages := map[string]float64{}
	sum := 0.0
	for _, st := range res.Report.Stages {
		stages[st.Name] = st.Seconds
		sum += st.Seconds
	}
	for _, name := range []string{"start the local environment", "install 1.0, seed, upgrade to 1.1",
		"procedure standard", "procedure schema-revert", "procedure full-restore", "matrix"} {
		assert.Positive(t, stages[name], "stage %q in %v", name, res.Report.Stages)
	}
	assert.InDelta(t, res.Report.Seconds, sum, res.Report.Seconds*0.2, "stages %v", res.Report.Stages)
	assert.Contains(t, string(b), `"stages"`)
	assert.Equal(t, "rollback server to N", doc.Procedures[0].Steps[0].Name)
	md, err := os.ReadFile(filepath.Join(out, "procedures.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "down 000008_widen_certificates_common_name")
}

func TestRunBadScenario(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("apiVersion: rehearse.dev/v1\nkind: Scenario\nmetadata: {name: x}\nspec: {backend: nomad}\n"), 0o644))
	_, err := rehearsal.Run(context.Background(), rehearsal.RunOptions{Scenario: path, Out: t.TempDir()})
	require.Error(t, err)
	assert.True(t, rehearsal.IsInputError(err))
	assert.Contains(t, err.Error(), "bad.yaml:4: spec.backend")
}

// `rehearse run --backend docker`: PostgreSQL and the servers as containers.
func TestRunSampleDocker(t *testing.T) {
	skipShort(t, "the docker rehearsal")
	if err := docker.Available(context.Background()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker backend test cannot run in CI: %v", err)
		}
		t.Skipf("SKIPPING the docker rehearsal: %v", err)
	}
	pgImage := docker.DefaultPostgresImage(context.Background(), "")
	for _, img := range []string{pgImage, "rehearse-sample/app:1.1", "rehearse-sample/app:1.2"} {
		if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("image %s is missing: run make images (and docker pull %s, or set %s)", img, pgImage, docker.PostgresImageEnv)
			}
			t.Skipf("SKIPPING the docker rehearsal: image %s is missing (make images; docker pull %s, or set %s)", img, pgImage, docker.PostgresImageEnv)
		}
	}
	res := runSample(t, rehearsal.RunOptions{
		Scenario: "sample-1.1-to-1.2.yaml",
		Backend:  "docker",
		// PostgreSQL crashed inside its container in the middle of
		// 000017's five statements; the server container killed by docker.
		Chaos: rehearsal.ChaosOptions{Faults: []string{"kill-postgres@up:000017:3", "crash-loop@rollback:full-restore"}},
	})
	assert.Equal(t, map[string]string{
		"standard":           procedure.VerdictFailed,
		"schema-revert":      procedure.VerdictFailed,
		"full-restore":       procedure.VerdictRecovered,
		"restore-and-verify": procedure.VerdictRecovered,
	}, procedureVerdicts(res.Report))
	require.NotNil(t, res.Report.Matrix)
	assert.Len(t, res.Report.Matrix.Results, 7, "migrations 000012..000018")
	require.Len(t, res.Report.Chaos, 2)
	up, loop := res.Report.Chaos[0], res.Report.Chaos[1]
	// One transaction: nothing of 000017 survives the crash, the version is
	// dirty, release 1.2's server refuses it, `migrate force 16` recovers.
	assert.Equal(t, chaos.VerdictManual, up.Verdict, "%s\n%s\n%s", up.StateFound, up.Recovery, up.Detail)
	assert.Equal(t, 0, up.Effective, up.StateFound)
	assert.Contains(t, up.Bookkeeping, `version "17", dirty`)
	assert.Contains(t, up.Recovery, "migrate force 16")
	assert.Equal(t, chaos.VerdictRecovered, loop.Verdict, "%s\n%s\n%s", loop.StateFound, loop.Recovery, loop.Detail)
	assert.Contains(t, loop.StateFound, "crash loop")
}

// runSample runs `rehearse run` on scenarios/<o.Scenario> (end to end, so
// not in -short) and logs its progress.
func runSample(t *testing.T, o rehearsal.RunOptions) *rehearsal.RunOutcome {
	t.Helper()
	skipShort(t, "the end-to-end rehearsal of "+o.Scenario)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var progress strings.Builder
	o.Scenario = filepath.Join("..", "..", "scenarios", o.Scenario)
	o.Parallel, o.Progress = 2, &progress
	if o.Out == "" {
		o.Out = t.TempDir()
	}
	res, err := rehearsal.Run(ctx, o)
	require.NoError(t, err, progress.String())
	t.Log(progress.String())
	return res
}

// captureNoteOf returns the matrix note about captured statements.
func captureNoteOf(notes []string) string {
	for _, n := range notes {
		if strings.HasPrefix(n, "oldCode: ") && strings.Contains(n, "pg_stat_statements") {
			return n
		}
	}
	return "(no note about captured statements)"
}

func procedureVerdicts(rep *rehearsal.RunReport) map[string]string {
	verdicts := map[string]string{}
	for _, p := range rep.Procedures {
		verdicts[p.Name] = p.Verdict
	}
	return verdicts
}

// skipShort skips what takes minutes (servers built, PostgreSQL and
// containers run) under -short; .ci/run never passes -short.
func skipShort(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIPPING " + what + ": -short was given, and it runs real servers for minutes")
	}
}

// `rehearse run` of the sample with the ops team's runbooks declared as
// procedures next to the built-ins: each gets its measured verdict, its
// steps and checks in the report, and the policy applies to it.
func TestRunRunbookLocal(t *testing.T) {
	out := t.TempDir()
	res := runSample(t, rehearsal.RunOptions{Scenario: "sample-1.0-to-1.1-runbook.yaml", Out: out, NoMatrix: true})
	assert.Equal(t, map[string]string{
		"standard":      procedure.VerdictFailed,
		"schema-revert": procedure.VerdictFailed,
		"full-restore":  procedure.VerdictRecovered,
		// The fix-up between the downs gets 1.0 running, but 000010's down
		// re-creates agent_heartbeats empty: N-era rows lost.
		"revert-with-fixup": procedure.VerdictDegraded,
		// golang-migrate keeps one row: the DELETE empties it and 1.0
		// re-applies 000001 over the existing schema at every boot.
		"delete-bookkeeping-rows": procedure.VerdictFailed,
		// pg_restore into a database 1.1 still serves.
		"hasty-restore": procedure.VerdictFailed,
	}, procedureVerdicts(res.Report))
	byName := map[string]procedure.Result{}
	for _, p := range res.Report.Procedures {
		byName[p.Name] = p
	}
	fixup := byName["revert-with-fixup"]
	assert.Nil(t, fixup.FailedStep(), "every step of the runbook works")
	assert.Contains(t, fixup.Check(procedure.CheckNEraKept).Summary, "agent_heartbeats")
	assert.Equal(t, procedure.StatusOK, fixup.Check(procedure.CheckSmoke).Status)
	del := byName["delete-bookkeeping-rows"]
	assert.Nil(t, del.FailedStep(), "the DELETE itself works; what it did shows at 1.0's boot")
	assert.Contains(t, del.Check(procedure.CheckServerReady).Summary, "crash loop")
	hasty := byName["hasty-restore"]
	require.NotNil(t, hasty.FailedStep())
	assert.Equal(t, procedure.StepRestore, hasty.FailedStep().Name)
	assert.Contains(t, hasty.FailedStep().Error, "still run")
	assert.Empty(t, res.Report.Findings, "the policy allows the runbook to be degraded")

	md, err := os.ReadFile(filepath.Join(out, "procedures.md"))
	require.NoError(t, err)
	for _, want := range []string{"### revert-with-fixup: degraded", "fix up rows 1.0 cannot hold", "### delete-bookkeeping-rows: failed", "forget 1.1's migrations"} {
		assert.Contains(t, string(md), want)
	}
}
