package migrate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWritesData(t *testing.T) {
	tests := []struct {
		sql  string
		want bool
	}{
		{"DELETE FROM jobs WHERE status = 'stale'", true},
		{"UPDATE t SET a = 1", true},
		{"INSERT INTO t VALUES (1)", true},
		{"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", true},
		{"COPY t FROM STDIN", true},
		{"COPY t TO STDOUT", false},
		{"WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone", true},
		{"WITH x AS (SELECT 1) SELECT * FROM x", false},
		{"ALTER TABLE t ADD COLUMN a int", false},
		{"CREATE TABLE t AS SELECT 1", false},
		{"SELECT 1", false},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			stmts, _, err := split("x.sql", tc.sql, 1)
			require.NoError(t, err)
			assert.Equal(t, tc.want, (&Script{Statements: stmts}).WritesData())
		})
	}
	assert.False(t, (*Script)(nil).WritesData())
}
