package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/reportdiff"
)

func TestGateCommand(t *testing.T) {
	clean := writeReport(t, 1, matrix.VerdictSafe, matrix.VerdictLossyRevert)
	broken := writeReport(t, 1, matrix.VerdictSafe, matrix.VerdictBroken)
	dir := t.TempDir()
	waiver := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(waiver, []byte(`apiVersion: rehearse.dev/v1
kind: Policy
waivers:
  - migration: "000003"
    reason: "dropped table is rebuilt by sync"
    expires: 2026-06-30
`), 0o644))
	typo := filepath.Join(dir, "typo.yaml")
	require.NoError(t, os.WriteFile(typo, []byte("apiVersion: rehearse.dev/v1\nkind: Policy\nverdicts:\n  brokn: warn\n"), 0o644))

	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"default policy passes lossy-revert with a warning", []string{"gate", clean}, 0,
			[]string{"policy default", "warn  000003_m: verdict lossy-revert", "passed: nothing blocks (1 warning(s))"}},
		{"default policy blocks broken", []string{"gate", broken}, 1,
			[]string{"block 000003_m: verdict broken (policy default: verdicts.broken=block)", "BLOCKED: 1 blocking finding(s)"}},
		{"an active waiver lets it pass and is shown", []string{"gate", broken, "--policy", waiver, "--date", "2026-06-30"}, 0,
			[]string{"warn  000003_m: verdict broken", "waived by " + waiver + ":4 until 2026-06-30", "waiver: dropped table is rebuilt by sync"}},
		{"the same waiver expired blocks", []string{"gate", broken, "--policy", waiver, "--date", "2026-07-01"}, 1,
			[]string{"block 000003_m", "expired on 2026-06-30", "waiver: expired 2026-06-30: dropped table is rebuilt by sync"}},
		{"policy typo exits 2", []string{"gate", broken, "--policy", typo}, 2, nil},
		{"bad date exits 2", []string{"gate", broken, "--date", "tomorrow"}, 2, nil},
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

	_, _, err := runSubcommand(t, "gate", broken, "--policy", typo)
	require.Error(t, err)
	assert.Contains(t, err.Error(), typo+`:4: unknown verdict "brokn"`)

	// --out rewrites the reports with the findings.
	out := filepath.Join(dir, "out")
	_, code, _ := runSubcommand(t, "gate", broken, "--out", out)
	assert.Equal(t, 1, code)
	r, err := reportdiff.Load(filepath.Join(out, "matrix.json"))
	require.NoError(t, err)
	assert.True(t, r.Blocking)
	require.Len(t, r.Findings, 1)
	assert.Equal(t, "block", r.Findings[0].Action)
	for _, f := range []string{"matrix.md", "matrix.html", "junit.xml"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
}
