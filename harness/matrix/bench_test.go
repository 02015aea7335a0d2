package matrix_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// benchMigrations writes a base migration (5 tables, or 10 when wide) and n
// additive or reversible migrations with correct downs, cycling through the
// classes and the tables.
func benchMigrations(tb testing.TB, n int, wide bool) string {
	dir := tb.TempDir()
	write := func(name, sql string) {
		require.NoError(tb, os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644))
	}
	base := `
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name varchar(80) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE products (id bigserial PRIMARY KEY, sku varchar(32) NOT NULL UNIQUE, title text NOT NULL, price numeric(10,2) NOT NULL CHECK (price >= 0));
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), status text NOT NULL CHECK (status IN ('new','paid','shipped')), created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE order_lines (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders(id), product_id bigint NOT NULL REFERENCES products(id), qty integer NOT NULL CHECK (qty > 0));
CREATE TABLE events (id bigserial PRIMARY KEY, kind varchar(40) NOT NULL, payload text, occurred_at timestamptz NOT NULL DEFAULT now());
`
	down := "DROP TABLE order_lines, orders, products, customers, events;"
	tables := []string{"customers", "products", "orders", "order_lines", "events"}
	if wide {
		base += `
CREATE TABLE invoices (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders(id), number varchar(20) NOT NULL UNIQUE, amount numeric(12,2) NOT NULL CHECK (amount >= 0));
CREATE TABLE shipments (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders(id), carrier text NOT NULL, shipped_at timestamptz);
CREATE TABLE reviews (id bigserial PRIMARY KEY, product_id bigint NOT NULL REFERENCES products(id), customer_id bigint REFERENCES customers(id), stars smallint NOT NULL CHECK (stars BETWEEN 1 AND 5), body text);
CREATE TABLE addresses (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), city varchar(60) NOT NULL, zip varchar(10));
CREATE TABLE sessions (id bigserial PRIMARY KEY, token varchar(64) NOT NULL UNIQUE, started_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON shipments (carrier);
CREATE INDEX ON reviews (customer_id);
`
		down = "DROP TABLE invoices, shipments, reviews, addresses, sessions;\n" + down
		tables = append(tables, "invoices", "shipments", "reviews", "addresses", "sessions")
	}
	write("000000_base.up.sql", base)
	write("000000_base.down.sql", down)
	for i := 1; i <= n; i++ {
		t := tables[i%len(tables)]
		var up, down string
		switch i % 5 {
		case 0:
			up = fmt.Sprintf("ALTER TABLE %s ADD COLUMN c%d text NOT NULL DEFAULT 'x';", t, i)
			down = fmt.Sprintf("ALTER TABLE %s DROP COLUMN c%d;", t, i)
		case 1:
			up = fmt.Sprintf("CREATE INDEX ix%d ON %s (id DESC);", i, t)
			down = fmt.Sprintf("DROP INDEX ix%d;", i)
		case 2:
			up = fmt.Sprintf("CREATE TABLE side%d (id bigserial PRIMARY KEY, ref bigint REFERENCES %s(id), label text NOT NULL);", i, t)
			down = fmt.Sprintf("DROP TABLE side%d;", i)
		case 3:
			up = fmt.Sprintf("ALTER TABLE %s ADD COLUMN n%d integer;", t, i)
			down = fmt.Sprintf("ALTER TABLE %s DROP COLUMN n%d;", t, i)
		case 4:
			up = fmt.Sprintf("COMMENT ON TABLE %s IS 'v%d'; CREATE INDEX ix%d ON %s (id);", t, i, i, t)
			down = fmt.Sprintf("DROP INDEX ix%d;", i)
		}
		write(fmt.Sprintf("%06d_m%d.up.sql", i, i), up)
		write(fmt.Sprintf("%06d_m%d.down.sql", i, i), down)
	}
	return dir
}

// BenchmarkMatrixVsReplay times the matrix on 30 migrations over 100k rows
// and, in the same run on the same server, a naive replay that rebuilds
// states 1..k from scratch for every k. It reports both, their ratio, the
// process's peak RSS and the server data directory's peak size during the
// matrix.
func BenchmarkMatrixVsReplay(b *testing.B) {
	const migrations, rowsPerTable = 30, 20000 // 5 tables: 100k rows
	dir := benchMigrations(b, migrations, false)
	set, err := migrate.LoadDir(dir, migrate.Options{})
	require.NoError(b, err)
	bk, err := migrate.BookkeepingFor("golang-migrate")
	require.NoError(b, err)
	seedOpts := seed.Options{Seed: 1, Rows: rowsPerTable}
	admin := pgtest.AdminDSN(b)
	ctx := context.Background()

	for i := 0; i < b.N; i++ {
		m := runBenchMatrix(b, ctx, set, fmt.Sprintf("bench_m%d", i), seedOpts)
		if os.Getenv("REHEARSE_BENCH_MATRIX_ONLY") != "" {
			// A development aid for profiling the matrix alone; the ratio needs both.
			b.ReportMetric(m.seconds, "matrix-s")
			m.reportDisk(b)
			continue
		}

		t1 := time.Now()
		naiveReplay(b, ctx, admin, set, bk, seedOpts)
		naiveTime := time.Since(t1).Seconds()

		b.ReportMetric(m.seconds, "matrix-s")
		b.ReportMetric(naiveTime, "naive-s")
		b.ReportMetric(m.seconds/migrations, "matrix-s/migration")
		b.ReportMetric(m.seconds/naiveTime, "ratio")
		b.ReportMetric(mib(m.peakRSS), "peak-rss-MiB")
		fmt.Fprintf(os.Stderr, "matrix %.1fs (%.2fs/migration), naive replay %.1fs, ratio %.3f (target <= 0.10); peak RSS %.0f MiB\n",
			m.seconds, m.seconds/migrations, naiveTime, m.seconds/naiveTime, mib(m.peakRSS))
		m.reportDisk(b)
	}
}

// BenchmarkMatrixLarge is the second size: 30 migrations over 10 tables of
// 1M rows each (REHEARSE_BENCH_ROWS overrides the rows per table), matrix
// only, for how time per migration grows with rows. It runs only with
// REHEARSE_BENCH_LARGE=1 (make bench BENCH_LARGE=1): it takes far longer
// than the default size.
func BenchmarkMatrixLarge(b *testing.B) {
	if os.Getenv("REHEARSE_BENCH_LARGE") == "" {
		b.Skip("set REHEARSE_BENCH_LARGE=1 (make bench BENCH_LARGE=1) for 30 migrations over 10 tables of 1M rows")
	}
	const migrations = 30
	rows := 1000000
	if v := os.Getenv("REHEARSE_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err, "REHEARSE_BENCH_ROWS=%q: want rows per table as a number", v)
		rows = n
	}
	set, err := migrate.LoadDir(benchMigrations(b, migrations, true), migrate.Options{})
	require.NoError(b, err)
	for i := 0; i < b.N; i++ {
		m := runBenchMatrix(b, context.Background(), set, fmt.Sprintf("bench_l%d", i), seed.Options{Seed: 1, Rows: rows})
		b.ReportMetric(m.seconds/migrations, "matrix-s/migration")
		b.ReportMetric(mib(m.peakRSS), "peak-rss-MiB")
		m.reportDisk(b)
		fmt.Fprintf(os.Stderr, "large (10 tables x %d rows, %d migrations): matrix %.1fs (%.2fs/migration); peak RSS %.0f MiB, peak disk %.0f MiB\n",
			rows, migrations, m.seconds, m.seconds/migrations, mib(m.peakRSS), mib(m.peakDisk))
	}
}

// benchRun is one matrix run's figures.
type benchRun struct {
	seconds                      float64
	peakRSS, startDisk, peakDisk int64
	stats                        matrix.Stats
}

// reportDisk prints the disk figures beside one data state's size (the
// target: the run's peak growth under 3 data states) and the clone count.
func (m benchRun) reportDisk(b *testing.B) {
	grown := m.peakDisk - m.startDisk
	one := m.stats.DataStateBytes
	b.ReportMetric(mib(m.peakDisk), "peak-disk-MiB")
	b.ReportMetric(float64(m.stats.Clones), "clones")
	ratio := 0.0
	if one > 0 {
		ratio = float64(grown) / float64(one)
		b.ReportMetric(ratio, "peak-disk/data-state")
	}
	fmt.Fprintf(os.Stderr, "peak disk %.0f MiB (data dir; %.0f MiB at start, so the run added %.0f MiB), one data state %.0f MiB: "+
		"%.1f data states (target < 3); %d clones, %d cells in place, at most %d databases at once\n",
		mib(m.peakDisk), mib(m.startDisk), mib(grown), mib(one), ratio, m.stats.Clones, m.stats.InPlace, m.stats.PeakDatabases)
}

// runBenchMatrix runs the matrix over set from its first to its last
// migration, checks every down passed on data, and prints the phases.
func runBenchMatrix(b *testing.B, ctx context.Context, set *migrate.Set, prefix string, seedOpts seed.Options) benchRun {
	bk, err := migrate.BookkeepingFor("golang-migrate")
	require.NoError(b, err)
	disk := startDiskSampler(pgtest.Server(b).Dir, time.Second)
	t0 := time.Now()
	rep, err := matrix.Run(ctx, matrix.Config{
		AdminDSN: pgtest.AdminDSN(b), Prefix: prefix, Set: set, From: set.Migrations[0].Version,
		To: set.Migrations[len(set.Migrations)-1].Version, Bookkeeping: bk, Seeder: seed.New(seedOpts),
		Parallel: 2, Disposable: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	secs := time.Since(t0).Seconds()
	start, peak := disk.stop()
	require.NoError(b, err)
	for _, r := range rep.Results {
		require.Equal(b, matrix.StatusOK, r.Checks.DownOnData.Status, "%s: %s", r.Name, r.Checks.DownOnData.Error)
	}
	printPhases(rep)
	printFingerprints(rep)
	require.NotNil(b, rep.Stats)
	return benchRun{seconds: secs, peakRSS: peakRSSBytes(), startDisk: start, peakDisk: peak, stats: *rep.Stats}
}

func printPhases(rep *matrix.Report) {
	phases := make([]string, 0, len(rep.PhaseSeconds))
	for p := range rep.PhaseSeconds {
		phases = append(phases, p)
	}
	sort.Slice(phases, func(i, j int) bool { return rep.PhaseSeconds[phases[i]] > rep.PhaseSeconds[phases[j]] })
	fmt.Fprintf(os.Stderr, "matrix phases (summed over parallel cells):")
	for _, p := range phases {
		fmt.Fprintf(os.Stderr, " %s %.1fs", p, rep.PhaseSeconds[p])
	}
	fmt.Fprintln(os.Stderr)
}

// printFingerprints prints how many tables the matrix fingerprinted and
// how many fingerprints it reused (nothing changed them since).
func printFingerprints(rep *matrix.Report) {
	var took, reused [3]int
	for _, r := range rep.Results {
		for i, c := range []matrix.TableCounts{r.Fingerprints.AfterUp, r.Fingerprints.State, r.Fingerprints.AfterDown} {
			took[i] += c.Fingerprinted
			reused[i] += c.Reused
		}
	}
	fmt.Fprintf(os.Stderr, "tables fingerprinted/reused: after up %d/%d, state %d/%d, after down %d/%d\n",
		took[0], reused[0], took[1], reused[1], took[2], reused[2])
}

// naiveReplay measures what the matrix measures without reusing states:
// for each k it rebuilds N's schema, seeds, replays ups 1..k (with N+1-era
// writes), then runs the down on that data and on a freshly replayed
// pristine schema.
func naiveReplay(b *testing.B, ctx context.Context, admin string, set *migrate.Set, bk migrate.Bookkeeping, seedOpts seed.Options) {
	base, next := set.Migrations[:1], set.Migrations[1:]
	for k := 1; k <= len(next); k++ {
		// data state k
		name := fmt.Sprintf("naive_d_%d", k)
		require.NoError(b, pgadmin.Create(ctx, admin, name, ""))
		dsn, _ := pgadmin.WithDatabase(admin, name)
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(b, err)
		for _, m := range base {
			require.NoError(b, migrate.Apply(ctx, conn, m.Up))
		}
		snap, err := schema.Take(ctx, conn, schema.Options{})
		require.NoError(b, err)
		s := seed.New(seedOpts)
		_, err = s.Base(ctx, dsn, snap, nil)
		require.NoError(b, err)
		require.NoError(b, era.Ensure(ctx, conn))
		require.NoError(b, bk.Ensure(ctx, conn))
		for j := 1; j <= k; j++ {
			before, err := schema.Take(ctx, conn, schema.Options{})
			require.NoError(b, err)
			require.NoError(b, migrate.Apply(ctx, conn, next[j-1].Up))
			after, err := schema.Take(ctx, conn, schema.Options{})
			require.NoError(b, err)
			_, err = s.Next(ctx, dsn, next[j-1].Version, before, after)
			require.NoError(b, err)
		}
		snap, err = schema.Take(ctx, conn, schema.Options{})
		require.NoError(b, err)
		_, err = fingerprint.Take(ctx, conn, snap, fingerprint.NEraOnly)
		require.NoError(b, err)
		require.NoError(b, migrate.Apply(ctx, conn, next[k-1].Down))
		snap, err = schema.Take(ctx, conn, schema.Options{})
		require.NoError(b, err)
		_, err = fingerprint.Take(ctx, conn, snap, fingerprint.NEraOnly)
		require.NoError(b, err)
		conn.Close(ctx)
		require.NoError(b, pgadmin.Drop(ctx, admin, name))

		// pristine state k
		name = fmt.Sprintf("naive_p_%d", k)
		require.NoError(b, pgadmin.Create(ctx, admin, name, ""))
		dsn, _ = pgadmin.WithDatabase(admin, name)
		conn, err = pgx.Connect(ctx, dsn)
		require.NoError(b, err)
		for _, m := range set.Migrations[:k+1] {
			require.NoError(b, migrate.Apply(ctx, conn, m.Up))
		}
		require.NoError(b, migrate.Apply(ctx, conn, next[k-1].Down))
		_, err = schema.Take(ctx, conn, schema.Options{})
		require.NoError(b, err)
		require.NoError(b, migrate.Apply(ctx, conn, next[k-1].Up))
		conn.Close(ctx)
		require.NoError(b, pgadmin.Drop(ctx, admin, name))
	}
}
