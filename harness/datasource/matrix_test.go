package datasource_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/rehearsal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `rehearse matrix --data-from DUMP` on the sample's release 1.0 -> 1.1:
// the verdicts are measured on the dump's hand-made rows (000010 drops
// agent_heartbeats: the real heartbeats are N-era data it loses; a dump
// without heartbeats has none to lose), and no masked value reaches a
// report or a kept database.
func TestMatrixDataFromDump(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "profile.yaml")
	require.NoError(t, os.WriteFile(profile, []byte(`mask:
  certificates.owner_email: email
  audit_events.actor: email
  audit_events.details: hash
`), 0o644))
	for _, tc := range []struct {
		name       string
		rows       string
		heartbeats int64
		nEraKept   matrix.Status
	}{
		{"with heartbeats", handMadeRows + heartbeats, 2, matrix.StatusFail},
		{"without heartbeats", handMadeRows, 0, matrix.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := release10(t)
			pgtest.Exec(t, src, tc.rows)
			file := dump(t, src, "c")
			out := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			oc, err := rehearsal.RunMatrix(ctx, rehearsal.MatrixOptions{
				Migrations: sampleMigrations, From: "000003", To: "000011",
				Out: out, Seed: 1, Rows: 30, Profile: profile, Parallel: 2, Keep: true,
				DSN: pgtest.AdminDSN(t), DataFrom: file,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			require.NoError(t, err)
			rep := oc.Report
			nRows := map[string]int64{}
			for _, s := range rep.Seeding {
				if s.Era == "n" {
					nRows[s.Table] = s.Rows
				}
			}
			assert.Equal(t, int64(2), nRows["public.certificates"])
			assert.Equal(t, int64(3), nRows["public.audit_events"])
			assert.Equal(t, tc.heartbeats, nRows["public.agent_heartbeats"])
			var drop *matrix.MigrationResult
			for i := range rep.Results {
				if rep.Results[i].Version == "000010" {
					drop = &rep.Results[i]
				}
			}
			require.NotNil(t, drop)
			assert.Equal(t, tc.nEraKept, drop.Checks.NEraKept.Status, "%+v", drop.Checks.NEraKept)
			assert.Contains(t, strings.Join(rep.Notes, "\n"), "N-era data from custom dump")

			// Nothing masked in any report file or kept database.
			files, err := filepath.Glob(filepath.Join(out, "*"))
			require.NoError(t, err)
			require.NotEmpty(t, files)
			for _, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				for _, s := range secrets {
					assert.False(t, strings.Contains(string(b), s), "%s holds %q", f, s)
				}
			}
			require.NotEmpty(t, oc.Databases)
			// KeptDSN is printed, so it has no password: connect as the test's admin.
			for _, db := range oc.Databases {
				dsn, err := pgadmin.WithDatabase(pgtest.AdminDSN(t), db)
				require.NoError(t, err)
				text := allText(t, dsn)
				for _, s := range secrets {
					assert.False(t, strings.Contains(text, s), "%s holds %q", db, s)
				}
				pgadmin.Drop(context.Background(), pgtest.AdminDSN(t), db)
			}
		})
	}
}
