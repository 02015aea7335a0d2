package migrate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func strp(s string) *string { return &s }

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		casts []Cast
		kind  string
		count string
		rows  []map[string]*string
	}{
		{name: "using jsonb", sql: "ALTER TABLE audit ALTER COLUMN details TYPE jsonb USING details::jsonb",
			casts: []Cast{{Table: "public.audit", Column: "details", Type: "jsonb"}}},
		{name: "using a function", sql: "ALTER TABLE audit ALTER COLUMN details TYPE jsonb USING to_jsonb(details)"},
		{name: "no using", sql: "ALTER TABLE audit ALTER COLUMN n TYPE bigint",
			casts: []Cast{{Table: "public.audit", Column: "n", Type: "int8"}}},
		{name: "update cast", sql: "UPDATE s.t SET n = raw::int WHERE n IS NULL",
			casts: []Cast{{Table: "s.t", Column: "raw", Type: "int4"}}, kind: "UPDATE",
			count: "SELECT count(*) FROM s.t WHERE n IS NULL", rows: []map[string]*string{{"n": nil}}},
		{name: "delete and/in", sql: "DELETE FROM t WHERE status IN ('stale', 'old') AND age > 30",
			kind: "DELETE", count: "SELECT count(*) FROM t WHERE status IN ('stale', 'old') AND age > 30",
			rows: []map[string]*string{{"status": strp("stale"), "age": strp("31")}, {"status": strp("old"), "age": strp("31")}}},
		{name: "delete or", sql: "DELETE FROM t WHERE kind = 'a' OR id < 5",
			kind: "DELETE", count: "SELECT count(*) FROM t WHERE kind = 'a' OR id < 5",
			rows: []map[string]*string{{"kind": strp("a")}, {"id": strp("4")}}},
		{name: "complex where", sql: "DELETE FROM t WHERE lower(name) LIKE 'x%'",
			kind: "DELETE", count: "SELECT count(*) FROM t WHERE lower(name) LIKE 'x%'"},
		{name: "no where", sql: "DELETE FROM t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			casts, dml := Analyze(&Script{File: "f.sql", Statements: []Statement{{SQL: tc.sql, Line: 3}}})
			for i := range casts {
				casts[i].File, casts[i].Line = "", 0
			}
			assert.Equal(t, tc.casts, casts)
			if tc.kind == "" {
				assert.Empty(t, dml)
				return
			}
			require.Len(t, dml, 1)
			assert.Equal(t, tc.kind, dml[0].Kind)
			assert.Equal(t, 3, dml[0].Line)
			assert.Equal(t, tc.count, dml[0].Count)
			assert.ElementsMatch(t, tc.rows, dml[0].Rows)
		})
	}
}
