package sqlparams_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/sqlparams"
)

func TestAnalyze(t *testing.T) {
	p := func(n int, col string, use sqlparams.Use, tables ...string) sqlparams.Param {
		return sqlparams.Param{Number: n, Column: col, Use: use, Tables: tables}
	}
	for _, tc := range []struct {
		sql       string
		kind      string
		relations []string
		params    []sqlparams.Param
	}{
		{"UPDATE t SET a = $1 WHERE id = $2", "UpdateStmt", []string{"t"},
			[]sqlparams.Param{p(1, "a", sqlparams.Set, "t"), p(2, "id", sqlparams.Compare, "t")}},
		{"SELECT c.x FROM certs c JOIN agents a ON a.id = c.agent_id WHERE c.id IN ($1, $2) AND a.name = $3::text LIMIT $4",
			"SelectStmt", []string{"certs", "agents"},
			[]sqlparams.Param{p(1, "id", sqlparams.Compare, "certs"), p(2, "id", sqlparams.Compare, "certs"),
				p(3, "name", sqlparams.Compare, "agents"), {Number: 4}}},
		{"INSERT INTO s.t (a, b) VALUES ($1, now()), ($2, $3) RETURNING id", "InsertStmt", []string{"s.t"},
			[]sqlparams.Param{p(1, "a", sqlparams.Insert, "s.t"), p(2, "a", sqlparams.Insert, "s.t"), p(3, "b", sqlparams.Insert, "s.t")}},
		{"DELETE FROM agents WHERE $1 = hostname", "DeleteStmt", []string{"agents"},
			[]sqlparams.Param{p(1, "hostname", sqlparams.Compare, "agents")}},
		{"SELECT * FROM a, b WHERE x = $1", "SelectStmt", []string{"a", "b"},
			[]sqlparams.Param{p(1, "x", sqlparams.Compare, "a", "b")}},
		{"SET application_name = $1", "VariableSetStmt", nil, []sqlparams.Param{{Number: 1}}},
		{"SELECT count(*) FROM pg_catalog.pg_class", "SelectStmt", []string{"pg_catalog.pg_class"}, nil},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			st, err := sqlparams.Analyze(tc.sql)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, st.Kind)
			assert.Equal(t, tc.relations, st.Relations)
			assert.Equal(t, tc.params, st.Params)
		})
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	_, err := sqlparams.Analyze("SELEC 1")
	assert.ErrorContains(t, err, "syntax error")
	_, err = sqlparams.Analyze("SELECT 1; SELECT 2")
	assert.ErrorContains(t, err, "want one statement, found 2")
}
