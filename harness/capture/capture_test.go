package capture_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/capture"
	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

func TestMain(m *testing.M) { pgtest.Main(m, pgtest.WithStatements()) }

const schemaSQL = `CREATE TABLE agents (
	id bigserial PRIMARY KEY,
	hostname text NOT NULL UNIQUE,
	platform text NOT NULL
);
CREATE TABLE certificates (
	id bigserial PRIMARY KEY,
	serial text NOT NULL UNIQUE,
	common_name text NOT NULL,
	agent_id bigint REFERENCES agents
);
`

// workload runs what a small pgx application would: parameterized
// statements (pgx sends them with $n, as pg_stat_statements keeps them),
// plus what capture must leave out.
func workload(t *testing.T, ctx context.Context, conn *pgx.Conn) {
	t.Helper()
	for i := 0; i < 3; i++ {
		var host string
		require.NoError(t, conn.QueryRow(ctx, "SELECT hostname FROM agents WHERE id = $1", int64(11)).Scan(&host))
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"UPDATE certificates SET common_name = $1 WHERE id = $2", []any{"renamed.example.com", int64(22)}},
		{"INSERT INTO agents (hostname, platform) VALUES ($1, $2)", []any{"new.example.com", "linux"}},
		{"SELECT c.serial FROM certificates c JOIN agents a ON a.id = c.agent_id WHERE a.platform = $1 AND c.common_name IN ($2, $3)", []any{"linux", "a", "b"}},
		{"DELETE FROM certificates WHERE serial = $1", []any{"nope"}},
		{"SELECT relname FROM pg_class WHERE oid = $1", []any{uint32(1259)}},
		{"SET application_name = 'app'", nil},
	} {
		_, err := conn.Exec(ctx, q.sql, q.args...)
		require.NoError(t, err, q.sql)
	}
}

func newAppDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, "CREATE EXTENSION pg_stat_statements;\n"+schemaSQL+`
-- Keys far from the typed default (1): a probe hits a row only when its
-- parameters were bound to the state's rows.
INSERT INTO agents (id, hostname, platform) VALUES (11, 'a.example.com', 'linux'), (12, 'b.example.com', 'windows');
INSERT INTO certificates (id, serial, common_name, agent_id) VALUES (21, 'S1', 'a', 11), (22, 'S2', 'b', 11), (23, 'S3', 'c', 12);
SELECT setval('agents_id_seq', 100); SELECT setval('certificates_id_seq', 100);`)
	return dsn, pgtest.Connect(t, dsn)
}

// A workload's statements captured, written, read back as probes and
// replayed on the state with parameters bound to its rows.
func TestCaptureAndReplay(t *testing.T) {
	ctx := context.Background()
	dsn, conn := newAppDB(t)
	require.NoError(t, capture.Reset(ctx, conn))
	workload(t, ctx, conn)

	stmts, sk, err := capture.Read(ctx, conn, "")
	require.NoError(t, err)
	var texts []string
	calls := map[string]int64{}
	for _, s := range stmts {
		texts = append(texts, s.Query)
		calls[s.Query] = s.Calls
	}
	assert.ElementsMatch(t, []string{
		"SELECT hostname FROM agents WHERE id = $1",
		"UPDATE certificates SET common_name = $1 WHERE id = $2",
		"INSERT INTO agents (hostname, platform) VALUES ($1, $2)",
		"SELECT c.serial FROM certificates c JOIN agents a ON a.id = c.agent_id WHERE a.platform = $1 AND c.common_name IN ($2, $3)",
		"DELETE FROM certificates WHERE serial = $1",
	}, texts, "the pg_class query, SET and the reset are left out")
	assert.Equal(t, int64(3), calls["SELECT hostname FROM agents WHERE id = $1"])
	assert.Equal(t, "SELECT hostname FROM agents WHERE id = $1", stmts[0].Query, "most called first")
	assert.GreaterOrEqual(t, sk.Utility, 1, "SET")
	assert.GreaterOrEqual(t, sk.CatalogOnly, 1, "pg_class")

	file := filepath.Join(t.TempDir(), "captured.sql")
	// What `rehearse capture --dsn` does.
	var buf bytes.Buffer
	n, _, err := capture.FromDSN(ctx, dsn, &buf)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o644))
	assert.Contains(t, buf.String(), "-- calls: 3 rows: 3 queryid: ")
	assert.NotContains(t, buf.String(), "renamed.example.com", "no values leave the database")

	probes, err := matrix.LoadProbes(file)
	require.NoError(t, err)
	require.Len(t, probes, 5)
	got := map[string]matrix.ProbeOutcome{}
	for _, p := range probes {
		got[p.SQL] = matrix.RunProbe(ctx, conn, p)
	}
	for sql, o := range got {
		assert.True(t, o.OK(), "%s: %s (bound %s)", sql, o.Err, o.Bound)
	}
	upd := got["UPDATE certificates SET common_name = $1 WHERE id = $2;"]
	assert.Equal(t, int64(1), upd.Rows, "the UPDATE hits an existing row (bound %s)", upd.Bound)
	assert.Equal(t, int64(1), got["SELECT hostname FROM agents WHERE id = $1;"].Rows)
	ins := got["INSERT INTO agents (hostname, platform) VALUES ($1, $2);"]
	assert.Equal(t, int64(1), ins.Rows, "a fresh hostname, not a copy of the unique one: %s", ins.Bound)
	var kept int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM certificates WHERE common_name = 'renamed.example.com'").Scan(&kept))
	assert.Equal(t, 1, kept, "probes roll back")
}

// The captured file judges migrations: a rename breaks the UPDATE and the
// join, attributed to the migration that renames.
func TestCapturedProbesInMatrix(t *testing.T) {
	ctx := context.Background()
	_, conn := newAppDB(t)
	require.NoError(t, capture.Reset(ctx, conn))
	workload(t, ctx, conn)
	stmts, sk, err := capture.Read(ctx, conn, "")
	require.NoError(t, err)
	dir := t.TempDir()
	file := filepath.Join(dir, "captured.sql")
	f, err := os.Create(file)
	require.NoError(t, err)
	require.NoError(t, capture.Write(f, capture.Header{Database: "app", Skipped: sk}, stmts))
	require.NoError(t, f.Close())

	migs := filepath.Join(dir, "migrations")
	require.NoError(t, os.Mkdir(migs, 0o755))
	for name, sql := range map[string]string{
		"000001_init.up.sql":        schemaSQL,
		"000001_init.down.sql":      "DROP TABLE certificates; DROP TABLE agents;",
		"000002_add_notes.up.sql":   "ALTER TABLE certificates ADD COLUMN notes text;",
		"000002_add_notes.down.sql": "ALTER TABLE certificates DROP COLUMN notes;",
		"000003_rename_cn.up.sql":   "ALTER TABLE certificates RENAME COLUMN common_name TO subject;",
		"000003_rename_cn.down.sql": "ALTER TABLE certificates RENAME COLUMN subject TO common_name;",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(migs, name), []byte(sql), 0o644))
	}
	set, err := migrate.LoadDir(migs, migrate.Options{})
	require.NoError(t, err)
	probes, err := matrix.LoadProbes(file)
	require.NoError(t, err)
	bk, err := migrate.BookkeepingFor("golang-migrate")
	require.NoError(t, err)
	mctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rep, err := matrix.Run(mctx, matrix.Config{
		AdminDSN: pgtest.AdminDSN(t), Prefix: "capture_matrix", Set: set, From: "000001", To: "000003",
		Bookkeeping: bk, Seeder: seed.New(seed.Options{Seed: 1, Rows: 30}), Probes: probes, Parallel: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, 2)
	add, rename := rep.Results[0].Checks.OldCode, rep.Results[1].Checks.OldCode
	assert.Equal(t, matrix.StatusOK, add.Status, add.Error)
	assert.Contains(t, add.Notes, "5 probes pass")
	assert.Equal(t, matrix.StatusFail, rename.Status)
	assert.Contains(t, rename.Error, "2 of 5 probes break")
	assert.Contains(t, rename.Detail, `column "common_name" of relation "certificates" does not exist`)
	assert.Contains(t, rename.Detail, "UPDATE certificates SET common_name = $1 WHERE id = $2")
}

// Where pg_stat_statements cannot be read, the error says how to fix it.
func TestCaptureRefuses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup string
		want  []string
	}{
		{"extension missing", "", []string{"not installed in database", "shared_preload_libraries", "CREATE EXTENSION pg_stat_statements"}},
		{"role without pg_read_all_stats", "CREATE EXTENSION pg_stat_statements; DROP ROLE IF EXISTS capture_lowpriv; CREATE ROLE capture_lowpriv; SET ROLE capture_lowpriv",
			[]string{`role "capture_lowpriv"`, "<insufficient privilege>", `GRANT pg_read_all_stats TO "capture_lowpriv"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			conn := pgtest.Connect(t, dsn)
			if tc.setup != "" {
				// Statements of another role, recorded in this database.
				pgtest.Exec(t, dsn, "CREATE TABLE t (id int); SELECT * FROM t WHERE id = 1")
				_, err := conn.Exec(ctx, tc.setup)
				require.NoError(t, err)
				t.Cleanup(func() { conn.Exec(ctx, "RESET ROLE; DROP ROLE IF EXISTS capture_lowpriv") })
			}
			_, _, err := capture.Read(ctx, conn, "")
			require.ErrorIs(t, err, capture.ErrNotAvailable)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// Recorder names the steps that ran each statement and leaves out what
// ran between steps.
func TestRecorderSteps(t *testing.T) {
	ctx := context.Background()
	dsn, conn := newAppDB(t)
	db := conn.Config().Database
	rec := &capture.Recorder{AdminDSN: pgtest.AdminDSN(t), Database: db}
	require.NoError(t, rec.Enable(ctx))
	_, err := conn.Exec(ctx, "SELECT hostname FROM agents WHERE id = $1", int64(11))
	require.NoError(t, err)
	require.NoError(t, rec.Take(ctx, "boot"))
	pgtest.Exec(t, dsn, "INSERT INTO agents (hostname, platform) VALUES ('seeded', 'x')")
	require.NoError(t, rec.Reset(ctx))
	for _, q := range []string{"SELECT hostname FROM agents WHERE id = $1", "SELECT serial FROM certificates WHERE agent_id = $1"} {
		_, err := conn.Exec(ctx, q, int64(11))
		require.NoError(t, err)
	}
	require.NoError(t, rec.Take(ctx, "smoke: list"))

	steps := map[string][]string{}
	for _, s := range rec.Statements() {
		steps[s.Query] = s.Steps
		assert.False(t, strings.Contains(s.Query, "seeded") || strings.HasPrefix(s.Query, "INSERT"), "seeding between steps is not recorded: %s", s.Query)
	}
	assert.Equal(t, map[string][]string{
		"SELECT hostname FROM agents WHERE id = $1":           {"boot", "smoke: list"},
		"SELECT serial FROM certificates WHERE agent_id = $1": {"smoke: list"},
	}, steps)
	assert.Equal(t, []capture.StepCount{{Step: "boot", Statements: 1, New: 1}, {Step: "smoke: list", Statements: 2, New: 1}}, rec.Steps())
}
