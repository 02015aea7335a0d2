package migrate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// script parses sql as file would be, failing the test on a parse error.
func script(t *testing.T, file, sql string, noTx bool) *Script {
	t.Helper()
	s, err := scriptOf(file, sql, 1, sql)
	require.NoError(t, err)
	s.NoTransaction = s.NoTransaction || noTx
	return s
}

func tableExistsT(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	ok, err := tableExists(testCtx(t), conn, name)
	require.NoError(t, err)
	return ok
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    string
		sql      string
		noTx     bool
		line     int
		sqlState string
		errText  string
		// kept: table that must exist after the failure (statement by
		// statement) or gone: table that must not (rolled back).
		kept, gone string
	}{
		{
			name:     "NOT NULL over NULLs",
			setup:    "CREATE TABLE t (a int); INSERT INTO t VALUES (NULL);",
			sql:      "CREATE TABLE side (x int);\n\nALTER TABLE t ALTER COLUMN a SET NOT NULL;\n",
			line:     3,
			sqlState: "23502",
			errText:  `migrations/000007_x.down.sql:3: ERROR: column "a" of relation "t" contains null values (SQLSTATE 23502)`,
			gone:     "side",
		},
		{
			name:     "error position inside a multi-line statement",
			setup:    "CREATE TABLE t (a int);",
			sql:      "-- header\nSELECT\n  a,\n  nosuchcol\nFROM t;\n",
			line:     4,
			sqlState: "42703",
			errText:  `migrations/000007_x.down.sql:4: ERROR: column "nosuchcol" does not exist (SQLSTATE 42703)`,
		},
		{
			name:     "unique over duplicates carries the detail",
			setup:    "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1);",
			sql:      "CREATE UNIQUE INDEX t_a ON t (a);",
			line:     1,
			sqlState: "23505",
			errText:  `migrations/000007_x.down.sql:1: ERROR: could not create unique index "t_a" (SQLSTATE 23505): Key (a)=(1) is duplicated.`,
		},
		{
			name:     "NO TRANSACTION keeps the statements before the failure",
			setup:    "CREATE TABLE t (a int); INSERT INTO t VALUES (NULL);",
			sql:      "CREATE TABLE side (x int);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;\n",
			noTx:     true,
			line:     2,
			sqlState: "23502",
			kept:     "side",
		},
		{
			name:     "CREATE INDEX CONCURRENTLY runs outside a transaction",
			setup:    "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1);",
			sql:      "CREATE TABLE side (x int);\nCREATE UNIQUE INDEX CONCURRENTLY t_a ON t (a);\n",
			line:     2,
			sqlState: "23505",
			kept:     "side",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			pgtest.Exec(t, dsn, tc.setup)
			conn := pgtest.Connect(t, dsn)
			err := Apply(testCtx(t), conn, script(t, "migrations/000007_x.down.sql", tc.sql, tc.noTx))
			var ae *ApplyError
			require.True(t, errors.As(err, &ae), "want *ApplyError, got %v", err)
			assert.Equal(t, "migrations/000007_x.down.sql", ae.File)
			assert.Equal(t, tc.line, ae.Line)
			assert.Equal(t, tc.sqlState, ae.SQLState)
			assert.NotEmpty(t, ae.Statement)
			if tc.errText != "" {
				assert.Equal(t, tc.errText, err.Error())
			}
			if tc.kept != "" {
				assert.True(t, tableExistsT(t, conn, tc.kept), "%s was applied before the failure and stays", tc.kept)
			}
			if tc.gone != "" {
				assert.False(t, tableExistsT(t, conn, tc.gone), "%s must be rolled back with the failed transaction", tc.gone)
			}
			// The connection is usable after the failure.
			_, err = conn.Exec(testCtx(t), "SELECT 1")
			require.NoError(t, err)
		})
	}
}

func TestApplySuccess(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		check string // a query that must return true
	}{
		{
			name: "function with a dollar-quoted body, then a use of it",
			sql: `CREATE FUNCTION twice(a int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN a * 2; -- two; times
END;
$$;
CREATE TABLE r AS SELECT twice(21) AS v;`,
			check: "SELECT v = 42 FROM r",
		},
		{
			name: "BEGIN ATOMIC body",
			sql: `CREATE TABLE r (v int);
CREATE FUNCTION add1(a int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT a + 1;
END;
INSERT INTO r VALUES (add1(1));`,
			check: "SELECT v = 2 FROM r",
		},
		{
			name:  "script with its own BEGIN/COMMIT",
			sql:   "BEGIN;\nCREATE TABLE r (v text);\nINSERT INTO r VALUES (E'a;\\'b');\nCOMMIT;\n",
			check: "SELECT v = 'a;''b' FROM r",
		},
		{
			name:  "empty script",
			sql:   "-- nothing to do\n",
			check: "SELECT true",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			conn := pgtest.Connect(t, dsn)
			require.NoError(t, Apply(testCtx(t), conn, script(t, "x.up.sql", tc.sql, false)))
			var ok bool
			require.NoError(t, conn.QueryRow(testCtx(t), tc.check).Scan(&ok))
			assert.True(t, ok)
		})
	}
}

func TestApplyStatementsHook(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dsn)
	s := script(t, "x.up.sql", "CREATE TABLE a (x int);\nCREATE TABLE b (x int);\nCREATE TABLE c (x int);\n", false)

	var seen []int
	stop := errors.New("connection killed by the test")
	err := ApplyStatements(testCtx(t), conn, s, func(i int, st Statement) error {
		seen = append(seen, st.Line)
		if i == 2 {
			return stop
		}
		return nil
	})
	var ae *ApplyError
	require.True(t, errors.As(err, &ae), "got %v", err)
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 3, ae.Line)
	assert.Equal(t, []int{1, 2, 3}, seen)
	assert.False(t, tableExistsT(t, conn, "a"), "the transaction is rolled back")

	// A connection killed between statements fails the next one.
	other := pgtest.Connect(t, dsn)
	err = ApplyStatements(testCtx(t), conn, s, func(i int, _ Statement) error {
		if i == 1 {
			_, err := other.Exec(testCtx(t), "SELECT pg_terminate_backend($1)", conn.PgConn().PID())
			return err
		}
		return nil
	})
	require.True(t, errors.As(err, &ae), "got %v", err)
	assert.Equal(t, "57P01", ae.SQLState)
	assert.Equal(t, 2, ae.Line)
	assert.Contains(t, err.Error(), "x.up.sql:2: FATAL: terminating connection")
	_, err = conn.Exec(testCtx(t), "SELECT 1")
	require.Error(t, err, "the connection is gone")
	err = Apply(testCtx(t), conn, s)
	require.True(t, errors.As(err, &ae), "got %v", err)
	assert.Equal(t, "", ae.SQLState, "no server error on a closed connection")
	assert.Contains(t, err.Error(), "x.up.sql: begin transaction: ")
}

func TestApplyNilScript(t *testing.T) {
	err := Apply(context.Background(), nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no script")
}
