package datasource_test

import (
	"context"
	"testing"
	"time"

	"github.com/rehearse-dev/rehearse/harness/datasource"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A chain of foreign keys (tenants <- users <- orders <- items, and
// users.manager_id -> users) sampled at a tenth stays consistent: every kept
// row's parents are kept, and the same seed keeps the same rows.
func TestSampleKeepsFKChainConsistent(t *testing.T) {
	const ddl = `
CREATE TABLE tenants (id int PRIMARY KEY, name text);
CREATE TABLE users (id int PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants, manager_id int REFERENCES users);
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users);
CREATE TABLE items (order_id int REFERENCES orders, n int, PRIMARY KEY (order_id, n));`
	src := pgtest.NewDatabase(t)
	pgtest.Exec(t, src, ddl+`
INSERT INTO tenants SELECT g, 't' || g FROM generate_series(1, 20) g;
INSERT INTO users SELECT g, 1 + g % 20, CASE WHEN g > 10 THEN g - 10 END FROM generate_series(1, 500) g;
INSERT INTO orders SELECT g, 1 + g % 500 FROM generate_series(1, 2000) g;
INSERT INTO items SELECT 1 + g % 2000, g FROM generate_series(1, 6000) g;`)
	s, err := datasource.Open(dump(t, src, "c"))
	require.NoError(t, err)

	sample := func(seed int64) (string, map[string]int64) {
		dst := pgtest.NewDatabase(t)
		pgtest.Exec(t, dst, ddl)
		conn := pgtest.Connect(t, dst)
		snap, err := schema.Take(context.Background(), conn, schema.Options{})
		require.NoError(t, err)
		_, err = datasource.Load(context.Background(), dst, s, snap, datasource.LoadOptions{BinDir: binDir(t)})
		require.NoError(t, err)
		kept, err := datasource.Sample(context.Background(), dst, snap, 0.1, seed)
		require.NoError(t, err)
		return dst, kept
	}
	dst, kept := sample(7)
	for _, q := range []string{
		`SELECT count(*) FROM items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id)`,
		`SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id)`,
		`SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = u.tenant_id)`,
		`SELECT count(*) FROM users u WHERE u.manager_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users m WHERE m.id = u.manager_id)`,
	} {
		assert.Equal(t, int64(0), count(t, dst, q), q)
	}
	assert.InDelta(t, 600, kept["public.items"], 150, "about a tenth of the leaf rows")
	assert.Equal(t, kept["public.items"], count(t, dst, "SELECT count(*) FROM items"))
	assert.Greater(t, kept["public.orders"], int64(200), "parents of kept items pulled in beyond a tenth")
	assert.Less(t, kept["public.orders"], int64(2000))

	again, keptAgain := sample(7)
	assert.Equal(t, kept, keptAgain)
	const ids = `SELECT coalesce(sum(hashtext(order_id || ':' || n)), 0) FROM items`
	assert.Equal(t, count(t, dst, ids), count(t, again, ids), "same seed, same rows")
	other, _ := sample(8)
	assert.NotEqual(t, count(t, dst, ids), count(t, other, ids), "another seed, other rows")

	// Per-table shares from the profile: exactly 100 items (a leaf: closure
	// adds none), their orders and users pulled in, the rest at 0.1.
	prof, err := seedProfile("sample:\n  items: 100\n  tenants: 0.5\n")
	require.NoError(t, err)
	shares, err := datasource.SampleShares(prof.File, prof.Sample)
	require.NoError(t, err)
	limited := pgtest.NewDatabase(t)
	pgtest.Exec(t, limited, ddl)
	conn := pgtest.Connect(t, limited)
	snap, err := schema.Take(context.Background(), conn, schema.Options{})
	require.NoError(t, err)
	_, err = datasource.Load(context.Background(), limited, s, snap, datasource.LoadOptions{BinDir: binDir(t)})
	require.NoError(t, err)
	kept, err = datasource.SampleTables(context.Background(), limited, snap, datasource.SampleOptions{Fraction: 0.1, Tables: shares, Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, int64(100), kept["public.items"])
	assert.Equal(t, int64(100), count(t, limited, "SELECT count(*) FROM items"))
	assert.Equal(t, int64(0), count(t, limited, `SELECT count(*) FROM items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id)`))
	assert.GreaterOrEqual(t, kept["public.tenants"], int64(5), "about half of 20, or more through closure")
}

// Load with a sample chooses rows while they stream in, from every kind of
// source (a plain dump's blocks read in order by offset): closure holds,
// the same seed keeps the same rows whatever the source's format, and a
// table whose children came first (all but the self-referencing users)
// gets only its kept rows (no insert then delete).
func TestLoadSamplesWhileStreaming(t *testing.T) {
	const ddl = `
CREATE TABLE tenants (id int PRIMARY KEY, name text);
CREATE TABLE users (id int PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants, manager_id int REFERENCES users);
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users);
CREATE TABLE items (order_id int REFERENCES orders, n int, PRIMARY KEY (order_id, n));
CREATE TABLE events (id bigint, tenant_id int REFERENCES tenants, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE event_notes (event_id bigint, at date, note text);
CREATE TABLE accounts (id int PRIMARY KEY);
CREATE TABLE visits (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts);`
	src := pgtest.NewDatabase(t)
	pgtest.Exec(t, src, ddl+`
INSERT INTO tenants SELECT g, 't' || g FROM generate_series(1, 200) g;
INSERT INTO users SELECT g, 1 + g % 200, CASE WHEN g > 10 THEN g - 10 END FROM generate_series(1, 500) g;
INSERT INTO orders SELECT g, 1 + g % 500 FROM generate_series(1, 2000) g;
INSERT INTO items SELECT 1 + g % 2000, g FROM generate_series(1, 6000) g;
INSERT INTO events SELECT g, 1 + g % 200, date '2023-06-01' + (g % 400) FROM generate_series(1, 1000) g;
INSERT INTO accounts SELECT g FROM generate_series(1, 1000) g;
INSERT INTO visits SELECT g, 1 + g % 1000 FROM generate_series(1, 2000) g;`)
	sources := map[string]string{"custom": dump(t, src, "c"), "directory": dump(t, src, "d"), "plain": dump(t, src, "p"), "dsn": src}
	const ids = `SELECT coalesce(sum(hashtext(order_id || ':' || n)), 0) FROM items`
	orphans := []string{
		`SELECT count(*) FROM items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id)`,
		`SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id)`,
		`SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = u.tenant_id)`,
		`SELECT count(*) FROM users u WHERE u.manager_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users m WHERE m.id = u.manager_id)`,
		`SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = e.tenant_id)`,
	}
	load := func(spec string, seed int64) (string, map[string]datasource.TableLoad) {
		s, err := datasource.Open(spec)
		require.NoError(t, err)
		dst := pgtest.NewDatabase(t)
		pgtest.Exec(t, dst, ddl)
		conn := pgtest.Connect(t, dst)
		snap, err := schema.Take(context.Background(), conn, schema.Options{})
		require.NoError(t, err)
		res, err := datasource.Load(context.Background(), dst, s, snap, datasource.LoadOptions{
			BinDir: binDir(t), Sample: &datasource.SampleOptions{Fraction: 0.1, Seed: seed}})
		require.NoError(t, err)
		byTable := map[string]datasource.TableLoad{}
		for _, tl := range res.Tables {
			byTable[tl.Table] = tl
		}
		return dst, byTable
	}
	sums := map[string]int64{}
	for _, kind := range []string{"custom", "directory", "plain", "dsn"} {
		t.Run(kind, func(t *testing.T) {
			dst, tables := load(sources[kind], 7)
			for _, q := range orphans {
				assert.Equal(t, int64(0), count(t, dst, q), q)
			}
			items := tables["public.items"]
			assert.Equal(t, int64(6000), items.SourceRows)
			assert.InDelta(t, 600, items.Rows, 150, "about a tenth of the leaf rows")
			assert.Equal(t, items.Rows, count(t, dst, "SELECT count(*) FROM items"))
			assert.Greater(t, tables["public.orders"].Rows, int64(200), "parents of kept items pulled in beyond a tenth")
			assert.Less(t, tables["public.orders"].Rows, int64(2000))
			assert.Equal(t, tables["public.users"].Rows, count(t, dst, "SELECT count(*) FROM users"), "users trimmed after the load")
			assert.Less(t, tables["public.users"].Rows, int64(500))
			ev := tables["public.events_2023"].Rows + tables["public.events_2024"].Rows
			assert.InDelta(t, 100, ev, 40, "partitions sampled")
			sums[kind] = count(t, dst, ids)
			// Children came first (accounts sorts before visits, so a plain
			// dump holds it first): only kept rows were ever inserted.
			assert.Less(t, tables["public.accounts"].Rows, int64(500))
			assert.Equal(t, int64(0), count(t, dst, `SELECT count(*) FROM visits v WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = v.account_id)`))
			for _, tb := range []string{"orders", "accounts"} {
				assert.Eventually(t, func() bool {
					return count(t, dst, `SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = '`+tb+`'`) == tables["public."+tb].Rows
				}, 10*time.Second, 200*time.Millisecond, "%s: inserted rows = kept rows", tb)
			}
			again, _ := load(sources[kind], 7)
			assert.Equal(t, sums[kind], count(t, again, ids), "same seed, same rows")
			other, _ := load(sources[kind], 8)
			assert.NotEqual(t, sums[kind], count(t, other, ids), "another seed, other rows")
		})
	}
	assert.Equal(t, sums["custom"], sums["directory"], "a custom and a directory dump keep the same rows")
	assert.Equal(t, sums["custom"], sums["plain"], "a custom and a plain dump keep the same rows")

	// A profile's row count for a table: loaded whole, trimmed to exactly
	// that many (a leaf: closure adds none), its parents still complete.
	s, err := datasource.Open(sources["custom"])
	require.NoError(t, err)
	dst := pgtest.NewDatabase(t)
	pgtest.Exec(t, dst, ddl)
	snap, err := schema.Take(context.Background(), pgtest.Connect(t, dst), schema.Options{})
	require.NoError(t, err)
	res, err := datasource.Load(context.Background(), dst, s, snap, datasource.LoadOptions{BinDir: binDir(t),
		Sample: &datasource.SampleOptions{Fraction: 0.1, Seed: 7, Tables: map[string]datasource.TableSample{"public.items": {Rows: 100}}}})
	require.NoError(t, err)
	for _, tl := range res.Tables {
		if tl.Table == "public.items" {
			assert.Equal(t, int64(100), tl.Rows)
		}
	}
	assert.Equal(t, int64(100), count(t, dst, "SELECT count(*) FROM items"))
	for _, q := range orphans {
		assert.Equal(t, int64(0), count(t, dst, q), q)
	}
	assert.Equal(t, sums["custom"], sums["dsn"], "a dump and its database keep the same rows")
}

// The seeder samples through the streaming load (--sample), and its
// Summary (matrix.json's dataSource) gives rows per table, source vs kept,
// as the state database holds them.
func TestSeederSamplesAndSummarizes(t *testing.T) {
	const ddl = `
CREATE TABLE tenants (id int PRIMARY KEY, name text);
CREATE TABLE orders (id int PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants, email text);
CREATE TABLE items (order_id int REFERENCES orders, n int, PRIMARY KEY (order_id, n));`
	src := pgtest.NewDatabase(t)
	pgtest.Exec(t, src, ddl+`
INSERT INTO tenants SELECT g, 't' || g FROM generate_series(1, 50) g;
INSERT INTO orders SELECT g, 1 + g % 50, 'user' || g || '@example.org' FROM generate_series(1, 1000) g;
INSERT INTO items SELECT 1 + g % 1000, g FROM generate_series(1, 4000) g;`)
	s, err := datasource.Open(src)
	require.NoError(t, err)
	sd, err := datasource.New(datasource.Options{Source: s, Sample: 0.1, Seed: 3, Masks: mustMasks(t, "orders.email: email"), Next: seed.New(seed.Options{})})
	require.NoError(t, err)
	dst := pgtest.NewDatabase(t)
	pgtest.Exec(t, dst, ddl)
	snap, err := schema.Take(context.Background(), pgtest.Connect(t, dst), schema.Options{})
	require.NoError(t, err)
	assert.Nil(t, sd.Summary(), "nothing loaded yet")
	_, err = sd.Base(context.Background(), dst, snap, nil)
	require.NoError(t, err)

	sum := sd.Summary()
	require.NotNil(t, sum)
	assert.Equal(t, datasource.KindDSN, sum.Kind)
	assert.Equal(t, 0.1, sum.Sample)
	assert.Empty(t, sum.Drift)
	assert.Equal(t, 1, sum.MaskedColumns)
	want := map[string]int64{"public.tenants": 50, "public.orders": 1000, "public.items": 4000}
	require.Len(t, sum.Tables, 3)
	for _, tl := range sum.Tables {
		assert.Equal(t, want[tl.Table], tl.SourceRows, tl.Table)
		assert.Equal(t, count(t, dst, "SELECT count(*) FROM "+tl.Table), tl.Rows, tl.Table)
	}
	assert.InDelta(t, 400, count(t, dst, "SELECT count(*) FROM items"), 100)
	assert.Equal(t, int64(0), count(t, dst, `SELECT count(*) FROM items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id)`))
	assert.Equal(t, int64(0), count(t, dst, `SELECT count(*) FROM orders WHERE email LIKE 'user%'`), "masked")
}
