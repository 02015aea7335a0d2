package fingerprint_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// fp snapshots the schema and fingerprints tables (all when none).
func fp(t testing.TB, conn *pgx.Conn, filter fingerprint.Filter, tables ...string) (fingerprint.Set, *schema.Snapshot) {
	t.Helper()
	snap, err := schema.Take(ctx(t), conn, schema.Options{})
	require.NoError(t, err)
	set, err := fingerprint.Take(ctx(t), conn, snap, filter, tables...)
	require.NoError(t, err)
	return set, snap
}

const table = `CREATE TABLE certs (id int PRIMARY KEY, serial text, owner text, n numeric(8,2), at timestamptz, tags text[]);`

func TestOrderIndependent(t *testing.T) {
	a := pgtest.Connect(t, pgtest.NewDatabase(t))
	b := pgtest.Connect(t, pgtest.NewDatabase(t))
	for _, conn := range []*pgx.Conn{a, b} {
		_, err := conn.Exec(ctx(t), table)
		require.NoError(t, err)
	}
	_, err := a.Exec(ctx(t), `INSERT INTO certs SELECT g, 's' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'o' END, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 hour', ARRAY['x', g::text]
FROM generate_series(1, 500) g ORDER BY g`)
	require.NoError(t, err)
	_, err = b.Exec(ctx(t), `INSERT INTO certs SELECT g, 's' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'o' END, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 hour', ARRAY['x', g::text]
FROM generate_series(1, 500) g ORDER BY g DESC`)
	require.NoError(t, err)
	fa, _ := fp(t, a, fingerprint.All)
	fb, _ := fp(t, b, fingerprint.All)
	require.Contains(t, fa, "public.certs")
	assert.Equal(t, int64(500), fa["public.certs"].Rows)
	assert.Len(t, fa["public.certs"].Columns, 6)
	assert.Empty(t, fingerprint.Compare(fa, fb))
	assert.Equal(t, fa["public.certs"].Hash, fb["public.certs"].Hash)
	assert.Equal(t, fa["public.certs"].Columns, fb["public.certs"].Columns)
}

func TestDifferences(t *testing.T) {
	const seed = table + `INSERT INTO certs SELECT g, 's' || g, 'o' || (g % 5), g / 4.0, '2024-01-01', NULL FROM generate_series(1, 100) g;`
	cases := []struct {
		name   string
		change string
		want   []fingerprint.Difference
	}{
		{"nothing", `SELECT 1`, nil},
		{"one value", `UPDATE certs SET owner = 'other' WHERE id = 42`,
			[]fingerprint.Difference{{Table: "public.certs", Column: "owner", Kind: "column-content"}}},
		{"NULL vs empty string", `UPDATE certs SET tags = '{}' WHERE id = 1`,
			[]fingerprint.Difference{{Table: "public.certs", Column: "tags", Kind: "column-content"}}},
		{"empty string vs NULL", `UPDATE certs SET serial = NULL WHERE id = 7; UPDATE certs SET owner = '' WHERE id = 8`,
			[]fingerprint.Difference{
				{Table: "public.certs", Column: "owner", Kind: "column-content"},
				{Table: "public.certs", Column: "serial", Kind: "column-content"},
			}},
		{"values swapped between rows", `UPDATE certs SET owner = CASE id WHEN 1 THEN (SELECT owner FROM certs WHERE id = 2) ELSE (SELECT owner FROM certs WHERE id = 1) END WHERE id IN (1, 2)`,
			[]fingerprint.Difference{{Table: "public.certs", Kind: "content"}}},
		{"row deleted", `DELETE FROM certs WHERE id = 3`,
			[]fingerprint.Difference{{Table: "public.certs", Kind: "row-count", Before: "100", After: "99"}}},
		{"dropped column", `ALTER TABLE certs DROP COLUMN owner`,
			[]fingerprint.Difference{{Table: "public.certs", Column: "owner", Kind: "missing-column"}}},
		{"dropped table", `DROP TABLE certs`,
			[]fingerprint.Difference{{Table: "public.certs", Kind: "missing-table", Before: "100"}}},
		{"truncating narrowing", `ALTER TABLE certs ALTER COLUMN serial TYPE varchar(2) USING serial::varchar(2)`,
			[]fingerprint.Difference{{Table: "public.certs", Column: "serial", Kind: "column-content"}}},
		{"numeric scale narrowed", `ALTER TABLE certs ALTER COLUMN n TYPE numeric(8,1)`,
			[]fingerprint.Difference{{Table: "public.certs", Column: "n", Kind: "column-content"}}},
		{"widening keeps values", `ALTER TABLE certs ALTER COLUMN id TYPE bigint, ALTER COLUMN serial TYPE varchar(300)`, nil},
		{"added column is ignored", `ALTER TABLE certs ADD COLUMN extra int DEFAULT 5`, nil},
		{"renamed table is found by OID", `ALTER TABLE certs RENAME TO certificates`, nil},
		{"column order does not matter", `ALTER TABLE certs DROP COLUMN serial; ALTER TABLE certs ADD COLUMN serial text; UPDATE certs SET serial = 's' || id`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			_, err := conn.Exec(ctx(t), seed)
			require.NoError(t, err)
			before, _ := fp(t, conn, fingerprint.All)
			_, err = conn.Exec(ctx(t), tc.change)
			require.NoError(t, err)
			after, _ := fp(t, conn, fingerprint.All)
			got := fingerprint.Compare(before, after)
			for i := range got {
				if got[i].Kind == "column-content" || got[i].Kind == "content" {
					assert.NotEqual(t, got[i].Before, got[i].After)
					got[i].Before, got[i].After = "", ""
				}
				assert.NotEmpty(t, got[i].String())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDifferenceString(t *testing.T) {
	assert.Equal(t, "public.certs.owner: values differ", fingerprint.Difference{Table: "public.certs", Column: "owner", Kind: "column-content"}.String())
	assert.Equal(t, "public.certs: 100 rows -> 99", fingerprint.Difference{Table: "public.certs", Kind: "row-count", Before: "100", After: "99"}.String())
	assert.Equal(t, "public.certs: table missing (had 3 rows)", fingerprint.Difference{Table: "public.certs", Kind: "missing-table", Before: "3"}.String())
	assert.Equal(t, "public.certs.owner: column missing", fingerprint.Difference{Table: "public.certs", Column: "owner", Kind: "missing-column"}.String())
}

func TestTakeLikeKeepsTableHash(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	_, err := conn.Exec(ctx(t), table+`INSERT INTO certs SELECT g, 's' || g, NULL, g, NULL, NULL FROM generate_series(1, 50) g;`)
	require.NoError(t, err)
	before, _ := fp(t, conn, fingerprint.All)
	_, err = conn.Exec(ctx(t), `ALTER TABLE certs ADD COLUMN extra int DEFAULT 5; ALTER TABLE certs RENAME TO certificates`)
	require.NoError(t, err)
	all, snap := fp(t, conn, fingerprint.All)
	assert.NotEqual(t, before["public.certs"].Hash, all["public.certificates"].Hash, "the extra column is part of the plain fingerprint")
	like, err := fingerprint.TakeLike(ctx(t), conn, snap, fingerprint.All, before)
	require.NoError(t, err)
	require.Contains(t, like, "public.certificates")
	assert.Equal(t, before["public.certs"].Hash, like["public.certificates"].Hash)
	assert.Equal(t, before["public.certs"].Columns, like["public.certificates"].Columns)
	assert.Empty(t, fingerprint.Compare(before, like))

	// Values moved between rows are caught through the exact table hash.
	_, err = conn.Exec(ctx(t), `UPDATE certificates SET serial = CASE id WHEN 1 THEN 's2' ELSE 's1' END WHERE id IN (1, 2)`)
	require.NoError(t, err)
	like, err = fingerprint.TakeLike(ctx(t), conn, snap, fingerprint.All, before)
	require.NoError(t, err)
	diffs := fingerprint.Compare(before, like)
	require.Len(t, diffs, 1)
	assert.Equal(t, "content", diffs[0].Kind)
}

func TestEraFilters(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	_, err := conn.Exec(ctx(t), table+`CREATE TABLE nokey (v text);
INSERT INTO certs SELECT g, 's' || g FROM generate_series(1, 30) g; INSERT INTO nokey VALUES ('a'), ('b');`)
	require.NoError(t, err)

	// Before era.RowsTable exists every row is N-era.
	nEra, _ := fp(t, conn, fingerprint.NEraOnly)
	next, _ := fp(t, conn, fingerprint.NextEraOnly)
	assert.Equal(t, int64(30), nEra["public.certs"].Rows)
	assert.Equal(t, int64(0), next["public.certs"].Rows)

	require.NoError(t, era.Ensure(ctx(t), conn))
	snap, err := schema.Take(ctx(t), conn, schema.Options{})
	require.NoError(t, err)
	n, err := era.RecordWhere(ctx(t), conn, snap.Tables["public.certs"], "000004", "r.id > 20")
	require.NoError(t, err)
	require.Equal(t, int64(10), n)

	all, _ := fp(t, conn, fingerprint.All)
	nEra, _ = fp(t, conn, fingerprint.NEraOnly)
	next, _ = fp(t, conn, fingerprint.NextEraOnly)
	assert.NotContains(t, all, "_rehearse.next_era_rows", "the harness schema is not fingerprinted")
	assert.Equal(t, int64(30), all["public.certs"].Rows)
	assert.Equal(t, int64(20), nEra["public.certs"].Rows)
	assert.Equal(t, int64(10), next["public.certs"].Rows)
	assert.Equal(t, int64(2), nEra["public.nokey"].Rows, "a table without a primary key has no N+1-era rows")
	assert.Equal(t, int64(0), next["public.nokey"].Rows)

	// A down that deletes N+1-era rows and touches nothing else keeps N-era data intact.
	_, err = conn.Exec(ctx(t), `DELETE FROM certs WHERE id > 25; UPDATE certs SET owner = 'x' WHERE id = 21`)
	require.NoError(t, err)
	nEra2, _ := fp(t, conn, fingerprint.NEraOnly)
	next2, _ := fp(t, conn, fingerprint.NextEraOnly)
	assert.Empty(t, fingerprint.Compare(nEra, nEra2))
	assert.Equal(t, []fingerprint.Difference{{Table: "public.certs", Kind: "row-count", Before: "10", After: "5"}},
		fingerprint.Compare(next, next2))

	// Changing an N-era row is seen by the N-era filter.
	_, err = conn.Exec(ctx(t), `UPDATE certs SET serial = 'changed' WHERE id = 3`)
	require.NoError(t, err)
	nEra3, _ := fp(t, conn, fingerprint.NEraOnly)
	diffs := fingerprint.Compare(nEra, nEra3)
	require.Len(t, diffs, 1)
	assert.Equal(t, "serial", diffs[0].Column)
}

func TestTakeEdges(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	_, err := conn.Exec(ctx(t), `CREATE TABLE empty (id int); CREATE TABLE nocols (); INSERT INTO nocols DEFAULT VALUES; INSERT INTO nocols DEFAULT VALUES;
CREATE TABLE "Odd ""Name""" ("Mixed Case" text); INSERT INTO "Odd ""Name""" VALUES ('x');
CREATE TABLE parted (id int, v text) PARTITION BY RANGE (id); CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);
INSERT INTO parted VALUES (1, 'a'), (2, 'b');`)
	require.NoError(t, err)
	set, snap := fp(t, conn, fingerprint.All)
	assert.Equal(t, int64(0), set["public.empty"].Rows)
	assert.Equal(t, "0", set["public.empty"].Columns["id"])
	assert.Equal(t, int64(2), set["public.nocols"].Rows)
	assert.Empty(t, set["public.nocols"].Columns)
	assert.Equal(t, int64(1), set[`public.Odd "Name"`].Rows)
	assert.Contains(t, set[`public.Odd "Name"`].Columns, "Mixed Case")
	assert.Equal(t, int64(2), set["public.parted"].Rows)
	assert.Equal(t, int64(2), set["public.parted_1"].Rows)

	only, err := fingerprint.Take(ctx(t), conn, snap, fingerprint.All, "public.empty")
	require.NoError(t, err)
	assert.Len(t, only, 1)

	_, err = fingerprint.Take(ctx(t), conn, snap, fingerprint.All, "public.nope")
	require.ErrorContains(t, err, "public.nope")
}

// BenchmarkTake fingerprints 100k rows of 6 columns: all rows, and N-era
// rows with 10k rows recorded as N+1-era.
func BenchmarkTake(b *testing.B) {
	conn := pgtest.Connect(b, pgtest.NewDatabase(b))
	c := context.Background()
	_, err := conn.Exec(c, table+`INSERT INTO certs
SELECT g, md5(g::text), CASE WHEN g % 3 = 0 THEN NULL ELSE 'owner' || (g % 100) END, g / 3.0, now(), ARRAY['a', g::text]
FROM generate_series(1, 100000) g; ANALYZE certs;`)
	if err != nil {
		b.Fatal(err)
	}
	if err := era.Ensure(c, conn); err != nil {
		b.Fatal(err)
	}
	snap, err := schema.Take(c, conn, schema.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := era.RecordWhere(c, conn, snap.Tables["public.certs"], "bench", "r.id > 90000"); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(c, "ANALYZE "+era.RowsTable); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		filter fingerprint.Filter
		rows   int64
	}{{fingerprint.All, 100000}, {fingerprint.NEraOnly, 90000}, {fingerprint.NextEraOnly, 10000}} {
		b.Run(bc.filter.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				set, err := fingerprint.Take(c, conn, snap, bc.filter, "public.certs")
				if err != nil {
					b.Fatal(err)
				}
				if set["public.certs"].Rows != bc.rows {
					b.Fatalf("rows: %d, want %d", set["public.certs"].Rows, bc.rows)
				}
			}
		})
	}
}

// TestTakeErasMatchesTake: one grouped scan gives exactly what the filtered
// scans give, and the merged eras equal the whole table.
func TestTakeErasMatchesTake(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	_, err := conn.Exec(ctx(t), table+`CREATE TABLE nokey (v text);
INSERT INTO certs SELECT g, 's' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'o' END FROM generate_series(1, 30) g;
INSERT INTO nokey VALUES ('a'), (NULL);`)
	require.NoError(t, err)
	require.NoError(t, era.Ensure(ctx(t), conn))
	snap, err := schema.Take(ctx(t), conn, schema.Options{})
	require.NoError(t, err)
	_, err = era.RecordWhere(ctx(t), conn, snap.Tables["public.certs"], "000004", "r.id > 20")
	require.NoError(t, err)

	tables := []string{"public.certs", "public.nokey"}
	nEra, next, err := fingerprint.TakeEras(ctx(t), conn, snap, tables...)
	require.NoError(t, err)
	for _, tc := range []struct {
		filter fingerprint.Filter
		got    fingerprint.Set
	}{{fingerprint.NEraOnly, nEra}, {fingerprint.NextEraOnly, next}, {fingerprint.All, fingerprint.Merge(nEra, next)}} {
		want, err := fingerprint.Take(ctx(t), conn, snap, tc.filter, tables...)
		require.NoError(t, err)
		for name, w := range want {
			g := tc.got[name]
			require.NotNil(t, g, "%s %s", tc.filter, name)
			assert.Equal(t, w.Rows, g.Rows, "%s %s rows", tc.filter, name)
			assert.Equal(t, w.Hash, g.Hash, "%s %s hash", tc.filter, name)
			assert.Equal(t, w.Columns, g.Columns, "%s %s columns", tc.filter, name)
		}
	}
	assert.Equal(t, int64(20), nEra["public.certs"].Rows)
	assert.Equal(t, int64(10), next["public.certs"].Rows)
	assert.Equal(t, int64(1), nEra["public.nokey"].NonNull["v"])
}
