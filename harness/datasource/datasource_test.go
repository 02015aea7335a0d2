package datasource_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rehearse-dev/rehearse/harness/datasource"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every pg_dump format loads the real rows unchanged (JSON and legacy
// text included), and the bookkeeping table is left to the harness.
func TestLoadEveryDumpFormat(t *testing.T) {
	src := release10(t)
	pgtest.Exec(t, src, handMadeRows+heartbeats)
	for _, tc := range []struct {
		format string
		kind   datasource.Kind
	}{
		{"c", datasource.KindCustom},
		{"d", datasource.KindDirectory},
		{"p", datasource.KindPlain},
		{"t", datasource.KindTar},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			s, err := datasource.Open(dump(t, src, tc.format))
			require.NoError(t, err)
			require.Equal(t, tc.kind, s.Kind)
			dst, snap := releaseN(t)
			res, err := datasource.Load(context.Background(), dst, s, snap, datasource.LoadOptions{BinDir: binDir(t), Skip: []string{"public.schema_migrations"}})
			require.NoError(t, err)
			rows := map[string]int64{}
			for _, tl := range res.Tables {
				rows[tl.Table] = tl.Rows
			}
			assert.Equal(t, map[string]int64{"public.agents": 2, "public.agent_heartbeats": 2, "public.certificates": 2, "public.audit_events": 3, "public.schema_migrations": 0}, rows)
			assert.Equal(t, int64(1), count(t, dst, `SELECT count(*) FROM audit_events WHERE details = '{"by": "alice.smith@acme-corp.com", "reason": "renewal"}'`))
			assert.Equal(t, int64(1), count(t, dst, `SELECT count(*) FROM audit_events WHERE details = 'renewed' AND agent_id = 99`))
			// Sequences moved past the real ids: the next insert does not collide.
			assert.Equal(t, int64(3), count(t, dst, `SELECT nextval('certificates_id_seq')`))
		})
	}
}

// A dump whose schema differs from release N's is refused with every
// drifted object named; --allow-drift goes on and says what is unreliable.
func TestDriftRefusedUnlessAllowed(t *testing.T) {
	src := release10(t)
	pgtest.Exec(t, src, handMadeRows+`
ALTER TABLE certificates ADD COLUMN nickname text;
CREATE INDEX certificates_owner_email_idx ON certificates (owner_email);
ALTER TABLE certificates DROP CONSTRAINT certificates_status_check;`)
	s, err := datasource.Open(dump(t, src, "c"))
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		allow bool
	}{{"refused", false}, {"allowed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dst, snap := releaseN(t)
			sd, err := datasource.New(datasource.Options{Source: s, AllowDrift: tc.allow, Skip: []string{"public.schema_migrations"}, Next: seed.New(seed.Options{})})
			require.NoError(t, err)
			_, err = sd.Base(context.Background(), dst, snap, nil)
			if !tc.allow {
				var de *datasource.DriftError
				require.True(t, errors.As(err, &de), "err = %v", err)
				msg := err.Error()
				for _, want := range []string{"public.certificates.nickname: add-column", "certificates_owner_email_idx: add-index", "certificates_status_check: drop-constraint", "--allow-drift"} {
					assert.Contains(t, msg, want)
				}
				assert.Equal(t, int64(0), count(t, dst, "SELECT count(*) FROM certificates"), "nothing loaded before the drift check")
				return
			}
			require.NoError(t, err)
			notes := strings.Join(sd.Notes(), "\n")
			assert.Contains(t, notes, "drift on public.certificates")
			assert.Contains(t, notes, "unreliable")
			assert.Equal(t, int64(2), count(t, dst, "SELECT count(*) FROM certificates"), "the common columns are loaded")
		})
	}
}

// Masked columns are rewritten in the stream: the state database never
// holds the original, equal inputs stay equal (joins hold), the format is
// kept, and unmasked personal columns are warned about.
func TestMaskWhileLoading(t *testing.T) {
	src := release10(t)
	pgtest.Exec(t, src, handMadeRows)
	s, err := datasource.Open(dump(t, src, "c"))
	require.NoError(t, err)
	prof, err := seed.ParseProfile("profile.yaml", []byte("mask:\n  certificates.owner_email: email\n  audit_events.actor: email\n"))
	require.NoError(t, err)
	masks, err := datasource.CompileMasks(prof.File, prof.Mask, "salt")
	require.NoError(t, err)
	dst, snap := releaseN(t)
	res, err := datasource.Load(context.Background(), dst, s, snap, datasource.LoadOptions{BinDir: binDir(t), Masks: masks})
	require.NoError(t, err)
	text := allText(t, dst)
	assert.NotContains(t, text, "bob.jones")
	assert.Contains(t, text, "alice.smith", "details is not masked here: it must show up, or the scan proves nothing")
	assert.Equal(t, int64(0), count(t, dst, `SELECT count(*) FROM certificates WHERE owner_email !~ '^[^@]+@[^@]+\.example\.com$'`), "e-mail format kept")
	assert.Equal(t, int64(3), count(t, dst, `SELECT count(*) FROM audit_events a JOIN certificates c ON c.owner_email = a.actor`), "hash-consistent: joins on masked columns hold")
	assert.Empty(t, res.Personal, "every personal column has a rule")

	// Without rules, both columns are named: one by name, one by content.
	dst2, _ := releaseN(t)
	res, err = datasource.Load(context.Background(), dst2, s, snap, datasource.LoadOptions{BinDir: binDir(t)})
	require.NoError(t, err)
	assert.Equal(t, []string{"public.audit_events.actor (values look like e-mail addresses)", "public.certificates.owner_email (name)"}, res.Personal)
}

// A masked value never overflows its column: an e-mail rule lengthens the
// domain, and varchar(n) still takes it.
func TestMaskFitsTheColumnLength(t *testing.T) {
	src := pgtest.NewDatabase(t)
	const ddl = `CREATE TABLE people (id int PRIMARY KEY, email varchar(20) NOT NULL, name varchar(6));`
	pgtest.Exec(t, src, ddl+`INSERT INTO people VALUES (1, 'al@acme-corp.com', 'Al'), (2, 'bo@acme-corp.com', 'Bo');`)
	s, err := datasource.Open(dump(t, src, "c"))
	require.NoError(t, err)
	prof, err := seed.ParseProfile("profile.yaml", []byte("mask:\n  people.email: email\n  people.name: faker:sentence\n"))
	require.NoError(t, err)
	masks, err := datasource.CompileMasks(prof.File, prof.Mask, "salt")
	require.NoError(t, err)
	dst := pgtest.NewDatabase(t)
	pgtest.Exec(t, dst, ddl)
	conn := pgtest.Connect(t, dst)
	snap, err := schema.Take(context.Background(), conn, schema.Options{})
	require.NoError(t, err)
	_, err = datasource.Load(context.Background(), dst, s, snap, datasource.LoadOptions{BinDir: binDir(t), Masks: masks})
	require.NoError(t, err)
	assert.Equal(t, int64(2), count(t, dst, "SELECT count(*) FROM people WHERE length(email) <= 20 AND email NOT LIKE '%acme%' AND name NOT IN ('Al', 'Bo')"))
}

func TestMaskRulesRejectBadInput(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"mask:\n  certificates.owner_email: scramble\n", `profile.yaml:2: mask certificates.owner_email: unknown rule "scramble"`},
		{"mask:\n  owner_email: email\n", "profile.yaml:2: mask owner_email: want table.column"},
		{"mask:\n  t.c: faker:nosuchthing\n", `"nosuchthing" is not a gofakeit generator`},
	} {
		prof, err := seed.ParseProfile("profile.yaml", []byte(tc.yaml))
		require.NoError(t, err)
		_, err = datasource.CompileMasks(prof.File, prof.Mask, "")
		assert.ErrorContains(t, err, tc.want)
	}
}

// PostgreSQL's own error texts quote row values; the report keeps none.
func TestRedactRealErrors(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dsn)
	ctx := context.Background()
	_, err := conn.Exec(ctx, `CREATE TABLE u (id int PRIMARY KEY, email text UNIQUE, parent int REFERENCES u (id), n int CHECK (n > 0));
INSERT INTO u VALUES (1, 'carol@secret.org', NULL, 1)`)
	require.NoError(t, err)
	for _, tc := range []struct{ q, secret string }{
		{`INSERT INTO u VALUES (2, 'carol@secret.org', NULL, 1)`, "carol@secret.org"},
		{`INSERT INTO u VALUES (3, 'dave@secret.org', 4242, 1)`, "4242"},
		{`INSERT INTO u VALUES (4, 'erin@secret.org', NULL, -1)`, "erin@secret.org"},
		{`SELECT 'frank@secret.org'::int`, "frank@secret.org"},
		{`CREATE UNIQUE INDEX ON u ((n))`, ""},
	} {
		if tc.secret == "" {
			continue
		}
		_, err := conn.Exec(ctx, tc.q)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), tc.q)
		msg := pe.Message + "\n" + pe.Detail
		require.Contains(t, msg, tc.secret, "the error must quote the value, or the test proves nothing")
		assert.NotContains(t, datasource.RedactString(msg), tc.secret, msg)
		var progress bytes.Buffer
		fmt.Fprintln(datasource.RedactingWriter(&progress), "[1/8] up: fail ("+msg+")")
		assert.NotContains(t, progress.String(), tc.secret, "the live progress lines too")
	}
	// A unique index over duplicates quotes them too ("is duplicated").
	_, err = conn.Exec(ctx, `ALTER TABLE u DROP CONSTRAINT u_email_key; INSERT INTO u VALUES (7, 'carol@secret.org', NULL, 1)`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `CREATE UNIQUE INDEX ON u (email)`)
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe))
	require.Contains(t, pe.Detail, "carol@secret.org")
	assert.NotContains(t, datasource.RedactString(pe.Detail), "carol@secret.org", pe.Detail)
}

func init() { _ = time.Second }
