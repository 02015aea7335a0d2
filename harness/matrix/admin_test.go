package matrix_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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

// TestAdminDatabaseLostNamesTheStep: a migration that removes the database
// the harness connects to (dropped, closed to connections) makes the run
// fail, and the error names the migration file and step, not only the
// connect error that follows. The harness's admin database here is a
// throwaway one, so the shared server's postgres survives.
func TestAdminDatabaseLostNamesTheStep(t *testing.T) {
	tests := []struct {
		name     string
		up, down string // %s is the admin database
		wantStep string
	}{
		{"up drops it", "DROP DATABASE %s WITH (FORCE);", "SELECT 1;", "000002_harm up ("},
		{"up closes it", "ALTER DATABASE %s ALLOW_CONNECTIONS false;", "SELECT 1;", "000002_harm up ("},
		{"down drops it", "CREATE TABLE u (id int);", "DROP DATABASE %s WITH (FORCE);", "000002_harm down ("},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			adminDSN := pgtest.NewDatabase(t)
			cfg, err := pgx.ParseConfig(adminDSN)
			require.NoError(t, err)
			admin := pgx.Identifier{cfg.Database}.Sanitize()
			dir := t.TempDir()
			files := map[string]string{
				"000001_t.up.sql":      "CREATE TABLE t (id int PRIMARY KEY);\n",
				"000001_t.down.sql":    "DROP TABLE t;\n",
				"000002_harm.up.sql":   sprintfIf(tc.up, admin) + "\n",
				"000002_harm.down.sql": sprintfIf(tc.down, admin) + "\n",
			}
			for name, sql := range files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644))
			}
			set, err := migrate.LoadDir(dir, migrate.Options{})
			require.NoError(t, err)
			bk, err := migrate.BookkeepingFor("golang-migrate")
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			prefix := "m_adminlost_" + string(rune('a'+i))
			t.Cleanup(func() {
				for _, db := range databasesLike(context.Background(), t, prefix) {
					dropDatabase(context.Background(), t, db)
				}
			})
			_, err = matrix.Run(ctx, matrix.Config{
				AdminDSN: adminDSN, Prefix: prefix, Set: set, From: "000001", To: "000002", Bookkeeping: bk,
				Seeder: seed.New(seed.Options{Seed: 1, Rows: 5}), Parallel: 1,
				Disposable: true, // cleanup would need the lost database
				Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)), Progress: io.Discard,
			})
			require.Error(t, err)
			var lost *matrix.AdminLostError
			require.True(t, errors.As(err, &lost), "want AdminLostError, got %v", err)
			assert.Contains(t, lost.Step, tc.wantStep)
			assert.Contains(t, err.Error(), filepath.Join(dir, "000002_harm."))
			assert.Contains(t, err.Error(), "removed the database the harness connects to")
		})
	}
}

func sprintfIf(format, admin string) string {
	if !strings.Contains(format, "%s") {
		return format
	}
	return fmt.Sprintf(format, admin)
}
