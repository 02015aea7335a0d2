package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// TestServerAcceptsOnlyThePassword: the throwaway server trusts no local
// connection. Without the password (TCP or the socket) or with a wrong one
// it refuses; the password reaches it through the DSN or the 0600 pgpass
// file; the socket directory is private.
func TestServerAcceptsOnlyThePassword(t *testing.T) {
	s := pgtest.Server(t)
	require.NotEmpty(t, s.Password())
	public := s.PublicDSN("postgres")
	require.NotContains(t, public, s.Password())

	tests := []struct {
		name    string
		dsn     string
		env     map[string]string
		refused bool
	}{
		{"TCP without password", public, nil, true},
		{"TCP with a wrong password", fmt.Sprintf("postgres://%s:wrong@127.0.0.1:%d/postgres?sslmode=disable", local.Superuser, s.Port), nil, true},
		{"socket without password", fmt.Sprintf("host=%s port=%d user=%s dbname=postgres", s.Dir, s.Port, local.Superuser), nil, true},
		{"TCP as another role", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port), nil, true},
		{"harness DSN", s.DSN("postgres"), nil, false},
		{"public DSN with PGPASSFILE", public, map[string]string{"PGPASSFILE": s.PassFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No password may come from the runner's own environment.
			t.Setenv("PGPASSWORD", "")
			t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, tt.dsn)
			if !tt.refused {
				require.NoError(t, err)
				conn.Close(ctx)
				return
			}
			require.Error(t, err)
			assert.Regexp(t, "password authentication failed|no password supplied|server requested SCRAM-SHA-256", err.Error())
		})
	}

	t.Run("files", func(t *testing.T) {
		for path, mode := range map[string]os.FileMode{s.Dir: 0o700, s.PassFile: 0o600} {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, mode, fi.Mode().Perm(), path)
		}
		pass, err := os.ReadFile(s.PassFile)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("127.0.0.1:%d:*:%s:%s\n", s.Port, local.Superuser, s.Password()), string(pass))
		_, err = os.Stat(filepath.Join(s.Dir, "initdb.pw"))
		assert.True(t, os.IsNotExist(err), "initdb's password file must be gone")
	})
	t.Run("pg_hba trusts nothing", func(t *testing.T) {
		conn := pgtest.Connect(t, s.DSN("postgres"))
		rows, err := conn.Query(context.Background(), "SELECT type, auth_method FROM pg_hba_file_rules")
		require.NoError(t, err)
		n := 0
		for rows.Next() {
			var typ, method string
			require.NoError(t, rows.Scan(&typ, &method))
			assert.Equal(t, "scram-sha-256", method, "%s rule", typ)
			n++
		}
		require.NoError(t, rows.Err())
		assert.Positive(t, n)
	})
}
