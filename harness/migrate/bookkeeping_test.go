package migrate

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// rows returns every row of query as text.
func rows(t *testing.T, conn *pgx.Conn, query string, args ...any) [][]string {
	t.Helper()
	r, err := conn.Query(testCtx(t), query, args...)
	require.NoError(t, err)
	out := [][]string{}
	for r.Next() {
		vals, err := r.Values()
		require.NoError(t, err)
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	require.NoError(t, r.Err())
	return out
}

// bookkeepingQuery lists what each tool's table holds, in the tool's order.
var bookkeepingQuery = map[string]string{
	"golang-migrate": "SELECT version::text, dirty::text FROM schema_migrations",
	"goose":          "SELECT version_id::text, is_applied::text FROM goose_db_version ORDER BY id",
	"dbmate":         "SELECT version FROM schema_migrations ORDER BY version",
}

func TestBookkeepingMigrateRevert(t *testing.T) {
	tests := []struct {
		bk       string
		dir      string
		apply    int // how many migrations Migrate applies
		afterUp  [][]string
		upCur    string
		afterOne [][]string // after reverting down to the first migration
		afterAll [][]string // after reverting the first too
	}{
		{
			bk: "golang-migrate", dir: "testdata/golang-migrate", apply: 3,
			afterUp: [][]string{{"3", "false"}}, upCur: "3",
			afterOne: [][]string{{"1", "false"}},
			afterAll: [][]string{},
		},
		{
			bk: "goose", dir: "testdata/goose", apply: 3,
			afterUp: [][]string{{"0", "true"}, {"1", "true"}, {"2", "true"}, {"3", "true"}}, upCur: "3",
			afterOne: [][]string{{"0", "true"}, {"1", "true"}},
			afterAll: [][]string{{"0", "true"}},
		},
		{
			bk: "dbmate", dir: "testdata/dbmate", apply: 2,
			afterUp: [][]string{{"20240101120000"}, {"20240102120000"}}, upCur: "20240102120000",
			afterOne: [][]string{{"20240101120000"}},
			afterAll: [][]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.bk, func(t *testing.T) {
			set, err := LoadDir(tc.dir, Options{})
			require.NoError(t, err)
			bk, err := BookkeepingFor(tc.bk)
			require.NoError(t, err)
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			ctx := testCtx(t)
			ms := set.Migrations[:tc.apply]

			require.NoError(t, Migrate(ctx, conn, ms, bk))
			assert.Equal(t, tc.afterUp, rows(t, conn, bookkeepingQuery[tc.bk]))
			v, dirty, err := bk.Current(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, tc.upCur, v)
			assert.False(t, dirty)
			assert.True(t, tableExistsT(t, conn, "users"))

			require.NoError(t, RevertTo(ctx, conn, ms, 1, bk))
			assert.Equal(t, tc.afterOne, rows(t, conn, bookkeepingQuery[tc.bk]))
			v, _, err = bk.Current(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, 0, set.Index(v), "current is the first migration, %q", v)

			require.NoError(t, Revert(ctx, conn, ms[:1], bk))
			assert.Equal(t, tc.afterAll, rows(t, conn, bookkeepingQuery[tc.bk]))
			v, dirty, err = bk.Current(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, "", v)
			assert.False(t, dirty)
			assert.False(t, tableExistsT(t, conn, "users"), "the downs ran")

			// The last migration of each testdata set has no down.
			all := set.Migrations
			require.NoError(t, Migrate(ctx, conn, all, bk))
			err = Revert(ctx, conn, all, bk)
			require.ErrorIs(t, err, ErrNoDown)
			assert.Contains(t, err.Error(), all[len(all)-1].ID())
		})
	}
}

// TestBookkeepingOnFailure: a failed up or down leaves the table as the
// tool leaves it; golang-migrate's dirty flag says where it stopped.
func TestBookkeepingOnFailure(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"1_a.up.sql":   "CREATE TABLE a (x int);",
		"1_a.down.sql": "DROP TABLE a;",
		"2_b.up.sql":   "CREATE TABLE b (x int);",
		"2_b.down.sql": "DROP TABLE b;\nSELECT 1/0;",
		"3_c.up.sql":   "CREATE TABLE c (x int);\nSELECT 1/0;",
		"3_c.down.sql": "DROP TABLE c;",
	})
	set, err := LoadDir(dir, Options{})
	require.NoError(t, err)
	tests := []struct {
		bk                 string
		afterUp, afterDown [][]string
		upDirty, downDirty bool
		upCur, downCur     string
	}{
		{bk: "golang-migrate", afterUp: [][]string{{"3", "true"}}, upDirty: true, upCur: "3",
			afterDown: [][]string{{"1", "true"}}, downDirty: true, downCur: "1"},
		{bk: "goose", afterUp: [][]string{{"0", "true"}, {"1", "true"}, {"2", "true"}}, upCur: "2",
			afterDown: [][]string{{"0", "true"}, {"1", "true"}, {"2", "true"}}, downCur: "2"},
		{bk: "dbmate", afterUp: [][]string{{"1"}, {"2"}}, upCur: "2",
			afterDown: [][]string{{"1"}, {"2"}}, downCur: "2"},
	}
	for _, tc := range tests {
		t.Run(tc.bk, func(t *testing.T) {
			bk, err := BookkeepingFor(tc.bk)
			require.NoError(t, err)
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			ctx := testCtx(t)

			err = Migrate(ctx, conn, set.Migrations, bk)
			var ae *ApplyError
			require.True(t, errors.As(err, &ae), "got %v", err)
			assert.Equal(t, "22012", ae.SQLState)
			assert.Equal(t, 2, ae.Line)
			assert.Equal(t, tc.afterUp, rows(t, conn, bookkeepingQuery[tc.bk]))
			v, dirty, err := bk.Current(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, tc.upCur, v)
			assert.Equal(t, tc.upDirty, dirty)

			err = RevertTo(ctx, conn, set.Migrations[:2], 0, bk)
			require.True(t, errors.As(err, &ae), "got %v", err)
			assert.Equal(t, tc.afterDown, rows(t, conn, bookkeepingQuery[tc.bk]))
			v, dirty, err = bk.Current(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, tc.downCur, v)
			assert.Equal(t, tc.downDirty, dirty)
		})
	}
}

// TestBookkeepingTables: each table has the columns the tool creates.
func TestBookkeepingTables(t *testing.T) {
	const columns = `SELECT column_name, data_type, is_nullable, coalesce(column_default, ''), is_identity
		FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`
	const pk = `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = to_regclass($1) AND i.indisprimary`
	tests := []struct {
		bk, table string
		columns   [][]string
		pk        string
	}{
		{bk: "golang-migrate", table: "schema_migrations", pk: "version", columns: [][]string{
			{"version", "bigint", "NO", "", "NO"},
			{"dirty", "boolean", "NO", "", "NO"},
		}},
		{bk: "goose", table: "goose_db_version", pk: "id", columns: [][]string{
			{"id", "integer", "NO", "", "YES"},
			{"version_id", "bigint", "NO", "", "NO"},
			{"is_applied", "boolean", "NO", "", "NO"},
			{"tstamp", "timestamp without time zone", "NO", "now()", "NO"},
		}},
		{bk: "dbmate", table: "schema_migrations", pk: "version", columns: [][]string{
			{"version", "character varying", "NO", "", "NO"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.bk, func(t *testing.T) {
			bk, err := BookkeepingFor(tc.bk)
			require.NoError(t, err)
			assert.Equal(t, tc.table, bk.Table())
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			ctx := testCtx(t)

			_, _, err = bk.Current(ctx, conn)
			require.ErrorIs(t, err, ErrNoBookkeeping)
			assert.Contains(t, err.Error(), "no bookkeeping table "+tc.table)

			require.NoError(t, bk.Ensure(ctx, conn))
			require.NoError(t, bk.Ensure(ctx, conn), "Ensure twice is a no-op")
			assert.Equal(t, tc.columns, rows(t, conn, columns, tc.table))
			assert.Equal(t, [][]string{{tc.pk}}, rows(t, conn, pk, tc.table))

			d, err := Detect(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, tc.bk, d.Name())
			v, dirty, err := bk.Current(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, "", v, "nothing applied yet")
			assert.False(t, dirty)
			if tc.bk == "goose" {
				assert.Equal(t, [][]string{{"0", "true"}}, rows(t, conn, bookkeepingQuery["goose"]), "goose starts with a version 0 row")
			}
		})
	}
}

func TestBookkeepingNone(t *testing.T) {
	bk, err := BookkeepingFor("none")
	require.NoError(t, err)
	assert.Equal(t, "none", bk.Name())
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	ctx := testCtx(t)
	set, err := LoadDir("testdata/golang-migrate", Options{})
	require.NoError(t, err)

	require.NoError(t, Migrate(ctx, conn, set.Migrations[:2], bk))
	assert.True(t, tableExistsT(t, conn, "users"))
	assert.False(t, tableExistsT(t, conn, "schema_migrations"), "an app without bookkeeping gets no table")
	_, _, err = bk.Current(ctx, conn)
	require.ErrorIs(t, err, ErrNoBookkeeping)
	assert.Contains(t, err.Error(), "no bookkeeping table schema_migrations: this app keeps none")

	d, err := Detect(ctx, conn)
	require.NoError(t, err)
	assert.Equal(t, "none", d.Name())

	require.NoError(t, Revert(ctx, conn, set.Migrations[:2], bk))
	assert.False(t, tableExistsT(t, conn, "users"))
}

func TestDetectRefusesAmbiguousTables(t *testing.T) {
	tests := []struct {
		name, setup, err string
	}{
		{name: "both tools", setup: "CREATE TABLE goose_db_version (id int); CREATE TABLE schema_migrations (version bigint, dirty boolean);", err: "several bookkeeping tables exist (goose_db_version, schema_migrations)"},
		{name: "unknown shape", setup: "CREATE TABLE schema_migrations (id int, applied_at timestamptz);", err: "neither golang-migrate's"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			pgtest.Exec(t, dsn, tc.setup)
			_, err := Detect(testCtx(t), pgtest.Connect(t, dsn))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

func TestBookkeepingForUnknown(t *testing.T) {
	_, err := BookkeepingFor("liquibase")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown bookkeeping "liquibase": use one of golang-migrate, goose, dbmate, pop, popx, flyway, sql-migrate, rerun-at-boot, none`)
}

// TestBookkeepingRerunAtBootAlias: rerun-at-boot names what "none" means
// (the app re-runs its up files at boot); both are the same adapter, which
// keeps the name "none" in reports.
func TestBookkeepingRerunAtBootAlias(t *testing.T) {
	for _, name := range []string{"none", "rerun-at-boot"} {
		bk, err := BookkeepingFor(name)
		require.NoError(t, err)
		assert.Equal(t, "none", bk.Name(), name)
	}
}

// TestBookkeepingInMigrationTransaction: goose and dbmate record the version
// inside the migration's transaction, so a failed record undoes the
// migration; with NO TRANSACTION the statements stay.
func TestBookkeepingInMigrationTransaction(t *testing.T) {
	tests := []struct {
		bk, table string
		noTx      bool
		kept      bool
	}{
		{bk: "goose", table: "goose_db_version", kept: false},
		{bk: "goose", table: "goose_db_version", noTx: true, kept: true},
		{bk: "dbmate", table: "schema_migrations", kept: false},
		{bk: "dbmate", table: "schema_migrations", noTx: true, kept: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s noTx=%v", tc.bk, tc.noTx), func(t *testing.T) {
			bk, err := BookkeepingFor(tc.bk)
			require.NoError(t, err)
			dsn := pgtest.NewDatabase(t)
			conn := pgtest.Connect(t, dsn)
			ctx := testCtx(t)
			require.NoError(t, bk.Ensure(ctx, conn))
			// The record fails: its table is gone.
			pgtest.Exec(t, dsn, "DROP TABLE "+tc.table)
			m := &Migration{Version: "7", Name: "x", Up: script(t, "7_x.up.sql", "CREATE TABLE users (id int);", tc.noTx)}
			err = Up(ctx, conn, m, bk, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "bookkeeping")
			assert.Equal(t, tc.kept, tableExistsT(t, conn, "users"))
		})
	}
}
