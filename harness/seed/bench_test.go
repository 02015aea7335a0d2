package seed

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/stretchr/testify/require"
)

const benchSchema = `
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL,
	country_code char(2) NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz);
CREATE TABLE products (id serial PRIMARY KEY, sku varchar(16) NOT NULL UNIQUE, name text NOT NULL,
	price numeric(10,2) NOT NULL CHECK (price > 0));
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
	status text NOT NULL CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')), total numeric(12,2) NOT NULL DEFAULT 0,
	placed_at timestamptz NOT NULL);
CREATE TABLE order_items (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders,
	product_id int NOT NULL REFERENCES products, quantity int NOT NULL CHECK (quantity BETWEEN 1 AND 99),
	unit_price numeric(10,2) NOT NULL CHECK (unit_price >= 0));
CREATE TABLE payments (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders,
	amount numeric(12,2) NOT NULL CHECK (amount > 0), method text NOT NULL CHECK (method IN ('card', 'transfer', 'cash')),
	paid_at timestamptz NOT NULL);
`

var benchRows = map[string]int{"customers": 100000, "products": 20000, "orders": 280000, "order_items": 500000, "payments": 100000}

// BenchmarkLoad loads 1M rows into a 5-table schema (FKs, uniques, CHECKs)
// and, in the same run on the same server, times `pgbench -i` for 1M rows.
// Metrics: seed_rows/s, pgbench_rows/s and their ratio (target >= 0.8), the
// CPU seconds of the seeder and of the server during the seed and during
// pgbench, and the process's peak RSS. SEED_BENCH_SCALE=0.25 loads a quarter
// of the rows (pgbench stays at 1M), to compare peak RSS across sizes.
func BenchmarkLoad(b *testing.B) {
	profile := &Profile{File: "bench", Tables: map[string]*TableProfile{}}
	scale := 1.0
	if v := os.Getenv("SEED_BENCH_SCALE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		require.NoError(b, err, "SEED_BENCH_SCALE")
		scale = f
	}
	total := 0
	for name, n := range benchRows {
		n = int(float64(n) * scale)
		profile.Tables[name] = &TableProfile{Name: name, Rows: n}
		total += n
	}
	var seedSecs, pgbenchSecs, seedServer, seedClient, pgbenchServer float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dsn := schemaDB(b, benchSchema)
		snap := take(b, dsn)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		// Both loads start from a clean server: no checkpoint of the
		// previous iteration's writes lands in the middle of a measurement.
		pgtest.Exec(b, pgtest.AdminDSN(b), "CHECKPOINT")
		server0, client0 := serverCPU(b), clientCPU()
		b.StartTimer()
		start := time.Now()
		res, err := New(Options{Seed: int64(i + 1), Profile: profile, Logger: testLogger()}).Base(ctx, dsn, snap, nil)
		seedSecs += time.Since(start).Seconds()
		b.StopTimer()
		seedClient += clientCPU() - client0
		time.Sleep(100 * time.Millisecond) // ended backends reaped into the postmaster's times
		seedServer += serverCPU(b) - server0
		cancel()
		require.NoError(b, err)
		var rows int64
		for _, tr := range res.Tables {
			require.Empty(b, tr.Skipped, tr.Table)
			rows += tr.Rows
		}
		require.Greater(b, rows, int64(total*99/100))

		server0 = serverCPU(b)
		pgbenchSecs += runPgbench(b, 10) // scale 10: 1,000,000 pgbench_accounts rows
		time.Sleep(100 * time.Millisecond)
		pgbenchServer += serverCPU(b) - server0
		b.StartTimer()
	}
	seedRate := float64(total) * float64(b.N) / seedSecs
	pgbenchRate := float64(1000000+100+10) * float64(b.N) / pgbenchSecs
	b.ReportMetric(seedRate, "seed_rows/s")
	b.ReportMetric(pgbenchRate, "pgbench_rows/s")
	b.ReportMetric(seedRate/pgbenchRate, "ratio")
	b.ReportMetric(seedServer/float64(b.N), "seed_server_cpu_s")
	b.ReportMetric(seedClient/float64(b.N), "seed_client_cpu_s")
	b.ReportMetric(pgbenchServer/float64(b.N), "pgbench_server_cpu_s")
	b.ReportMetric(peakRSSMB(), "peak_rss_MB")
	b.Logf("seed: %d rows in %.2fs (%.0f rows/s); pgbench -i: 1000110 rows in %.2fs (%.0f rows/s); ratio %.2f",
		total, seedSecs/float64(b.N), seedRate, pgbenchSecs/float64(b.N), pgbenchRate, seedRate/pgbenchRate)
}

// pgbenchPath finds pgbench next to the server's binaries (following a
// symlinked postgres to its real bin dir).
func pgbenchPath(b *testing.B, binDir string) string {
	candidates := []string{filepath.Join(binDir, "pgbench")}
	if real, err := filepath.EvalSymlinks(filepath.Join(binDir, "postgres")); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(real), "pgbench"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	b.Fatalf("pgbench not found in %v: install the PostgreSQL client/contrib package of the server's version", candidates)
	return ""
}

// runPgbench times `pgbench -i -s scale` against a fresh database of the
// shared server and returns the seconds it took.
func runPgbench(b *testing.B, scale int) float64 {
	s := pgtest.Server(b)
	dsn := pgtest.NewDatabase(b)
	u, err := url.Parse(dsn)
	require.NoError(b, err)
	db := strings.TrimPrefix(u.Path, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pgbenchPath(b, s.BinDir), "-i", "-q", "-s", fmt.Sprint(scale),
		"-h", "127.0.0.1", "-p", fmt.Sprint(s.Port), "-U", "rehearse", db)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+s.Password())
	pgtest.Exec(b, pgtest.AdminDSN(b), "CHECKPOINT")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	secs := time.Since(start).Seconds()
	require.NoError(b, err, "pgbench -i: %s", out)
	return secs
}

// BenchmarkGenerate measures row generation and encoding (in the format
// Base writes) alone, no COPY, per table of the BenchmarkLoad schema,
// starting over (fresh plan, no unique values seen) every BenchmarkLoad row
// count.
func BenchmarkGenerate(b *testing.B) {
	dsn := schemaDB(b, benchSchema)
	snap := take(b, dsn)
	s := New(Options{Seed: 1, Logger: testLogger()}).(*seeder)
	for _, name := range []string{"customers", "products", "orders", "order_items", "payments"} {
		b.Run(name, func(b *testing.B) {
			var g *tableGen
			var bin bool // the format Base writes the table in
			fresh := func() {
				p, err := s.planTable(snap, snap.Tables["public."+name], nil)
				require.NoError(b, err)
				for _, fk := range p.fks {
					var list [][]string
					for i := range 100000 {
						list = append(list, []string{fmt.Sprint(i + 1)})
					}
					fk.keys = listKeys(list)
				}
				g = newTableGen(1, "", p, 0.1)
				bin = binaryCopyable(p)
			}
			fresh()
			w := bufio.NewWriter(io.Discard)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%benchRows[name] == 0 {
					b.StopTimer()
					fresh()
					b.StartTimer()
				}
				if ok, _ := g.next(i % benchRows[name]); ok {
					if bin {
						g.writeRowBinary(w)
					} else {
						g.writeRow(w)
					}
				}
			}
		})
	}
}

// benchIndexes are the secondary indexes a real schema of benchSchema's
// shape has: every foreign key column and two lookups.
const benchIndexes = `
CREATE INDEX ON orders (customer_id);
CREATE INDEX ON orders (placed_at);
CREATE INDEX ON order_items (order_id);
CREATE INDEX ON order_items (product_id);
CREATE INDEX ON payments (order_id);
CREATE INDEX ON customers (name);
`

// BenchmarkLoadIndexed loads BenchmarkLoad's 1M rows into the schema with
// its secondary indexes twice in the same run: indexes built after COPY (as
// Base does) and kept live during COPY. Metrics: both times and their ratio.
func BenchmarkLoadIndexed(b *testing.B) {
	profile := &Profile{File: "bench", Tables: map[string]*TableProfile{}}
	for name, n := range benchRows {
		profile.Tables[name] = &TableProfile{Name: name, Rows: n}
	}
	load := func(deferred bool) float64 {
		dsn := schemaDB(b, benchSchema+benchIndexes)
		snap := take(b, dsn)
		pgtest.Exec(b, pgtest.AdminDSN(b), "CHECKPOINT")
		deferIndexBuilds = deferred
		defer func() { deferIndexBuilds = true }()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		start := time.Now()
		res, err := New(Options{Seed: 1, Profile: profile, Logger: testLogger()}).Base(ctx, dsn, snap, nil)
		secs := time.Since(start).Seconds()
		require.NoError(b, err)
		for _, tr := range res.Tables {
			require.Empty(b, tr.Skipped, tr.Table)
		}
		return secs
	}
	var after, live float64
	for i := 0; i < b.N; i++ {
		after += load(true)
		live += load(false)
	}
	b.ReportMetric(after/float64(b.N), "after-copy-s")
	b.ReportMetric(live/float64(b.N), "live-s")
	b.ReportMetric(after/live, "ratio")
	b.Logf("1M rows, 13 indexes: built after COPY %.2fs, live during COPY %.2fs, ratio %.2f",
		after/float64(b.N), live/float64(b.N), after/live)
}
