package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/migrate"
)

func migrations(t *testing.T, ups ...string) []*migrate.Migration {
	t.Helper()
	var out []*migrate.Migration
	for i, sql := range ups {
		out = append(out, &migrate.Migration{Version: string(rune('1' + i)), Name: "m", Up: &migrate.Script{
			File: "m.up.sql", SQL: sql, Statements: []migrate.Statement{{SQL: sql, Line: 1}},
		}})
	}
	return out
}

// TestWindowCheckProfile: profile names are checked against what the up
// scripts of the window create (any migration, renames included), with the
// profile's file and line.
func TestWindowCheckProfile(t *testing.T) {
	window := migrations(t,
		"CREATE TABLE t (id int PRIMARY KEY, a text);",
		"ALTER TABLE t ADD COLUMN b int; ALTER TABLE t RENAME COLUMN a TO a2;",
		"CREATE TABLE u (id int); ALTER TABLE u RENAME TO w;",
		"CREATE SCHEMA app; CREATE TABLE app.v (x int); CREATE TABLE l (LIKE t INCLUDING ALL);",
		"CREATE TABLE s AS SELECT 1 AS one; CREATE TABLE p (k int) PARTITION BY RANGE (k); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);",
	)
	w, err := ReadWindow(window)
	require.NoError(t, err)
	assert.Equal(t, []string{"app.v", "l", "p", "p1", "s", "t", "u", "w"}, w.Tables())

	tests := []struct {
		name, yaml string
		wantErr    []string
	}{
		{"N's table and added columns", "tables:\n  t:\n    columns:\n      a: {values: [x]}\n      a2: {values: [x]}\n      b: {values: ['1']}\n", nil},
		{"renamed table, both names", "tables:\n  u: {rows: 3}\n  public.w:\n    columns:\n      id: {values: ['1']}\n", nil},
		{"schema-qualified", "tables:\n  app.v:\n    columns:\n      x: {values: ['1']}\n", nil},
		{"columns from elsewhere", "tables:\n  l:\n    columns:\n      anything: {values: [x]}\n  s:\n    columns:\n      one: {values: ['1']}\n  p1:\n    columns:\n      k: {values: ['1']}\n", nil},
		{"unknown table", "tables:\n  t: {rows: 3}\n  nosuch: {rows: 3}\n", []string{"p.yaml:3: table nosuch: no migration of 1..5 creates it"}},
		{"unqualified name in another schema", "tables:\n  v: {rows: 3}\n", []string{"p.yaml:2: table v"}},
		{"unknown column", "tables:\n  w:\n    columns:\n      idd: {values: ['1']}\n", []string{"p.yaml:4: table w, column idd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProfile("p.yaml", []byte(tt.yaml))
			require.NoError(t, err)
			err = w.CheckProfile(p, "1..5")
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}

	// A DO block may create anything: unknown tables are left to the seeder.
	opaque, err := ReadWindow(migrations(t, "CREATE TABLE t (id int);", "DO $$ BEGIN EXECUTE 'CREATE TABLE dyn (id int)'; END $$;"))
	require.NoError(t, err)
	p, err := ParseProfile("p.yaml", []byte("tables:\n  dyn: {rows: 3}\n"))
	require.NoError(t, err)
	assert.NoError(t, opaque.CheckProfile(p, "1..2"))
}
