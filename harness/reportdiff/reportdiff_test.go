package reportdiff

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// mig is a migration with every check ok and taking secs seconds.
func mig(version string, v matrix.Verdict, secs float64) matrix.MigrationResult {
	m := matrix.MigrationResult{Version: version, Name: "m" + version, Verdict: v}
	for _, nc := range m.Checks.List() {
		*nc.Check = matrix.Check{Status: matrix.StatusOK, Seconds: secs}
	}
	return m
}

func rep(run string, ms ...matrix.MigrationResult) *matrix.Report {
	return &matrix.Report{SchemaVersion: matrix.SchemaVersion, RunID: run, From: "v1.0.0", To: "main", Results: ms}
}

func TestCompare(t *testing.T) {
	withCheck := func(m matrix.MigrationResult, name string, c matrix.Check) matrix.MigrationResult {
		*m.Checks.Get(name) = c
		return m
	}
	tests := []struct {
		name    string
		old     *matrix.Report
		new     *matrix.Report
		opts    Options
		worse   bool
		reasons []string
		check   func(t *testing.T, r Result)
	}{
		{
			name: "identical reports",
			old:  rep("a", mig("1", matrix.VerdictSafe, 1)), new: rep("b", mig("1", matrix.VerdictSafe, 1)),
			check: func(t *testing.T, r Result) { assert.True(t, r.empty()) },
		},
		{
			name:    "every worsening step of the order counts",
			old:     rep("a", mig("1", matrix.VerdictSafe, 1), mig("2", matrix.VerdictRevertible, 1), mig("3", matrix.VerdictLossyRevert, 1), mig("4", matrix.VerdictRestoreOnly, 1)),
			new:     rep("b", mig("1", matrix.VerdictRevertible, 1), mig("2", matrix.VerdictLossyRevert, 1), mig("3", matrix.VerdictRestoreOnly, 1), mig("4", matrix.VerdictBroken, 1)),
			worse:   true,
			reasons: []string{"1_m1: verdict safe → revertible", "2_m2: verdict revertible → lossy-revert", "3_m3: verdict lossy-revert → restore-only", "4_m4: verdict restore-only → broken"},
			check: func(t *testing.T, r Result) {
				assert.Len(t, r.WorseVerdicts, 4)
				assert.Empty(t, r.BetterVerdicts)
			},
		},
		{
			name: "better is not worse",
			old:  rep("a", mig("1", matrix.VerdictBroken, 1), mig("2", matrix.VerdictRestoreOnly, 1)),
			new:  rep("b", mig("1", matrix.VerdictRevertible, 1), mig("2", matrix.VerdictSafe, 1)),
			check: func(t *testing.T, r Result) {
				require.Len(t, r.BetterVerdicts, 2)
				assert.Equal(t, VerdictChange{Migration: Migration{"1", "m1", matrix.VerdictRevertible}, Old: matrix.VerdictBroken, New: matrix.VerdictRevertible}, r.BetterVerdicts[0])
			},
		},
		{
			name: "not-reached is neither better nor worse",
			old:  rep("a", mig("1", matrix.VerdictNotReached, 0), mig("2", matrix.VerdictSafe, 1)),
			new:  rep("b", mig("1", matrix.VerdictBroken, 1), mig("2", matrix.VerdictNotReached, 0)),
			check: func(t *testing.T, r Result) {
				assert.Len(t, r.UnknownVerdicts, 2)
				assert.Empty(t, r.WorseVerdicts)
				assert.Empty(t, r.BetterVerdicts)
			},
		},
		{
			name:    "new and removed migrations; a new broken one is worse",
			old:     rep("a", mig("1", matrix.VerdictSafe, 1), mig("2", matrix.VerdictSafe, 1)),
			new:     rep("b", mig("1", matrix.VerdictSafe, 1), mig("3", matrix.VerdictRevertible, 1), mig("4", matrix.VerdictBroken, 1)),
			worse:   true,
			reasons: []string{"4_m4: new migration is broken"},
			check: func(t *testing.T, r Result) {
				assert.Equal(t, []Migration{{"3", "m3", matrix.VerdictRevertible}, {"4", "m4", matrix.VerdictBroken}}, r.Added)
				assert.Equal(t, []Migration{{"2", "m2", matrix.VerdictSafe}}, r.Removed)
			},
		},
		{
			name:    "a check that now fails is worse even when the verdict holds",
			old:     rep("a", mig("1", matrix.VerdictRestoreOnly, 1)),
			new:     rep("b", withCheck(mig("1", matrix.VerdictRestoreOnly, 1), "oldCode", matrix.Check{Status: matrix.StatusFail, Error: "probe 2 fails", Seconds: 1})),
			worse:   true,
			reasons: []string{"1_m1: oldCode ok → fail"},
			check: func(t *testing.T, r Result) {
				require.Len(t, r.Checks, 1)
				assert.Equal(t, "probe 2 fails", r.Checks[0].Error)
			},
		},
		{
			name: "a check that stops failing or starts warning is reported, not worse",
			old:  rep("a", withCheck(mig("1", matrix.VerdictRevertible, 1), "roundTrip", matrix.Check{Status: matrix.StatusFail, Seconds: 1})),
			new:  rep("b", withCheck(mig("1", matrix.VerdictRevertible, 1), "nextEraLoss", matrix.Check{Status: matrix.StatusWarn, Seconds: 1})),
			check: func(t *testing.T, r Result) {
				require.Len(t, r.Checks, 2)
				assert.Equal(t, "nextEraLoss", r.Checks[0].Check)
				assert.False(t, r.Checks[0].Worse)
				assert.Equal(t, matrix.StatusOK, r.Checks[1].New)
			},
		},
		{
			name:    "gate turning blocking is worse",
			old:     rep("a", mig("1", matrix.VerdictSafe, 1)),
			new:     func() *matrix.Report { r := rep("b", mig("1", matrix.VerdictSafe, 1)); r.Blocking = true; return r }(),
			worse:   true,
			reasons: []string{"the gate now blocks"},
		},
		{
			name: "timing: default 50% and at least 1s",
			old:  rep("a", mig("1", matrix.VerdictSafe, 1), mig("2", matrix.VerdictSafe, 10), mig("3", matrix.VerdictSafe, 0.1)),
			// 1 → 2.1 (+110%, +1.1s): reported; 10 → 14 (+40%): not; 0.1 → 0.9 (+800%, +0.8s): noise.
			new: rep("b", mig("1", matrix.VerdictSafe, 2.1), mig("2", matrix.VerdictSafe, 14), mig("3", matrix.VerdictSafe, 0.9)),
			check: func(t *testing.T, r Result) {
				assert.Len(t, r.Slower, len(matrix.CheckNames))
				for _, s := range r.Slower {
					assert.Equal(t, "1", s.Migration.Version)
					assert.InDelta(t, 1.1, s.Growth(), 1e-9)
				}
			},
		},
		{
			name: "timing threshold option",
			old:  rep("a", mig("2", matrix.VerdictSafe, 10)),
			new:  rep("b", mig("2", matrix.VerdictSafe, 14)),
			opts: Options{TimingThreshold: 0.3},
			check: func(t *testing.T, r Result) {
				assert.Len(t, r.Slower, len(matrix.CheckNames))
			},
		},
		{
			name: "skipped checks have no timing to compare",
			old:  rep("a", withCheck(mig("1", matrix.VerdictSafe, 1), "up", matrix.Check{Status: matrix.StatusSkip})),
			new:  rep("b", withCheck(mig("1", matrix.VerdictSafe, 1), "up", matrix.Check{Status: matrix.StatusOK, Seconds: 30})),
			check: func(t *testing.T, r Result) {
				assert.Empty(t, r.Slower)
				require.Len(t, r.Checks, 1)
				assert.False(t, r.Checks[0].Worse)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compare(tt.old, tt.new, tt.opts)
			assert.Equal(t, tt.worse, r.Worse())
			assert.Equal(t, tt.reasons, r.WorseReasons())
			if tt.check != nil {
				tt.check(t, r)
			}
			// Both renderers work on every case and agree on worse or not.
			var text, md bytes.Buffer
			require.NoError(t, WriteText(&text, &r))
			require.NoError(t, WriteMarkdown(&md, &r))
			assert.Equal(t, tt.worse, bytes.Contains(text.Bytes(), []byte("WORSE:")), text.String())
			assert.Equal(t, tt.worse, bytes.Contains(md.Bytes(), []byte("### Regressions")), md.String())
		})
	}
}

func TestRenderers(t *testing.T) {
	old := rep("night-1", mig("1", matrix.VerdictSafe, 1), mig("2", matrix.VerdictSafe, 1))
	nw := rep("night-2", mig("1", matrix.VerdictRestoreOnly, 3), mig("3", matrix.VerdictSafe, 1))
	*nw.Results[0].Checks.Get("downOnData") = matrix.Check{Status: matrix.StatusFail, Error: "value too long | for <type>", Seconds: 3}
	r := Compare(old, nw, Options{})

	var text bytes.Buffer
	require.NoError(t, WriteText(&text, &r))
	assert.Equal(t, `rehearse diff: night-1 (v1.0.0 → main) → night-2 (v1.0.0 → main)

verdicts that got worse:
  1_m1: safe → restore-only

new migrations:
  3_m3: safe

removed migrations:
  2_m2: safe

checks that changed:
  1_m1 downOnData: ok → fail (value too long | for <type>)

slower by more than 50% and 1.0s:
  1_m1 up: 1.00s → 3.00s (+200%)
  1_m1 oldCode: 1.00s → 3.00s (+200%)
  1_m1 contract: 1.00s → 3.00s (+200%)
  1_m1 downPristine: 1.00s → 3.00s (+200%)
  1_m1 schemaRestored: 1.00s → 3.00s (+200%)
  1_m1 downOnData: 1.00s → 3.00s (+200%)
  1_m1 nEraKept: 1.00s → 3.00s (+200%)
  1_m1 nextEraLoss: 1.00s → 3.00s (+200%)
  1_m1 roundTrip: 1.00s → 3.00s (+200%)

WORSE: 2 regression(s):
  1_m1: verdict safe → restore-only
  1_m1: downOnData ok → fail
`, text.String())

	var md bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, &r))
	s := md.String()
	assert.Contains(t, s, "## rehearse diff: ❌ something got worse")
	assert.Contains(t, s, "- 1_m1: verdict safe → restore-only\n- 1_m1: downOnData ok → fail\n")
	assert.Contains(t, s, "| `1_m1` | safe | restore-only |")
	assert.Contains(t, s, "| `1_m1` | downOnData | ok | fail ❌ | value too long \\| for \\<type> |")
	assert.Contains(t, s, "| `1_m1` | up | 1.00s | 3.00s | +200% |")
	assert.Contains(t, s, "- `3_m3`: safe")
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	good, err := json.Marshal(rep("x", mig("1", matrix.VerdictSafe, 1)))
	require.NoError(t, err)

	r, err := Load(write("good.json", string(good)))
	require.NoError(t, err)
	assert.Equal(t, "x", r.RunID)
	assert.Len(t, r.Results, 1)

	tests := []struct{ name, body, want string }{
		{"other schema", `{"schemaVersion": 2, "migrations": []}`, "v2.json: schemaVersion 2, but this rehearse reads schemaVersion 1"},
		{"no schema", `{"migrations": []}`, "no schemaVersion: not a rehearse matrix.json"},
		{"not json", `<html>`, "not a rehearse matrix.json"},
		{"no migrations", `{"schemaVersion": 1}`, `no "migrations" list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "v2.json"
			_, err := Load(write(name, tt.body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), name)
		})
	}
	_, err = Load(filepath.Join(dir, "missing.json"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.json")
}
