package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

const header = "apiVersion: rehearse.dev/v1\nkind: Policy\n"

func TestLoadExample(t *testing.T) {
	p, err := Load(filepath.Join("testdata", "policy.yaml"))
	require.NoError(t, err)
	assert.Equal(t, Block, p.Verdicts[matrix.VerdictRestoreOnly])
	assert.Equal(t, Warn, p.Checks[matrix.CheckOldCode])
	// Not named in the file: the default stays.
	assert.Equal(t, Warn, p.Checks[matrix.CheckNextEraLoss])
	assert.Equal(t, Block, p.Checks[matrix.CheckDownPristine])
	require.Len(t, p.Waivers, 2)
	assert.Equal(t, Waiver{
		Migration: "000007", Check: "downOnData",
		Reason:  "down is replaced by a full restore, see runbook section 4",
		Expires: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), Line: 21,
	}, p.Waivers[0])
	assert.Equal(t, matrix.VerdictRestoreOnly, p.Waivers[1].Verdict)
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown verdict", header + "verdicts:\n  broken: block\n  saf: ignore\n",
			`policy.yaml:5: unknown verdict "saf" (valid: safe, revertible, lossy-revert, restore-only, broken, not-reached)`},
		{"unknown check", header + "checks:\n  downOnDatta: block\n",
			`policy.yaml:4: unknown check "downOnDatta" (valid: up, oldCode,`},
		{"unknown action", header + "checks:\n  up: fail\n",
			`policy.yaml:4: checks.up: unknown action "fail" (valid: block, warn, ignore)`},
		{"verdicts not a mapping", header + "verdicts: [broken]\n",
			`policy.yaml:3: verdicts must be a mapping, got a list`},
		{"unknown top-level key", header + "verdict:\n  broken: block\n",
			`policy.yaml:3: unknown key "verdict" in the policy (valid: apiVersion, kind, verdicts, checks, waivers)`},
		{"duplicate key", header + "checks:\n  up: block\n  up: warn\n",
			`policy.yaml:5: duplicate key "up" in checks`},
		{"wrong apiVersion", "apiVersion: rehearse.dev/v2\nkind: Policy\n",
			`policy.yaml:1: apiVersion "rehearse.dev/v2" is not supported (want rehearse.dev/v1)`},
		{"wrong kind", "apiVersion: rehearse.dev/v1\nkind: Scenario\n",
			`policy.yaml:2: kind "Scenario" is not a policy`},
		{"missing apiVersion", "kind: Policy\nchecks: {up: block}\n",
			`policy.yaml:1: missing apiVersion or kind`},
		{"empty", "", `policy.yaml: empty policy file`},
		{"not yaml", header + "checks: {up: block\n", `policy.yaml: line`},
		{"waiver without reason", header + "waivers:\n  - migration: \"000007\"\n    check: downOnData\n    expires: 2027-01-31\n",
			`policy.yaml:4: waiver for 000007 has no reason`},
		{"waiver blank reason", header + "waivers:\n  - migration: \"000007\"\n    reason: \"  \"\n    expires: 2027-01-31\n",
			`policy.yaml:4: waiver for 000007 has no reason`},
		{"waiver without expiry", header + "waivers:\n  - migration: \"000007\"\n    reason: ok\n",
			`policy.yaml:4: waiver for 000007 has no expires date`},
		{"waiver bad date", header + "waivers:\n  - migration: \"000007\"\n    reason: ok\n    expires: 31/01/2027\n",
			`policy.yaml:6: waiver expires "31/01/2027" is not a date: write YYYY-MM-DD`},
		{"waiver without migration", header + "waivers:\n  - reason: ok\n    expires: 2027-01-31\n",
			`policy.yaml:4: waiver has no migration`},
		{"waiver check and verdict", header + "waivers:\n  - migration: \"7\"\n    check: up\n    verdict: broken\n    reason: ok\n    expires: 2027-01-31\n",
			`policy.yaml:4: waiver for 7 names both check and verdict`},
		{"waiver unknown check", header + "waivers:\n  - migration: \"7\"\n    check: rountTrip\n    reason: ok\n    expires: 2027-01-31\n",
			`policy.yaml:5: unknown check "rountTrip"`},
		{"waiver unknown verdict", header + "waivers:\n  - migration: \"7\"\n    verdict: restore_only\n    reason: ok\n    expires: 2027-01-31\n",
			`policy.yaml:5: unknown verdict "restore_only"`},
		{"waiver unknown key", header + "waivers:\n  - migration: \"7\"\n    until: 2027-01-31\n",
			`policy.yaml:5: unknown key "until" in a waiver`},
		{"waivers not a list", header + "waivers:\n  migration: \"7\"\n",
			`policy.yaml:4: waivers must be a list, got a mapping`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("policy.yaml", []byte(tt.src))
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tt.want), "got  %s\nwant %s...", err, tt.want)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope.yaml")
}

func check(s matrix.Status, msg string) matrix.Check { return matrix.Check{Status: s, Error: msg} }

func okChecks() matrix.Checks {
	var c matrix.Checks
	for _, nc := range c.List() {
		*nc.Check = matrix.Check{Status: matrix.StatusOK}
	}
	return c
}

// report builds a report with one migration per given verdict; mutate
// tweaks checks by migration index.
func report(verdicts ...matrix.Verdict) *matrix.Report {
	r := &matrix.Report{SchemaVersion: matrix.SchemaVersion}
	for i, v := range verdicts {
		r.Results = append(r.Results, matrix.MigrationResult{
			Version: "00000" + string(rune('1'+i)), Name: "m" + string(rune('1'+i)), Verdict: v, Checks: okChecks(),
		})
	}
	return r
}

var now = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

type want struct {
	migration, check, verdict, action, reason, waiver string
}

func TestEvaluate(t *testing.T) {
	waiverFile := func(w string) *Policy {
		p, err := Parse("policy.yaml", []byte(header+"waivers:\n"+w))
		require.NoError(t, err)
		return p
	}
	downFails := func() *matrix.Report {
		r := report(matrix.VerdictRestoreOnly)
		r.Results[0].Checks.DownOnData = matrix.Check{Status: matrix.StatusFail, Error: `column "serial" contains null values`, SQLState: "23502", File: "x.down.sql", Line: 3}
		return r
	}
	tests := []struct {
		name     string
		policy   *Policy
		report   *matrix.Report
		want     []want
		blocking bool
	}{
		{
			name: "good verdicts need nothing", policy: Default(),
			report: report(matrix.VerdictSafe, matrix.VerdictRevertible),
		},
		{
			name: "broken blocks by default", policy: Default(),
			report:   report(matrix.VerdictBroken),
			want:     []want{{migration: "000001_m1", verdict: "broken", action: "block", reason: "verdict broken (policy default: verdicts.broken=block)"}},
			blocking: true,
		},
		{
			name: "lossy-revert, restore-only and not-reached warn by default", policy: Default(),
			report: report(matrix.VerdictLossyRevert, matrix.VerdictRestoreOnly, matrix.VerdictNotReached),
			want: []want{
				{migration: "000001_m1", verdict: "lossy-revert", action: "warn"},
				{migration: "000002_m2", verdict: "restore-only", action: "warn"},
				{migration: "000003_m3", verdict: "not-reached", action: "warn"},
			},
		},
		{
			name: "down defect blocks with its evidence", policy: Default(), report: downFails(),
			want: []want{
				{migration: "000001_m1", verdict: "restore-only", action: "warn"},
				{migration: "000001_m1", check: "downOnData", action: "block",
					reason: `downOnData failed: column "serial" contains null values (SQLSTATE 23502) at x.down.sql:3 (policy default: checks.downOnData=block)`},
			},
			blocking: true,
		},
		{
			name: "every down defect blocks by default, oldCode warns", policy: Default(),
			report: func() *matrix.Report {
				r := report(matrix.VerdictRestoreOnly)
				c := &r.Results[0].Checks
				c.SchemaRestored = check(matrix.StatusFail, "column order differs")
				c.NEraKept = check(matrix.StatusFail, "certificates.serial differs")
				c.RoundTrip = check(matrix.StatusFail, "second up fails")
				c.DownPristine = check(matrix.StatusFail, "syntax error")
				c.OldCode = check(matrix.StatusFail, "probe 3 fails")
				return r
			}(),
			want: []want{
				{verdict: "restore-only", action: "warn"},
				{check: "oldCode", action: "warn"},
				{check: "downPristine", action: "block"},
				{check: "schemaRestored", action: "block"},
				{check: "nEraKept", action: "block"},
				{check: "roundTrip", action: "block"},
			},
			blocking: true,
		},
		{
			name: "contract failures warn by default, never block", policy: Default(),
			report: func() *matrix.Report {
				r := report(matrix.VerdictRevertible)
				r.Results[0].Checks.Contract = check(matrix.StatusFail, "1 of 12 contract probes break")
				return r
			}(),
			want: []want{{check: "contract", action: "warn",
				reason: "contract failed: 1 of 12 contract probes break (policy default: checks.contract=warn)"}},
		},
		{
			name: "a warn-status check never blocks; ok and skip never count", policy: Default(),
			report: func() *matrix.Report {
				r := report(matrix.VerdictRevertible)
				r.Results[0].Checks.DownOnData = check(matrix.StatusWarn, "slow")
				r.Results[0].Checks.RoundTrip = check(matrix.StatusSkip, "not applicable")
				return r
			}(),
			want: []want{{check: "downOnData", action: "warn", reason: "downOnData warns: slow (policy default: checks.downOnData=block; a warning never blocks)"}},
		},
		{
			name: "ignore drops the finding",
			policy: func() *Policy {
				p := Default()
				p.Checks[matrix.CheckDownOnData] = Ignore
				p.Verdicts[matrix.VerdictRestoreOnly] = Ignore
				return p
			}(),
			report: downFails(),
		},
		{
			name:   "active check waiver turns block into warn and names itself",
			policy: waiverFile("  - migration: \"000001\"\n    check: downOnData\n    reason: restore instead\n    expires: 2026-03-15\n"),
			report: downFails(),
			want: []want{
				{verdict: "restore-only", action: "warn", waiver: ""},
				{check: "downOnData", action: "warn", waiver: "restore instead", reason: "waived by policy.yaml:4 until 2026-03-15"},
			},
		},
		{
			name:   "expired waiver blocks and says it expired",
			policy: waiverFile("  - migration: \"000001\"\n    check: downOnData\n    reason: restore instead\n    expires: 2026-03-14\n"),
			report: downFails(),
			want: []want{
				{verdict: "restore-only", action: "warn"},
				{check: "downOnData", action: "block", waiver: "expired 2026-03-14: restore instead", reason: "waiver at policy.yaml:4 expired on 2026-03-14"},
			},
			blocking: true,
		},
		{
			name:     "expired waiver on a warning makes it block",
			policy:   waiverFile("  - migration: \"000001_m1\"\n    verdict: lossy-revert\n    reason: loss accepted\n    expires: 2026-01-01\n"),
			report:   report(matrix.VerdictLossyRevert),
			want:     []want{{verdict: "lossy-revert", action: "block", reason: "expired on 2026-01-01", waiver: "expired 2026-01-01: loss accepted"}},
			blocking: true,
		},
		{
			name:   "verdict waiver covers the checks behind that verdict",
			policy: waiverFile("  - migration: \"000001_m1\"\n    verdict: restore-only\n    reason: restore is the plan\n    expires: 2027-01-01\n"),
			report: downFails(),
			want: []want{
				{verdict: "restore-only", action: "warn", waiver: "restore is the plan"},
				{check: "downOnData", action: "warn", waiver: "restore is the plan"},
			},
		},
		{
			name:     "verdict waiver stops applying when the verdict changes",
			policy:   waiverFile("  - migration: \"000001\"\n    verdict: restore-only\n    reason: restore is the plan\n    expires: 2027-01-01\n"),
			report:   report(matrix.VerdictBroken),
			want:     []want{{verdict: "broken", action: "block", waiver: ""}},
			blocking: true,
		},
		{
			name:   "whole-migration waiver, other migrations untouched",
			policy: waiverFile("  - migration: \"000002\"\n    reason: known\n    expires: 2027-01-01\n"),
			report: report(matrix.VerdictBroken, matrix.VerdictBroken),
			want: []want{
				{migration: "000001_m1", verdict: "broken", action: "block"},
				{migration: "000002_m2", verdict: "broken", action: "warn", waiver: "known"},
			},
			blocking: true,
		},
		{
			name: "an active waiver wins over an expired one",
			policy: waiverFile("  - migration: \"000001\"\n    reason: old\n    expires: 2025-01-01\n" +
				"  - migration: \"000001\"\n    reason: renewed\n    expires: 2027-01-01\n"),
			report: report(matrix.VerdictBroken),
			want:   []want{{verdict: "broken", action: "warn", waiver: "renewed"}},
		},
		{
			name:   "expired waiver matching nothing is a warning to remove it",
			policy: waiverFile("  - migration: \"000001\"\n    check: roundTrip\n    reason: flaky\n    expires: 2026-01-01\n"),
			report: report(matrix.VerdictRevertible),
			want:   []want{{migration: "000001_m1", check: "roundTrip", action: "warn", reason: "waiver at policy.yaml:4 expired on 2026-01-01 and matches no finding: remove it", waiver: "flaky"}},
		},
		{
			name:   "waiver for a migration outside the report is silent",
			policy: waiverFile("  - migration: \"000099\"\n    reason: elsewhere\n    expires: 2026-01-01\n"),
			report: report(matrix.VerdictSafe),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.policy.Apply(tt.report, now)
			got := tt.report.Findings
			require.Len(t, got, len(tt.want), "findings: %+v", got)
			for i, w := range tt.want {
				f := got[i]
				if w.migration != "" {
					assert.Equal(t, w.migration, f.Migration)
				}
				assert.Equal(t, w.check, f.Check, "check of finding %d", i)
				if w.check == "" {
					assert.Equal(t, w.verdict, f.Verdict, "verdict of finding %d", i)
				}
				assert.Equal(t, w.action, f.Action, "action of finding %d: %s", i, f.Reason)
				assert.Contains(t, f.Reason, w.reason)
				assert.Equal(t, w.waiver, f.Waiver, "waiver of finding %d", i)
			}
			assert.Equal(t, tt.blocking, tt.report.Blocking)
		})
	}
}

func TestWaiverExpiresAtEndOfDay(t *testing.T) {
	w := Waiver{Expires: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)}
	assert.False(t, w.Expired(time.Date(2026, 3, 15, 23, 59, 59, 0, time.UTC)))
	assert.True(t, w.Expired(time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)))
	// A local time past midnight UTC counts in UTC.
	tokyo := time.FixedZone("JST", 9*3600)
	assert.True(t, w.Expired(time.Date(2026, 3, 16, 8, 0, 0, 0, tokyo).Add(2*time.Hour)))
}

// TestDocsPolicyParses keeps the policy example in docs/ci.md loadable.
func TestDocsPolicyParses(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docs", "ci.md"))
	require.NoError(t, err)
	var found bool
	for _, part := range strings.Split(string(src), "```yaml\n")[1:] {
		body, _, _ := strings.Cut(part, "\n```")
		if !strings.Contains(body, "kind: Policy") {
			continue
		}
		found = true
		p, err := Parse("docs/ci.md", []byte(body))
		require.NoError(t, err)
		assert.Len(t, p.Waivers, 2)
		assert.Equal(t, Block, p.Checks[matrix.CheckOldCode])
	}
	assert.True(t, found, "docs/ci.md has a policy example")
}

// TestBaselineFindings: release-level findings blame the release, not a
// migration: a boot failing on N's own state blocks by default, a probe
// warns, and a policy file can change either.
func TestBaselineFindings(t *testing.T) {
	boot := matrix.BaselineFinding{Kind: matrix.BaselineBoot, State: "schema", Message: "release N cannot restart on its own schema: boom"}
	probe := matrix.BaselineFinding{Kind: matrix.BaselineProbe, State: "data", Message: "probe q.sql:1 fails on release N's own state: nope"}
	parsed := func(src string) *Policy {
		p, err := Parse("policy.yaml", []byte(header+src))
		require.NoError(t, err)
		return p
	}
	tests := []struct {
		name     string
		policy   *Policy
		baseline []matrix.BaselineFinding
		want     []string // check:action
		blocking bool
	}{
		{"default boot blocks", Default(), []matrix.BaselineFinding{boot}, []string{"baselineBoot:block"}, true},
		{"default probe warns", Default(), []matrix.BaselineFinding{probe}, []string{"baselineProbe:warn"}, false},
		{"file relaxes boot", parsed("checks:\n  baselineBoot: warn\n  baselineProbe: ignore\n"), []matrix.BaselineFinding{boot, probe}, []string{"baselineBoot:warn"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := report(matrix.VerdictRevertible)
			r.From = "000001"
			r.Baseline = tc.baseline
			tc.policy.Apply(r, now)
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.Check+":"+f.Action)
				assert.Equal(t, "release 000001", f.Migration)
				assert.Contains(t, f.Reason, "release N")
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.blocking, r.Blocking)
		})
	}
}
