package seed

import (
	"testing"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const nextBase = `
CREATE TYPE cert_state AS ENUM ('issued', 'revoked');
CREATE TABLE agents (id bigserial PRIMARY KEY, hostname varchar(64) NOT NULL);
CREATE TABLE certs (
	id bigserial PRIMARY KEY,
	agent_id bigint REFERENCES agents (id),
	owner_email text NOT NULL,
	common_name varchar(10) NOT NULL,
	serial text NOT NULL CONSTRAINT certs_serial_key UNIQUE,
	status text NOT NULL CONSTRAINT certs_status_check CHECK (status IN ('active', 'revoked')),
	bytes integer NOT NULL CHECK (bytes > 0),
	state cert_state NOT NULL
);
CREATE TABLE no_pk (note text);
`

// Each N+1-era shape against the migration that relaxes it: after Next, the
// wrong down (which restores the old constraint) must fail on the data.
func TestNextShapesBreakWrongDowns(t *testing.T) {
	tests := []struct {
		name, up, down, sqlstate string
		table                    string
	}{
		{"NULL where NOT NULL was dropped",
			`ALTER TABLE certs ALTER COLUMN owner_email DROP NOT NULL`,
			`ALTER TABLE certs ALTER COLUMN owner_email SET NOT NULL`, "23502", "certs"},
		{"longer strings where varchar was widened",
			`ALTER TABLE certs ALTER COLUMN common_name TYPE varchar(50)`,
			`ALTER TABLE certs ALTER COLUMN common_name TYPE varchar(10)`, "22001", "certs"},
		{"varchar widened to text",
			`ALTER TABLE certs ALTER COLUMN common_name TYPE text`,
			`ALTER TABLE certs ALTER COLUMN common_name TYPE varchar(10)`, "22001", "certs"},
		{"bigger numbers where int was widened",
			`ALTER TABLE certs ALTER COLUMN bytes TYPE bigint`,
			`ALTER TABLE certs ALTER COLUMN bytes TYPE integer`, "22003", "certs"},
		{"duplicates where a UNIQUE was dropped",
			`ALTER TABLE certs DROP CONSTRAINT certs_serial_key`,
			`ALTER TABLE certs ADD CONSTRAINT certs_serial_key UNIQUE (serial)`, "23505", "certs"},
		{"values outside a dropped CHECK",
			`ALTER TABLE certs DROP CONSTRAINT certs_status_check`,
			`ALTER TABLE certs ADD CONSTRAINT certs_status_check CHECK (status IN ('active', 'revoked'))`, "23514", "certs"},
		{"values outside a relaxed CHECK",
			`ALTER TABLE certs DROP CONSTRAINT certs_status_check;
			 ALTER TABLE certs ADD CONSTRAINT certs_status_check CHECK (status IN ('active', 'revoked', 'expired', 'pending'))`,
			`ALTER TABLE certs DROP CONSTRAINT certs_status_check;
			 ALTER TABLE certs ADD CONSTRAINT certs_status_check CHECK (status IN ('active', 'revoked'))`, "23514", "certs"},
		{"range CHECK dropped",
			`ALTER TABLE certs DROP CONSTRAINT certs_bytes_check`,
			`ALTER TABLE certs ADD CONSTRAINT certs_bytes_check CHECK (bytes > 0)`, "23514", "certs"},
		{"new enum labels",
			`ALTER TYPE cert_state ADD VALUE 'expired'`,
			`ALTER TYPE cert_state RENAME TO cert_state_old;
			 CREATE TYPE cert_state AS ENUM ('issued', 'revoked');
			 ALTER TABLE certs ALTER COLUMN state TYPE cert_state USING state::text::cert_state;
			 DROP TYPE cert_state_old`, "22P02", "certs"},
		{"orphans where a FOREIGN KEY was dropped",
			`ALTER TABLE certs DROP CONSTRAINT certs_agent_id_fkey`,
			`ALTER TABLE certs ADD CONSTRAINT certs_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id)`, "23503", "certs"},
		{"rows in a new table",
			`CREATE TABLE renewals (id bigserial PRIMARY KEY, cert_id bigint NOT NULL REFERENCES certs (id), note varchar(20))`,
			"", "", "renewals"},
		// Join tables often have no primary key, only a NOT NULL unique key.
		{"rows in a new join table keyed by a UNIQUE constraint",
			`CREATE TABLE cert_agents (cert_id bigint NOT NULL REFERENCES certs (id), agent_id bigint NOT NULL REFERENCES agents (id), UNIQUE (cert_id, agent_id))`,
			"", "", "cert_agents"},
		{"rows in a new join table keyed by a unique index",
			`CREATE TABLE cert_tags (cert_id bigint NOT NULL REFERENCES certs (id), tag text NOT NULL); CREATE UNIQUE INDEX cert_tags_idx ON cert_tags (cert_id, tag)`,
			"", "", "cert_tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			dsn := schemaDB(t, nextBase)
			s := New(Options{Seed: 3, Rows: 100, Logger: testLogger()})
			_, err := s.Base(ctx, dsn, take(t, dsn), nil)
			require.NoError(t, err)
			before := take(t, dsn)
			pgtest.Exec(t, dsn, tt.up)
			after := take(t, dsn)
			res, err := s.Next(ctx, dsn, "000002_relax", before, after)
			require.NoError(t, err)

			var got *TableResult
			for i := range res.Tables {
				assert.NotEqual(t, "public.no_pk", res.Tables[i].Table, "an untouched table gets no N+1-era rows")
				if res.Tables[i].Table == "public."+tt.table {
					got = &res.Tables[i]
				}
			}
			require.NotNil(t, got, "Next wrote nothing into %s: %+v", tt.table, res)
			assert.Empty(t, got.Skipped)
			assert.GreaterOrEqual(t, got.Rows, int64(10))
			// Every inserted row is recorded, and nothing else.
			tbl := after.Tables["public."+tt.table]
			recorded, err := era.Count(ctx, pgtest.Connect(t, dsn), tbl.OID)
			require.NoError(t, err)
			assert.Equal(t, got.Rows, recorded)

			if tt.down == "" {
				return
			}
			err = execErr(t, dsn, tt.down)
			require.Error(t, err, "the wrong down must fail on N+1-era data")
			assert.Equal(t, tt.sqlstate, sqlState(err), err.Error())
		})
	}
}

// nextAfter seeds schema base with rows per table (seed 5), runs alter as
// step 000003 and seeds its N+1 era.
func nextAfter(t *testing.T, rows int, base, alter string) (dsn string, after *schema.Snapshot, res *Result) {
	ctx := testCtx(t)
	dsn = schemaDB(t, base)
	s := New(Options{Seed: 5, Rows: rows, Logger: testLogger()})
	_, err := s.Base(ctx, dsn, take(t, dsn), nil)
	require.NoError(t, err)
	before := take(t, dsn)
	pgtest.Exec(t, dsn, alter)
	after = take(t, dsn)
	res, err = s.Next(ctx, dsn, "000003_alter", before, after)
	require.NoError(t, err)
	return dsn, after, res
}

func TestNextNewColumnOnExistingRows(t *testing.T) {
	dsn, after, res := nextAfter(t, 100, nextBase, `ALTER TABLE certs ADD COLUMN renewal_state varchar(16) NOT NULL DEFAULT 'pending' CHECK (renewal_state IN ('pending', 'scheduled', 'overdue', 'none'));
		ALTER TABLE certs ADD COLUMN issuer_id bigint REFERENCES agents (id)`)
	for _, tr := range res.Tables {
		assert.Empty(t, tr.Skipped, tr.Table)
		assert.Empty(t, tr.Unsatisfied, tr.Table)
	}
	old := "NOT " + era.IsNextEra(after.Tables["public.certs"], "c")
	assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM certs c WHERE renewal_state <> 'pending' AND "+old), "N-era rows got values in the new column")
	assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM certs c WHERE renewal_state = 'pending' AND "+old), "some N-era rows keep the default")
	assert.Positive(t, queryInt(t, dsn, "SELECT count(issuer_id) FROM certs c WHERE "+old), "N-era rows got new foreign keys")
	assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM certs c WHERE NOT ("+old+")"), "N+1-era rows inserted")
	assert.Equal(t, int64(100), queryInt(t, dsn, "SELECT count(*) FROM certs c WHERE "+old), "N-era rows are still 100")
}

// A large table's existing rows get a step's new columns densely in their
// first rows and sparsely after them (touchedByNextEra).
func TestNextNewColumnShareOfLargeTable(t *testing.T) {
	// now() is no constant: every row the UPDATE picks gets a generated
	// time, the others keep the time of the ALTER.
	dsn, after, _ := nextAfter(t, 3000, nextBase, `ALTER TABLE certs ADD COLUMN renewed_at timestamptz NOT NULL DEFAULT now()`)
	old := "NOT " + era.IsNextEra(after.Tables["public.certs"], "c")
	assert.Equal(t, int64(3000), queryInt(t, dsn, "SELECT count(*) FROM certs c WHERE "+old))
	kept := queryInt(t, dsn, "SELECT count(*) FROM certs c WHERE renewed_at = (SELECT mode() WITHIN GROUP (ORDER BY renewed_at) FROM certs) AND "+old)
	// 6 in 10 of the first 1000 and 1 in 10 of the 2000 after them: about
	// 800 set (1800 if 6 in 10 of all were).
	assert.InDelta(t, 800, 3000-kept, 100)
}

func TestTouchedByNextEra(t *testing.T) {
	share := func(from, to int) float64 {
		n := 0
		for row := from; row <= to; row++ {
			if touchedByNextEra(row%10, row) {
				n++
			}
		}
		return float64(n) / float64(to-from+1)
	}
	assert.InDelta(t, 0.6, share(1, denseUpdateRows), 0.001, "the dense head")
	assert.InDelta(t, 0.1, share(denseUpdateRows+1, 10*denseUpdateRows), 0.001, "after it")
}

// N-era data must not anticipate N+1's constraints: given a future that adds
// a CHECK, a UNIQUE and a NOT NULL on free-text columns, applying them to
// Base's data fails, as it would on production data.
func TestBaseDoesNotAnticipateFuture(t *testing.T) {
	ctx := testCtx(t)
	ddl := `CREATE TABLE accounts (id bigserial PRIMARY KEY, status text NOT NULL, nickname text NOT NULL, region text, plan text)`
	future := `ALTER TABLE accounts ADD CONSTRAINT accounts_status_check CHECK (status IN ('active', 'pending', 'inactive'));
		ALTER TABLE accounts ADD CONSTRAINT accounts_nickname_key UNIQUE (nickname);
		ALTER TABLE accounts ALTER COLUMN region SET NOT NULL;
		ALTER TABLE accounts ADD CONSTRAINT accounts_plan_len CHECK (length(plan) <= 8)`
	futureDSN := schemaDB(t, ddl+";"+future)
	futureSnap := take(t, futureDSN)

	dsn := schemaDB(t, ddl)
	_, err := New(Options{Seed: 11, Logger: testLogger()}).Base(ctx, dsn, take(t, dsn), futureSnap)
	require.NoError(t, err)
	for _, tc := range []struct{ ddl, sqlstate string }{
		{`ALTER TABLE accounts ADD CONSTRAINT accounts_status_check CHECK (status IN ('active', 'pending', 'inactive'))`, "23514"},
		{`ALTER TABLE accounts ADD CONSTRAINT accounts_nickname_key UNIQUE (nickname)`, "23505"},
		{`ALTER TABLE accounts ALTER COLUMN region SET NOT NULL`, "23502"},
		{`ALTER TABLE accounts ADD CONSTRAINT accounts_plan_len CHECK (length(plan) <= 8)`, "23514"},
	} {
		err := execErr(t, dsn, tc.ddl)
		require.Error(t, err, tc.ddl)
		assert.Equal(t, tc.sqlstate, sqlState(err), tc.ddl)
	}
	// The variety is a minority: most values are what N+1 expects.
	assert.Greater(t, queryInt(t, dsn, "SELECT count(*) FROM accounts WHERE status IN ('active', 'pending', 'inactive')"), int64(100))
}

// TestNextLeavesOlderRowsAlone: a self-referencing key is filled after COPY
// (a cycle); in the N+1 era only the step's own rows are filled, never an
// older row whose NULL parent is data (a root).
func TestNextLeavesOlderRowsAlone(t *testing.T) {
	ctx := testCtx(t)
	dsn := schemaDB(t, `CREATE TABLE nodes (id bigserial PRIMARY KEY, parent_id bigint REFERENCES nodes (id), name text NOT NULL);`)
	s := New(Options{Seed: 4, Rows: 200, Logger: testLogger()})
	_, err := s.Base(ctx, dsn, take(t, dsn), nil)
	require.NoError(t, err)
	pgtest.Exec(t, dsn, `UPDATE nodes SET parent_id = NULL WHERE id % 4 = 0`)
	roots := queryInt(t, dsn, "SELECT count(*) FROM nodes WHERE parent_id IS NULL")
	require.Positive(t, roots)
	before := take(t, dsn)
	pgtest.Exec(t, dsn, `ALTER TABLE nodes ADD COLUMN note text`)
	res, err := s.Next(ctx, dsn, "000002_note", before, take(t, dsn))
	require.NoError(t, err)
	require.NotEmpty(t, res.Tables)
	assert.Positive(t, res.Tables[0].Rows)
	assert.Equal(t, roots, queryInt(t, dsn, "SELECT count(*) FROM nodes WHERE parent_id IS NULL AND id <= 200"), "older roots stay roots")
}

// A column added to a partitioned table is set on its partitions' existing
// rows once, at the usual share: the parent's rows are its partitions', and
// a ctid names a row only within one partition.
func TestNextNewColumnOnPartitionedTable(t *testing.T) {
	dsn, after, _ := nextAfter(t, 400, `CREATE TABLE events (id bigint NOT NULL, day int NOT NULL, kind text NOT NULL, PRIMARY KEY (id, day)) PARTITION BY HASH (id);
CREATE TABLE events_a PARTITION OF events FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE events_b PARTITION OF events FOR VALUES WITH (MODULUS 2, REMAINDER 1)`,
		`ALTER TABLE events ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now()`)
	for _, part := range []string{"events_a", "events_b"} {
		old := "NOT " + era.IsNextEra(after.Tables["public."+part], "c")
		all := queryInt(t, dsn, "SELECT count(*) FROM "+part+" c WHERE "+old)
		set := queryInt(t, dsn, "SELECT count(*) FROM "+part+" c WHERE seen_at <> (SELECT mode() WITHIN GROUP (ORDER BY seen_at) FROM events) AND "+old)
		require.Positive(t, all, part)
		assert.InDelta(t, 0.6, float64(set)/float64(all), 0.12, "%s: %d of %d N-era rows set", part, set, all)
	}
}

// A table whose rows each need a parent of their own gets N+1-era rows
// even when every parent has one already: the parents get new rows too.
func TestNextOneToOneChildGetsNewParents(t *testing.T) {
	dsn, after, res := nextAfter(t, 50, `CREATE TABLE users (user_id serial PRIMARY KEY, email text NOT NULL);
CREATE TABLE key_attributes (user_id integer PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE, mem_limit integer NOT NULL);`,
		`ALTER TABLE key_attributes ALTER COLUMN mem_limit TYPE bigint`)
	rows := map[string]int64{}
	for _, tr := range res.Tables {
		assert.Empty(t, tr.Skipped, tr.Table)
		rows[tr.Table] = tr.Rows
	}
	assert.Positive(t, rows["public.key_attributes"], "N+1-era key attributes")
	assert.Positive(t, rows["public.users"], "new users to hang them on")
	next := era.IsNextEra(after.Tables["public.key_attributes"], "k")
	assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM key_attributes k WHERE mem_limit > 2147483647 AND "+next), "values only the widened type holds")
	assert.Zero(t, queryInt(t, dsn, "SELECT count(*) FROM key_attributes k WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = k.user_id)"))
}

// A column release N's own migration set on every row holds no NULL in the
// seeded data, even where N+1 adds a NOT NULL (real data has none to trip
// it).
func TestBackfilledColumnHasNoNulls(t *testing.T) {
	up := func(version, sql string) *migrate.Migration {
		return &migrate.Migration{Version: version, Up: &migrate.Script{File: version + ".up.sql", Statements: []migrate.Statement{{SQL: sql, Line: 2}}}}
	}
	base := []*migrate.Migration{
		up("1_keys", "UPDATE keys SET dc = 'eu', region = 'x'"),
		up("2_region", "UPDATE keys SET region = NULL WHERE id < 5"),
	}
	ddl := `CREATE TABLE keys (id bigserial PRIMARY KEY, dc text DEFAULT 'x', note text, region text)`
	future := take(t, schemaDB(t, ddl+`; ALTER TABLE keys ALTER COLUMN dc SET NOT NULL, ALTER COLUMN note SET NOT NULL`))
	dsn := schemaDB(t, ddl)
	res, err := New(Options{Seed: 2, Rows: 400, Logger: testLogger(), Hints: HintsFrom(nil).WithBackfills(base)}).Base(testCtx(t), dsn, take(t, dsn), future)
	require.NoError(t, err)
	assert.Zero(t, queryInt(t, dsn, "SELECT count(*) FROM keys WHERE dc IS NULL"))
	assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM keys WHERE note IS NULL"), "a column no migration filled keeps its NULLs")
	assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM keys WHERE region IS NULL"), "a later migration put NULLs back")
	assert.Contains(t, res.Notes, "public.keys.dc seeded without NULLs: 1_keys.up.sql:2 sets it on every row")
}
