package seed

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordPipeline collects the pipeline's events as "event table".
func recordPipeline(t *testing.T) func() []string {
	var mu sync.Mutex
	var got []string
	pipelineEvent = func(what, table string) {
		mu.Lock()
		got = append(got, what+" "+table)
		mu.Unlock()
	}
	t.Cleanup(func() { pipelineEvent = nil })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// TestBaseChildrenStartBeforeParentsCommit: children of tables loaded from
// empty start on their parents' sequential keys before those are generated
// (speculative) or on their generated keys before they commit (early); a
// child of a table with a trigger waits for the commit. Every key written
// is in the parent afterwards (a full anti-join, not the sampled check).
func TestBaseChildrenStartBeforeParentsCommit(t *testing.T) {
	events := recordPipeline(t)
	dsn := schemaDB(t, `
CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
	total numeric(10,2) NOT NULL CHECK (total >= 0));
CREATE TABLE lines (id bigserial PRIMARY KEY, invoice_id bigint NOT NULL REFERENCES invoices, qty int NOT NULL);
CREATE TABLE regions (code varchar(12) PRIMARY KEY);
CREATE TABLE shops (id bigserial PRIMARY KEY, region_code varchar(12) NOT NULL REFERENCES regions);
CREATE TABLE audited (id bigserial PRIMARY KEY, note text);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := coalesce(NEW.note, 'x'); RETURN NEW; END $$;
CREATE TRIGGER audited_touch BEFORE INSERT ON audited FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE audited_refs (id bigserial PRIMARY KEY, audited_id bigint NOT NULL REFERENCES audited);
`)
	res, err := New(Options{Seed: 3, Rows: 3000, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
	require.NoError(t, err)
	for _, tr := range res.Tables {
		require.Empty(t, tr.Skipped, tr.Table)
		require.Positive(t, tr.Rows, tr.Table)
	}
	assert.ElementsMatch(t, []string{"speculative public.invoices", "speculative public.lines", "early public.shops"}, events())
	tests := []struct{ child, parent, col, key string }{
		{"invoices", "accounts", "account_id", "id"},
		{"lines", "invoices", "invoice_id", "id"},
		{"shops", "regions", "region_code", "code"},
		{"audited_refs", "audited", "audited_id", "id"},
	}
	for _, tt := range tests {
		t.Run(tt.child, func(t *testing.T) {
			orphans := queryInt(t, dsn, fmt.Sprintf("SELECT count(*) FROM %s c WHERE NOT EXISTS (SELECT 1 FROM %s p WHERE p.%s = c.%s)", tt.child, tt.parent, tt.key, tt.col))
			assert.Zero(t, orphans)
			assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM "+tt.child))
		})
	}
}

// TestBaseEarlyChildFailsWithParent: a parent whose load fails after its
// rows were generated (an index rebuild the generator could not foresee)
// makes the child that started on its keys start over, as if it had waited:
// with a NOT NULL key it fails with the reason and writes nothing, with a
// nullable key its rows get NULLs.
func TestBaseEarlyChildFailsWithParent(t *testing.T) {
	events := recordPipeline(t)
	dsn := schemaDB(t, `
CREATE TABLE flags (id bigserial PRIMARY KEY, on_off boolean NOT NULL);
CREATE UNIQUE INDEX flags_one_each ON flags ((on_off::int * 0));
CREATE TABLE flag_uses (id bigserial PRIMARY KEY, flag_id bigint NOT NULL REFERENCES flags);
CREATE TABLE flag_notes (id bigserial PRIMARY KEY, flag_id bigint REFERENCES flags, note text);
`)
	res, err := New(Options{Seed: 1, Rows: 200, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
	require.NoError(t, err)
	require.Len(t, res.Tables, 3)
	byName := map[string]TableResult{}
	for _, tr := range res.Tables {
		byName[tr.Table] = tr
	}
	// The generator drops rows here too (on_off is unique to it): the guess
	// is wrong, the second start is on the generated keys, early or (when
	// flags has failed by then) after its load.
	got := events()
	for _, child := range []string{"public.flag_uses", "public.flag_notes"} {
		assert.Contains(t, got, "speculative "+child)
		assert.Contains(t, got, "respeculate "+child)
	}
	assert.Contains(t, byName["public.flags"].Skipped, "flags_one_each")
	assert.Contains(t, byName["public.flag_uses"].Skipped, "needs rows in public.flags, but it was not filled")
	assert.Zero(t, byName["public.flag_uses"].Rows)
	assert.Zero(t, queryInt(t, dsn, "SELECT count(*) FROM flag_uses"))
	assert.Empty(t, byName["public.flag_notes"].Skipped)
	assert.Equal(t, int64(200), queryInt(t, dsn, "SELECT count(*) FROM flag_notes WHERE flag_id IS NULL"))
}

// TestBaseWrongGuessStartsOver: a parent that drops rows (a unique boolean
// has two values) breaks the child's guess of its keys; the child starts
// over on the actual keys and writes exactly the rows it writes without
// guessing.
func TestBaseWrongGuessStartsOver(t *testing.T) {
	const ddl = `
CREATE TABLE toggles (id bigserial PRIMARY KEY, on_off boolean NOT NULL UNIQUE);
CREATE TABLE toggle_uses (id bigserial PRIMARY KEY, toggle_id bigint NOT NULL REFERENCES toggles, note text);
`
	load := func(guess bool) (digest string, got []string) {
		events := recordPipeline(t)
		speculate = guess
		defer func() { speculate = true }()
		dsn := schemaDB(t, ddl)
		res, err := New(Options{Seed: 5, Rows: 300, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
		require.NoError(t, err)
		for _, tr := range res.Tables {
			require.Empty(t, tr.Skipped, tr.Table)
		}
		assert.Equal(t, int64(2), queryInt(t, dsn, "SELECT count(*) FROM toggles"), "all but two toggles dropped")
		assert.Zero(t, queryInt(t, dsn, "SELECT count(*) FROM toggle_uses u WHERE NOT EXISTS (SELECT 1 FROM toggles t WHERE t.id = u.toggle_id)"))
		conn := pgtest.Connect(t, dsn)
		require.NoError(t, conn.QueryRow(context.Background(),
			"SELECT count(*) || ' ' || md5(string_agg(u::text, ',' ORDER BY id)) FROM toggle_uses u").Scan(&digest))
		return digest, events()
	}
	guessed, events := load(true)
	assert.Equal(t, []string{"speculative public.toggle_uses", "respeculate public.toggle_uses", "early public.toggle_uses"}, events)
	plain, events := load(false)
	assert.Equal(t, []string{"early public.toggle_uses"}, events)
	assert.Equal(t, plain, guessed)
}
