package rehearsal_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/rehearsal"
)

// Every chaos fault of the sample's chaos scenario on the local backend:
// a real PostgreSQL crashed and sessions killed, the real sample servers
// killed and restarted, real dumps broken. The verdicts are the sample's.
func TestRunChaosLocal(t *testing.T) {
	out := t.TempDir()
	res := runSample(t, rehearsal.RunOptions{Scenario: "sample-1.0-to-1.1-chaos.yaml", Out: out})

	byPoint := map[string]chaos.Cell{}
	faults := map[string]bool{}
	for _, c := range res.Report.Chaos {
		byPoint[c.Fault+"@"+c.Point] = c
		faults[c.Fault] = true
		assert.NotEqual(t, chaos.VerdictError, c.Verdict, "%s@%s: %s", c.Fault, c.Point, c.Detail)
		assert.NotEmpty(t, c.Replay)
		assert.Contains(t, c.Replay, "--faults "+c.Fault+" --at "+c.Point+" --seed 7")
	}
	for _, f := range chaos.Faults {
		assert.True(t, faults[f], "fault %s is reported", f)
	}
	// The sample's golang-migrate files are single transactions: a kill
	// anywhere in the upgrade leaves nothing applied but the version dirty,
	// the re-run upgrade refuses, and `migrate force` recovers.
	ups := 0
	for _, c := range res.Report.Chaos {
		if !strings.HasPrefix(c.Point, "up:") || c.Fault == chaos.KillHook {
			continue
		}
		ups++
		assert.Equal(t, chaos.VerdictManual, c.Verdict, "%s@%s: %s\n%s", c.Fault, c.Point, c.Recovery, c.Detail)
		assert.Equal(t, 0, c.Effective, c.StateFound)
		assert.False(t, c.HalfApplied)
		assert.Contains(t, c.Bookkeeping, ", dirty")
		assert.Contains(t, c.Recovery, "migrate force")
		assert.True(t, c.NEraKept)
	}
	assert.Equal(t, 9, ups, "8 kill-migration boundaries and 1 kill-postgres")

	// schema-revert stops at 000008's down without faults too (a narrowing
	// that fails on 1.1-era data): the downs after it are never reached.
	for _, c := range res.Report.Chaos {
		if !strings.HasPrefix(c.Point, "down:") {
			continue
		}
		if c.Migration >= "000008" {
			assert.Equal(t, chaos.VerdictAsWithoutFault, c.Verdict, "%s@%s: %s", c.Fault, c.Point, c.Recovery)
		} else {
			assert.Equal(t, chaos.VerdictNotReached, c.Verdict, "%s@%s: %s", c.Fault, c.Point, c.Detail)
		}
	}
	want := map[string]string{
		"kill-postgres@restore":                 chaos.VerdictRecovered,
		"crash-loop@rollback:standard":          chaos.VerdictNotReached,
		"crash-loop@rollback:schema-revert":     chaos.VerdictNotReached,
		"crash-loop@rollback:full-restore":      chaos.VerdictRecovered,
		"ready-timeout@upgrade":                 chaos.VerdictAsWithoutFault,
		"backup-fail@backup:schema-revert":      chaos.VerdictDetected,
		"backup-fail@backup:full-restore":       chaos.VerdictDetected,
		"backup-empty@backup:schema-revert":     chaos.VerdictDetected,
		"backup-empty@backup:full-restore":      chaos.VerdictDetected,
		"backup-truncated@backup:schema-revert": chaos.VerdictDetected,
		"backup-truncated@backup:full-restore":  chaos.VerdictDetected,
		// Cluster faults: no Kubernetes API on the local backend.
		"kill-hook@up:000009:0":     chaos.VerdictSkipped,
		"kill-postgres-pod@restore": chaos.VerdictSkipped,
	}
	for point, verdict := range want {
		c, ok := byPoint[point]
		if assert.True(t, ok, "cell %s", point) {
			assert.Equal(t, verdict, c.Verdict, "%s: %s\n%s\n%s", point, c.StateFound, c.Recovery, c.Detail)
		}
	}
	assert.Contains(t, byPoint["crash-loop@rollback:full-restore"].StateFound, "crash loop", "the procedure saw the crash")
	assert.Contains(t, byPoint["kill-hook@up:000009:0"].Detail, "SKIPPED: kill-hook deletes a pod through the Kubernetes API, and on the local backend", "the report says why")
	assert.Contains(t, byPoint["backup-truncated@backup:full-restore"].StateFound, "incomplete", "pg_restore read the cut dump through")
	assert.Contains(t, byPoint["backup-truncated@backup:full-restore"].StateFound, "still the post-upgrade state")

	// matrix.json carries the cells; JUnit has a chaos suite.
	b, err := os.ReadFile(filepath.Join(out, "matrix.json"))
	require.NoError(t, err)
	var doc struct {
		Chaos []map[string]any `json:"chaos"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Len(t, doc.Chaos, len(res.Report.Chaos))
	for _, k := range []string{"fault", "point", "stateFound", "recovered", "nEraKept", "replay"} {
		assert.Contains(t, doc.Chaos[0], k)
	}
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	require.NoError(t, err)
	assert.Contains(t, string(junit), `<testsuite name="chaos"`)
}

// Faults at a declared procedure's points (the runbook scenario's
// revert-with-fixup): its helm-rollback step's server crashed, its own
// backup step's dump cut in half, on the local backend.
func TestRunChaosDeclaredProcedureLocal(t *testing.T) {
	res := runSample(t, rehearsal.RunOptions{
		Scenario: "sample-1.0-to-1.1-runbook.yaml", NoMatrix: true,
		Chaos: rehearsal.ChaosOptions{Faults: []string{
			"crash-loop@rollback:revert-with-fixup",
			"backup-truncated@backup:revert-with-fixup",
			"kill-migration@down:000011:1",
		}},
	})
	byPoint := map[string]chaos.Cell{}
	for _, c := range res.Report.Chaos {
		byPoint[c.Fault+"@"+c.Point] = c
		t.Logf("%s@%s: %s: %s | %s | %s", c.Fault, c.Point, c.Verdict, c.StateFound, c.Recovery, c.Detail)
	}
	require.Len(t, res.Report.Chaos, 4, "two cells, and the down point in both procedures that apply 000011's down")
	crash := byPoint["crash-loop@rollback:revert-with-fixup"]
	assert.Equal(t, "revert-with-fixup", crash.Procedure)
	// Its own wait-ready step sees the crash; re-run from its rollback step
	// it ends as it does without the fault (degraded: agent_heartbeats).
	assert.Equal(t, chaos.VerdictAsWithoutFault, crash.Verdict, crash.Recovery)
	assert.Contains(t, crash.StateFound, `stopped at step "wait for ready"`)
	assert.Contains(t, crash.StateFound, "crash loop")
	assert.Contains(t, crash.Recovery, `revert-with-fixup resumed at "rollback server to N": degraded`)

	backup := byPoint["backup-truncated@backup:revert-with-fixup"]
	assert.Equal(t, "revert-with-fixup", backup.Procedure)
	assert.Equal(t, chaos.VerdictDetected, backup.Verdict, backup.Recovery)
	assert.Contains(t, backup.StateFound, "before-revert.dump is incomplete", "its own verify-backup step read the cut dump")
	assert.Contains(t, backup.StateFound, "still the post-upgrade state")
	assert.Contains(t, backup.Recovery, `resumed at "backup": degraded`)
	assert.False(t, backup.NEraKept, "the re-run loses agent_heartbeats' rows, as revert-with-fixup does without the fault")

	downs := map[string]chaos.Cell{}
	for _, c := range res.Report.Chaos {
		if c.Point == "down:000011:1" {
			downs[c.Procedure] = c
		}
	}
	require.Len(t, downs, 2, "schema-revert and revert-with-fixup")
	for name, c := range downs {
		assert.Equal(t, "000011_backfill_renewal_state", c.Migration, name)
		assert.Contains(t, c.Recovery, name+` resumed at "down 000011_backfill_renewal_state"`)
		assert.NotEqual(t, chaos.VerdictError, c.Verdict, "%s: %s", name, c.Detail)
		assert.NotEqual(t, chaos.VerdictNotReached, c.Verdict, "%s: %s", name, c.Detail)
	}
	// revert-with-fixup recovers to its own degraded end.
	assert.Equal(t, chaos.VerdictAsWithoutFault, downs["revert-with-fixup"].Verdict, downs["revert-with-fixup"].Recovery)
}
