package datasource

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// Sample keeps about fraction of each table's rows of the loaded database
// and every row a kept row references (parents pulled in through every
// foreign key, to a fixed point), and deletes the rest. A row is chosen by
// a hash of the seed and its content, so the same seed and source keep the
// same rows. It returns the rows kept per table.
func Sample(ctx context.Context, dsn string, snap *schema.Snapshot, fraction float64, seed int64) (map[string]int64, error) {
	return SampleTables(ctx, dsn, snap, SampleOptions{Fraction: fraction, Seed: seed})
}

// TableSample is one table's own share: Rows rows, or Fraction of them.
type TableSample struct {
	Rows     int64
	Fraction float64
}

// SampleOptions is a sampling: Fraction for every table (0 or 1: all),
// Tables overriding it per table ("schema.name"), Seed choosing the rows.
type SampleOptions struct {
	Fraction float64
	Tables   map[string]TableSample
	Seed     int64

	// sampled are tables already sampled while loading: all their rows
	// are kept (and their parents, by closure).
	sampled map[string]bool
}

// SampleTables is Sample with per-table shares: a table with Rows keeps the
// Rows rows that hash lowest (then closure may add the parents others need).
func SampleTables(ctx context.Context, dsn string, snap *schema.Snapshot, o SampleOptions) (map[string]int64, error) {
	fraction, seed := o.Fraction, o.Seed
	if fraction == 0 {
		fraction = 1
	}
	if fraction < 0 || fraction > 1 {
		return nil, fmt.Errorf("--sample %v: want a fraction in (0, 1]", fraction)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("sample: connect: %w", err)
	}
	defer conn.Close(context.Background())
	// Deletes below must not cascade or be refused: closure already keeps
	// every referenced row.
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	sub, err := newSubset(ctx, conn, snap, o)
	if err != nil {
		return nil, err
	}
	keep := map[string]string{} // physical table -> temp keep table
	for i, name := range sub.order {
		t := snap.Tables[name]
		k := fmt.Sprintf("rehearse_keep_%d", i+1)
		keep[name] = k
		hash := fmt.Sprintf("('x' || substr(md5(%d::text || ':' || t::text), 1, 8))::bit(32)::bigint", seed)
		share := o.Tables[name]
		var q string
		switch {
		case o.sampled[name]:
			q = fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT ctid AS id FROM ONLY %s t", k, quoteQualified(t.Schema, t.Name))
		case share.Rows > 0:
			q = fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT ctid AS id FROM ONLY %s t ORDER BY %s, ctid LIMIT %d",
				k, quoteQualified(t.Schema, t.Name), hash, share.Rows)
		default:
			f := fraction
			if share.Fraction > 0 {
				f = share.Fraction
			}
			q = fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT ctid AS id FROM ONLY %s t WHERE %s < %d",
				k, quoteQualified(t.Schema, t.Name), hash, int64(f*float64(uint64(1)<<32)))
		}
		if _, err := conn.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("sample %s: %w", name, err)
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE INDEX ON %s (id)", k)); err != nil {
			return nil, fmt.Errorf("sample %s: %w", name, err)
		}
	}
	// Referential closure: repeat until no FK pulls in a new parent.
	for {
		added := int64(0)
		for _, name := range sub.order {
			t := snap.Tables[name]
			for _, e := range sub.out[name] {
				for _, pname := range e.parents {
					if o.sampled[pname] {
						continue // every row kept already
					}
					parent := snap.Tables[pname]
					var on []string
					for j := range e.cols {
						on = append(on, fmt.Sprintf("p.%s = ch.%s", quoteIdent(e.refColumns[j]), quoteIdent(e.cols[j])))
					}
					q := fmt.Sprintf(`INSERT INTO %[1]s SELECT DISTINCT p.ctid FROM ONLY %[2]s p
JOIN ONLY %[3]s ch ON %[4]s
WHERE ch.ctid IN (SELECT id FROM %[5]s) AND p.ctid NOT IN (SELECT id FROM %[1]s)`,
						keep[pname], quoteQualified(parent.Schema, parent.Name), quoteQualified(t.Schema, t.Name),
						strings.Join(on, " AND "), keep[name])
					tag, err := conn.Exec(ctx, q)
					if err != nil {
						return nil, fmt.Errorf("sample: pull parents of %s through %s: %w", name, e.name, err)
					}
					added += tag.RowsAffected()
				}
			}
		}
		if added == 0 {
			break
		}
	}
	kept := map[string]int64{}
	for name, k := range keep {
		t := snap.Tables[name]
		if o.sampled[name] {
			continue
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("DELETE FROM ONLY %s WHERE ctid NOT IN (SELECT id FROM %s)", quoteQualified(t.Schema, t.Name), k)); err != nil {
			return nil, fmt.Errorf("sample: delete unsampled rows of %s: %w", name, err)
		}
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+k).Scan(&n); err != nil {
			return nil, err
		}
		kept[name] = n
	}
	return kept, nil
}
