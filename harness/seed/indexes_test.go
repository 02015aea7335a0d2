package seed

import (
	"testing"

	"github.com/rehearse-dev/rehearse/harness/pgtest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// indexState is what a load must leave as it found it: every index's name,
// definition and constraint, plus its OID, which tells whether the seeder
// dropped and rebuilt it.
type indexState struct {
	oid        uint32
	def        string
	constraint string
}

func indexStates(t *testing.T, dsn string) map[string]indexState {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	rows, err := conn.Query(testCtx(t), `
SELECT ic.relname, i.indexrelid::oid::int8, pg_get_indexdef(i.indexrelid),
       coalesce((SELECT pg_get_constraintdef(c.oid) || coalesce(' ' || obj_description(c.oid, 'pg_constraint'), '')
                 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p','u','x')), '')
       || coalesce(' comment ' || obj_description(i.indexrelid, 'pg_class'), '')
       || CASE WHEN i.indisreplident THEN ' replident' ELSE '' END
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname = 'public'`)
	require.NoError(t, err)
	out := map[string]indexState{}
	for rows.Next() {
		var name, def, con string
		var oid int64
		require.NoError(t, rows.Scan(&name, &oid, &def, &con))
		out[name] = indexState{oid: uint32(oid), def: def, constraint: con}
	}
	require.NoError(t, rows.Err())
	return out
}

// TestBaseBuildsIndexesAfterCopy loads tables from empty and checks that
// the indexes which can be recreated exactly were dropped and rebuilt after
// COPY (their OID changed) while those something else needs stayed, and
// that every definition, comment and constraint is as before.
func TestBaseBuildsIndexesAfterCopy(t *testing.T) {
	dsn := schemaDB(t, `
CREATE TABLE parents (id bigserial PRIMARY KEY, code text NOT NULL UNIQUE, slot int NOT NULL,
	CONSTRAINT parents_slot_key UNIQUE (slot) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE children (id bigserial PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parents(id), label text NOT NULL,
	code text NOT NULL, score int NOT NULL CHECK (score BETWEEN 0 AND 1000));
CREATE INDEX children_label_idx ON children (label);
CREATE INDEX children_lower_idx ON children (lower(label)) WHERE score > 10;
CREATE INDEX children_score_idx ON children (score);
COMMENT ON INDEX children_score_idx IS 'kept: a comment';
CREATE UNIQUE INDEX children_code_idx ON children (code);
ALTER TABLE children REPLICA IDENTITY USING INDEX children_code_idx;
CREATE TABLE refs_code (id serial PRIMARY KEY, code text NOT NULL REFERENCES parents(code));
`)
	before := indexStates(t, dsn)
	res, err := New(Options{Seed: 3, Rows: 2000, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
	require.NoError(t, err)
	requireAllFilled(t, res, 1)
	after := indexStates(t, dsn)

	tests := []struct {
		index   string
		rebuilt bool
	}{
		{"parents_pkey", false},       // children and refs_code reference it
		{"parents_code_key", false},   // refs_code references it
		{"parents_slot_key", true},    // deferrable unique, nothing depends on it
		{"children_pkey", true},       // a primary key nothing references
		{"children_label_idx", true},  // a plain index
		{"children_lower_idx", true},  // expression and predicate
		{"children_score_idx", false}, // commented
		{"children_code_idx", false},  // the replica identity
		{"refs_code_pkey", true},
	}
	require.Len(t, after, len(tests), "every index of the schema is in the table")
	for _, tt := range tests {
		t.Run(tt.index, func(t *testing.T) {
			b, a := before[tt.index], after[tt.index]
			require.NotZero(t, a.oid, "index %s exists after the load", tt.index)
			assert.Equal(t, b.def, a.def)
			assert.Equal(t, b.constraint, a.constraint)
			assert.Equal(t, tt.rebuilt, a.oid != b.oid, "rebuilt after COPY")
		})
	}
	assert.Equal(t, int64(2000), queryInt(t, dsn, "SELECT count(*) FROM children"))
	// The sequences were advanced past the rows (read through the rebuilt
	// primary key).
	assert.Equal(t, int64(2001), queryInt(t, dsn, "SELECT nextval('children_id_seq')"))
}

// TestBaseRebuildFailureKeepsIndex makes a rebuild fail (a unique index the
// generator cannot know about: a unique expression over a two-value
// domain) and checks the table's load fails whole, with the index still
// there and no rows.
func TestBaseRebuildFailureKeepsIndex(t *testing.T) {
	dsn := schemaDB(t, `
CREATE TABLE flags (id bigserial PRIMARY KEY, on_off boolean NOT NULL);
CREATE UNIQUE INDEX flags_one_each ON flags ((on_off::int * 0));
`)
	res, err := New(Options{Seed: 1, Rows: 50, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
	require.NoError(t, err)
	require.Len(t, res.Tables, 1)
	assert.Contains(t, res.Tables[0].Skipped, "flags_one_each")
	assert.Equal(t, int64(0), queryInt(t, dsn, "SELECT count(*) FROM flags"))
	assert.Equal(t, int64(2), queryInt(t, dsn, "SELECT count(*) FROM pg_indexes WHERE tablename = 'flags'"))
}

// TestKeyLinesAcrossChunks feeds COPY text in chunks that split lines and
// escapes anywhere, as a network read may.
func TestKeyLinesAcrossChunks(t *testing.T) {
	const text = "1\ta\\tb\n22\tc\n333\t\\\\d\n"
	want := [][]string{{"1", "a\tb"}, {"22", "c"}, {"333", `\d`}}
	for _, size := range []int{1, 2, 3, 5, len(text)} {
		w := &keyLines{want: 2}
		for i := 0; i < len(text); i += size {
			_, err := w.Write([]byte(text[i:min(i+size, len(text))]))
			require.NoError(t, err)
		}
		require.NoError(t, w.err)
		assert.Equal(t, want, w.c.keys().list, "chunks of %d bytes", size)
	}
	w := &keyLines{want: 3}
	_, _ = w.Write([]byte("1\t2\n"))
	assert.ErrorContains(t, w.err, "2 fields in a line, want 3")
}

// TestBaseKeepsIndexesUnderEventTriggers: a database whose event triggers
// would see DDL gets none from the seeder; its indexes stay as they are.
func TestBaseKeepsIndexesUnderEventTriggers(t *testing.T) {
	dsn := schemaDB(t, `
CREATE TABLE ddl_log (id serial PRIMARY KEY, tag text);
CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ddl_log (tag) VALUES (tg_tag); END $$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl();
CREATE TABLE items (id bigserial PRIMARY KEY, label text NOT NULL);
CREATE INDEX items_label_idx ON items (label);
DELETE FROM ddl_log;
`)
	before := indexStates(t, dsn)
	res, err := New(Options{Seed: 1, Rows: 500, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
	require.NoError(t, err)
	for _, tr := range res.Tables {
		require.Empty(t, tr.Skipped, tr.Table)
	}
	assert.Equal(t, int64(500), queryInt(t, dsn, "SELECT count(*) FROM items"))
	assert.Equal(t, before, indexStates(t, dsn), "no index dropped and rebuilt")
	assert.Equal(t, int64(0), queryInt(t, dsn, "SELECT count(*) FROM ddl_log WHERE tag IN ('CREATE INDEX', 'DROP INDEX', 'ALTER TABLE')"),
		"the event trigger saw no DDL")
}
