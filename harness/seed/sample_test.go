package seed

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sampleMigration struct{ version, name, up, down string }

func sampleMigrations(t *testing.T) []sampleMigration {
	dir := filepath.Join("..", "..", "migrations")
	ups, err := filepath.Glob(filepath.Join(dir, "*.up.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, ups)
	sort.Strings(ups)
	var out []sampleMigration
	for _, up := range ups {
		base := strings.TrimSuffix(filepath.Base(up), ".up.sql")
		m := sampleMigration{version: base[:6], name: base}
		b, err := os.ReadFile(up)
		require.NoError(t, err)
		m.up = string(b)
		if d, err := os.ReadFile(strings.TrimSuffix(up, ".up.sql") + ".down.sql"); err == nil {
			m.down = string(d)
		}
		out = append(out, m)
	}
	return out
}

// tryInTx runs sql in a transaction that is rolled back, on a connection of
// its own, and returns its error.
func tryInTx(t *testing.T, dsn, sql string) error {
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, sql)
	return err
}

func applyUpTo(t *testing.T, dsn string, ms []sampleMigration, last string) {
	for _, m := range ms {
		if m.version <= last {
			pgtest.Exec(t, dsn, m.up)
		}
	}
}

// The sample app's releases: every table is filled, every up works on the
// data, and the wrong down files are caught by the N+1-era shapes.
func TestSampleMigrations(t *testing.T) {
	ms := sampleMigrations(t)
	wrongDowns := map[string]string{"000007": "23502", "000008": "22001", "000014": "23505"}
	for _, rel := range []struct{ from, to string }{{"000003", "000011"}, {"000011", "000018"}} {
		t.Run(rel.from+"-"+rel.to, func(t *testing.T) {
			ctx := testCtx(t)
			futureDSN := pgtest.NewDatabase(t)
			applyUpTo(t, futureDSN, ms, rel.to)
			future := take(t, futureDSN)

			dsn := pgtest.NewDatabase(t)
			applyUpTo(t, dsn, ms, rel.from)
			s := New(Options{Seed: 2026, Logger: testLogger()})
			res, err := s.Base(ctx, dsn, take(t, dsn), future)
			require.NoError(t, err)
			requireAllFilled(t, res, 200)

			for _, m := range ms {
				if m.version <= rel.from || m.version > rel.to {
					continue
				}
				before := take(t, dsn)
				require.NoError(t, execErr(t, dsn, m.up), "up %s on N-era data", m.name)
				if m.version == "000012" {
					// N-era data did not anticipate 1.2's CHECK: it holds only
					// because it is NOT VALID; validating it fails.
					err := tryInTx(t, dsn, "ALTER TABLE renewal_policies VALIDATE CONSTRAINT renewal_policies_renew_before_days_check")
					require.Error(t, err)
					assert.Equal(t, "23514", sqlState(err))
				}
				after := take(t, dsn)
				res, err := s.Next(ctx, dsn, m.name, before, after)
				require.NoError(t, err)
				for _, tr := range res.Tables {
					assert.Empty(t, tr.Skipped, "%s: %s", m.name, tr.Table)
					assert.Empty(t, tr.Unsatisfied, "%s: %s", m.name, tr.Table)
				}
				if m.down == "" {
					continue
				}
				// Try the down and roll it back: DDL is transactional.
				err = tryInTx(t, dsn, m.down)
				if code, wrong := wrongDowns[m.version]; wrong {
					require.Error(t, err, "wrong down %s must fail on N+1-era data", m.name)
					assert.Equal(t, code, sqlState(err), "%s: %v", m.name, err)
				} else {
					assert.NoError(t, err, "down %s", m.name)
				}
			}
		})
	}
}
