package datasource_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rehearse-dev/rehearse/harness/datasource"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A DSN source is only read: its rows, sequences and catalog are the same
// after the drift check and the load, and the load got its rows, masked.
func TestDSNSourceLeftUnchanged(t *testing.T) {
	src := release10(t)
	pgtest.Exec(t, src, handMadeRows+heartbeats)
	checksum := func() string {
		conn := pgtest.Connect(t, src)
		snap, err := schema.Take(context.Background(), conn, schema.Options{CountRows: true})
		require.NoError(t, err)
		cat, err := json.Marshal(snap)
		require.NoError(t, err)
		var seqs string
		require.NoError(t, conn.QueryRow(context.Background(),
			`SELECT string_agg(last_value || '/' || is_called, ',') FROM (SELECT * FROM agents_id_seq UNION ALL SELECT * FROM certificates_id_seq UNION ALL SELECT * FROM audit_events_id_seq) s`).Scan(&seqs))
		return allText(t, src) + seqs + string(cat)
	}
	before := checksum()

	s, err := datasource.Open(src)
	require.NoError(t, err)
	require.Equal(t, datasource.KindDSN, s.Kind)
	prof, err := seed.ParseProfile("p.yaml", []byte("mask:\n  certificates.owner_email: email\n"))
	require.NoError(t, err)
	masks, err := datasource.CompileMasks(prof.File, prof.Mask, "x")
	require.NoError(t, err)
	sd, err := datasource.New(datasource.Options{Source: s, Masks: masks, Skip: []string{"public.schema_migrations"}, Next: seed.New(seed.Options{})})
	require.NoError(t, err)
	dst, snap := releaseN(t)
	res, err := sd.Base(context.Background(), dst, snap, nil)
	require.NoError(t, err)
	rows := map[string]int64{}
	for _, tr := range res.Tables {
		rows[tr.Table] = tr.Rows
	}
	assert.Equal(t, int64(2), rows["public.certificates"])
	assert.Equal(t, int64(2), rows["public.agent_heartbeats"])
	assert.Equal(t, int64(0), count(t, dst, "SELECT count(*) FROM certificates WHERE owner_email LIKE '%acme-corp%'"))

	assert.Equal(t, before, checksum(), "the source changed")
	assert.NotContains(t, s.String(), "password", "a DSN is named without its password")
}

// The matrix re-seeds its data chain (Base again) on a state whose schema
// a failed up changed: the source's rows do not fit there, so the second
// Base generates rows and says so, instead of refusing the run as drift.
func TestReseedAfterFailedUpIsGenerated(t *testing.T) {
	src := release10(t)
	pgtest.Exec(t, src, handMadeRows)
	s, err := datasource.Open(src)
	require.NoError(t, err)
	sd, err := datasource.New(datasource.Options{Source: s, Skip: []string{"public.schema_migrations"}, Next: seed.New(seed.Options{Rows: 5})})
	require.NoError(t, err)
	dst, snap := releaseN(t)
	_, err = sd.Base(context.Background(), dst, snap, nil)
	require.NoError(t, err)

	changed, _ := releaseN(t)
	pgtest.Exec(t, changed, "ALTER TABLE certificates ADD COLUMN nickname text NOT NULL DEFAULT 'x'")
	conn := pgtest.Connect(t, changed)
	snap2, err := schema.Take(context.Background(), conn, schema.Options{})
	require.NoError(t, err)
	_, err = sd.Base(context.Background(), changed, snap2, nil)
	require.NoError(t, err, "a re-seed is not drift")
	assert.Equal(t, int64(5), count(t, changed, "SELECT count(*) FROM certificates"), "generated rows")
	assert.Contains(t, sd.Notes(), "states re-seeded after an up failed on data hold generated rows, not the source's")
}
