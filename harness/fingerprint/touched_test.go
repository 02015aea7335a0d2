package fingerprint_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// touchedSchema has plain tables, one written by a trigger on another, an
// enum-typed table, a table without a primary key and a partitioned table.
const touchedSchema = `
CREATE TYPE mood AS ENUM ('ok', 'bad');
CREATE TABLE a (id int PRIMARY KEY, v text);
CREATE TABLE b (id int PRIMARY KEY, v text, at timestamptz);
CREATE TABLE e (id int PRIMARY KEY, m mood);
CREATE TABLE nokey (id int, v text);
CREATE TABLE p (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000);
INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 200) g;
INSERT INTO b SELECT g, 'b' || g, '2024-01-01'::timestamptz + g * interval '1 day' FROM generate_series(1, 200) g;
INSERT INTO e SELECT g, CASE WHEN g % 2 = 0 THEN 'ok'::mood ELSE 'bad' END FROM generate_series(1, 50) g;
INSERT INTO nokey SELECT g, 'n' || g FROM generate_series(1, 50) g;
INSERT INTO p SELECT g, 'p' || g FROM generate_series(1, 100) g;
-- a statement trigger on a that writes b: a change that names a touches b
CREATE FUNCTION a_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE b SET v = v || '!' WHERE id = 1; RETURN NULL; END $$;
CREATE TRIGGER a_audit AFTER UPDATE ON a FOR EACH STATEMENT EXECUTE FUNCTION a_audit();
`

// marked sets up touchedSchema with N+1-era keys recorded for a, marks it
// and fingerprints it as the matrix does.
func marked(t *testing.T, conn *pgx.Conn) (*fingerprint.Mark, *schema.Snapshot, map[string]fingerprint.Set, []string) {
	t.Helper()
	_, err := conn.Exec(ctx(t), touchedSchema)
	require.NoError(t, err)
	require.NoError(t, era.Ensure(ctx(t), conn))
	snap, err := schema.Take(ctx(t), conn, schema.Options{})
	require.NoError(t, err)
	_, err = era.RecordWhere(ctx(t), conn, snap.Tables["public.a"], "s1", "r.id > 190")
	require.NoError(t, err)
	tables := make([]string, 0, len(snap.Tables))
	for name := range snap.Tables {
		tables = append(tables, name)
	}
	sort.Strings(tables)
	mark, err := fingerprint.NewMark(ctx(t), conn, snap, tables)
	require.NoError(t, err)
	bySteps, err := fingerprint.TakeSteps(ctx(t), conn, snap, tables...)
	require.NoError(t, err)
	old, nw := fingerprint.SplitSteps(bySteps, func(s string) bool { return s != "" })
	mark.Counted(fingerprint.Merge(old, nw))
	return mark, snap, bySteps, tables
}

// TestTouched: each change touches exactly the tables whose data, storage,
// columns or text forms it can have changed, whoever named them; and every
// table not touched has the very fingerprint it had at the mark (the
// property reuse rests on). Each change is measured three ways: by scanning
// for rows written since the mark, and by the write counters, with the
// change made by the measuring session or by another one that has ended.
func TestTouched(t *testing.T) {
	cases := []struct {
		name    string
		change  string
		touched []string
	}{
		{"nothing", `SELECT 1`, nil},
		{"schema only elsewhere", `CREATE INDEX ON a (v); COMMENT ON TABLE b IS 'x'; CREATE TABLE z (id int)`, []string{"public.z"}},
		{"insert", `INSERT INTO a VALUES (1000, 'new')`, []string{"public.a"}},
		{"update to the same value", `UPDATE b SET v = v WHERE id = 5`, []string{"public.b"}},
		{"delete", `DELETE FROM nokey WHERE id = 3`, []string{"public.nokey"}},
		{"delete and insert as many", `DELETE FROM a WHERE id = 3; INSERT INTO a VALUES (3, 'a3')`, []string{"public.a"}},
		{"trigger writes a table the statement does not name", `UPDATE a SET v = v WHERE false`, []string{"public.b"}},
		{"rewrite without a data change", `VACUUM FULL b`, []string{"public.b"}},
		{"truncate and reload", `CREATE TEMP TABLE keep AS SELECT * FROM nokey; TRUNCATE nokey; INSERT INTO nokey SELECT * FROM keep`, []string{"public.nokey"}},
		{"add column", `ALTER TABLE a ADD COLUMN c int DEFAULT 1`, []string{"public.a"}},
		{"rename column", `ALTER TABLE b RENAME COLUMN v TO w`, []string{"public.b"}},
		{"rename table", `ALTER TABLE nokey RENAME TO nokey2`, []string{"public.nokey2"}},
		{"primary key added", `ALTER TABLE nokey ADD PRIMARY KEY (id)`, []string{"public.nokey"}},
		{"enum label renamed", `ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'`, []string{"public.e"}},
		{"session text form", `SET DateStyle = 'German'`, []string{"public.a", "public.b", "public.e", "public.nokey", "public.p", "public.p1"}},
		{"N+1-era keys recorded", `INSERT INTO ` + era.RowsTable + ` SELECT rel, relname, 's2', ARRAY['1'] FROM ` + era.RowsTable + ` LIMIT 1`, []string{"public.a"}},
		{"N+1-era keys removed", `DELETE FROM ` + era.RowsTable, []string{"public.a"}},
		{"partition written", `INSERT INTO p VALUES (500, 'x')`, []string{"public.p", "public.p1"}},
		{"empty partition attached", `CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (1000) TO (2000)`, []string{"public.p", "public.p2"}},
	}
	for _, tc := range cases {
		for _, how := range []string{"scan", "counters", "counters, other session"} {
			// A setting is the measuring session's own.
			if strings.HasPrefix(tc.change, "SET ") && how == "counters, other session" {
				continue
			}
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				dsn := pgtest.NewDatabase(t)
				conn := pgtest.Connect(t, dsn)
				mark, before, bySteps, _ := marked(t, conn)
				base, err := fingerprint.ReadWrites(ctx(t), conn)
				require.NoError(t, err)
				require.NotNil(t, base, "PostgreSQL 15 with track_counts on has write counters")
				writer := conn
				if how == "counters, other session" {
					writer = pgtest.Connect(t, dsn)
				}
				_, err = writer.Exec(ctx(t), tc.change)
				require.NoError(t, err)
				var written *fingerprint.Written
				if how != "scan" {
					if writer != conn {
						require.NoError(t, writer.Close(ctx(t)))
					}
					written = quietWrites(t, conn, base)
				}
				touchedAs(t, conn, mark, before, bySteps, written, tc.touched)
			})
		}
	}
}

// quietWrites reads the write counters on conn once no other session is on
// its database (an ended session's backend exits a moment after the
// client closed it) and returns what was written since base.
func quietWrites(t *testing.T, conn *pgx.Conn, base *fingerprint.Writes) *fingerprint.Written {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		now, err := fingerprint.ReadWrites(ctx(t), conn)
		require.NoError(t, err)
		if written := now.Since(base); written != nil {
			return written
		}
		require.True(t, time.Now().Before(deadline), "another session stayed on the database")
		time.Sleep(5 * time.Millisecond)
	}
}

// touchedAs asserts that exactly want are touched since mark on conn's
// database, and that the fingerprints of the others can be reused.
func touchedAs(t *testing.T, conn *pgx.Conn, mark *fingerprint.Mark, before *schema.Snapshot, bySteps map[string]fingerprint.Set, written *fingerprint.Written, want []string) {
	t.Helper()
	after, err := schema.Take(ctx(t), conn, schema.Options{})
	require.NoError(t, err)
	var tables []string
	for name := range after.Tables {
		tables = append(tables, name)
	}
	touched, err := mark.Touched(ctx(t), conn, before, after, tables, written)
	require.NoError(t, err)
	take, reuse := fingerprint.Split(tables, touched)
	assert.Equal(t, want, take, "touched: %v", touched)

	// Reused fingerprints are what a fresh scan gives.
	if len(reuse) > 0 {
		fresh, err := fingerprint.TakeSteps(ctx(t), conn, after, reuse...)
		require.NoError(t, err)
		assert.Equal(t, fresh, fingerprint.Reuse(bySteps, reuse))
	}
}

// TestTouchedInProgress: a row written by a transaction that was running
// when the mark was taken (invisible to the fingerprints) counts once it
// commits.
func TestTouchedInProgress(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dsn)
	other := pgtest.Connect(t, dsn)
	_, before, _, tables := marked(t, conn)
	tx, err := other.Begin(ctx(t))
	require.NoError(t, err)
	_, err = tx.Exec(ctx(t), `INSERT INTO a VALUES (2000, 'late')`)
	require.NoError(t, err)
	mark, err := fingerprint.NewMark(ctx(t), conn, before, tables)
	require.NoError(t, err)
	set, err := fingerprint.Take(ctx(t), conn, before, fingerprint.All, tables...)
	require.NoError(t, err)
	mark.Counted(set)
	require.NoError(t, tx.Commit(ctx(t)))
	touched, err := mark.Touched(ctx(t), conn, before, before, tables, nil)
	require.NoError(t, err)
	take, _ := fingerprint.Split(tables, touched)
	assert.Equal(t, []string{"public.a"}, take, "touched: %v", touched)
}

// markedClone is marked's state, and a connection to a clone of it.
func markedClone(t *testing.T) (*fingerprint.Mark, *schema.Snapshot, []string, *pgx.Conn) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dsn)
	mark, before, _, tables := marked(t, conn)
	require.NoError(t, conn.Close(ctx(t)))
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	return mark, before, tables, pgtest.Connect(t, pgtest.CloneDatabase(t, cfg.Database))
}

// TestTouchedOnClone: the matrix measures a clone of the marked state
// (CREATE DATABASE ... TEMPLATE keeps row versions and their xids).
func TestTouchedOnClone(t *testing.T) {
	mark, before, tables, clone := markedClone(t)
	touched, err := mark.Touched(ctx(t), clone, before, before, tables, nil)
	require.NoError(t, err)
	assert.Empty(t, touched)
	_, err = clone.Exec(ctx(t), `UPDATE e SET m = m WHERE id = 1`)
	require.NoError(t, err)
	touched, err = mark.Touched(ctx(t), clone, before, before, tables, nil)
	require.NoError(t, err)
	take, _ := fingerprint.Split(tables, touched)
	assert.Equal(t, []string{"public.e"}, take, "touched: %v", touched)
}

// TestTouchedNoMark: without a mark every table is measured.
func TestTouchedNoMark(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	_, err := conn.Exec(ctx(t), `CREATE TABLE a (id int)`)
	require.NoError(t, err)
	snap, err := schema.Take(ctx(t), conn, schema.Options{})
	require.NoError(t, err)
	var mark *fingerprint.Mark
	touched, err := mark.Touched(ctx(t), conn, snap, snap, []string{"public.a"}, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"public.a": "no earlier fingerprints"}, touched)
}

// TestWritesNeedAQuietDatabase: a session still on the database may hold
// writes the counters do not show yet, so they are not trusted then; once
// it ended, its writes are counted.
func TestWritesNeedAQuietDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dsn)
	_, err := conn.Exec(ctx(t), `CREATE TABLE a (id int PRIMARY KEY)`)
	require.NoError(t, err)
	base, err := fingerprint.ReadWrites(ctx(t), conn)
	require.NoError(t, err)
	other := pgtest.Connect(t, dsn)
	_, err = other.Exec(ctx(t), `INSERT INTO a SELECT generate_series(1, 10)`)
	require.NoError(t, err)
	now, err := fingerprint.ReadWrites(ctx(t), conn)
	require.NoError(t, err)
	assert.Nil(t, now.Since(base), "another session is on the database")
	require.NoError(t, other.Close(ctx(t)))
	snap, err := schema.Take(ctx(t), conn, schema.Options{})
	require.NoError(t, err)
	mark, err := fingerprint.NewMark(ctx(t), conn, snap, []string{"public.a"})
	require.NoError(t, err)
	set, err := fingerprint.Take(ctx(t), conn, snap, fingerprint.All, "public.a")
	require.NoError(t, err)
	mark.Counted(set)
	written := quietWrites(t, conn, base)
	touched, err := mark.Touched(ctx(t), conn, snap, snap, []string{"public.a"}, written)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"public.a": "10 rows written (counted)"}, touched)
}

// TestWritesOnANewClone: a clone starts without write counters (they are
// per database), even when its template's tables were written: what
// NewDatabaseWrites assumes. A write on the clone then counts.
func TestWritesOnANewClone(t *testing.T) {
	mark, before, tables, clone := markedClone(t)
	base, err := fingerprint.NewDatabaseWrites(ctx(t), clone)
	require.NoError(t, err)
	now, err := fingerprint.ReadWrites(ctx(t), clone)
	require.NoError(t, err)
	touched, err := mark.Touched(ctx(t), clone, before, before, tables, now.Since(base))
	require.NoError(t, err)
	assert.Empty(t, touched)

	_, err = clone.Exec(ctx(t), `DELETE FROM nokey WHERE id = 7`)
	require.NoError(t, err)
	now, err = fingerprint.ReadWrites(ctx(t), clone)
	require.NoError(t, err)
	written := now.Since(base)
	require.NotNil(t, written)
	touched, err = mark.Touched(ctx(t), clone, before, before, tables, written)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"public.nokey": "1 rows written (counted)"}, touched)
}

// TestWritesAfterACountersReset: a reset in between (pg_stat_reset, as a
// migration could run it; crash recovery discards the counters too) makes
// the counters say nothing, rather than "nothing written".
func TestWritesAfterACountersReset(t *testing.T) {
	cases := []struct{ name, reset string }{
		{"database", `SELECT pg_stat_reset()`},
		{"one table", `SELECT pg_stat_reset_single_table_counters('a'::regclass)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			_, err := conn.Exec(ctx(t), `CREATE TABLE a (id int PRIMARY KEY)`)
			require.NoError(t, err)
			base, err := fingerprint.ReadWrites(ctx(t), conn)
			require.NoError(t, err)
			_, err = conn.Exec(ctx(t), `INSERT INTO a VALUES (1)`)
			require.NoError(t, err)
			_, err = conn.Exec(ctx(t), tc.reset)
			require.NoError(t, err)
			now, err := fingerprint.ReadWrites(ctx(t), conn)
			require.NoError(t, err)
			assert.Nil(t, now.Since(base))
		})
	}
}
