package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// windowFiles: release N is 001 (t); N+1 adds 002 (column t.a) and 003
// (table u, later renamed to w in 004).
var windowFiles = map[string]string{
	"001_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY);\n", "001_t.down.sql": "DROP TABLE t;\n",
	"002_a.up.sql": "ALTER TABLE t ADD COLUMN a int;\n", "002_a.down.sql": "ALTER TABLE t DROP COLUMN a;\n",
	"003_u.up.sql":   "CREATE TABLE u (id int PRIMARY KEY, label text NOT NULL);\n",
	"003_u.down.sql": "DROP TABLE u;\n",
	"004_w.up.sql":   "ALTER TABLE u RENAME TO w;\n", "004_w.down.sql": "ALTER TABLE w RENAME TO u;\n",
}

func readReport(t *testing.T, dir string) *matrix.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "matrix.json"))
	require.NoError(t, err)
	var rep matrix.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	return &rep
}

// TestMatrixProfileCheckedBeforeStart: a profile naming a table or column
// no migration of the window creates is rejected with its file and line
// before PostgreSQL starts (quickly, no rehearse-pg-* temp dir).
func TestMatrixProfileCheckedBeforeStart(t *testing.T) {
	dir := writeFiles(t, windowFiles)
	tests := []struct {
		name, profile string
		want          []string
	}{
		{"unknown table", "tables:\n  t: {rows: 5}\n  nosuch:\n    rows: 5\n", []string{"profile.yaml:3", "table nosuch", "no migration of 001..004 creates it", "t, u, w"}},
		{"unknown column of an N+1 table", "tables:\n  u:\n    columns:\n      labell: {values: [a]}\n", []string{"profile.yaml:4", "table u, column labell"}},
		{"unknown column of N's table", "tables:\n  t:\n    columns:\n      b: {values: [1]}\n", []string{"profile.yaml:4", "table t, column b"}},
		{"YAML error", "tables: [\n", []string{"profile.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			profile := filepath.Join(t.TempDir(), "profile.yaml")
			require.NoError(t, os.WriteFile(profile, []byte(tt.profile), 0o644))
			start := time.Now()
			text, code := runRoot(t, "matrix", "--migrations", dir, "--from", "001", "--profile", profile, "--out", t.TempDir())
			took := time.Since(start)
			assert.Equal(t, 2, code, text)
			for _, w := range tt.want {
				assert.Contains(t, text, w)
			}
			assert.NotContains(t, text, "starting a local PostgreSQL")
			assert.Less(t, took, 2*time.Second, "rejected before anything starts")
			left, err := filepath.Glob(filepath.Join(tmp, local.TempPrefix+"*"))
			require.NoError(t, err)
			assert.Empty(t, left, "no PostgreSQL was started")
		})
	}
}

// TestMatrixProfileNamesNextTable: a profile may name a table only N+1
// creates (and its later name): the run goes through and the N+1-era
// writes of that table follow the profile's pin.
func TestMatrixProfileNamesNextTable(t *testing.T) {
	dir := writeFiles(t, windowFiles)
	profile := filepath.Join(t.TempDir(), "profile.yaml")
	require.NoError(t, os.WriteFile(profile, []byte("tables:\n  u:\n    rows: 80\n    columns:\n      label: {values: [pinned]}\n  w: {rows: 80}\n  t:\n    columns:\n      a: {values: [\"7\"]}\n"), 0o644))
	out := t.TempDir()
	text, code := runRoot(t, "matrix", "--migrations", dir, "--from", "001", "--profile", profile, "--out", out, "--rows", "10", "--dsn", pgtest.AdminDSN(t))
	require.NotEqual(t, 2, code, text)
	rep := readReport(t, out)
	require.Len(t, rep.Results, 3)
	for _, m := range rep.Results {
		assert.NotEqual(t, matrix.VerdictBroken, m.Verdict, "%s: %v", m.Version, m.Reasons)
	}
}

// TestMatrixDSNForms: --dsn takes a URL or keyword/value form, and two runs
// started together on one server both succeed with their own databases.
func TestMatrixDSNForms(t *testing.T) {
	srv := pgtest.Server(t)
	dir := writeFiles(t, windowFiles)
	dsns := []string{
		srv.DSN("postgres"),
		fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres user=%s password=%s sslmode=disable", srv.Port, local.Superuser, srv.Password()),
	}
	outs := []string{t.TempDir(), t.TempDir()}
	texts, codes := make([]string, 2), make([]int, 2)
	var wg sync.WaitGroup
	for i := range dsns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			texts[i], codes[i] = runRoot(t, "matrix", "--migrations", dir, "--from", "001", "--out", outs[i], "--rows", "10", "--dsn", dsns[i])
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i := range dsns {
		require.Equal(t, 0, codes[i], texts[i])
		rep := readReport(t, outs[i])
		assert.Len(t, rep.Results, 3)
		ids[rep.RunID] = true
	}
	assert.Len(t, ids, 2, "distinct run ids")

	conn := pgtest.Connect(t, srv.DSN("postgres"))
	var left []string
	rows, err := conn.Query(t.Context(), "SELECT datname FROM pg_database WHERE datname LIKE 'rehearse\\_%'")
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		left = append(left, n)
	}
	require.NoError(t, rows.Err())
	assert.Empty(t, left, "both runs dropped their databases: %s", strings.Join(left, " "))
}

// TestMatrixMessagesReaderCanTrust: a skipped cell says why it was skipped,
// a note that holds for the whole run (no old-code probe) is said once,
// and matrix.md shows no HTML entity.
func TestMatrixMessagesReaderCanTrust(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"001_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY, a text);\n", "001_t.down.sql": "DROP TABLE t;\n",
		"002_b.up.sql": "-- adds b <for the \"new\" UI> & more\nALTER TABLE t ADD COLUMN b int;\n",
		// Fails on any row, passes on an empty table.
		"002_b.down.sql": "ALTER TABLE t ALTER COLUMN id TYPE int USING (id / 0);\nALTER TABLE t DROP COLUMN b;\n",
		"003_c.up.sql":   "ALTER TABLE t RENAME COLUMN a TO c;\n", "003_c.down.sql": "ALTER TABLE t RENAME COLUMN c TO a;\n",
	})
	out := t.TempDir()
	text, code := runRoot(t, "matrix", "--migrations", dir, "--from", "001", "--out", out, "--rows", "10", "--dsn", pgtest.AdminDSN(t))
	require.Equal(t, 1, code, text)
	rep := readReport(t, out)
	require.Len(t, rep.Results, 2)

	notes := 0
	for _, n := range rep.Notes {
		if n == matrix.NoOldCodeProbe {
			notes++
		}
	}
	assert.Equal(t, 1, notes, "said once at run level: %q", rep.Notes)
	for _, m := range rep.Results {
		for _, r := range m.Reasons {
			assert.NotContains(t, r, "old code not probed", m.Version)
		}
	}

	down := rep.Results[0]
	require.Equal(t, matrix.StatusFail, down.Checks.DownOnData.Status)
	for _, c := range []matrix.Check{down.Checks.NEraKept, down.Checks.NextEraLoss} {
		assert.Equal(t, matrix.StatusSkip, c.Status)
		assert.Contains(t, c.Error, "the down failed on data (see downOnData)")
	}
	html, err := os.ReadFile(filepath.Join(out, "matrix.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "<b>skipped:</b> the down failed on data")
	assert.NotContains(t, string(html), "<b>error:</b> the down failed on data")

	md, err := os.ReadFile(filepath.Join(out, "matrix.md"))
	require.NoError(t, err)
	for _, entity := range []string{"&gt;", "&lt;", "&amp;", "&#39;", "&#34;", "&quot;"} {
		assert.NotContains(t, string(md), entity)
	}
	assert.Equal(t, 1, strings.Count(string(md), "old code not probed"), "once, in the notes")
}
