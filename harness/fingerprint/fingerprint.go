// Package fingerprint takes exact, order-independent fingerprints of table
// data (row count, a content hash per table and one per column) and
// compares them, naming the table and column that differ.
//
// A value's fingerprint is hashtextextended (64 bits) of its text form,
// prefixed so that NULL and ” differ. A column's hash is the exact
// (numeric) sum of its values' fingerprints: independent of row order and
// sensitive to duplicates. A row's fingerprint mixes its columns'
// fingerprints regardless of column order or names (so a moved or renamed
// column leaves it alone), and the table hash is the sum of the rows'.
// Every row is read (no sampling), in one scan per table: about 0.12 s for
// 100k rows of 6 columns.
//
// Fingerprints compare within one server and one set of session settings
// (DateStyle, TimeZone, extra_float_digits shape the text forms; the hash
// function is PostgreSQL's own), which is how the harness uses them.
package fingerprint

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// Filter selects the rows of a fingerprint by era.
type Filter int

const (
	// All rows.
	All Filter = iota
	// NEraOnly excludes the rows recorded in era.RowsTable.
	NEraOnly
	// NextEraOnly keeps only the rows recorded in era.RowsTable.
	NextEraOnly
)

func (f Filter) String() string {
	switch f {
	case All:
		return "all"
	case NEraOnly:
		return "n-era"
	case NextEraOnly:
		return "next-era"
	}
	return fmt.Sprintf("filter(%d)", int(f))
}

// TableFingerprint is the fingerprint of one table's rows.
type TableFingerprint struct {
	Table string `json:"table"`
	OID   uint32 `json:"oid"`
	Rows  int64  `json:"rows"`
	// Hash covers every row over the columns in Columns.
	Hash string `json:"hash"`
	// Columns maps a column name to the hash of its values.
	Columns map[string]string `json:"columns"`
	// NonNull counts non-NULL values per column (TakeEras only).
	NonNull map[string]int64 `json:"nonNull,omitempty"`
}

// Set holds fingerprints by qualified table name.
type Set map[string]*TableFingerprint

// Take fingerprints the given tables of snap (all of them when none are
// given) over all their columns.
func Take(ctx context.Context, q schema.Querier, snap *schema.Snapshot, filter Filter, tables ...string) (Set, error) {
	if len(tables) == 0 {
		for name := range snap.Tables {
			tables = append(tables, name)
		}
		sort.Strings(tables)
	}
	plan := make([]target, 0, len(tables))
	for _, name := range tables {
		t := snap.Tables[name]
		if t == nil {
			return nil, fmt.Errorf("fingerprint %s: no such table in the snapshot", name)
		}
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = c.Name
		}
		plan = append(plan, target{table: t, columns: cols})
	}
	return take(ctx, q, filter, plan)
}

// TakeLike fingerprints, in the database snap describes, the tables of ref
// over ref's columns only, so the table hashes compare exactly with ref's
// even when columns were added since. A table is found by name, else by
// OID (renamed); a ref column the table no longer has is left out (Compare
// reports it missing). Tables of ref that are gone are left out too.
func TakeLike(ctx context.Context, q schema.Querier, snap *schema.Snapshot, filter Filter, ref Set) (Set, error) {
	byOID := map[uint32]*schema.Table{}
	for _, t := range snap.Tables {
		byOID[t.OID] = t
	}
	var plan []target
	for _, name := range sortedNames(ref) {
		rt := ref[name]
		t := snap.Tables[name]
		if t == nil && rt.OID != 0 {
			t = byOID[rt.OID]
		}
		if t == nil {
			continue
		}
		var cols []string
		for _, c := range sortedKeys(rt.Columns) {
			if t.Column(c) != nil {
				cols = append(cols, c)
			}
		}
		plan = append(plan, target{table: t, columns: cols})
	}
	return take(ctx, q, filter, plan)
}

type target struct {
	table   *schema.Table
	columns []string
}

func take(ctx context.Context, q schema.Querier, filter Filter, plan []target) (Set, error) {
	haveEra := false
	if filter != All {
		if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, era.RowsTable).Scan(&haveEra); err != nil {
			return nil, fmt.Errorf("fingerprint: look for %s: %w", era.RowsTable, err)
		}
	}
	set := Set{}
	for _, tg := range plan {
		fp, err := takeTable(ctx, q, tg, where(tg.table, filter, haveEra))
		if err != nil {
			return nil, err
		}
		set[fp.Table] = fp
	}
	return set, nil
}

// where is the era predicate on rows aliased r. Without era.RowsTable no
// row is N+1-era.
func where(t *schema.Table, filter Filter, haveEra bool) string {
	next := "false"
	if haveEra {
		next = era.IsNextEra(t, "r")
	}
	switch filter {
	case NEraOnly:
		return "NOT (" + next + ")"
	case NextEraOnly:
		return next
	}
	return "true"
}

// valueHash is the 64-bit fingerprint of column c of row r. COLLATE "C"
// makes it hash bytes even under a nondeterministic collation.
func valueHash(c string) string {
	return `hashtextextended(coalesce('v' || r.` + pgx.Identifier{c}.Sanitize() + `::text, 'n') COLLATE "C", 0)`
}

func takeTable(ctx context.Context, q schema.Querier, tg target, where string) (*TableFingerprint, error) {
	t := tg.table
	name := t.QualifiedName()
	inner := make([]string, len(tg.columns))
	sums := make([]string, len(tg.columns))
	rowParts := make([]string, len(tg.columns))
	for i, c := range tg.columns {
		inner[i] = fmt.Sprintf("%s AS h%d", valueHash(c), i)
		sums[i] = fmt.Sprintf("coalesce(sum(h%d), 0)::text", i)
		// >> 11 leaves room to add up to 2048 columns (PostgreSQL allows
		// 1600) without overflowing bigint.
		rowParts[i] = fmt.Sprintf("(h%d >> 11)", i)
	}
	row := "0::bigint"
	if len(rowParts) > 0 {
		row = strings.Join(rowParts, " + ")
	}
	selInner := "1 AS one"
	if len(inner) > 0 {
		selInner = strings.Join(inner, ", ")
	}
	only := "ONLY "
	if t.Kind == "p" {
		only = ""
	}
	// OFFSET 0 keeps the subquery from being flattened, so each value is
	// hashed once and not again for the row hash.
	sql := fmt.Sprintf(`SELECT count(*), coalesce(sum(%s), 0)::text%s
FROM (SELECT %s FROM %s%s r WHERE %s OFFSET 0) s`,
		"hashint8extended("+row+", 0)", prefixComma(sums), selInner, only, pgx.Identifier{t.Schema, t.Name}.Sanitize(), where)
	fp := &TableFingerprint{Table: name, OID: t.OID, Columns: make(map[string]string, len(tg.columns))}
	hashes := make([]string, len(tg.columns))
	dest := []any{&fp.Rows, &fp.Hash}
	for i := range hashes {
		dest = append(dest, &hashes[i])
	}
	if err := q.QueryRow(ctx, sql).Scan(dest...); err != nil {
		return nil, fmt.Errorf("fingerprint %s: %w", name, err)
	}
	for i, c := range tg.columns {
		fp.Columns[c] = hashes[i]
	}
	return fp, nil
}

func prefixComma(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

func sortedNames(s Set) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
