// Package era records which rows were written in the N+1 era, so that
// fingerprints can separate N-era data from N+1-era data and the matrix can
// count N+1-era loss exactly.
//
// A row is identified by its table's OID (stable across renames) and its key:
// the text of its primary-key columns in key order (or of a NOT NULL unique
// key when there is no primary key). Tables without either cannot have
// their N+1-era rows told apart; seeders skip inserting N+1-era rows into
// them and the matrix says so.
package era

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// RowsTable holds the keys of N+1-era rows.
const RowsTable = schema.HarnessSchema + ".next_era_rows"

// Ensure creates the harness schema and RowsTable if missing.
func Ensure(ctx context.Context, q schema.Querier) error {
	_, err := q.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema.HarnessSchema+`;
CREATE TABLE IF NOT EXISTS `+RowsTable+` (
	rel oid NOT NULL,
	relname text NOT NULL,
	step text NOT NULL,
	key text[] NOT NULL
);
CREATE INDEX IF NOT EXISTS next_era_rows_rel_key ON `+RowsTable+` (rel, key)`)
	if err != nil {
		return fmt.Errorf("create %s: %w", RowsTable, err)
	}
	return nil
}

// PrimaryKey returns the columns that identify a row: the primary key, else
// the first (by name) UNIQUE constraint or plain unique index whose columns
// are all NOT NULL (join tables often have only that); nil when none does.
func PrimaryKey(t *schema.Table) []string {
	for _, c := range t.Constraints {
		if c.Type == "p" {
			return c.Columns
		}
	}
	var best []string
	bestName := ""
	consider := func(name string, cols []string) {
		if len(cols) == 0 || (best != nil && name >= bestName) {
			return
		}
		for _, col := range cols {
			c := t.Column(col)
			if col == "" || c == nil || !c.NotNull {
				return
			}
		}
		best, bestName = cols, name
	}
	for _, c := range t.Constraints {
		if c.Type == "u" {
			consider(c.Name, c.Columns)
		}
	}
	if best != nil {
		return best
	}
	for _, ix := range t.Indexes {
		if ix.Unique && ix.Valid && ix.Predicate == "" {
			consider(ix.Name, ix.Columns)
		}
	}
	return best
}

// KeyExpr is the SQL text[] expression of a row's key, e.g.
// ARRAY[r."id"::text]. It returns "" for a table without a primary key.
func KeyExpr(t *schema.Table, alias string) string {
	pk := PrimaryKey(t)
	if len(pk) == 0 {
		return ""
	}
	parts := make([]string, len(pk))
	for i, c := range pk {
		parts[i] = alias + "." + pgx.Identifier{c}.Sanitize() + "::text"
	}
	return "ARRAY[" + strings.Join(parts, ", ") + "]"
}

// IsNextEra is a SQL predicate true for rows of t (aliased alias) recorded as
// N+1-era. It is "false" for a table without a primary key.
func IsNextEra(t *schema.Table, alias string) string {
	key := KeyExpr(t, alias)
	if key == "" {
		return "false"
	}
	return fmt.Sprintf("EXISTS (SELECT 1 FROM %s e WHERE e.rel = %d AND e.key = %s)", RowsTable, t.OID, key)
}

// RecordWhere records as N+1-era, for step, the rows of t matching the SQL
// predicate where (aliased r), e.g. "r.id > 1000". It returns how many rows
// were recorded.
//
// A row written through a partitioned table is recorded for t and also for
// the partition it landed in (and any level between): each level is
// fingerprinted as a table of its own, and a partition whose N+1-era rows
// were recorded only under its parent would count them as older data.
func RecordWhere(ctx context.Context, q schema.Querier, t *schema.Table, step, where string) (int64, error) {
	key := KeyExpr(t, "r")
	if key == "" {
		return 0, fmt.Errorf("record N+1-era rows of %s: table has no primary key and no NOT NULL unique key", t.QualifiedName())
	}
	table := pgx.Identifier{t.Schema, t.Name}.Sanitize()
	var n int64
	var err error
	if t.Kind == "p" {
		// pg_partition_ancestors(leaf) lists the leaf and every table above
		// it, t included.
		err = q.QueryRow(ctx, fmt.Sprintf(`WITH ins AS (
	INSERT INTO %[1]s (rel, relname, step, key)
	SELECT a.relid, n.nspname || '.' || c.relname, $1, %[2]s
	FROM %[3]s r CROSS JOIN LATERAL pg_partition_ancestors(r.tableoid) a
	JOIN pg_class c ON c.oid = a.relid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE (%[4]s) AND NOT EXISTS (SELECT 1 FROM %[1]s e WHERE e.rel = a.relid AND e.key = %[2]s)
	RETURNING rel)
SELECT count(*) FILTER (WHERE rel = %[5]d) FROM ins`, RowsTable, key, table, where, t.OID), step).Scan(&n)
	} else {
		var tag pgconn.CommandTag
		tag, err = q.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (rel, relname, step, key)
SELECT %d, $1, $2, %s FROM %s r WHERE (%s) AND NOT %s`,
			RowsTable, t.OID, key, table, where, IsNextEra(t, "r")),
			t.QualifiedName(), step)
		n = tag.RowsAffected()
	}
	if err != nil {
		return 0, fmt.Errorf("record N+1-era rows of %s: %w", t.QualifiedName(), err)
	}
	return n, nil
}

// Count returns how many N+1-era rows were recorded for table OID rel.
func Count(ctx context.Context, q schema.Querier, rel uint32) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, "SELECT count(*) FROM "+RowsTable+" WHERE rel = $1", rel).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count N+1-era rows: %w", err)
	}
	return n, nil
}
