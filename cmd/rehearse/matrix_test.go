package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// runRoot runs the real root command and returns its output and exit code.
func runRoot(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		out.WriteString("\nerror: " + err.Error())
	}
	return out.String(), exitCodeOf(err)
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

// TestMatrixGateEndToEnd runs the matrix on the sample's 1.0 -> 1.1 and
// checks the exit code, the blocking reasons, the four report files, and
// that the gate passes once each blocking finding carries a waiver.
func TestMatrixGateEndToEnd(t *testing.T) {
	out := t.TempDir()
	text, code := runRoot(t, "matrix", "--migrations", "../../migrations", "--from", "1.0", "--to", "1.1",
		"--old-queries", "../../fixtures/queries/release-1.0.sql", "--out", out, "--rows", "50")
	require.Equal(t, 1, code, text)
	assert.Contains(t, text, "BLOCKING 000007_drop_owner_email_not_null downOnData")
	assert.Contains(t, text, "SQLSTATE 23502")
	assert.Contains(t, text, "BLOCKING 000010_drop_agent_heartbeats schemaRestored")
	for _, f := range []string{"matrix.md", "matrix.html", "matrix.json", "junit.xml"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	b, err := os.ReadFile(filepath.Join(out, "matrix.json"))
	require.NoError(t, err)
	var rep matrix.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Equal(t, 1, rep.SchemaVersion)
	assert.True(t, rep.Blocking)

	policy := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`apiVersion: rehearse.dev/v1
kind: Policy
waivers:
  - {migration: "000007", check: downOnData, reason: "NULL owners are backfilled before rollback", expires: 2099-12-31}
  - {migration: "000008", check: downOnData, reason: "long names truncated by runbook step 3", expires: 2099-12-31}
  - {migration: "000010", reason: "heartbeats are rebuilt by agents", expires: 2099-12-31}
`), 0o644))
	text, code = runRoot(t, "gate", filepath.Join(out, "matrix.json"))
	assert.Equal(t, 1, code, text)
	text, code = runRoot(t, "gate", filepath.Join(out, "matrix.json"), "--policy", policy)
	assert.Equal(t, 0, code, text)
	assert.Contains(t, text, "heartbeats are rebuilt by agents")
}

// TestMatrixBadInput: every bad input exits 2 with a message that names the
// file (or flag) and says what to do; nothing is left half done.
func TestMatrixBadInput(t *testing.T) {
	base := "CREATE TABLE t (id int PRIMARY KEY);\n"
	good := map[string]string{"001_t.up.sql": base, "001_t.down.sql": "DROP TABLE t;\n", "002_a.up.sql": "ALTER TABLE t ADD COLUMN a int;\n", "002_a.down.sql": "ALTER TABLE t DROP COLUMN a;\n"}
	withFile := func(name, body string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		m[name] = body
		return m
	}
	gitRepo := func(t *testing.T) string {
		dir := writeFiles(t, good)
		for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init"}} {
			cmd := exec.Command("git", args...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
		}
		return dir
	}
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  []string
	}{
		{"NUL byte in a migration", withFile("003_c.up.sql", "SELECT 1;\x00DROP TABLE t;\n"), nil, []string{"003_c.up.sql:1: NUL byte at byte offset 9"}},
		{"goose Go migration in the window", map[string]string{"001_t.sql": "-- +goose Up\nCREATE TABLE t (id int);\n", "002_fill.go": "package m\n// goose.AddMigration\n"}, nil, []string{"002_fill.go", "goose Go migrations"}},
		{"duplicate versions", withFile("0002_b.up.sql", "SELECT 1;"), nil, []string{"002_a.up.sql", "0002_b.up.sql"}},
		{"down without up", withFile("003_c.down.sql", "SELECT 1;"), nil, []string{"003_c.down.sql"}},
		{"SQL syntax error in up", withFile("003_c.up.sql", "SELECT 1;\nALTER TABLE t ADD COLUMN;\n"), nil, []string{"003_c.up.sql:2", "syntax error"}},
		{"SQL syntax error in a down the window runs", withFile("002_a.down.sql", "ALTER TABLE t DROP COLUMN;\n"), nil, []string{"002_a.down.sql:1", "syntax error", "fix the statement"}},
		{"SQL syntax error in release N's up", withFile("001_t.up.sql", "CREATE TABL t (id int);\n"), nil, []string{"001_t.up.sql:1", "syntax error"}},
		{"search path with a blank", good, []string{"--search-path", "my app"}, []string{"--search-path", `schema name "my app" holds a blank`}},
		{"search path with an empty name", good, []string{"--search-path", "app,,public"}, []string{"--search-path", "empty schema name"}},
		{"missing setup SQL file", good, []string{"--setup-sql", "/nonexistent/setup.sql"}, []string{"--setup-sql", "/nonexistent/setup.sql"}},
		{"unknown layout", good, []string{"--layout", "liquibase"}, []string{"liquibase"}},
		{"unknown bookkeeping", good, []string{"--bookkeeping", "liquibase"}, []string{"liquibase"}},
		{"negative rows", good, []string{"--rows", "-5"}, []string{"--rows -5", "positive"}},
		{"zero rows", good, []string{"--rows", "0"}, []string{"--rows 0", "positive"}},
		{"zero parallel", good, []string{"--parallel", "0"}, []string{"--parallel 0", "positive"}},
		{"negative parallel", good, []string{"--parallel", "-1"}, []string{"--parallel -1", "positive"}},
		{"--to not in the set", good, []string{"--to", "007"}, []string{"--to 007", "001..002"}},
		{"--to before --from", good, []string{"--from", "002", "--to", "001"}, []string{"swap them"}},
		{"DSN that does not parse", good, []string{"--dsn", "host=127.0.0.1 port=notaport"}, []string{"--dsn", "host=... port=... dbname=..."}},
		{"unknown release or version", good, []string{"--from", "9.9"}, []string{"9.9"}},
		{"no PostgreSQL binaries", good, []string{"--pg-bin", "/nonexistent"}, []string{"--pg-bin /nonexistent", "apt-get install postgresql", "--backend docker"}},
		{"unwritable --out", good, []string{"--out", "/proc/rehearse-out"}, []string{"--out /proc/rehearse-out"}},
		{"policy error", good, []string{"--policy", "/nonexistent/policy.yaml"}, []string{"/nonexistent/policy.yaml"}},
		{"missing migrations folder", nil, []string{"--migrations", "/nonexistent/migrations"}, []string{"/nonexistent/migrations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An argument later on the line wins: --from may be given again.
			outParent := t.TempDir()
			args := []string{"matrix", "--from", "001", "--out", filepath.Join(outParent, "out")}
			if tt.files != nil {
				args = append(args, "--migrations", writeFiles(t, tt.files))
			}
			text, code := runRoot(t, append(args, tt.args...)...)
			assert.Equal(t, 2, code, text)
			for _, w := range tt.want {
				assert.Contains(t, text, w)
			}
			left, err := os.ReadDir(outParent)
			require.NoError(t, err)
			assert.Empty(t, left, "a run that wrote no report leaves no --out (nor staging dir)")
		})
	}
	t.Run("unknown git ref", func(t *testing.T) {
		repo := gitRepo(t)
		text, code := runRoot(t, "matrix", "--git", "--repo", repo, "--migrations", ".", "--from", "v9.9.9", "--to", "HEAD", "--out", t.TempDir())
		assert.Equal(t, 2, code, text)
		assert.Contains(t, text, "v9.9.9")
	})
}

// TestMatrixUnparsedOutsideWindowAndSearchPath: a base migration's down
// that does not parse (never run by the window) is a note, not a refusal;
// --search-path reaches every connection, so unqualified tables land in the
// app's schema and a later up naming it qualified works. Without the path
// that up is broken.
func TestMatrixUnparsedOutsideWindowAndSearchPath(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"001_schema.up.sql": "CREATE SCHEMA app;\n", "001_schema.down.sql": "DROP SCHEM app;\n",
		"002_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY, a text);\n", "002_t.down.sql": "DROP TABLE t;\n",
		"003_b.up.sql": "ALTER TABLE app.t ADD COLUMN b int;\n", "003_b.down.sql": "ALTER TABLE app.t DROP COLUMN b;\n",
	})
	tests := []struct {
		name   string
		args   []string
		broken bool // 003's up
		notes  []string
	}{
		{name: "with the app's search path", args: []string{"--search-path", "app,public"}, notes: []string{"001_schema.down.sql:1: SQL syntax error", "search_path=app,public"}},
		{name: "without it", broken: true, notes: []string{"001_schema.down.sql:1: SQL syntax error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			text, code := runRoot(t, append([]string{"matrix", "--migrations", dir, "--from", "001", "--to", "003", "--out", out, "--rows", "10"}, tc.args...)...)
			require.NotEqual(t, 2, code, text)
			b, err := os.ReadFile(filepath.Join(out, "matrix.json"))
			require.NoError(t, err)
			var rep matrix.Report
			require.NoError(t, json.Unmarshal(b, &rep))
			require.Len(t, rep.Results, 2)
			notes := strings.Join(rep.Notes, "\n")
			for _, n := range tc.notes {
				assert.Contains(t, notes, n)
			}
			assert.Equal(t, tc.broken, rep.Results[1].Verdict == matrix.VerdictBroken, "003: %s", rep.Results[1].Verdict)
		})
	}
}

// TestMatrixSetupSQL: --setup-sql runs on release N's empty database
// before its migrations (an extension production's DBA created by hand), so
// an index using it builds; without it release N cannot be built (exit 2),
// and setup SQL that fails is exit 2 naming the file.
func TestMatrixSetupSQL(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"001_words.up.sql": "CREATE TABLE words (id int PRIMARY KEY, word text);\nCREATE INDEX words_idx ON words USING GIN (word gin_trgm_ops);\n",
		"002_a.up.sql":     "ALTER TABLE words ADD COLUMN a int;\n", "002_a.down.sql": "ALTER TABLE words DROP COLUMN a;\n",
	})
	tmp := t.TempDir()
	good := filepath.Join(tmp, "setup.sql")
	require.NoError(t, os.WriteFile(good, []byte("CREATE EXTENSION IF NOT EXISTS pg_trgm;\n"), 0o644))
	bad := filepath.Join(tmp, "bad.sql")
	require.NoError(t, os.WriteFile(bad, []byte("CREATE EXTENSION no_such_extension;\n"), 0o644))
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{name: "extension created first", args: []string{"--setup-sql", good}, code: 0},
		{name: "without it", code: 2, want: []string{"gin_trgm_ops"}},
		{name: "setup SQL that fails", args: []string{"--setup-sql", bad}, code: 2, want: []string{"setup SQL " + bad, "no_such_extension"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			text, code := runRoot(t, append([]string{"matrix", "--migrations", dir, "--from", "001", "--out", out, "--rows", "5"}, tc.args...)...)
			require.Equal(t, tc.code, code, text)
			for _, w := range tc.want {
				assert.Contains(t, text, w)
			}
			if tc.code != 0 {
				return
			}
			b, err := os.ReadFile(filepath.Join(out, "matrix.json"))
			require.NoError(t, err)
			var rep matrix.Report
			require.NoError(t, json.Unmarshal(b, &rep))
			require.Len(t, rep.Results, 1)
			assert.Contains(t, strings.Join(rep.Notes, "\n"), "--setup-sql")
		})
	}
}

// TestMatrixDefectsAreVerdicts: a missing down file and an up that fails at
// run time are verdicts (exit 1), never crashes.
func TestMatrixDefectsAreVerdicts(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"001_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY);\n", "001_t.down.sql": "DROP TABLE t;\n",
		"002_no_down.up.sql": "ALTER TABLE t ADD COLUMN a int;\n",
		"003_fails.up.sql":   "-- refers to a table that does not exist\nALTER TABLE missing ADD COLUMN b int;\n",
		"003_fails.down.sql": "SELECT 1;\n",
	})
	out := t.TempDir()
	text, code := runRoot(t, "matrix", "--migrations", dir, "--from", "001", "--out", out, "--rows", "10")
	require.Equal(t, 1, code, text)
	b, err := os.ReadFile(filepath.Join(out, "matrix.json"))
	require.NoError(t, err)
	var rep matrix.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Len(t, rep.Results, 2)
	assert.Equal(t, matrix.VerdictBroken, rep.Results[0].Verdict)
	assert.Contains(t, rep.Results[0].Checks.DownOnData.Error, "002_no_down.down.sql is missing")
	assert.Equal(t, matrix.VerdictBroken, rep.Results[1].Verdict)
	assert.Equal(t, "42P01", rep.Results[1].Checks.Up.SQLState)
	assert.Equal(t, 2, rep.Results[1].Checks.Up.Line)
}

// TestMatrixLayouts runs `rehearse matrix` on each real-world layout's
// fixture: every run gives a matrix of N+1's migrations, and the files the
// tool ignores are listed once in the report's notes.
func TestMatrixLayouts(t *testing.T) {
	tests := []struct {
		dir, from string
		ids       []string
		note      string
	}{
		{"pop", "20210101000001000000", []string{"20210101000002000000_identities", "20210101000003000000_identities_state"}, "9 file(s) of ../../harness/migrate/testdata/pop not run, as pop does not run them either. another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL): 20210101000001000000_networks.mysql.down.sql, 20210101000001000000_networks.mysql.up.sql, 20210101000001000000_networks.sqlite3.up.sql, 20210101000002000000_identities.mysql.down.sql"},
		{"flyway", "1.1", []string{"1.9_add_age", "1.10_index_email"}, "1 file(s) of ../../harness/migrate/testdata/flyway not run, as flyway does not run them either"},
		{"sql-migrate", "1", []string{"2_touch", "10_index_name"}, ""},
		{"golang-migrate-stray", "1", []string{"000002_email"}, "not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it): README.md, seed.sql"},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			out := t.TempDir()
			text, code := runRoot(t, "matrix", "--migrations", filepath.Join("../../harness/migrate/testdata", tc.dir), "--from", tc.from, "--out", out, "--rows", "20")
			require.Contains(t, []int{0, 1}, code, text)
			b, err := os.ReadFile(filepath.Join(out, "matrix.json"))
			require.NoError(t, err)
			var rep matrix.Report
			require.NoError(t, json.Unmarshal(b, &rep))
			var ids []string
			for _, r := range rep.Results {
				ids = append(ids, r.Version+"_"+r.Name)
				assert.Equal(t, matrix.StatusOK, r.Checks.Up.Status, "%s up: %s", r.Version, r.Checks.Up.Error)
			}
			assert.Equal(t, tc.ids, ids)
			if tc.note != "" {
				assert.True(t, slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, tc.note) }), "notes: %q", rep.Notes)
			}
		})
	}
}
