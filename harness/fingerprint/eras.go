package fingerprint

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// TakeEras fingerprints N-era and N+1-era rows of tables in one scan per
// table (the matrix takes both at every state; two scans cost twice as
// much). It also counts each column's non-NULL values per era.
// Merge(nEra, nextEra) equals Take with All.
func TakeEras(ctx context.Context, q schema.Querier, snap *schema.Snapshot, tables ...string) (nEra, nextEra Set, err error) {
	bySteps, err := TakeSteps(ctx, q, snap, tables...)
	if err != nil {
		return nil, nil, err
	}
	nEra, nextEra = SplitSteps(bySteps, func(step string) bool { return step != "" })
	return nEra, nextEra, nil
}

// TakeSteps fingerprints tables in one scan per table, split by the step
// that wrote each row (as era.RecordWhere recorded it); "" holds the rows no
// step recorded (N-era rows) and has every table, the other steps only the
// tables they wrote. The hashes are sums, so SplitSteps can regroup steps
// into eras without scanning again.
func TakeSteps(ctx context.Context, q schema.Querier, snap *schema.Snapshot, tables ...string) (map[string]Set, error) {
	var haveEra bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, era.RowsTable).Scan(&haveEra); err != nil {
		return nil, fmt.Errorf("fingerprint: look for %s: %w", era.RowsTable, err)
	}
	out := map[string]Set{"": {}}
	for _, name := range tables {
		t := snap.Tables[name]
		if t == nil {
			return nil, fmt.Errorf("fingerprint %s: no such table in the snapshot", name)
		}
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = c.Name
		}
		// A hash join with the table's N+1-era keys beats one index probe per row.
		join, step := "", "''"
		if key := era.KeyExpr(t, "r"); haveEra && key != "" {
			join = fmt.Sprintf(" LEFT JOIN (SELECT key, min(step) AS step FROM %s WHERE rel = %d GROUP BY key) e ON e.key = %s", era.RowsTable, t.OID, key)
			step = "coalesce(e.step, '')"
		}
		bySteps, err := takeTableSteps(ctx, q, target{table: t, columns: cols}, step, join)
		if err != nil {
			return nil, err
		}
		for s, fp := range bySteps {
			if out[s] == nil {
				out[s] = Set{}
			}
			out[s][name] = fp
		}
	}
	return out, nil
}

// SplitSteps regroups per-step fingerprints (see TakeSteps) into two sets:
// the rows of the steps isNew accepts, and the others. Both sets have every
// table.
func SplitSteps(bySteps map[string]Set, isNew func(step string) bool) (old, new Set) {
	old, new = Set{}, Set{}
	for name, fp := range bySteps[""] {
		old[name], new[name] = emptyLike(fp), emptyLike(fp)
	}
	steps := make([]string, 0, len(bySteps))
	for s := range bySteps {
		steps = append(steps, s)
	}
	sort.Strings(steps)
	for _, s := range steps {
		dst := &old
		if isNew(s) {
			dst = &new
		}
		*dst = Merge(*dst, bySteps[s])
	}
	return old, new
}

func emptyLike(fp *TableFingerprint) *TableFingerprint {
	e := &TableFingerprint{Table: fp.Table, OID: fp.OID, Hash: "0", Columns: map[string]string{}, NonNull: map[string]int64{}}
	for c := range fp.Columns {
		e.Columns[c] = "0"
		e.NonNull[c] = 0
	}
	return e
}

func takeTableSteps(ctx context.Context, q schema.Querier, tg target, step, join string) (map[string]*TableFingerprint, error) {
	t := tg.table
	inner := []string{"(" + step + ") AS st"}
	var outer, rowParts []string
	for i, c := range tg.columns {
		inner = append(inner, fmt.Sprintf("%s AS h%d", valueHash(c), i), fmt.Sprintf("(r.%s IS NOT NULL) AS z%d", pgx.Identifier{c}.Sanitize(), i))
		outer = append(outer, fmt.Sprintf("coalesce(sum(h%d), 0)::text", i), fmt.Sprintf("count(*) FILTER (WHERE z%d)", i))
		rowParts = append(rowParts, fmt.Sprintf("(h%d >> 11)", i))
	}
	row := "0::bigint"
	if len(rowParts) > 0 {
		row = strings.Join(rowParts, " + ")
	}
	only := "ONLY "
	if t.Kind == "p" {
		only = ""
	}
	sql := fmt.Sprintf(`SELECT st, count(*), coalesce(sum(hashint8extended(%s, 0)), 0)::text%s
FROM (SELECT %s FROM %s%s r%s OFFSET 0) s GROUP BY st`,
		row, prefixComma(outer), strings.Join(inner, ", "), only, pgx.Identifier{t.Schema, t.Name}.Sanitize(), join)
	base := &TableFingerprint{Table: t.QualifiedName(), OID: t.OID, Hash: "0", Columns: map[string]string{}, NonNull: map[string]int64{}}
	for _, c := range tg.columns {
		base.Columns[c] = "0"
		base.NonNull[c] = 0
	}
	out := map[string]*TableFingerprint{"": base}
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("fingerprint %s: %w", t.QualifiedName(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var count int64
		var hash string
		hashes := make([]string, len(tg.columns))
		counts := make([]int64, len(tg.columns))
		dest := []any{&st, &count, &hash}
		for i := range tg.columns {
			dest = append(dest, &hashes[i], &counts[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("fingerprint %s: %w", t.QualifiedName(), err)
		}
		fp := emptyLike(base)
		fp.Rows, fp.Hash = count, hash
		for i, c := range tg.columns {
			fp.Columns[c] = hashes[i]
			fp.NonNull[c] = counts[i]
		}
		out[st] = fp
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fingerprint %s: %w", t.QualifiedName(), err)
	}
	return out, nil
}

// Merge combines fingerprints of disjoint row sets of the same tables (the
// hashes are sums, so they add up): Merge(TakeEras(...)) == Take(All).
func Merge(a, b Set) Set {
	out := Set{}
	names := map[string]bool{}
	for k := range a {
		names[k] = true
	}
	for k := range b {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fa, fb := a[k], b[k]
		switch {
		case fa == nil:
			out[k] = fb
		case fb == nil:
			out[k] = fa
		default:
			m := &TableFingerprint{Table: fa.Table, OID: fa.OID, Rows: fa.Rows + fb.Rows, Hash: addDecimal(fa.Hash, fb.Hash),
				Columns: map[string]string{}, NonNull: map[string]int64{}}
			for c, h := range fa.Columns {
				if hb, ok := fb.Columns[c]; ok {
					m.Columns[c] = addDecimal(h, hb)
					m.NonNull[c] = fa.NonNull[c] + fb.NonNull[c]
				}
			}
			out[k] = m
		}
	}
	return out
}

func addDecimal(a, b string) string {
	x, okA := new(big.Int).SetString(a, 10)
	y, okB := new(big.Int).SetString(b, 10)
	if !okA || !okB {
		return a + "+" + b
	}
	return x.Add(x, y).String()
}
