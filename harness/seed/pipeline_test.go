package seed

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordEarly collects the tables that start before their parents commit.
func recordEarly(t *testing.T) func() []string {
	var mu sync.Mutex
	var got []string
	earlyStarted = func(table string) {
		mu.Lock()
		got = append(got, table)
		mu.Unlock()
	}
	t.Cleanup(func() { earlyStarted = nil })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// TestBaseChildrenStartOnGeneratedKeys: children of tables loaded from empty
// start on their parents' generated keys, before those commit, and every
// key they wrote is in the parent afterwards (a full anti-join, not the
// sampled check). A child of a table with a trigger waits for the commit.
func TestBaseChildrenStartOnGeneratedKeys(t *testing.T) {
	early := recordEarly(t)
	dsn := schemaDB(t, `
CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
	total numeric(10,2) NOT NULL CHECK (total >= 0));
CREATE TABLE lines (id bigserial PRIMARY KEY, invoice_id bigint NOT NULL REFERENCES invoices, qty int NOT NULL);
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
	assert.ElementsMatch(t, []string{"public.invoices", "public.lines"}, early())
	tests := []struct{ child, parent, col string }{
		{"invoices", "accounts", "account_id"},
		{"lines", "invoices", "invoice_id"},
		{"audited_refs", "audited", "audited_id"},
	}
	for _, tt := range tests {
		t.Run(tt.child, func(t *testing.T) {
			orphans := queryInt(t, dsn, "SELECT count(*) FROM "+tt.child+" c WHERE NOT EXISTS (SELECT 1 FROM "+tt.parent+" p WHERE p.id = c."+tt.col+")")
			assert.Zero(t, orphans)
			assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM "+tt.child))
		})
	}
}

// TestBaseEarlyChildFailsWithParent: a parent whose load fails after its
// rows were generated (an index rebuild the generator could not foresee)
// takes down the child that started on its keys, with the reason, and the
// child's rows are rolled back.
func TestBaseEarlyChildFailsWithParent(t *testing.T) {
	early := recordEarly(t)
	dsn := schemaDB(t, `
CREATE TABLE flags (id bigserial PRIMARY KEY, on_off boolean NOT NULL);
CREATE UNIQUE INDEX flags_one_each ON flags ((on_off::int * 0));
CREATE TABLE flag_uses (id bigserial PRIMARY KEY, flag_id bigint NOT NULL REFERENCES flags);
`)
	res, err := New(Options{Seed: 1, Rows: 200, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
	require.NoError(t, err)
	require.Len(t, res.Tables, 2)
	byName := map[string]TableResult{}
	for _, tr := range res.Tables {
		byName[tr.Table] = tr
	}
	assert.Equal(t, []string{"public.flag_uses"}, early())
	assert.Contains(t, byName["public.flags"].Skipped, "flags_one_each")
	assert.Contains(t, byName["public.flag_uses"].Skipped, "needs rows in public.flags, but it was not filled")
	assert.Zero(t, byName["public.flag_uses"].Rows)
	assert.Zero(t, queryInt(t, dsn, "SELECT count(*) FROM flag_uses"))
}
