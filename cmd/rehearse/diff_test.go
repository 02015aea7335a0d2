package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/report"
)

// writeReport writes a matrix.json with one migration per verdict and
// every check ok, taking secs seconds each.
func writeReport(t *testing.T, secs float64, verdicts ...matrix.Verdict) string {
	t.Helper()
	r := &matrix.Report{SchemaVersion: matrix.SchemaVersion, RunID: t.Name(), From: "000001", To: "000009"}
	for i, v := range verdicts {
		m := matrix.MigrationResult{Version: "00000" + string(rune('2'+i)), Name: "m", Verdict: v}
		for _, nc := range m.Checks.List() {
			*nc.Check = matrix.Check{Status: matrix.StatusOK, Seconds: secs}
		}
		r.Results = append(r.Results, m)
	}
	f, err := os.CreateTemp(t.TempDir(), "matrix-*.json")
	require.NoError(t, err)
	require.NoError(t, report.WriteJSON(f, r))
	require.NoError(t, f.Close())
	return f.Name()
}

// runSubcommand runs diff or gate under a bare root, so these tests do not
// depend on how main wires the other commands.
func runSubcommand(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	root := &cobra.Command{Use: "rehearse", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(newDiffCmd(), newGateCmd())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), exitCodeOf(err), err
}

func TestDiffCommand(t *testing.T) {
	old := writeReport(t, 1, matrix.VerdictSafe, matrix.VerdictRevertible)
	same := writeReport(t, 1, matrix.VerdictSafe, matrix.VerdictRevertible)
	worse := writeReport(t, 1, matrix.VerdictSafe, matrix.VerdictBroken)
	slower := writeReport(t, 1.8, matrix.VerdictSafe, matrix.VerdictRevertible)
	bad := filepath.Join(t.TempDir(), "v2.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"schemaVersion":2,"migrations":[]}`), 0o644))

	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"nothing changed", []string{"diff", old, same}, 0, []string{"no differences"}},
		{"worse verdict exits 1", []string{"diff", old, worse}, 1, []string{"000003_m: revertible → broken", "WORSE: 1 regression(s)"}},
		{"better is fine", []string{"diff", worse, old}, 0, []string{"verdicts that got better", "000003_m: broken → revertible"}},
		{"markdown", []string{"diff", old, worse, "--format", "markdown"}, 1, []string{"## rehearse diff: ❌ something got worse", "| `000003_m` | revertible | broken |"}},
		{"json", []string{"diff", old, worse, "--format", "json"}, 1, []string{`"worseVerdicts": [`, `"new": "broken"`}},
		{"timing under the default threshold", []string{"diff", old, slower}, 0, []string{"no differences"}},
		{"timing over a lower threshold, but 1s minimum", []string{"diff", old, slower, "--threshold", "0.5", "--min-seconds", "0.5"}, 0, []string{"slower by more than 50% and 0.5s", "000002_m up: 1.00s → 1.80s (+80%)"}},
		{"other schema version exits 2", []string{"diff", old, bad}, 2, nil},
		{"unknown format exits 2", []string{"diff", old, same, "--format", "xml"}, 2, nil},
		{"bad threshold exits 2", []string{"diff", old, same, "--threshold", "0"}, 2, nil},
		{"one argument exits 2", []string{"diff", old}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, err := runSubcommand(t, tt.args...)
			assert.Equal(t, tt.code, code, "out: %s err: %v", out, err)
			for _, s := range tt.contains {
				assert.Contains(t, out, s)
			}
		})
	}

	_, _, err := runSubcommand(t, "diff", old, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "schemaVersion 2, but this rehearse reads schemaVersion 1")
	_, _, err = runSubcommand(t, "diff", old, worse)
	assert.True(t, strings.HasPrefix(err.Error(), "1 regression(s) from "), err.Error())
}
