package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SEED_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func take(t testing.TB, dsn string) *schema.Snapshot {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	snap, err := schema.Take(testCtx(t), conn, schema.Options{})
	require.NoError(t, err)
	return snap
}

// schemaDB creates a database with ddl applied.
func schemaDB(t testing.TB, ddl string) string {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, ddl)
	return dsn
}

func requireAllFilled(t *testing.T, res *Result, want int) {
	t.Helper()
	for _, tr := range res.Tables {
		assert.Empty(t, tr.Skipped, "table %s skipped", tr.Table)
		assert.Empty(t, tr.Unsatisfied, "table %s unsatisfied", tr.Table)
		assert.GreaterOrEqual(t, tr.Rows, int64(want), "rows of %s", tr.Table)
	}
}

func queryInt(t testing.TB, dsn, sql string) int64 {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	var n int64
	require.NoError(t, conn.QueryRow(testCtx(t), sql).Scan(&n), sql)
	return n
}

func execErr(t testing.TB, dsn, sql string) error {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	_, err := conn.Exec(testCtx(t), sql)
	return err
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// dump returns every table's rows in COPY text format, ordered by all
// columns, for byte comparison.
func dump(t testing.TB, dsn string, snap *schema.Snapshot) []byte {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	var out bytes.Buffer
	for _, tb := range sortedTables(snap) {
		fmt.Fprintf(&out, "-- %s\n", tb.QualifiedName())
		pk := era.PrimaryKey(tb)
		require.NotEmpty(t, pk, tb.QualifiedName())
		_, err := conn.PgConn().CopyTo(testCtx(t), &out, fmt.Sprintf("COPY (SELECT * FROM %s ORDER BY %s) TO STDOUT",
			quoteTable(tb.Schema, tb.Name), strings.Join(pk, ", ")))
		require.NoError(t, err)
	}
	return out.Bytes()
}

const kitchenSink = `
CREATE TYPE mood AS ENUM ('happy', 'sad', 'neutral');
CREATE DOMAIN us_zip AS varchar(10) CHECK (VALUE ~ '^[0-9]{5}$');
CREATE DOMAIN positive_int AS integer NOT NULL CHECK (VALUE > 0);
CREATE TABLE kitchen_sink (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	small smallint NOT NULL,
	level smallint NOT NULL DEFAULT 0.0,
	regular integer,
	big bigint NOT NULL,
	price numeric(8,2) NOT NULL CHECK (price >= 0),
	ratio numeric,
	f4 real,
	f8 double precision NOT NULL,
	v10 varchar(10) NOT NULL,
	c3 char(3),
	body text,
	flag boolean NOT NULL DEFAULT false,
	uid uuid NOT NULL UNIQUE,
	ip inet,
	net cidr,
	mac macaddr,
	d date NOT NULL,
	t time,
	tz timetz,
	ts timestamp NOT NULL,
	tstz timestamptz NOT NULL DEFAULT now(),
	iv interval,
	blob bytea,
	doc json,
	docb jsonb NOT NULL,
	tags text[],
	scores int[],
	m mood NOT NULL,
	moods mood[],
	zip us_zip,
	qty positive_int,
	status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'open', 'closed')),
	code varchar(8) CHECK (code ~ '^[A-Z]{2}[0-9]{3}$'),
	grade int CHECK (grade BETWEEN 1 AND 5),
	lucky int NOT NULL CHECK (lucky % 7 = 3),
	short_name text CHECK (length(short_name) BETWEEN 2 AND 6),
	starts_on date,
	ends_on date,
	email text NOT NULL,
	small_plus_one int GENERATED ALWAYS AS (small + 1) STORED,
	CHECK (starts_on < ends_on),
	UNIQUE (small, big)
);
CREATE UNIQUE INDEX kitchen_sink_email_lower ON kitchen_sink (lower(email));
CREATE UNIQUE INDEX kitchen_sink_v10_flagged ON kitchen_sink (v10) WHERE flag;
CREATE TABLE events (
	id serial PRIMARY KEY,
	sink_id bigint NOT NULL REFERENCES kitchen_sink (id),
	payload jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz
);
CREATE TABLE only_defaults (id serial PRIMARY KEY);
`

// TestBaseByteaLength: length() of a bytea counts bytes; a CHECK on it
// (an Ethereum address is 20 bytes) is met, not left unsatisfied.
func TestBaseByteaLength(t *testing.T) {
	ctx := testCtx(t)
	dsn := schemaDB(t, `CREATE TABLE wallets (
	id bigserial PRIMARY KEY,
	address bytea NOT NULL CHECK (length(address) = 20),
	owner bytea CHECK (length(owner) = 20),
	tag bytea NOT NULL CHECK (octet_length(tag) BETWEEN 1 AND 3)
);`)
	res, err := New(Options{Seed: 7, Rows: 300, Logger: testLogger()}).Base(ctx, dsn, take(t, dsn), nil)
	require.NoError(t, err)
	require.Len(t, res.Tables, 1)
	assert.Empty(t, res.Tables[0].Unsatisfied)
	assert.Equal(t, int64(300), res.Tables[0].Rows)
	assert.Equal(t, int64(300), queryInt(t, dsn, "SELECT count(*) FROM wallets WHERE length(address) = 20"))
	assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM wallets WHERE length(owner) = 20"))
	assert.Positive(t, queryInt(t, dsn, "SELECT count(DISTINCT length(tag)) - 2 FROM wallets"), "every allowed length")
}

func TestBaseKitchenSink(t *testing.T) {
	ctx := testCtx(t)
	dsn := schemaDB(t, kitchenSink)
	snap := take(t, dsn)
	res, err := New(Options{Seed: 7, Rows: 400, Logger: testLogger()}).Base(ctx, dsn, snap, nil)
	require.NoError(t, err)
	require.Len(t, res.Tables, 3)
	for _, tr := range res.Tables {
		assert.Empty(t, tr.Skipped, tr.Table)
		assert.GreaterOrEqual(t, tr.Rows, int64(360), tr.Table)
		if tr.Table == "public.events" {
			// jsonb_typeof is not evaluated by the seeder: PostgreSQL filters
			// the rows (weird JSON arrays and nulls), and says so.
			assert.Equal(t, []string{"payload"}, tr.Unsatisfied)
		} else {
			assert.Empty(t, tr.Unsatisfied, tr.Table)
		}
	}
	n := queryInt(t, dsn, "SELECT count(*) FROM kitchen_sink")
	assert.Equal(t, res.Tables[1].Rows, n)

	// Shapes that break down migrations are there.
	for what, sql := range map[string]string{
		"NULL in a nullable column": "SELECT count(*) FROM kitchen_sink WHERE body IS NULL",
		"max-length varchar":        "SELECT count(*) FROM kitchen_sink WHERE char_length(v10) = 10",
		"multi-byte text":           "SELECT count(*) FROM kitchen_sink WHERE octet_length(body) > char_length(body) OR octet_length(v10) > char_length(v10) OR octet_length(email) > char_length(email)",
		"empty or blank string":     "SELECT count(*) FROM kitchen_sink WHERE btrim(body) = '' OR btrim(v10) = '' OR btrim(email) = ''",
		"boundary integer":          "SELECT count(*) FROM kitchen_sink WHERE big IN (0, -1, 1, 9223372036854775807, -9223372036854775808) OR small IN (32767, -32768)",
		"constant default used":     "SELECT count(*) FROM kitchen_sink WHERE status = 'new'",
		"DEFAULT 0.0 of a smallint": "SELECT count(*) FROM kitchen_sink WHERE level = 0",
		"every enum label":          "SELECT count(DISTINCT m) - 2 FROM kitchen_sink",
		"arrays with elements":      "SELECT count(*) FROM kitchen_sink WHERE cardinality(tags) > 0",
		"domain values":             "SELECT count(*) FROM kitchen_sink WHERE zip IS NOT NULL",
		"regex-solved codes":        "SELECT count(*) FROM kitchen_sink WHERE code IS NOT NULL",
		"ordered pair from a CHECK": "SELECT count(*) FROM kitchen_sink WHERE starts_on IS NOT NULL AND ends_on IS NOT NULL",
		"created_at <= updated_at":  "SELECT count(*) FROM events WHERE updated_at IS NOT NULL",
		"children of busy parents":  "SELECT max(c) - 4 FROM (SELECT count(*) c FROM events GROUP BY sink_id) x",
	} {
		assert.Positive(t, queryInt(t, dsn, sql), what)
	}
	assert.Zero(t, queryInt(t, dsn, "SELECT count(*) FROM events WHERE updated_at < created_at"), "updated_at before created_at")
}
