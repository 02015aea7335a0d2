package migrate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeDir creates a migrations folder holding files (name -> content).
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "migrations")
	require.NoError(t, os.Mkdir(dir, 0o755))
	for name, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// want describes one migration of a loaded set.
type want struct {
	version, name string
	upStmts       int
	downStmts     int // -1 = no down
	noTx          bool
}

func TestLoadDirLayouts(t *testing.T) {
	tests := []struct {
		dir     string
		opts    Options
		layout  Layout
		want    []want
		comment string
	}{
		{
			dir: "testdata/golang-migrate", layout: LayoutGolangMigrate,
			comment: "Creates the users table.\nN-era rows live here.",
			want: []want{
				{"000001", "create_users", 1, 1, false},
				{"000002", "add_email", 2, 1, false},
				{"000003", "index_email", 1, 1, true},
				{"000004", "audit", 1, -1, false},
			},
		},
		{
			dir: "testdata/goose", layout: LayoutGoose,
			comment: "Creates the users table.",
			want: []want{
				{"00001", "create_users", 2, 2, false},
				{"00002", "audit_trigger", 2, 2, false},
				{"00003", "index_name", 1, 1, true},
				{"00004", "no_down", 1, -1, false},
			},
		},
		{
			dir: "testdata/dbmate", layout: LayoutDbmate,
			comment: "Creates the users table.",
			want: []want{
				{"20240101120000", "create_users", 1, 1, false},
				{"20240102120000", "index_name", 1, 1, true},
				{"20240103120000", "add_flag", 1, -1, false},
			},
		},
		{
			// Forcing the layout a folder has gives the same set.
			dir: "testdata/goose", opts: Options{Layout: LayoutGoose}, layout: LayoutGoose,
			comment: "Creates the users table.",
			want: []want{
				{"00001", "create_users", 2, 2, false},
				{"00002", "audit_trigger", 2, 2, false},
				{"00003", "index_name", 1, 1, true},
				{"00004", "no_down", 1, -1, false},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			s, err := LoadDir(tc.dir, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.layout, s.Layout)
			assert.Equal(t, tc.dir, s.Source)
			require.Len(t, s.Migrations, len(tc.want))
			for i, w := range tc.want {
				m := s.Migrations[i]
				assert.Equal(t, w.version, m.Version)
				assert.Equal(t, w.name, m.Name)
				assert.Len(t, m.Up.Statements, w.upStmts, m.Up.File)
				assert.Equal(t, w.noTx, m.Up.NoTransaction, m.Up.File)
				if w.downStmts < 0 {
					assert.Nil(t, m.Down, "%s has no down", m.ID())
					continue
				}
				require.NotNil(t, m.Down, m.ID())
				assert.Len(t, m.Down.Statements, w.downStmts, m.Down.File)
				assert.Equal(t, w.noTx, m.Down.NoTransaction, m.Down.File)
			}
			assert.Equal(t, tc.comment, s.Migrations[0].Comment)
		})
	}
}

func TestLoadDirStatementLines(t *testing.T) {
	gm, err := LoadDir("testdata/golang-migrate", Options{})
	require.NoError(t, err)
	up2 := gm.Migrations[1].Up
	assert.Equal(t, filepath.Join("testdata/golang-migrate", "000002_add_email.up.sql"), up2.File)
	assert.Equal(t, []Statement{
		{Line: 2, SQL: "ALTER TABLE users ADD COLUMN email text"},
		{Line: 5, SQL: "UPDATE users SET email = name || '@example.com'"},
	}, up2.Statements)

	goose, err := LoadDir("testdata/goose", Options{})
	require.NoError(t, err)
	m := goose.Migrations[1]
	require.Len(t, m.Up.Statements, 2)
	// The StatementBegin/End block is one statement, semicolons and all.
	assert.Equal(t, 4, m.Up.Statements[0].Line)
	assert.Contains(t, m.Up.Statements[0].SQL, "'insert; done');\n    RETURN NEW;\nEND;\n$$;")
	assert.Equal(t, Statement{Line: 11, SQL: "CREATE TRIGGER users_audit AFTER INSERT ON users\n    FOR EACH ROW EXECUTE FUNCTION audit_user()"}, m.Up.Statements[1])
	assert.Equal(t, []int{15, 17}, []int{m.Down.Statements[0].Line, m.Down.Statements[1].Line})
	assert.Contains(t, m.Up.SQL, "-- +goose StatementBegin")
	assert.NotContains(t, m.Up.SQL, "DROP TRIGGER", "the up section stops at -- +goose Down")
	assert.Equal(t, "Audits every insert into users.", m.Comment)

	db, err := LoadDir("testdata/dbmate", Options{})
	require.NoError(t, err)
	assert.Equal(t, []Statement{{Line: 3, SQL: "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL)"}}, db.Migrations[0].Up.Statements)
	assert.Equal(t, []Statement{{Line: 6, SQL: "DROP TABLE users"}}, db.Migrations[0].Down.Statements)
}

func TestLoadDirBadInput(t *testing.T) {
	const gooseFile = "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 2;\n"
	tests := []struct {
		name  string
		files map[string]string
		opts  Options
		errs  []string // substrings of the error
	}{
		{
			name:  "goose version zero",
			files: map[string]string{"00000_a.sql": gooseFile},
			errs:  []string{"00000_a.sql: goose migration version must be greater than zero"},
		},
		{
			name:  "duplicate golang-migrate versions",
			files: map[string]string{"000001_a.up.sql": "SELECT 1;", "000001_b.up.sql": "SELECT 1;"},
			errs:  []string{"duplicate version 000001", "000001_a.up.sql", "000001_b.up.sql", "renumber"},
		},
		{
			name:  "duplicate versions written differently",
			files: map[string]string{"1_a.up.sql": "SELECT 1;", "0001_b.up.sql": "SELECT 1;"},
			errs:  []string{"duplicate version", "1_a.up.sql", "0001_b.up.sql"},
		},
		{
			name:  "duplicate goose versions",
			files: map[string]string{"00001_a.sql": gooseFile, "1_b.sql": gooseFile},
			errs:  []string{"duplicate version", "00001_a.sql", "1_b.sql"},
		},
		{
			name:  "down without up",
			files: map[string]string{"000001_a.up.sql": "SELECT 1;", "000002_b.down.sql": "SELECT 1;"},
			errs:  []string{"000002_b.down.sql: down file without an up file", "add 000002_b.up.sql"},
		},
		{
			name:  "unknown layout",
			files: map[string]string{"create.sql": "SELECT 1;", "more.sql": "SELECT 2;"},
			errs:  []string{"unknown migration layout", "create.sql", "more.sql", "--layout"},
		},
		{
			name:  "mixed layouts",
			files: map[string]string{"000001_a.up.sql": "SELECT 1;", "000002_b.sql": gooseFile},
			errs:  []string{"mixed migration layouts: golang-migrate (000001_a.up.sql), goose (000002_b.sql)", "keep one layout per folder"},
		},
		{
			name:  "unknown layout option",
			files: map[string]string{"000001_a.up.sql": "SELECT 1;"},
			opts:  Options{Layout: "liquibase"},
			errs:  []string{`unknown layout "liquibase"`, "golang-migrate, goose, dbmate, pop, flyway, sql-migrate"},
		},
		{
			name:  "forced layout that does not fit",
			files: map[string]string{"000001_a.up.sql": "SELECT 1;"},
			opts:  Options{Layout: LayoutGoose},
			errs:  []string{"000001_a.up.sql:1: SQL before '-- +goose Up'", "start the file with a '-- +goose Up' line"},
		},
		{
			name:  "empty folder",
			files: map[string]string{"README.md": "not a migration"},
			errs:  []string{"no migration files (*.sql) found"},
		},
		{
			name:  "syntax error in up",
			files: map[string]string{"000001_a.up.sql": "CREATE TABLE a (id int);\n\nALTER TABLE a ADD COLUMN;\n"},
			errs:  []string{"000001_a.up.sql:3: SQL syntax error", "fix the statement"},
		},
		{
			name:  "syntax error in goose down",
			files: map[string]string{"00001_a.sql": "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\nDROP TABLE;\n"},
			errs:  []string{"00001_a.sql:5: SQL syntax error"},
		},
		{
			name:  "syntax error in goose block",
			files: map[string]string{"00001_a.sql": "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\nSELEKT 2;\n-- +goose StatementEnd\n"},
			errs:  []string{"00001_a.sql:4: SQL syntax error"},
		},
		{
			name:  "goose SQL before Up",
			files: map[string]string{"00001_a.sql": "SELECT 0;\n-- +goose Up\nSELECT 1;\n"},
			errs:  []string{"00001_a.sql:1: SQL before '-- +goose Up'"},
		},
		{
			name:  "goose duplicate Up",
			files: map[string]string{"00001_a.sql": "-- +goose Up\nSELECT 1;\n-- +goose Up\n"},
			errs:  []string{"00001_a.sql:3: duplicate '-- +goose Up'"},
		},
		{
			name:  "goose missing StatementEnd",
			files: map[string]string{"00001_a.sql": "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n"},
			errs:  []string{"00001_a.sql: missing '-- +goose StatementEnd'"},
		},
		{
			name:  "goose unknown annotation",
			files: map[string]string{"00001_a.sql": "-- +goose Up\n-- +goose Sideways\nSELECT 1;\n"},
			errs:  []string{"00001_a.sql:2: unknown goose annotation \"Sideways\""},
		},
		{
			name:  "dbmate down before up",
			files: map[string]string{"20240101000000_a.sql": "-- migrate:down\nSELECT 1;\n-- migrate:up\nSELECT 2;\n"},
			errs:  []string{"20240101000000_a.sql:1: '-- migrate:down' before '-- migrate:up'"},
		},
		{
			name:  "golang-migrate version beyond 64 bits",
			files: map[string]string{"20210101000001000000_a.up.sql": "SELECT 1;"},
			errs:  []string{"20210101000001000000_a.up.sql: version 20210101000001000000 does not fit the 64-bit integer golang-migrate keeps versions in", "--layout pop"},
		},
		{
			name:  "NUL byte",
			files: map[string]string{"000001_a.up.sql": "SELECT 1;\n\x00DROP TABLE a;\n"},
			errs:  []string{"000001_a.up.sql:2: NUL byte at byte offset 10", "remove it"},
		},
		{
			name:  "invalid UTF-8",
			files: map[string]string{"00001_a.sql": "-- +goose Up\nSELECT 'caf\xe9';\n"},
			errs:  []string{"00001_a.sql:2: invalid UTF-8 at byte offset 24", "save the file as UTF-8"},
		},
		{
			name:  "NUL byte in a pop postgres file",
			files: map[string]string{"20210101000001000000_a.postgres.up.sql": "SELECT 1;\x00"},
			errs:  []string{"20210101000001000000_a.postgres.up.sql:1: NUL byte at byte offset 9"},
		},
		{
			name:  "sql-migrate file without a number",
			files: map[string]string{"1_a.sql": "-- +migrate Up\nSELECT 1;\n", "init.sql": "-- +migrate Up\nSELECT 1;\n"},
			errs:  []string{"init.sql: sql-migrate runs every .sql file", "rename it"},
		},
		{
			name:  "sql-migrate unknown command",
			files: map[string]string{"1_a.sql": "-- +migrate Up\n-- +migrate up\nSELECT 1;\n"},
			errs:  []string{"1_a.sql:2: unknown sql-migrate command \"up\"", "case matters"},
		},
		{
			name:  "Flyway undo without its migration",
			files: map[string]string{"V1__a.sql": "SELECT 1;", "U2__b.sql": "SELECT 1;"},
			errs:  []string{"U2__b.sql: undo file without a versioned migration"},
		},
		{
			name:  "Flyway duplicate versions written differently",
			files: map[string]string{"V1_1__a.sql": "SELECT 1;", "V1.1__b.sql": "SELECT 1;"},
			errs:  []string{"duplicate version 1_1", "V1_1__a.sql", "V1.1__b.sql"},
		},
		{
			name:  "an up that is a directory",
			files: map[string]string{"000001_a.up.sql": "SELECT 1;", "000002_b.up.sql/keep": "", "000002_b.down.sql": "SELECT 1;"},
			errs:  []string{"000002_b.up.sql: is a directory, not a migration file"},
		},
		{
			name:  "dbmate SQL before up",
			files: map[string]string{"20240101000000_a.sql": "SELECT 0;\n-- migrate:up\nSELECT 2;\n"},
			errs:  []string{"20240101000000_a.sql:1: SQL before '-- migrate:up'"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeDir(t, tc.files)
			s, err := LoadDir(dir, tc.opts)
			if err == nil {
				// SQL that does not parse is refused once a window runs it.
				_, _, err = s.Range("0", "")
			}
			require.Error(t, err, "loaded %+v", s)
			for _, e := range tc.errs {
				assert.Contains(t, err.Error(), e)
			}
		})
	}

	t.Run("missing folder", func(t *testing.T) {
		_, err := LoadDir(filepath.Join(t.TempDir(), "nope"), Options{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "read migrations folder")
		assert.Contains(t, err.Error(), "no such file or directory")
	})
}

func TestLoadDirUpWithoutDownIsNotAnError(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"000001_a.up.sql":   "SELECT 1;",
		"000001_a.down.sql": "SELECT 1;",
		"000002_b.up.sql":   "SELECT 2;",
		"00003_c.up.sql":    "SELECT 3;",
	})
	s, err := LoadDir(dir, Options{})
	require.NoError(t, err)
	require.Len(t, s.Migrations, 3)
	assert.NotNil(t, s.Migrations[0].Down)
	assert.Nil(t, s.Migrations[1].Down)
	assert.Equal(t, "00003", s.Migrations[2].Version)
}

func TestLoadDirSortsNumerically(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"10_ten.up.sql": "SELECT 10;",
		"9_nine.up.sql": "SELECT 9;",
		"100_h.up.sql":  "SELECT 100;",
	})
	s, err := LoadDir(dir, Options{})
	require.NoError(t, err)
	var got []string
	for _, m := range s.Migrations {
		got = append(got, m.Version)
	}
	assert.Equal(t, []string{"9", "10", "100"}, got)
}

func TestRange(t *testing.T) {
	s, err := LoadDir("testdata/golang-migrate", Options{})
	require.NoError(t, err)
	ids := func(ms []*Migration) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.Version)
		}
		return out
	}
	tests := []struct {
		from, to   string
		base, next []string
		err        string
	}{
		{from: "", to: "", base: []string{}, next: []string{"000001", "000002", "000003", "000004"}},
		{from: "0", to: "000002", base: []string{}, next: []string{"000001", "000002"}},
		{from: "000002", to: "000003", base: []string{"000001", "000002"}, next: []string{"000003"}},
		{from: "2", to: "4", base: []string{"000001", "000002"}, next: []string{"000003", "000004"}},
		{from: "000004", to: "000004", base: []string{"000001", "000002", "000003", "000004"}, next: []string{}},
		{from: "000009", to: "000004", err: "--from 000009: no such migration in testdata/golang-migrate (versions: 000001..000004)"},
		{from: "000001", to: "000012", err: "--to 000012: no such migration in testdata/golang-migrate (versions: 000001..000004)"},
		{from: "v1.0", to: "", err: "--from v1.0: no such migration"},
		{from: "000003", to: "000001", err: "--to 000001 comes before --from 000003"},
	}
	for _, tc := range tests {
		t.Run(tc.from+"-"+tc.to, func(t *testing.T) {
			base, next, err := s.Range(tc.from, tc.to)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.base, ids(base))
			assert.Equal(t, tc.next, ids(next))
		})
	}
	assert.Equal(t, 2, s.Index("000003"))
	assert.Equal(t, 2, s.Index("3"))
	assert.Equal(t, -1, s.Index("5"))
	assert.Equal(t, -1, s.Index("abc"))
}

func TestLoadDirCRLFAndBOM(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"00001_a.sql": "\uFEFF-- Windows editor.\r\n-- +goose Up\r\nCREATE TABLE a (x int);\r\n\r\nCREATE TABLE b (x int);\r\n-- +goose Down\r\nDROP TABLE b;\r\nDROP TABLE a;\r\n",
		"00002_b.sql": "-- +goose NO TRANSACTION\r\n-- +goose Up\r\nCREATE INDEX CONCURRENTLY i ON a (x);\r\n",
	})
	s, err := LoadDir(dir, Options{})
	require.NoError(t, err)
	require.Len(t, s.Migrations, 2)
	m := s.Migrations[0]
	assert.Equal(t, "Windows editor.", m.Comment)
	assert.Equal(t, []Statement{{Line: 3, SQL: "CREATE TABLE a (x int)"}, {Line: 5, SQL: "CREATE TABLE b (x int)"}}, m.Up.Statements)
	assert.Equal(t, []Statement{{Line: 7, SQL: "DROP TABLE b"}, {Line: 8, SQL: "DROP TABLE a"}}, m.Down.Statements)
	assert.True(t, s.Migrations[1].Up.NoTransaction)
	assert.Nil(t, s.Migrations[1].Down)
}
