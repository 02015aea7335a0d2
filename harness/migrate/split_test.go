package migrate

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want []Statement
		noTx bool
	}{
		{
			name: "dollar-quoted function body with semicolons",
			sql: `CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
BEGIN
  PERFORM 1; RETURN 1;
END;
$body$;
SELECT 1;`,
			want: []Statement{
				{Line: 1, SQL: "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n  PERFORM 1; RETURN 1;\nEND;\n$body$"},
				{Line: 6, SQL: "SELECT 1"},
			},
		},
		{
			name: "BEGIN ATOMIC body",
			sql: `CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT a + 1;
  SELECT a + 2;
END;

SELECT 2;`,
			want: []Statement{
				{Line: 1, SQL: "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT a + 1;\n  SELECT a + 2;\nEND"},
				{Line: 7, SQL: "SELECT 2"},
			},
		},
		{
			name: "comments with semicolons",
			sql: `-- first; still a comment
/* block; comment /* nested; */ */
SELECT 1; /* trailing; */
-- between; here
SELECT 2`,
			want: []Statement{{Line: 3, SQL: "SELECT 1"}, {Line: 5, SQL: "SELECT 2"}},
		},
		{
			name: "E'' and standard strings with semicolons",
			sql:  "SELECT E'it\\'s; ok';\nSELECT 'a;b', \"x;y\" FROM (SELECT 1 AS \"x;y\") s;",
			want: []Statement{{Line: 1, SQL: "SELECT E'it\\'s; ok'"}, {Line: 2, SQL: "SELECT 'a;b', \"x;y\" FROM (SELECT 1 AS \"x;y\") s"}},
		},
		{
			name: "multibyte text before a statement",
			sql:  "SELECT 'é;ü—';\n\n  SELECT 'ß';",
			want: []Statement{{Line: 1, SQL: "SELECT 'é;ü—'"}, {Line: 3, SQL: "SELECT 'ß'"}},
		},
		{name: "only comments", sql: "-- nothing here;\n/* nor; here */\n", want: nil},
		{name: "CREATE INDEX CONCURRENTLY", sql: "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);", noTx: true,
			want: []Statement{{Line: 1, SQL: "CREATE TABLE t (a int)"}, {Line: 2, SQL: "CREATE INDEX CONCURRENTLY i ON t (a)"}}},
		{name: "DROP INDEX CONCURRENTLY", sql: "DROP INDEX CONCURRENTLY i;", noTx: true, want: []Statement{{Line: 1, SQL: "DROP INDEX CONCURRENTLY i"}}},
		{name: "REINDEX CONCURRENTLY", sql: "REINDEX INDEX CONCURRENTLY i;", noTx: true, want: []Statement{{Line: 1, SQL: "REINDEX INDEX CONCURRENTLY i"}}},
		{name: "VACUUM", sql: "VACUUM t;", noTx: true, want: []Statement{{Line: 1, SQL: "VACUUM t"}}},
		{name: "ANALYZE runs in a transaction", sql: "ANALYZE t;", want: []Statement{{Line: 1, SQL: "ANALYZE t"}}},
		{name: "CREATE DATABASE", sql: "CREATE DATABASE x;", noTx: true, want: []Statement{{Line: 1, SQL: "CREATE DATABASE x"}}},
		{name: "plain index is transactional", sql: "CREATE INDEX i ON t (a);", want: []Statement{{Line: 1, SQL: "CREATE INDEX i ON t (a)"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, noTx, err := split("f.sql", tc.sql, 1)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.noTx, noTx)
		})
	}
}

func TestSplitOffsetsLinesByChunkStart(t *testing.T) {
	got, _, err := split("f.sql", "\nSELECT 1;\nSELECT 2;", 10)
	require.NoError(t, err)
	assert.Equal(t, []Statement{{Line: 11, SQL: "SELECT 1"}, {Line: 12, SQL: "SELECT 2"}}, got)
}

func TestSplitSyntaxErrorNamesFileAndLine(t *testing.T) {
	sql := "CREATE TABLE a (id int);\n-- ü comment\nSELECT 1;\nSELEC 'é' FROM a;\n"
	_, _, err := split("migrations/000003_x.up.sql", sql, 1)
	var le *LoadError
	require.True(t, errors.As(err, &le), "got %v", err)
	assert.Equal(t, 4, le.Line)
	assert.Contains(t, err.Error(), `migrations/000003_x.up.sql:4: SQL syntax error: syntax error at or near "SELEC"`)
	assert.Contains(t, err.Error(), "fix the statement")
}
