package corpus

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// report builds a matrix.json-shaped report with one migration.
func report(verdict string, checks map[string]Check) *Report {
	r := &Report{}
	r.Migrations = append(r.Migrations, struct {
		Version string           `json:"version"`
		Name    string           `json:"name"`
		Verdict string           `json:"verdict"`
		Checks  map[string]Check `json:"checks"`
	}{Version: "002", Name: "drop_col", Verdict: verdict, Checks: checks})
	return r
}

func TestCompareOutcomes(t *testing.T) {
	fail := Check{Status: "fail", Error: "boom"}
	ok := Check{Status: "ok"}
	tests := []struct {
		name    string
		finding Finding
		check   Check
		want    Outcome
		counts  Counts
	}{
		{"true and reported", Finding{Check: "nEraKept", Truth: yes(), Before: "found"}, fail, Found, Counts{Found: 1}},
		{"true, never found", Finding{Check: "nEraKept", Truth: yes(), Before: "missed"}, ok, Missed, Counts{Missed: 1}},
		{"true, found before, lost now", Finding{Check: "nEraKept", Truth: yes(), Before: "found"}, ok, Regression, Counts{Regressions: 1}},
		{"true, found since a later stop, lost now", Finding{Check: "contract", Truth: yes(), Before: "missed", FoundSince: "stop 24"}, ok, Regression, Counts{Warn: &Counts{Regressions: 1}}},
		{"true, found since a later stop, still found", Finding{Check: "nEraKept", Truth: yes(), Before: "missed", FoundSince: "stop 24"}, fail, Found, Counts{Found: 1}},
		{"false and still reported", Finding{Check: "nEraKept", Truth: no(), Before: "found"}, fail, FalseAlarm, Counts{FalseAlarms: 1}},
		{"false alarm gone", Finding{Check: "nEraKept", Truth: no(), Before: "found"}, ok, Fixed, Counts{Fixed: 1}},
		{"foreseen false alarm, never raised", Finding{Check: "up", Truth: no(), Before: "missed"}, ok, Quiet, Counts{}},
		{"foreseen false alarm, raised now", Finding{Check: "up", Truth: no(), Before: "missed"}, fail, FalseAlarm, Counts{FalseAlarms: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := ExpectedWindow{Project: "p", Window: "w", Migrations: []Migration{
				{Migration: "002_drop_col", Verdict: "restore-only", Findings: []Finding{tt.finding}},
			}}
			res := Compare(exp, Run{Report: report("restore-only", map[string]Check{tt.finding.Check: tt.check})})
			require.Len(t, res.Rows, 1)
			require.Len(t, res.Rows[0].Lines, 1)
			assert.Equal(t, tt.want, res.Rows[0].Lines[0].Outcome)
			tt.counts.Migrations, tt.counts.VerdictsAgree = 1, 1
			assert.Equal(t, tt.counts, res.Counts)
		})
	}
}

// TestCompareWarnChecks: findings of warn-by-default checks (contract) are
// judged like the others but counted apart, so the blocking findings'
// precision does not move with them; totals add both.
func TestCompareWarnChecks(t *testing.T) {
	fail := Check{Status: "fail", Error: "boom"}
	tests := []struct {
		name       string
		findings   []Finding
		checks     map[string]Check
		main, warn Counts
	}{
		{
			name:     "true contract break and a true blocking finding",
			findings: []Finding{{Check: "contract", Truth: yes(), Before: "missed"}, {Check: "nEraKept", Truth: yes(), Before: "found"}},
			checks:   map[string]Check{"contract": fail, "nEraKept": fail},
			main:     Counts{Found: 1}, warn: Counts{Found: 1},
		},
		{
			name:     "false contract alarm leaves the main precision alone",
			findings: []Finding{{Check: "contract", Truth: no(), Before: "missed"}},
			checks:   map[string]Check{"contract": fail},
			warn:     Counts{FalseAlarms: 1},
		},
		{
			name:   "unjudged contract finding",
			checks: map[string]Check{"contract": fail},
			warn:   Counts{Unjudged: 1},
		},
		{
			name:     "contract regression",
			findings: []Finding{{Check: "contract", Truth: yes(), Before: "found"}},
			checks:   map[string]Check{},
			warn:     Counts{Regressions: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := ExpectedWindow{Project: "p", Window: "w", Migrations: []Migration{
				{Migration: "002_drop_col", Verdict: "restore-only", Findings: tt.findings},
			}}
			res := Compare(exp, Run{Report: report("restore-only", tt.checks)})
			got := res.Counts
			require.NotNil(t, got.Warn)
			assert.Equal(t, tt.warn, *got.Warn)
			got.Warn = nil
			tt.main.Migrations, tt.main.VerdictsAgree = 1, 1
			assert.Equal(t, tt.main, got)

			var total Counts
			total.Add(res.Counts)
			total.Add(res.Counts)
			assert.Equal(t, 2*tt.warn.Found, total.Warn.Found)
			assert.Equal(t, 2*tt.warn.FalseAlarms, total.Warn.FalseAlarms)
		})
	}
}

func TestCompareUnjudgedAndHarnessFailure(t *testing.T) {
	exp := ExpectedWindow{Project: "p", Window: "w", Migrations: []Migration{
		{Migration: "001_init", Verdict: "revertible"},
		{Migration: "002_drop_col", Verdict: "restore-only", Findings: []Finding{{Check: "nEraKept", Truth: yes(), Before: "found"}}},
	}}

	t.Run("a failing check nobody judged, on a migration nobody listed", func(t *testing.T) {
		res := Compare(exp.withMigrations(exp.Migrations[:1]), Run{Report: report("broken", map[string]Check{"up": {Status: "fail", Error: "cast"}})})
		require.Len(t, res.Rows, 2)
		assert.Equal(t, "002_drop_col", res.Rows[1].Migration)
		assert.Equal(t, "", res.Rows[1].Expected)
		assert.Equal(t, Unjudged, res.Rows[1].Lines[0].Outcome)
		assert.Equal(t, 1, res.Counts.Unjudged)
		assert.Equal(t, 0, res.Counts.VerdictsAgree)
	})

	t.Run("harness failure: no report, true findings found before are regressions", func(t *testing.T) {
		res := Compare(exp, Run{HarnessFailure: "exit 2: unknown layout"})
		assert.Equal(t, 1, res.Counts.HarnessFailures)
		assert.Equal(t, 1, res.Counts.Regressions)
		assert.Equal(t, 2, res.Counts.Migrations)
		assert.Equal(t, "", res.Rows[0].Actual)
	})
}

// withMigrations returns a copy of w listing only ms (keeps the test table short).
func (w ExpectedWindow) withMigrations(ms []Migration) ExpectedWindow {
	w.Migrations = ms
	return w
}

func TestCountsRatios(t *testing.T) {
	c := Counts{Found: 8, FalseAlarms: 4, Missed: 5, Regressions: 1, Unjudged: 3}
	assert.InDelta(t, 8.0/12.0, c.Precision(), 1e-9)
	assert.InDelta(t, 8.0/14.0, c.Recall(), 1e-9)
	assert.Equal(t, 1.0, Counts{}.Precision(), "no finding at all is not imprecise")
}

func TestReadRun(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
		}
		return dir
	}
	matrix := `{"migrations":[{"version":"002","name":"drop_col","verdict":"broken","checks":{"up":{"status":"fail","error":"x"}}}]}`
	tests := []struct {
		name        string
		files       map[string]string
		wantFailure string
		wantReport  bool
	}{
		{"blocking findings (exit 1) are a normal run", map[string]string{"exit": "1\n", "matrix.json": matrix}, "", true},
		{"exit 2 is a harness failure with stderr's last line", map[string]string{"exit": "2", "stderr.log": "starting\nrehearse: unknown layout\n"}, "exit 2: rehearse: unknown layout", false},
		{"no matrix.json at all", map[string]string{"exit": "0"}, "no matrix.json (exit 0): (no stderr.log)", false},
		{"a broken matrix.json", map[string]string{"exit": "0", "matrix.json": "{"}, "matrix.json: unexpected end of JSON input", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := ReadRun(write(t, tt.files))
			assert.Contains(t, run.HarnessFailure, tt.wantFailure)
			if tt.wantFailure == "" {
				assert.Empty(t, run.HarnessFailure)
			}
			assert.Equal(t, tt.wantReport, run.Report != nil)
		})
	}
}

func TestLoadErrorsNameTheEntry(t *testing.T) {
	tests := []struct {
		name, file, body, want string
		load                   func(string) error
	}{
		{"truth not set", "expected.yaml", "windows:\n- project: p\n  window: w\n  migrations:\n  - migration: 002_x\n    verdict: broken\n    findings:\n    - {check: up, before: found, why: w}\n",
			"migrations[0] (002_x): findings[0] (up): truth is not set", loadExp},
		{"found_since on a false alarm", "expected.yaml", "windows:\n- project: p\n  window: w\n  migrations:\n  - migration: 002_x\n    verdict: broken\n    findings:\n    - {check: up, truth: false, before: missed, found_since: stop 24, why: w}\n",
			"migrations[0] (002_x): findings[0] (up): found_since is for a true finding the baseline missed", loadExp},
		{"unknown verdict", "expected.yaml", "windows:\n- project: p\n  window: w\n  migrations:\n  - {migration: 002_x, verdict: fine}\n",
			`verdict "fine" is not one of`, loadExp},
		{"misspelt field", "expected.yaml", "windows:\n- project: p\n  windw: w\n", "field windw not found", loadExp},
		{"short commit", "projects.yaml", "projects:\n- {name: a, repo: o/a, commit: abc123, path: db, windows: [{name: w, from: '1', to: '2'}]}\n",
			`projects[0] (a): commit "abc123" is not a full 40-hex commit`, loadProj},
		{"window without to", "projects.yaml", "projects:\n- {name: a, repo: o/a, commit: 5d8f16ab93a52af50b091c92be3d6afdc3b801ff, path: db, windows: [{name: w, from: '1'}]}\n",
			"windows[0]: needs a unique lower-case name and both from and to", loadProj},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			require.NoError(t, os.WriteFile(path, []byte(tt.body), 0o644))
			err := tt.load(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), path)
		})
	}
}

func loadExp(p string) error  { _, err := LoadExpected(p); return err }
func loadProj(p string) error { _, err := LoadProjects(p); return err }

func TestProjectArgs(t *testing.T) {
	p := &Projects{Seed: 1, Rows: 50}
	pr := Project{Layout: "goose", Bookkeeping: "none", Flags: []string{"--profile", "corpus/p.yaml"}}
	got := p.Args(pr, Window{From: "3", To: "9", Flags: []string{"--parallel", "1"}})
	assert.Equal(t, []string{"--from", "3", "--to", "9", "--seed", "1", "--rows", "50",
		"--layout", "goose", "--bookkeeping", "none", "--profile", "corpus/p.yaml", "--parallel", "1"}, got)
}

func TestRepoFilesLoad(t *testing.T) {
	// The committed lists must stay loadable: a typo there breaks make corpus.
	_, err := LoadProjects("../../corpus/projects.yaml")
	require.NoError(t, err)
	_, err = LoadExpected("../../corpus/expected.yaml")
	require.NoError(t, err)
}
