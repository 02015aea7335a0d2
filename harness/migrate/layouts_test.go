package migrate

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// TestLoadLayoutFixtures: each real-world layout is detected, its files
// picked the way its tool picks them, and the rest listed as ignored.
func TestLoadLayoutFixtures(t *testing.T) {
	tests := []struct {
		dir      string
		layout   Layout
		bk       string
		versions []string
		ups      []string // base names of the up scripts, in order
		downs    []string // "" = no down
		ignored  []string
	}{
		{
			dir: "pop", layout: LayoutPop, bk: "popx",
			versions: []string{"20210101000001000000", "20210101000002000000", "20210101000003000000"},
			ups:      []string{"20210101000001000000_networks.postgres.up.sql", "20210101000002000000_identities.postgres.up.sql", "20210101000003000000_identities_state.postgres.up.sql"},
			downs:    []string{"20210101000001000000_networks.down.sql", "20210101000002000000_identities.postgres.down.sql", "20210101000003000000_identities_state.postgres.down.sql"},
			ignored: []string{
				"20210101000001000000_networks.mysql.down.sql: another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL)",
				"20210101000001000000_networks.mysql.up.sql: another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL)",
				"20210101000001000000_networks.sqlite3.up.sql: another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL)",
				"20210101000001000000_networks.up.sql: the postgres file of the same version runs instead",
				"20210101000002000000_identities.mysql.down.sql: another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL)",
				"20210101000002000000_identities.mysql.up.sql: another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL)",
				"20210101000003000000_identities_state.cockroach.down.sql: another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL)",
				"20210101000003000000_identities_state.cockroach.up.sql: another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL)",
				"README.md: not named VERSION_name[.dialect].up.sql / .down.sql (pop ignores it)",
			},
		},
		{
			dir: "flyway", layout: LayoutFlyway, bk: "flyway",
			versions: []string{"1", "1.1", "1.9", "1.10"},
			ups:      []string{"V1__create_users.sql", "V1_1__add_email.sql", "V1.9__add_age.sql", "V1.10__index_email.sql"},
			downs:    []string{"U1__create_users.sql", "U1_1__add_email.sql", "U1.9__add_age.sql", "U1.10__index_email.sql"},
			ignored:  []string{"README.md: not named V<version>__<description>.sql or U<version>__<description>.sql (Flyway does not migrate it)"},
		},
		{
			dir: "sql-migrate", layout: LayoutSQLMigrate, bk: "sql-migrate",
			versions: []string{"1", "2", "10"},
			ups:      []string{"1_users.sql", "2_touch.sql", "10_index_name.sql"},
			downs:    []string{"1_users.sql", "2_touch.sql", "10_index_name.sql"},
		},
		{
			dir: "golang-migrate-stray", layout: LayoutGolangMigrate, bk: "golang-migrate",
			versions: []string{"000001", "000002"},
			ups:      []string{"000001_users.up.sql", "000002_email.up.sql"},
			downs:    []string{"000001_users.down.sql", "000002_email.down.sql"},
			ignored: []string{
				"README.md: not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it)",
				"seed.sql: not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it)",
			},
		},
		{
			dir: "goose-go", layout: LayoutGoose, bk: "goose",
			versions: []string{"00001", "00003"},
			ups:      []string{"00001_users.sql", "00003_name_not_null.sql"},
			downs:    []string{"00001_users.sql", "00003_name_not_null.sql"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			set, err := LoadDir(filepath.Join("testdata", tc.dir), Options{})
			require.NoError(t, err)
			assert.Equal(t, tc.layout, set.Layout)
			assert.Equal(t, tc.bk, set.DefaultBookkeeping())
			var versions, ups, downs []string
			for _, m := range set.Migrations {
				versions = append(versions, m.Version)
				ups = append(ups, filepath.Base(m.Up.File))
				d := ""
				if m.Down != nil {
					d = filepath.Base(m.Down.File)
				}
				downs = append(downs, d)
			}
			assert.Equal(t, tc.versions, versions)
			assert.Equal(t, tc.ups, ups)
			assert.Equal(t, tc.downs, downs)
			assert.Equal(t, tc.ignored, set.Ignored)
		})
	}
}

// TestLoadSQLMigrateSections: sql-migrate's notransaction and
// StatementBegin/End are read as sql-migrate reads them.
func TestLoadSQLMigrateSections(t *testing.T) {
	set, err := LoadDir("testdata/sql-migrate", Options{})
	require.NoError(t, err)
	touch, index := set.Migrations[1], set.Migrations[2]
	require.Len(t, touch.Up.Statements, 2)
	assert.Equal(t, 3, touch.Up.Statements[0].Line)
	assert.Contains(t, touch.Up.Statements[0].SQL, "RETURN NEW;")
	assert.Equal(t, 10, touch.Up.Statements[1].Line)
	assert.False(t, touch.Up.NoTransaction)
	assert.True(t, index.Up.NoTransaction)
	assert.True(t, index.Down.NoTransaction)
}

// TestUnrunnableRefused: goose Go migrations and pop fizz files are never
// skipped: a window that reaches them is refused, naming the files and
// the way out; a window before them works.
func TestUnrunnableRefused(t *testing.T) {
	fizzDir := writeDir(t, map[string]string{
		"20190101000001_users.up.sql":      "CREATE TABLE users (id int);",
		"20190101000001_users.down.sql":    "DROP TABLE users;",
		"20190101000002_widgets.up.fizz":   `create_table("widgets") {}`,
		"20190101000002_widgets.down.fizz": `drop_table("widgets")`,
	})
	repeatable := writeDir(t, map[string]string{"V1__a.sql": "CREATE TABLE a (id int);", "R__views.sql": "CREATE OR REPLACE VIEW v AS SELECT 1;"})
	tests := []struct {
		name     string
		dir      string
		from, to string
		errs     []string // nil = the window is fine
	}{
		{"goose Go migration in the window", "testdata/goose-go", "1", "", []string{"00002_backfill_names.go", "goose Go migrations run only inside a goose binary", "--to before their versions"}},
		{"goose Go migration in the base", "testdata/goose-go", "3", "3", []string{"00002_backfill_names.go"}},
		{"window before the Go migration", "testdata/goose-go", "0", "1", nil},
		{"--to names the Go migration", "testdata/goose-go", "1", "2", []string{"version 2 is", "00002_backfill_names.go", "end the window before it"}},
		{"fizz in the window", fizzDir, "20190101000001", "", []string{"20190101000002_widgets.up.fizz", "20190101000002_widgets.down.fizz", "fizz translator"}},
		{"window before the fizz files", fizzDir, "0", "20190101000001", nil},
		{"Flyway repeatable migration", repeatable, "0", "", []string{"R__views.sql", "repeatable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := LoadDir(tc.dir, Options{})
			require.NoError(t, err)
			_, _, err = set.Range(tc.from, tc.to)
			if tc.errs == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, e := range tc.errs {
				assert.Contains(t, err.Error(), e)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "000001", 0},
		{"9", "10", -1},
		{"1.9", "1.10", -1},
		{"1_1", "1.1", 0},
		{"1.0", "1", 0},
		{"2", "1.99", 1},
		{"20210101000001000000", "20210101000002000000", -1},
		{"99999999999999999999", "100000000000000000000", -1},
		{"20240101120000", "20210101000001000000", -1},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, compareVersions(tc.a, tc.b), "%s vs %s", tc.a, tc.b)
		assert.Equal(t, -tc.want, compareVersions(tc.b, tc.a), "%s vs %s", tc.b, tc.a)
	}
}

// TestLayoutBookkeeping applies each new layout's fixture up and down on a
// real PostgreSQL with its tool's bookkeeping and checks the rows the tool
// would have written.
func TestLayoutBookkeeping(t *testing.T) {
	tests := []struct {
		dir      string
		query    string
		afterUp  [][]string
		upCur    string
		keep     int
		afterRev [][]string
		revCur   string
	}{
		{
			dir: "pop", query: "SELECT version, version_self::text FROM schema_migration ORDER BY version",
			afterUp: [][]string{{"20210101000001000000", "0"}, {"20210101000002000000", "0"}, {"20210101000003000000", "0"}}, upCur: "20210101000003000000",
			keep: 1, afterRev: [][]string{{"20210101000001000000", "0"}}, revCur: "20210101000001000000",
		},
		{
			dir:   "flyway",
			query: "SELECT installed_rank::text, version, description, type, script, (checksum IS NOT NULL)::text, (installed_by = current_user)::text, success::text FROM flyway_schema_history ORDER BY installed_rank",
			afterUp: [][]string{
				{"1", "1", "create users", "SQL", "V1__create_users.sql", "true", "true", "true"},
				{"2", "1.1", "add email", "SQL", "V1_1__add_email.sql", "true", "true", "true"},
				{"3", "1.9", "add age", "SQL", "V1.9__add_age.sql", "true", "true", "true"},
				{"4", "1.10", "index email", "SQL", "V1.10__index_email.sql", "true", "true", "true"},
			},
			upCur: "1.10", keep: 2,
			afterRev: [][]string{
				{"1", "1", "create users", "SQL", "V1__create_users.sql", "true", "true", "true"},
				{"2", "1.1", "add email", "SQL", "V1_1__add_email.sql", "true", "true", "true"},
				{"3", "1.9", "add age", "SQL", "V1.9__add_age.sql", "true", "true", "true"},
				{"4", "1.10", "index email", "SQL", "V1.10__index_email.sql", "true", "true", "true"},
				{"5", "1.10", "index email", "UNDO_SQL", "U1.10__index_email.sql", "true", "true", "true"},
				{"6", "1.9", "add age", "UNDO_SQL", "U1.9__add_age.sql", "true", "true", "true"},
			},
			revCur: "1.1",
		},
		{
			dir: "sql-migrate", query: "SELECT id, (applied_at IS NOT NULL)::text FROM gorp_migrations ORDER BY applied_at",
			afterUp: [][]string{{"1_users.sql", "true"}, {"2_touch.sql", "true"}, {"10_index_name.sql", "true"}}, upCur: "10",
			keep: 1, afterRev: [][]string{{"1_users.sql", "true"}}, revCur: "1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			set, err := LoadDir(filepath.Join("testdata", tc.dir), Options{})
			require.NoError(t, err)
			bk, err := BookkeepingFor(set.DefaultBookkeeping())
			require.NoError(t, err)
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			ctx := testCtx(t)

			require.NoError(t, Migrate(ctx, conn, set.Migrations, bk))
			assert.Equal(t, tc.afterUp, rows(t, conn, tc.query))
			cur, dirty, err := bk.Current(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, tc.upCur, cur)
			assert.False(t, dirty)
			detected, err := Detect(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, bk.Name(), detected.Name())

			require.NoError(t, RevertTo(ctx, conn, set.Migrations, tc.keep, bk))
			assert.Equal(t, tc.afterRev, rows(t, conn, tc.query))
			cur, _, err = bk.Current(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, tc.revCur, cur)
		})
	}
	t.Run("pop picked the postgres files", func(t *testing.T) {
		set, err := LoadDir("testdata/pop", Options{})
		require.NoError(t, err)
		bk, err := BookkeepingFor("popx")
		require.NoError(t, err)
		conn := pgtest.Connect(t, pgtest.NewDatabase(t))
		require.NoError(t, Migrate(testCtx(t), conn, set.Migrations, bk))
		assert.Equal(t, [][]string{{"uuid"}}, rows(t, conn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'networks'::regclass AND attname = 'id'"))
	})
}

// TestPopTable: gobuffalo/pop's own table is varchar(14) with a unique
// index; a 20-digit version does not fit it, as with pop itself.
func TestPopTable(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"20190101000001_users.up.sql":   "CREATE TABLE users (id int);",
		"20190101000001_users.down.sql": "DROP TABLE users;",
	})
	set, err := LoadDir(dir, Options{Layout: LayoutPop})
	require.NoError(t, err)
	assert.Equal(t, "pop", set.DefaultBookkeeping())
	bk, err := BookkeepingFor("pop")
	require.NoError(t, err)
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	ctx := testCtx(t)
	require.NoError(t, Migrate(ctx, conn, set.Migrations, bk))
	assert.Equal(t, [][]string{{"20190101000001"}}, rows(t, conn, "SELECT version FROM schema_migration"))
	assert.Equal(t, [][]string{{"character varying(14)", "true"}}, rows(t, conn, "SELECT format_type(atttypid, atttypmod), attnotnull::text FROM pg_attribute WHERE attrelid = 'schema_migration'::regclass AND attname = 'version'"))
	assert.Equal(t, [][]string{{"CREATE UNIQUE INDEX schema_migration_version_idx ON public.schema_migration USING btree (version)"}},
		rows(t, conn, "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'schema_migration'::regclass AND NOT indisprimary"))

	wide, err := LoadDir("testdata/pop", Options{})
	require.NoError(t, err)
	err = Up(ctx, conn, wide.Migrations[0], bk, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--bookkeeping popx")
}

// TestFlywayChecksum: Flyway sums the lines without their breaks or a
// BOM, so the same SQL saved with CRLF or a BOM keeps its checksum.
func TestFlywayChecksum(t *testing.T) {
	lf := flywayChecksum("CREATE TABLE a (id int);\nDROP TABLE b;\n")
	assert.NotZero(t, lf)
	assert.Equal(t, lf, flywayChecksum("CREATE TABLE a (id int);\r\nDROP TABLE b;\r\n"))
	assert.Equal(t, lf, flywayChecksum("\uFEFFCREATE TABLE a (id int);\nDROP TABLE b;"))
	assert.NotEqual(t, lf, flywayChecksum("CREATE TABLE a (id int);\nDROP TABLE c;\n"))
}
