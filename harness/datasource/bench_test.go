package datasource_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rehearse-dev/rehearse/harness/datasource"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/stretchr/testify/require"
)

// BenchmarkLoadVsPgRestore loads the same custom dump into the same empty
// schema (indexes in place) with pg_restore --data-only and with Load
// (masking one column), in the same run, and reports Load's speed as a
// share of pg_restore's (the bar: at least 0.5). The dump is made
// once, in a temp dir. By default it is small (REHEARSE_BENCH_ROWS rows,
// 200,000); REHEARSE_BENCH_LARGE=1 (make bench BENCH_LARGE=1) makes it
// about 1 GB (20M rows, values that compress about 2:1), which takes many
// minutes.
//
//	go test -run x -bench LoadVsPgRestore -benchtime 1x ./harness/datasource/
func BenchmarkLoadVsPgRestore(b *testing.B) {
	rows := 200_000
	if v := os.Getenv("REHEARSE_BENCH_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	if os.Getenv("REHEARSE_BENCH_LARGE") != "" {
		rows = 20_000_000
	} else {
		b.Logf("*** BenchmarkLoadVsPgRestore: small dump (%d rows); set REHEARSE_BENCH_LARGE=1 for the 1 GB dump of issue 15 ***", rows)
	}
	const ddl = `
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, plan text, profile text, created_at timestamptz NOT NULL);
CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts, kind text, payload text, at timestamptz);
CREATE INDEX ON events (account_id);`
	src := pgtest.NewDatabase(b)
	// md5 payloads: a dump of them compresses about 2:1, as real data does.
	// Rows first, keys after: the large size takes minutes either way.
	genStart := time.Now()
	gen := pgtest.Connect(b, src)
	for _, q := range []string{
		`CREATE TABLE accounts (id bigint, email text NOT NULL, plan text, profile text, created_at timestamptz NOT NULL)`,
		`CREATE TABLE events (id bigint, account_id bigint, kind text, payload text, at timestamptz)`,
		`INSERT INTO accounts SELECT g, 'user' || g || '@example.org', (ARRAY['free','pro','team'])[1 + g % 3],
  '{"theme": "dark", "n": ' || g || '}', now() - g * interval '1 minute' FROM generate_series(1, ` + strconv.Itoa(rows/4) + `) g`,
		`INSERT INTO events SELECT g, 1 + g % ` + strconv.Itoa(rows/4) + `, (ARRAY['click','view','buy'])[1 + g % 3],
  md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text), now() - g * interval '1 second' FROM generate_series(1, ` + strconv.Itoa(rows*3/4) + `) g`,
		`ALTER TABLE accounts ADD PRIMARY KEY (id)`,
		`ALTER TABLE events ADD PRIMARY KEY (id), ADD FOREIGN KEY (account_id) REFERENCES accounts`,
		`CREATE INDEX ON events (account_id)`,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		_, err := gen.Exec(ctx, q)
		cancel()
		require.NoError(b, err, q)
	}
	b.Logf("source of %d rows generated in %.0fs", rows, time.Since(genStart).Seconds())
	file := filepath.Join(b.TempDir(), "bench.dump")
	bin := binDir(b)
	out, err := exec.Command(filepath.Join(bin, "pg_dump"), "-Fc", "-f", file, "-d", src).CombinedOutput()
	require.NoError(b, err, string(out))
	fi, err := os.Stat(file)
	require.NoError(b, err)
	s, err := datasource.Open(file)
	require.NoError(b, err)
	masks := mustMasks(b, "accounts.email: email")

	for i := 0; i < b.N; i++ {
		b.StopTimer()
		d1 := pgtest.NewDatabase(b)
		pgtest.Exec(b, d1, ddl)
		d2 := pgtest.NewDatabase(b)
		pgtest.Exec(b, d2, ddl)
		conn := pgtest.Connect(b, d2)
		snap, err := schema.Take(context.Background(), conn, schema.Options{})
		require.NoError(b, err)
		b.StartTimer()

		start := time.Now()
		out, err := exec.Command(filepath.Join(bin, "pg_restore"), "--data-only", "--disable-triggers", "-d", d1, file).CombinedOutput()
		require.NoError(b, err, string(out))
		restore := time.Since(start)

		start = time.Now()
		_, err = datasource.Load(context.Background(), d2, s, snap, datasource.LoadOptions{BinDir: bin, Masks: masks})
		require.NoError(b, err)
		load := time.Since(start)

		b.ReportMetric(restore.Seconds(), "pg_restore-s")
		b.ReportMetric(load.Seconds(), "load-s")
		b.ReportMetric(restore.Seconds()/load.Seconds(), "speed-vs-pg_restore")
		b.Logf("dump %d MB, %d rows: pg_restore --data-only %.2fs, Load (masking accounts.email) %.2fs: %.2f of pg_restore's speed",
			fi.Size()>>20, rows, restore.Seconds(), load.Seconds(), restore.Seconds()/load.Seconds())
	}
}

func mustMasks(tb testing.TB, rules string) *datasource.Masks {
	tb.Helper()
	prof, err := seedProfile("mask:\n  " + rules + "\n")
	require.NoError(tb, err)
	m, err := datasource.CompileMasks(prof.File, prof.Mask, "bench")
	require.NoError(tb, err)
	return m
}

// BenchmarkSampleCost loads the same source sampled at 1%, 10% and 100%,
// from a custom dump and from a DSN, choosing rows while they stream
// (Load with Sample), and, for comparison, the way it was done before:
// everything loaded, then sampled in SQL (Load, then SampleTables). The
// streamed time follows the rows kept; a dump is still read (decompressed)
// whole. REHEARSE_BENCH_ROWS sets the source's size (default 400,000 rows).
//
//	go test -run x -bench SampleCost -benchtime 1x ./harness/datasource/
func BenchmarkSampleCost(b *testing.B) {
	rows := 400_000
	if v := os.Getenv("REHEARSE_BENCH_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	const ddl = `
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, plan text, profile text, created_at timestamptz NOT NULL);
CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts, kind text, payload text, at timestamptz);
CREATE INDEX ON events (account_id);`
	src := pgtest.NewDatabase(b)
	pgtest.Exec(b, src, ddl+`
INSERT INTO accounts SELECT g, 'user' || g || '@example.org', (ARRAY['free','pro','team'])[1 + g % 3],
  '{"theme": "dark", "n": ' || g || '}', now() - g * interval '1 minute' FROM generate_series(1, `+strconv.Itoa(rows/4)+`) g;
INSERT INTO events SELECT g, 1 + g % `+strconv.Itoa(rows/4)+`, 'click', repeat('x', 40) || g, now() FROM generate_series(1, `+strconv.Itoa(rows*3/4)+`) g;`)
	pgtest.Exec(b, src, "VACUUM ANALYZE")
	file := filepath.Join(b.TempDir(), "bench.dump")
	bin := binDir(b)
	out, err := exec.Command(filepath.Join(bin, "pg_dump"), "-Fc", "-f", file, "-d", src).CombinedOutput()
	require.NoError(b, err, string(out))
	fresh := func() (string, *schema.Snapshot) {
		d := pgtest.NewDatabase(b)
		pgtest.Exec(b, d, ddl)
		snap, err := schema.Take(context.Background(), pgtest.Connect(b, d), schema.Options{})
		require.NoError(b, err)
		return d, snap
	}
	for _, spec := range []struct{ kind, path string }{{"custom", file}, {"dsn", src}} {
		s, err := datasource.Open(spec.path)
		require.NoError(b, err)
		for _, fraction := range []float64{0.01, 0.1, 1} {
			for _, mode := range []string{"streamed", "load-then-sample"} {
				if mode == "load-then-sample" && fraction == 1 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%g/%s", spec.kind, fraction, mode), func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						dst, snap := fresh()
						b.StartTimer()
						start := time.Now()
						opts := datasource.LoadOptions{BinDir: bin}
						if mode == "streamed" && fraction < 1 {
							opts.Sample = &datasource.SampleOptions{Fraction: fraction, Seed: 1}
						}
						res, err := datasource.Load(context.Background(), dst, s, snap, opts)
						require.NoError(b, err)
						if mode == "load-then-sample" {
							_, err = datasource.Sample(context.Background(), dst, snap, fraction, 1)
							require.NoError(b, err)
						}
						took := time.Since(start)
						kept := count(b, dst, "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM events)")
						b.ReportMetric(took.Seconds(), "s")
						b.ReportMetric(float64(kept), "rows-kept")
						b.Logf("%s, sample %g, %s: %d of %d rows kept in %.2fs (%d tables)", spec.kind, fraction, mode, kept, rows, took.Seconds(), len(res.Tables))
					}
				})
			}
		}
	}
}
