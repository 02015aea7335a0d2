package main

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env/local"
)

// TestKeepPrintsNoPassword: --keep names the kept server without its
// password, both for the harness's own server (the password is in the
// pgpass file it names, which lets psql in) and for a --dsn that carries one.
func TestKeepPrintsNoPassword(t *testing.T) {
	migrations := writeFiles(t, map[string]string{
		"001_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY);\n", "001_t.down.sql": "DROP TABLE t;\n",
		"002_a.up.sql": "ALTER TABLE t ADD COLUMN a int;\n", "002_a.down.sql": "ALTER TABLE t DROP COLUMN a;\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A server of the test's own with a password that --dsn passes in.
	other, err := local.Start(ctx, local.Options{BinDir: os.Getenv("REHEARSE_PG_BIN")})
	require.NoError(t, err)
	t.Cleanup(func() { other.Stop(context.Background()) })

	t.Run("own server", func(t *testing.T) {
		text, code := runRoot(t, "matrix", "--migrations", migrations, "--from", "001", "--rows", "10", "--keep", "--out", t.TempDir())
		require.Equal(t, 0, code, text)
		stop := regexp.MustCompile(`stop it with: kill (\d+) && rm -rf (\S+)`).FindStringSubmatch(text)
		require.NotNil(t, stop, text)
		pid, _ := strconv.Atoi(stop[1])
		t.Cleanup(func() {
			syscall.Kill(pid, syscall.SIGINT)
			for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			os.RemoveAll(stop[2])
		})
		m := regexp.MustCompile(`kept: (\S+)\n  password in (\S+) \(mode 0600\)`).FindStringSubmatch(text)
		require.NotNil(t, m, text)
		pass, err := os.ReadFile(m[2])
		require.NoError(t, err)
		password := regexp.MustCompile(`:([0-9a-f]{32})\n$`).FindStringSubmatch(string(pass))
		require.NotNil(t, password, "pgpass line")
		assert.NotContains(t, text, password[1])

		_, err = pgx.Connect(ctx, m[1])
		require.Error(t, err, "the printed DSN alone must not get in")
		t.Setenv("PGPASSFILE", m[2])
		conn, err := pgx.Connect(ctx, m[1])
		require.NoError(t, err, "the printed DSN with the named pgpass file gets in")
		conn.Close(ctx)
	})
	t.Run("--dsn", func(t *testing.T) {
		text, code := runRoot(t, "matrix", "--migrations", migrations, "--from", "001", "--rows", "10", "--keep", "--out", t.TempDir(),
			"--dsn", other.DSN("postgres"))
		require.Equal(t, 0, code, text)
		assert.Contains(t, text, "kept: "+other.PublicDSN("postgres"))
		assert.NotContains(t, text, other.Password())
	})
}
