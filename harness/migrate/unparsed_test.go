package migrate

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// TestRangeUnparsedFiles: SQL that does not parse refuses only the windows
// that run it (release N's ups, N+1's ups and downs), naming file and
// line; the others run and list it in a note.
func TestRangeUnparsedFiles(t *testing.T) {
	const badDown = "ALTER TABLE a DROP COLUMN x\nALTER TABLE a DROP COLUMN y;\n" // missing comma/semicolon
	golang := map[string]string{
		"1_a.up.sql": "CREATE TABLE a (id int, x int, y int);", "1_a.down.sql": badDown,
		"2_b.up.sql": "ALTER TABLE a ADD COLUMN z int;", "2_b.down.sql": "ALTER TABLE a DROP COLUMN z;",
		"3_c.up.sql": "ALTER TABLE a ADD COLUMN w int;", "3_c.down.sql": "ALTER TABLE a DROP COLUMN w;",
		"4_d.up.sql": "CREATE TABL d (id int);", "4_d.down.sql": "DROP TABLE d;",
	}
	goose := map[string]string{
		"00001_a.sql": "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nALTER TABLE a ADD CONSTRAINT f REFERENCES b (id);\n",
		"00002_b.sql": "-- +goose Up\nCREATE TABLE b (id int);\n-- +goose Down\nDROP TABLE b;\n",
		"00003_c.sql": "-- +goose Up\n-- +goose StatementBegin\nSELEKT 1;\n-- +goose StatementEnd\n-- +goose Down\nSELECT 1;\n",
	}
	tests := []struct {
		name     string
		files    map[string]string
		from, to string
		err      string // "" = the window runs
		note     []string
	}{
		{name: "base down outside the window", files: golang, from: "1", to: "3", note: []string{"2 file(s) outside the window 1..3 do not parse and were not run", "1_a.down.sql:2: SQL syntax error"}},
		{name: "file after --to", files: golang, from: "2", to: "3", note: []string{"2 file(s)", "1_a.down.sql:2", "4_d.up.sql:1: SQL syntax error"}},
		{name: "down the window runs", files: golang, from: "0", to: "2", err: "1_a.down.sql:2: SQL syntax error"},
		{name: "up the window runs", files: golang, from: "3", to: "4", err: "4_d.up.sql:1: SQL syntax error"},
		{name: "release N's up", files: golang, from: "4", to: "4", err: "4_d.up.sql:1: SQL syntax error"},
		{name: "goose base down outside the window", files: goose, from: "1", to: "2", note: []string{"00001_a.sql:4: SQL syntax error"}},
		{name: "goose block in the window", files: goose, from: "2", to: "3", err: "00003_c.sql:3: SQL syntax error"},
		{name: "goose down in the window", files: goose, from: "0", to: "2", err: "00001_a.sql:4: SQL syntax error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadDir(writeDir(t, tc.files), Options{})
			require.NoError(t, err, "a file that does not parse must not refuse the folder")
			_, _, err = s.Range(tc.from, tc.to)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.Contains(t, err.Error(), "fix the statement")
				return
			}
			require.NoError(t, err)
			note := s.UnparsedNote(tc.from, tc.to)
			for _, n := range tc.note {
				assert.Contains(t, note, n)
			}
		})
	}

	t.Run("no note when every file parses", func(t *testing.T) {
		s, err := LoadDir(writeDir(t, map[string]string{"1_a.up.sql": "SELECT 1;", "1_a.down.sql": "SELECT 2;"}), Options{})
		require.NoError(t, err)
		assert.Empty(t, s.UnparsedNote("0", "1"))
	})
}

// TestApplyUnparsedScript: a script that does not parse is never sent to
// the server; Apply returns its load error (file and line).
func TestApplyUnparsedScript(t *testing.T) {
	s, err := LoadDir(writeDir(t, map[string]string{"1_a.up.sql": "CREATE TABLE a (id int);\nCREATE TABL b (id int);\n"}), Options{})
	require.NoError(t, err)
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	err = Apply(testCtx(t), conn, s.Migrations[0].Up)
	var le *LoadError
	require.True(t, errors.As(err, &le), "got %v", err)
	assert.Equal(t, 2, le.Line)
	ok, err := tableExists(testCtx(t), conn, "a")
	require.NoError(t, err)
	assert.False(t, ok, "nothing of the script ran")
}

// TestSQLMigrateNumberOnlyNames: sql-migrate orders files by their leading
// number alone, so 0001.sql is a migration (hermez-node's layout), and its
// bookkeeping id (the file name) reads back as the version.
func TestSQLMigrateNumberOnlyNames(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"0001.sql":     "-- +migrate Up\nCREATE TABLE a (id int);\n-- +migrate Down\nDROP TABLE a;\n",
		"0002-b.sql":   "-- +migrate Up\nALTER TABLE a ADD COLUMN b int;\n-- +migrate Down\nALTER TABLE a DROP COLUMN b;\n",
		"0002_test.go": "package migrations\n",
		"0003_c_d.sql": "-- +migrate Up\nALTER TABLE a ADD COLUMN c int;\n-- +migrate Down\nALTER TABLE a DROP COLUMN c;\n",
		"README.md":    "docs",
		"0004.sql":     "-- +migrate Up\nALTER TABLE a ADD COLUMN d int;\n-- +migrate Down\nALTER TABLE a DROP COLUMN d;\n",
	})
	s, err := LoadDir(dir, Options{})
	require.NoError(t, err)
	require.Equal(t, LayoutSQLMigrate, s.Layout)
	var ids []string
	for _, m := range s.Migrations {
		ids = append(ids, m.ID())
	}
	assert.Equal(t, []string{"0001", "0002_b", "0003_c_d", "0004"}, ids)

	ctx := testCtx(t)
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	bk, err := BookkeepingFor("sql-migrate")
	require.NoError(t, err)
	require.NoError(t, Migrate(ctx, conn, s.Migrations, bk))
	v, _, err := bk.Current(ctx, conn)
	require.NoError(t, err)
	assert.Equal(t, "0004", v)
	require.NoError(t, RevertTo(ctx, conn, s.Migrations, 1, bk))
	v, _, err = bk.Current(ctx, conn)
	require.NoError(t, err)
	assert.Equal(t, "0001", v)
}
