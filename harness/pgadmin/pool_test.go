package pgadmin_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// TestPoolClonesAsSoonAsTheTemplateIsFree: a clone asked for while the
// template's last session is closing starts once it is gone, instead of
// waiting out CREATE DATABASE's 100 ms re-check; a pooled connection the
// server ended is replaced, not reported.
func TestPoolClonesAsSoonAsTheTemplateIsFree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := pgtest.AdminDSN(t)
	pool := pgadmin.NewPool(admin, 2)
	defer pool.Close()
	const tmpl = "rehearse_pool_tmpl"
	require.NoError(t, pool.Create(ctx, tmpl, ""))
	t.Cleanup(func() { pgadmin.Drop(context.Background(), admin, tmpl) })
	dsn, err := pgadmin.WithDatabase(admin, tmpl)
	require.NoError(t, err)

	var took []time.Duration
	for i := 0; i < 5; i++ {
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		// The session is still there when the clone is asked for.
		go func() {
			time.Sleep(20 * time.Millisecond)
			conn.Close(context.Background())
		}()
		clone := pgadmin.Name("rehearse_pool_clone", time.Now().Format("150405.000000"))
		t0 := time.Now()
		require.NoError(t, pool.Create(ctx, clone, tmpl))
		took = append(took, time.Since(t0))
		require.NoError(t, pool.Drop(ctx, clone))
	}
	slices.Sort(took)
	require.Less(t, took[len(took)/2], 100*time.Millisecond, "clones waited for PostgreSQL's re-check: %v", took)

	// The server ends the pool's idle session (as a migration terminating
	// the admin database's connections would): the next call reconnects.
	var pid int
	require.NoError(t, pool.Do(ctx, "read the session's pid", func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid)
	}))
	other, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	_, err = other.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
	other.Close(ctx)
	require.NoError(t, err)
	var one int
	require.NoError(t, pool.Do(ctx, "query", func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT 1").Scan(&one)
	}))
	require.Equal(t, 1, one)
}
