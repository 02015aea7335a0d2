package pgadmin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// TestWithDatabaseBothForms: a DSN in URL or keyword/value form, with the
// database replaced, connects to that database on a real server.
func TestWithDatabaseBothForms(t *testing.T) {
	srv := pgtest.Server(t)
	ctx := context.Background()
	admin := pgtest.AdminDSN(t)
	const db = "rehearse_withdb_o'k"
	require.NoError(t, pgadmin.Create(ctx, admin, db, ""))
	t.Cleanup(func() { pgadmin.Drop(context.Background(), admin, db) })

	for _, tt := range []struct{ name, dsn string }{
		{"URL", srv.DSN("postgres")},
		{"URL postgresql scheme", fmt.Sprintf("postgresql://%s:%s@127.0.0.1:%d/postgres?sslmode=disable", local.Superuser, srv.Password(), srv.Port)},
		{"keyword/value", fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres user=%s password=%s sslmode=disable", srv.Port, local.Superuser, srv.Password())},
		{"keyword/value without dbname", fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s sslmode=disable", srv.Port, local.Superuser, srv.Password())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dsn, err := pgadmin.WithDatabase(tt.dsn, db)
			require.NoError(t, err)
			conn, err := pgx.Connect(ctx, dsn)
			require.NoError(t, err, dsn)
			defer conn.Close(ctx)
			var got string
			require.NoError(t, conn.QueryRow(ctx, "SELECT current_database()").Scan(&got))
			assert.Equal(t, db, got)
		})
	}
	_, err := pgadmin.WithDatabase("host=127.0.0.1 port=notaport", db)
	assert.ErrorContains(t, err, "parse DSN")
}

func TestName(t *testing.T) {
	long := strings.Repeat("nightly_rehearsal_", 4)
	for _, tt := range []struct {
		name  string
		parts []string
		want  string
	}{
		{"joined and lowered", []string{"Rehearse", "Run-1", "d", "3"}, "rehearse_run_1_d_3"},
		{"63 bytes kept", []string{strings.Repeat("a", 61), "d"}, strings.Repeat("a", 61) + "_d"},
		{"longer: head and a hash of the whole", []string{long, "d", "10"}, long[:54] + "_"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := pgadmin.Name(tt.parts...)
			assert.LessOrEqual(t, len(got), 63)
			if strings.HasSuffix(tt.want, "_") {
				assert.True(t, strings.HasPrefix(got, tt.want), got)
				assert.Len(t, got, 63)
			} else {
				assert.Equal(t, tt.want, got)
			}
		})
	}
	// Long names that differ only where a plain cut would drop stay apart.
	assert.NotEqual(t, pgadmin.Name(long, "d", "10"), pgadmin.Name(long, "d", "11"))
	assert.Equal(t, pgadmin.Name(long, "d", "10"), pgadmin.Name(long, "d", "10"))
}
