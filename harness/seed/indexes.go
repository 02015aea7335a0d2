package seed

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// deferIndexBuilds is off only in BenchmarkLoadIndexed's comparison run.
var deferIndexBuilds = true

// deferredIndex is an index (or the unique, primary-key or exclusion
// constraint that owns one) dropped before a table's COPY and built again
// after it, as pg_restore and `pgbench -i` do: one sort per index instead
// of one index insertion per row.
type deferredIndex struct {
	name    string // index or constraint name, for logs and errors
	rebuild string // the statement that recreates it exactly
}

// deferIndexes drops, inside the caller's transaction, the indexes of a
// table that is being loaded from empty and returns what rebuilds them.
// Only what can be recreated identically from its definition is dropped:
// no index another object depends on (a foreign key referencing it, an
// attached partition index), none that is the replica identity, clustered,
// in a non-default tablespace, commented or with per-column statistics
// targets; nothing at all when the database has event triggers, which would
// see the seeder's DDL. Drops that fail roll back to a savepoint and leave every index in
// place: the load is then only slower.
func deferIndexes(ctx context.Context, conn *pgx.Conn, p *tablePlan) []deferredIndex {
	if p.t.Kind != "r" || !deferIndexBuilds {
		return nil
	}
	rows, err := conn.Query(ctx, `
SELECT ic.relname, con.conname, pg_get_indexdef(i.indexrelid), pg_get_constraintdef(con.oid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid = $1::oid
  AND NOT tc.relispartition AND NOT ic.relispartition
  AND NOT i.indisreplident AND NOT i.indisclustered AND i.indisvalid AND i.indislive
  AND ic.reltablespace = 0
  AND obj_description(i.indexrelid, 'pg_class') IS NULL
  AND (con.oid IS NULL OR (con.conislocal AND con.coninhcount = 0 AND obj_description(con.oid, 'pg_constraint') IS NULL))
  -- anything depending on the index (a foreign key, an attached index) or
  -- on its constraint beyond what the constraint owns (its index, the
  -- recheck trigger of a deferrable unique key)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE con.oid IS NOT NULL AND d.refclassid = 'pg_constraint'::regclass
      AND d.refobjid = con.oid AND d.objid <> i.indexrelid AND d.deptype <> 'i')
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget > 0)
  -- the schema's event triggers would see the seeder's DDL
  AND NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtenabled <> 'D')
ORDER BY ic.relname`, p.t.OID)
	if err != nil {
		return nil
	}
	type cand struct{ index, constraint, indexDef, conDef string }
	var cands []cand
	for rows.Next() {
		var c cand
		var con, conDef *string
		if err := rows.Scan(&c.index, &con, &c.indexDef, &conDef); err != nil {
			rows.Close()
			return nil
		}
		if con != nil {
			c.constraint, c.conDef = *con, *conDef
		}
		cands = append(cands, c)
	}
	if rows.Err() != nil || len(cands) == 0 {
		return nil
	}
	if _, err := conn.Exec(ctx, "SAVEPOINT seed_defer_indexes"); err != nil {
		return nil
	}
	table := quoteTable(p.t.Schema, p.t.Name)
	var out []deferredIndex
	for _, c := range cands {
		var drop string
		var d deferredIndex
		if c.constraint != "" {
			con := pgx.Identifier{c.constraint}.Sanitize()
			drop = fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", table, con)
			d = deferredIndex{name: c.constraint, rebuild: fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", table, con, c.conDef)}
		} else {
			drop = "DROP INDEX " + pgx.Identifier{p.t.Schema, c.index}.Sanitize()
			d = deferredIndex{name: c.index, rebuild: c.indexDef}
		}
		if _, err := conn.Exec(ctx, drop); err != nil {
			conn.Exec(ctx, "ROLLBACK TO SAVEPOINT seed_defer_indexes")
			return nil
		}
		out = append(out, d)
	}
	if _, err := conn.Exec(ctx, "RELEASE SAVEPOINT seed_defer_indexes"); err != nil {
		return nil
	}
	return out
}

// rebuildIndexes recreates what deferIndexes dropped, in the same
// transaction: a rebuild that fails (rows that break a unique key) fails the
// table's load as the COPY would have.
func rebuildIndexes(ctx context.Context, conn *pgx.Conn, p *tablePlan, idx []deferredIndex) error {
	for _, d := range idx {
		if _, err := conn.Exec(ctx, d.rebuild); err != nil {
			return fmt.Errorf("rebuild %s on %s after COPY: %s", d.name, p.name, describe(err))
		}
	}
	return nil
}
