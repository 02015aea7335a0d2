package local

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestStartStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{})
	require.NoError(t, err)
	dir := s.Dir
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	require.NoError(t, err)
	var fsync string
	require.NoError(t, conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync))
	require.Equal(t, "off", fsync)
	var minWAL string
	require.NoError(t, conn.QueryRow(ctx, "SHOW min_wal_size").Scan(&minWAL))
	require.Equal(t, "32MB", minWAL, "recycled WAL kept small (peak disk)")
	conn.Close(ctx)
	require.NotEmpty(t, s.Version)

	require.NoError(t, s.Stop(ctx))
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err), "data dir must be removed")
	_, err = pgx.Connect(ctx, s.DSN("postgres"))
	require.Error(t, err, "server must be down")
	require.NoError(t, s.Stop(ctx), "second stop is a no-op")
}

func TestFindBinDir(t *testing.T) {
	_, err := FindBinDir(t.TempDir())
	require.ErrorIs(t, err, ErrNoBinaries)
	require.Contains(t, err.Error(), "--backend docker")

	t.Setenv("PATH", t.TempDir())
	dir, err := FindBinDir("")
	if err == nil {
		require.True(t, hasServerBinaries(dir))
	}
}
