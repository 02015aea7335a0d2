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

func TestBackfills(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		want      []Backfill
	}{
		{"every row", "UPDATE file_object_keys SET datacenters = '{b2-eu-cen}'",
			[]Backfill{{Table: "public.file_object_keys", Column: "datacenters", File: "f.sql", Line: 3}}},
		{"every NULL, through a cast", "UPDATE s.t SET n = '0'::int, m = 1 WHERE n IS NULL",
			[]Backfill{{Table: "s.t", Column: "n", File: "f.sql", Line: 3}}},
		{"some rows", "UPDATE t SET n = 0 WHERE id < 10", nil},
		{"not a constant", "UPDATE t SET n = m", nil},
		{"set to NULL: undone", "UPDATE t SET n = NULL WHERE id < 10",
			[]Backfill{{Table: "public.t", Column: "n", File: "f.sql", Line: 3, Undone: true}}},
		{"dropped: undone", "ALTER TABLE t DROP COLUMN n",
			[]Backfill{{Table: "public.t", Column: "n", File: "f.sql", Line: 3, Undone: true}}},
		{"from another table", "UPDATE t SET n = 0 FROM u WHERE u.id = t.id", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Backfills(&Script{File: "f.sql", Statements: []Statement{{SQL: tc.sql, Line: 3}}}))
		})
	}
}
