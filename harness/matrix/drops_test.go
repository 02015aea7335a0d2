package matrix_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// TestEarlyDrops: on a disposable server nothing is dropped at the end of a
// run, so every database of the run that is gone when Run returns was
// dropped early, once no cell needed it. --keep keeps them all, the states
// as built (every cell worked on a clone, kept too). The clone count is the
// run's own: oldClones is what the same run cloned before a state's last
// cell took it over and pristine states were dropped early (measured on
// b4ae01c): every state a cell cloned, the re-seed cloned its pristine state.
func TestEarlyDrops(t *testing.T) {
	tests := []struct {
		name, dir, from, to, bookkeeping string
		keep                             bool
		wantLeft                         bool
		wantClones, wantInPlace          int
		oldClones                        int
	}{
		// 8 migrations: P1..P8, D0..D8; every cell on its state.
		{name: "chain", dir: "../../migrations", from: "000003", to: "000011", wantClones: 17, wantInPlace: 16, oldClones: 17},
		// The re-seed after 000002's failed up rebuilds the schema instead
		// of cloning a pristine state kept for it.
		{name: "reseeded", dir: "testdata/cases/up_fails_then_reseeded/migrations", from: "000001", wantClones: 5, wantInPlace: 3, oldClones: 6},
		// Boot probes share each state with the down cells: one of them
		// takes the state over, the other clones.
		{name: "boot clones", dir: "testdata/cases/none_boot_reapplies_unique/migrations", from: "000001", bookkeeping: "none", wantClones: 5, wantInPlace: 4, oldClones: 9},
		{name: "keep", dir: "testdata/cases/up_fails_then_reseeded/migrations", from: "000001", keep: true, wantLeft: true, wantClones: 9, oldClones: 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := migrate.LoadDir(tc.dir, migrate.Options{})
			require.NoError(t, err)
			if tc.bookkeeping == "" {
				tc.bookkeeping = string(set.Layout)
			}
			bk, err := migrate.BookkeepingFor(tc.bookkeeping)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			prefix := "m_drops_" + strings.ReplaceAll(tc.name, " ", "_")
			to := tc.to
			if to == "" {
				to = set.Migrations[len(set.Migrations)-1].Version
			}
			rep, err := matrix.Run(ctx, matrix.Config{
				AdminDSN:    pgtest.AdminDSN(t),
				Prefix:      prefix,
				Set:         set,
				From:        tc.from,
				To:          to,
				Bookkeeping: bk,
				Seeder:      seed.New(seed.Options{Seed: 1, Rows: 30}),
				Parallel:    2,
				Disposable:  true,
				Keep:        tc.keep,
				Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
				Progress:    io.Discard,
			})
			require.NoError(t, err)
			require.NotEmpty(t, rep.Results)
			require.NotNil(t, rep.Stats)
			t.Logf("stats: %+v", *rep.Stats)
			assert.Equal(t, tc.wantClones, rep.Stats.Clones, "clones")
			assert.Equal(t, tc.wantInPlace, rep.Stats.InPlace, "cells on their state itself")
			assert.LessOrEqual(t, rep.Stats.Clones, tc.oldClones, "more clones than before")

			left := databasesLike(ctx, t, prefix)
			if tc.wantLeft {
				// What --keep documents: every state, pristine (p) and with
				// data (d), plus the cells' clones, since no cell took its
				// state over.
				for k := 0; k < len(rep.Results); k++ {
					for _, kind := range []string{"p", "d"} {
						db := fmt.Sprintf("%s_%s_%d", prefix, kind, k)
						assert.Contains(t, left, db)
						assert.Contains(t, rep.KeptDatabases, db)
					}
				}
				assert.Contains(t, left, prefix+"_dp_1", "the pristine cell worked on a clone")
				assert.Contains(t, left, prefix+"_dd_2", "the down-on-data cell worked on a clone (k=1 failed its up)")
				for _, db := range left {
					dropDatabase(ctx, t, db)
				}
				return
			}
			assert.Empty(t, left, "databases still there after the run (not dropped early)")
		})
	}
}

func databasesLike(ctx context.Context, t *testing.T, prefix string) []string {
	t.Helper()
	conn, err := pgx.Connect(ctx, pgtest.AdminDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1`, prefix+"_")
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func dropDatabase(ctx context.Context, t *testing.T, db string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, pgtest.AdminDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
	require.NoError(t, err)
}

// TestDiskEstimate: rows that cannot fit on the data directory's disk fail
// before seeding with the numbers and what to do; a size that fits runs.
func TestDiskEstimate(t *testing.T) {
	tests := []struct {
		name    string
		rows    int
		dataDir string
		wantErr string
	}{
		{name: "impossible rows", rows: 1_000_000_000_000, dataDir: t.TempDir(), wantErr: "not enough disk for the seeded data"},
		{name: "fits", rows: 20, dataDir: t.TempDir()},
		{name: "remote server skips", rows: 1_000_000_000_000, dataDir: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := migrate.LoadDir("testdata/cases/add_column_default/migrations", migrate.Options{})
			require.NoError(t, err)
			bk, err := migrate.BookkeepingFor(string(set.Layout))
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// The seeder writes 20 rows whatever Rows says: the check alone
			// decides whether the run stops.
			start := time.Now()
			rep, err := matrix.Run(ctx, matrix.Config{
				AdminDSN:    pgtest.AdminDSN(t),
				Prefix:      "m_disk_" + strings.ReplaceAll(tc.name, " ", "_"),
				Set:         set,
				From:        set.Migrations[0].Version,
				To:          set.Migrations[len(set.Migrations)-1].Version,
				Bookkeeping: bk,
				Seeder:      seed.New(seed.Options{Seed: 1, Rows: 20}),
				Rows:        tc.rows,
				DataDir:     tc.dataDir,
				Parallel:    2,
				Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
				Progress:    io.Discard,
			})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				t.Log(err)
				assert.ErrorContains(t, err, "pass a smaller --rows")
				assert.ErrorContains(t, err, tc.dataDir)
				assert.Less(t, time.Since(start), time.Minute, "the check runs before seeding")
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, rep.Results)
			if tc.dataDir == "" {
				assert.Contains(t, strings.Join(rep.Notes, "\n"), "disk estimate skipped")
			}
		})
	}
}
