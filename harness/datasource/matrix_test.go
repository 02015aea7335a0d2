package datasource_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
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

			// matrix.json says where the data came from, and matrix.md in one line.
			ds := rep.DataSource
			require.NotNil(t, ds)
			assert.Equal(t, "custom", ds.Kind)
			assert.Equal(t, file, ds.Source)
			assert.Equal(t, "none", ds.Drift)
			assert.Equal(t, 3, ds.MaskedColumns, "owner_email, actor, details")
			dsRows := map[string][2]int64{}
			for _, tb := range ds.Tables {
				dsRows[tb.Table] = [2]int64{tb.SourceRows, tb.Rows}
			}
			assert.Equal(t, [2]int64{3, 3}, dsRows["public.audit_events"])
			assert.Equal(t, [2]int64{tc.heartbeats, tc.heartbeats}, dsRows["public.agent_heartbeats"])
			assert.NotContains(t, dsRows, "public.schema_migrations", "bookkeeping is not data")
			md, err := os.ReadFile(filepath.Join(out, "matrix.md"))
			require.NoError(t, err)
			line := regexp.MustCompile(`(?m)^N-era data from custom dump .*$`).FindString(string(md))
			assert.Contains(t, line, "dump.c · drift: none · every row: ", "matrix.md's data source line")
			assert.Contains(t, line, " rows in 4 tables · 3 masked column(s)")

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
