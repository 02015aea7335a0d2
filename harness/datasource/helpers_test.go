package datasource_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/datasource"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
	"github.com/stretchr/testify/require"
)

const sampleMigrations = "../../migrations"

// release10 builds the sample's release 1.0 (migrations up to 000003, with
// golang-migrate's bookkeeping, as production has it) and returns its DSN.
func release10(t *testing.T) string {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	set, err := migrate.LoadDir(sampleMigrations, migrate.Options{})
	require.NoError(t, err)
	bk, err := migrate.BookkeepingFor("golang-migrate")
	require.NoError(t, err)
	ctx := context.Background()
	conn := pgtest.Connect(t, dsn)
	require.NoError(t, bk.Ensure(ctx, conn))
	for _, m := range set.Migrations {
		if m.Version > "000003" {
			break
		}
		require.NoError(t, migrate.Up(ctx, conn, m, bk, nil))
	}
	return dsn
}

// handMadeRows are rows an app really wrote: JSON in a text column, a
// legacy plain-text detail, an audit row pointing at an agent that no
// longer exists (1.0 had no FK), personal e-mails.
const handMadeRows = `
INSERT INTO agents (id, hostname, platform, agent_version) VALUES
  (1, 'web-01.prod.internal', 'linux', '2.3.1'), (2, 'db-01.prod.internal', 'linux', NULL);
INSERT INTO certificates (id, serial_number, common_name, owner_email, agent_id, not_before, not_after, status) VALUES
  (1, 'SN-0001-AX', 'shop.acme-corp.com', 'alice.smith@acme-corp.com', 1, '2024-01-01', '2025-01-01', 'active'),
  (2, 'SN-0002-BX', 'api.acme-corp.com', 'bob.jones@acme-corp.com', 2, '2023-01-01', '2024-01-01', 'revoked');
INSERT INTO audit_events (certificate_id, agent_id, actor, action, details) VALUES
  (1, 1, 'alice.smith@acme-corp.com', 'issued', '{"by": "alice.smith@acme-corp.com", "reason": "renewal"}'),
  (2, 99, 'bob.jones@acme-corp.com', 'revoked', 'renewed'),
  (NULL, NULL, 'alice.smith@acme-corp.com', 'login', NULL);
SELECT setval('agents_id_seq', 2), setval('certificates_id_seq', 2);
`

const heartbeats = `INSERT INTO agent_heartbeats (agent_id, status) VALUES (1, 'ok'), (1, 'degraded');`

// secrets are the personal values of handMadeRows.
var secrets = []string{"alice.smith", "bob.jones"}

func binDir(t testing.TB) string {
	t.Helper()
	d, err := datasource.ClientBinDir("")
	require.NoError(t, err)
	return d
}

// dump runs pg_dump in format (c, d, p) and returns the file or folder.
func dump(t *testing.T, dsn, format string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dump."+format)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := exec.CommandContext(ctx, filepath.Join(binDir(t), "pg_dump"), "-F"+format, "-f", out, "-d", dsn).CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

// releaseN builds an empty release 1.0 schema the way the matrix does
// (no bookkeeping yet) and returns its DSN and snapshot.
func releaseN(t *testing.T) (string, *schema.Snapshot) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	set, err := migrate.LoadDir(sampleMigrations, migrate.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	conn := pgtest.Connect(t, dsn)
	for _, m := range set.Migrations {
		if m.Version > "000003" {
			break
		}
		_, err := conn.Exec(ctx, m.Up.SQL)
		require.NoError(t, err)
	}
	snap, err := schema.Take(ctx, conn, schema.Options{})
	require.NoError(t, err)
	return dsn, snap
}

// allText is every row of every user table of dsn, as text.
func allText(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables ORDER BY 1`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	var b strings.Builder
	for _, tb := range tables {
		var s *string
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM %s t", tb)).Scan(&s))
		if s != nil {
			fmt.Fprintf(&b, "%s:\n%s\n", tb, *s)
		}
	}
	return b.String()
}

func count(t testing.TB, dsn, q string) int64 {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	var n int64
	require.NoError(t, conn.QueryRow(context.Background(), q).Scan(&n))
	return n
}

func seedProfile(y string) (*seed.Profile, error) {
	return seed.ParseProfile("profile.yaml", []byte(y))
}
