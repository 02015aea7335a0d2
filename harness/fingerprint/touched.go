package fingerprint

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// Mark is what a state's fingerprints depend on besides its rows and its
// catalog, recorded just before they are taken: the transaction horizon,
// each table's storage, the N+1-era keys and what shapes values' text. On
// that state or any clone of it (clones keep row versions, xids included),
// Touched then measures which tables can have changed since, so their
// fingerprints are taken again and the others reused.
//
// Every fact is measured, none read from SQL text: a row a trigger, a rule,
// a function or the seeder wrote carries the writing transaction's xid
// (xmin), and is counted in PostgreSQL's per-table write counters, whoever
// named the table. Touched reads the counters when the caller read them at
// both ends of the interval (see ReadWrites), else it scans every table for
// rows written since the mark.
type Mark struct {
	// snapshot is pg_current_snapshot() as text: rows whose xmin it does
	// not see as committed were written after the mark.
	snapshot string
	// global is the session settings and user casts every value's text
	// form depends on; types the user-defined types (enum labels,
	// composite types' attributes; not tables' row types, so a new table
	// leaves it alone) user-typed columns' text depends on.
	global, types string
	haveEra       bool
	// storage is each table's relfilenode (a partitioned table's: its
	// leaves'), by OID.
	storage map[uint32]string
	// eraRows counts the N+1-era keys recorded per table OID.
	eraRows map[uint32]int64
	// rows counts what the fingerprints saw, per table OID (see Counted).
	rows map[uint32]int64
}

// firstNormalOID is FirstNormalObjectId: objects below it are built in
// (16384 in the signature queries).
const firstNormalOID = 16384

// NewMark records the mark of the database q is on, whose catalog snap
// describes, for tables; take it before the fingerprints, then pass those
// to Counted.
func NewMark(ctx context.Context, q schema.Querier, snap *schema.Snapshot, tables []string) (*Mark, error) {
	m := &Mark{rows: map[uint32]int64{}}
	var err error
	if m.snapshot, m.global, m.types, m.haveEra, err = signatures(ctx, q); err != nil {
		return nil, err
	}
	if m.storage, err = storage(ctx, q, snap, tables); err != nil {
		return nil, err
	}
	if m.haveEra {
		m.eraRows = map[uint32]int64{}
		if err := eraCounts(ctx, q, "", func(rel uint32, n, _ int64) { m.eraRows[rel] = n }); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Counted records the row counts of the fingerprints taken after the mark
// (by table OID): a later count that differs means rows were deleted.
func (m *Mark) Counted(set Set) {
	for _, fp := range set {
		m.rows[fp.OID] = fp.Rows
	}
}

// Touched measures, on the database q is on (the marked state or a clone
// of it, now with catalog after; before is the catalog the mark's
// fingerprints were taken on), which of tables (names in after) can have
// different fingerprints than at the mark, and why. The others' are
// unchanged: same columns, primary key, storage and text forms, no row
// written or deleted. When unsure (no mark, a table the mark did not
// record) a table counts as touched.
func (m *Mark) Touched(ctx context.Context, q schema.Querier, before, after *schema.Snapshot, tables []string, written *Written) (map[string]string, error) {
	t, err := m.TouchedSoFar(ctx, q, before, after, tables, written)
	if err != nil {
		return nil, err
	}
	return t.Settle(), nil
}

// Touching is what Touched measured before the mark's row counts are
// needed: the tables known touched, and the row count of the others (the
// mark's counts may still be being taken on a clone of the state).
type Touching struct {
	m   *Mark
	Why map[string]string
	// counted: tables not touched so far, with their row count now;
	// candidates: the tables measured against the mark (by OID).
	counted    map[string]rowCount
	candidates map[string]uint32
}

type rowCount struct {
	oid uint32
	n   int64
}

// Settle returns Touched's answer: Why plus the tables whose row count
// differs from the mark's (rows deleted) or which the mark did not count.
// Call it once the mark's Counted was called.
func (t *Touching) Settle() map[string]string {
	out := make(map[string]string, len(t.Why)+len(t.counted))
	for name, why := range t.Why {
		out[name] = why
	}
	for name, c := range t.counted {
		if was, ok := t.m.rows[c.oid]; ok && c.n != was {
			out[name] = fmt.Sprintf("rows deleted (%d -> %d)", was, c.n)
		}
	}
	for name, oid := range t.candidates {
		if _, ok := t.m.rows[oid]; !ok {
			out[name] = "not measured at the mark"
		}
	}
	return out
}

// ComparesRowCounts reports whether Settle compares row counts with the
// mark's (rows deleted, found by scanning). Without, it adds only tables
// the mark did not measure.
func (t *Touching) ComparesRowCounts() bool { return len(t.counted) > 0 }

// TouchedSoFar is the part of Touched that does not read the mark's row
// counts; Settle finishes it. written is what the write counters say was
// written since the database had the marked rows (nil: unknown, so every
// table is scanned for rows written since the mark).
func (m *Mark) TouchedSoFar(ctx context.Context, q schema.Querier, before, after *schema.Snapshot, tables []string, written *Written) (*Touching, error) {
	out := map[string]string{}
	res := &Touching{m: m, Why: out, counted: map[string]rowCount{}, candidates: map[string]uint32{}}
	all := func(why string) (*Touching, error) {
		for _, name := range tables {
			out[name] = why
		}
		return res, nil
	}
	if m == nil || before == nil {
		return all("no earlier fingerprints")
	}
	_, global, types, haveEra, err := signatures(ctx, q)
	if err != nil {
		return nil, err
	}
	switch {
	case global != m.global:
		return all("session settings or casts changed (values' text forms)")
	case haveEra != m.haveEra:
		return all(era.RowsTable + " appeared")
	}
	byOID := map[uint32]*schema.Table{}
	for _, t := range before.Tables {
		byOID[t.OID] = t
	}
	// A user-defined type's text form can change with the catalog (an enum
	// label renamed, a composite type's attribute added, a table's row type
	// used as a column type) without a row written. The types signature
	// covers enums and types; any other user-typed column is measured again
	// whenever the catalog moved at all.
	typesMoved := types != m.types
	catalogMoved := -1 // unknown until a table needs it
	moved := func(t *schema.Table) bool {
		switch userTyped(t) {
		case typesNone:
			return false
		case typesEnum:
			return typesMoved
		}
		if typesMoved {
			return true
		}
		if catalogMoved < 0 {
			catalogMoved = 0
			if !schema.Diff(before, after).Empty() {
				catalogMoved = 1
			}
		}
		return catalogMoved == 1
	}
	var candidates []string
	for _, name := range tables {
		at := after.Tables[name]
		if at == nil {
			return nil, fmt.Errorf("touched %s: no such table in the snapshot", name)
		}
		bt := byOID[at.OID]
		_, marked := m.storage[at.OID]
		switch {
		case bt == nil:
			out[name] = "new table"
		case bt.QualifiedName() != name || bt.Kind != at.Kind:
			out[name] = "renamed"
		case !sameColumns(bt, at):
			out[name] = "columns changed"
		case !slices.Equal(era.PrimaryKey(bt), era.PrimaryKey(at)):
			out[name] = "primary key changed (N+1-era keys)"
		case moved(at):
			out[name] = "user-defined column types, catalog changed"
		case !marked:
			out[name] = "not measured at the mark"
		default:
			candidates = append(candidates, name)
			res.candidates[name] = at.OID
		}
	}
	if len(candidates) == 0 {
		return res, nil
	}
	now, err := storage(ctx, q, after, candidates)
	if err != nil {
		return nil, err
	}
	rest := candidates[:0:0]
	for _, name := range candidates {
		oid := after.Tables[name].OID
		if now[oid] != m.storage[oid] {
			out[name] = "storage rewritten"
			continue
		}
		rest = append(rest, name)
	}
	// Unwritten since, the N+1-era keys are the mark's.
	if haveEra && (written == nil || written.eraKeys) {
		eraMoved := map[uint32]bool{}
		if err := eraCounts(ctx, q, m.snapshot, func(rel uint32, n, written int64) {
			eraMoved[rel] = written > 0 || n != m.eraRows[rel]
		}); err != nil {
			return nil, err
		}
		for rel, n := range m.eraRows {
			if _, ok := eraMoved[rel]; !ok && n > 0 {
				eraMoved[rel] = true // all its keys deleted
			}
		}
		kept := rest[:0:0]
		for _, name := range rest {
			if eraMoved[after.Tables[name].OID] {
				out[name] = "N+1-era keys recorded or removed"
				continue
			}
			kept = append(kept, name)
		}
		rest = kept
	}
	if len(rest) == 0 {
		return res, nil
	}
	if written != nil {
		// Deleted rows are counted too: no row count to compare.
		for _, name := range rest {
			n, ok := written.n[after.Tables[name].OID]
			switch {
			case !ok:
				out[name] = "no write counters"
			case n != 0:
				out[name] = fmt.Sprintf("%d rows written (counted)", n)
			}
		}
		return res, nil
	}
	// One statement for all tables: a round trip each would cost more
	// than the scans on a busy server.
	parts := make([]string, len(rest))
	for i, name := range rest {
		t := after.Tables[name]
		parts[i] = fmt.Sprintf(`SELECT %d AS i, count(*) AS n, count(*) FILTER (WHERE %s) AS written FROM %s%s r`,
			i, writtenSince, only(t), pgx.Identifier{t.Schema, t.Name}.Sanitize())
	}
	rows, err := q.Query(ctx, "WITH m AS "+markRel+"\n"+strings.Join(parts, "\nUNION ALL\n"), m.snapshot)
	if err != nil {
		return nil, fmt.Errorf("touched: count rows written since the mark: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var n, written int64
		if err := rows.Scan(&i, &n, &written); err != nil {
			return nil, fmt.Errorf("touched: count rows written since the mark: %w", err)
		}
		if written > 0 {
			out[rest[i]] = fmt.Sprintf("%d rows written", written)
			continue
		}
		res.counted[rest[i]] = rowCount{oid: after.Tables[rest[i]].OID, n: n}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("touched: count rows written since the mark: %w", err)
	}
	return res, nil
}

// markRel is a one-row relation (the CTE m) with the mark's snapshot ($1):
// a and b the ages of its xmax and xmin, xip its in-progress xids.
// writtenSince is true for a row (aliased r) written by a transaction the
// snapshot did not see as committed: xmax or later, or one of xip. Every
// xid of xip lies between xmin and xmax, so xip is searched only for rows
// that young, not for every row, and m is read through scalar subqueries
// (evaluated once) rather than joined to every row: the scan then costs
// half as much. age() is modular, so xid wraparound is no matter.
const (
	markRel      = `(SELECT age(pg_snapshot_xmax(s)::xid) AS a, age(pg_snapshot_xmin(s)::xid) AS b, ARRAY(SELECT x::xid FROM pg_snapshot_xip(s) x) AS xip FROM (SELECT $1::text::pg_snapshot AS s) q)`
	writtenSince = `age(r.xmin) <= (SELECT a FROM m) OR (age(r.xmin) <= (SELECT b FROM m) AND r.xmin = ANY ((SELECT xip FROM m)::xid[]))`
)

func only(t *schema.Table) string {
	// As the fingerprints: a partitioned table with its partitions.
	if t.Kind == "p" {
		return ""
	}
	return "ONLY "
}

// signatures returns the current snapshot, the text-form signatures (see
// Mark) and whether era.RowsTable exists.
func signatures(ctx context.Context, q schema.Querier) (snapshot, global, types string, haveEra bool, err error) {
	err = q.QueryRow(ctx, `SELECT pg_current_snapshot()::text,
	concat_ws('|', current_setting('DateStyle'), current_setting('IntervalStyle'), current_setting('TimeZone'),
		current_setting('extra_float_digits'), current_setting('bytea_output'), current_setting('lc_monetary'),
		current_setting('xmloption'), current_setting('xmlbinary'), current_setting('standard_conforming_strings'),
		(SELECT md5(coalesce(string_agg(format('%s>%s:%s:%s:%s', castsource, casttarget, castfunc, castcontext, castmethod), ',' ORDER BY oid), ''))
		 FROM pg_cast WHERE oid >= 16384)),
	concat_ws('|',
		(SELECT md5(coalesce(string_agg(format('%s:%s:%s:%s:%s:%s:%s', oid, typname, typtype, typoutput, typbasetype, typtypmod, typelem), ',' ORDER BY oid), ''))
		 FROM pg_type t WHERE oid >= 16384 AND typcategory <> 'A'
			AND (typtype <> 'c' OR EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))),
		(SELECT md5(coalesce(string_agg(format('%s:%s:%s', enumtypid, enumsortorder, enumlabel), ',' ORDER BY enumtypid, enumsortorder), '')) FROM pg_enum),
		(SELECT md5(coalesce(string_agg(format('%s:%s:%s:%s:%s', a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod), ',' ORDER BY a.attrelid, a.attnum), ''))
		 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE c.relkind = 'c' AND a.attnum > 0 AND NOT a.attisdropped)),
	to_regclass($1) IS NOT NULL`, era.RowsTable).Scan(&snapshot, &global, &types, &haveEra)
	if err != nil {
		err = fmt.Errorf("mark fingerprints: read the snapshot and text-form settings: %w", err)
	}
	return
}

// storage returns the relfilenodes of tables (a partitioned table's: its
// leaf partitions', so attaching or detaching one counts), by OID.
func storage(ctx context.Context, q schema.Querier, snap *schema.Snapshot, tables []string) (map[uint32]string, error) {
	oids := make([]uint32, 0, len(tables))
	for _, name := range tables {
		t := snap.Tables[name]
		if t == nil {
			return nil, fmt.Errorf("mark fingerprints: no table %s in the snapshot", name)
		}
		oids = append(oids, t.OID)
	}
	rows, err := q.Query(ctx, `SELECT c.oid, CASE WHEN c.relkind = 'p' THEN coalesce((
	SELECT string_agg(l.oid::text || ':' || l.relfilenode::text, ',' ORDER BY l.oid)
	FROM pg_partition_tree(c.oid) p JOIN pg_class l ON l.oid = p.relid WHERE p.isleaf), '')
	ELSE c.relfilenode::text END
FROM pg_class c WHERE c.oid = ANY ($1::oid[])`, oids)
	if err != nil {
		return nil, fmt.Errorf("mark fingerprints: read relfilenodes: %w", err)
	}
	out := map[uint32]string{}
	for rows.Next() {
		var oid uint32
		var files string
		if err := rows.Scan(&oid, &files); err != nil {
			return nil, fmt.Errorf("mark fingerprints: read relfilenodes: %w", err)
		}
		out[oid] = files
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mark fingerprints: read relfilenodes: %w", err)
	}
	return out, nil
}

// eraCounts calls f with each table OID's count of N+1-era keys and, when
// snapshot is set, how many of them were written since it.
func eraCounts(ctx context.Context, q schema.Querier, snapshot string, f func(rel uint32, n, written int64)) error {
	sql := `SELECT rel, count(*), 0::bigint FROM ` + era.RowsTable + ` GROUP BY rel`
	var args []any
	if snapshot != "" {
		sql = `WITH m AS ` + markRel + ` SELECT rel, count(*), count(*) FILTER (WHERE ` + writtenSince + `) FROM ` + era.RowsTable + ` r GROUP BY rel`
		args = append(args, snapshot)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("mark fingerprints: count N+1-era keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rel uint32
		var n, written int64
		if err := rows.Scan(&rel, &n, &written); err != nil {
			return fmt.Errorf("mark fingerprints: count N+1-era keys: %w", err)
		}
		f(rel, n, written)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("mark fingerprints: count N+1-era keys: %w", err)
	}
	return nil
}

// sameColumns reports whether a and b have the columns a fingerprint reads
// the same way: names, positions, types and collations.
func sameColumns(a, b *schema.Table) bool {
	if len(a.Columns) != len(b.Columns) {
		return false
	}
	for i, ca := range a.Columns {
		cb := b.Columns[i]
		if ca.Name != cb.Name || ca.Attnum != cb.Attnum || ca.Type != cb.Type || ca.TypeOID != cb.TypeOID ||
			ca.Collation != cb.Collation || ca.Generated != cb.Generated {
			return false
		}
	}
	return true
}

// What user-defined column types a table has.
const (
	typesNone = iota
	// typesEnum: enums only (or domains and arrays over them), whose text
	// is their labels.
	typesEnum
	// typesOther: a domain, composite, range, an extension's type, a
	// table's row type, or an array of one.
	typesOther
)

func userTyped(t *schema.Table) int {
	kind := typesNone
	for _, c := range t.Columns {
		switch {
		case c.TypeOID < firstNormalOID:
		case c.Enum != "":
			kind = max(kind, typesEnum)
		default:
			return typesOther
		}
	}
	return kind
}

// Reuse copies, from fingerprints by step (see TakeSteps), those of tables.
func Reuse(bySteps map[string]Set, tables []string) map[string]Set {
	out := map[string]Set{"": {}}
	for step, set := range bySteps {
		for _, name := range tables {
			if fp, ok := set[name]; ok {
				if out[step] == nil {
					out[step] = Set{}
				}
				out[step][name] = fp
			}
		}
	}
	return out
}

// AddSteps adds the fingerprints by step of other tables to dst.
func AddSteps(dst, src map[string]Set) {
	for step, set := range src {
		if dst[step] == nil {
			dst[step] = Set{}
		}
		for name, fp := range set {
			dst[step][name] = fp
		}
	}
}

// Split partitions tables into those touched names and the others, each
// sorted.
func Split(tables []string, touched map[string]string) (take, reuse []string) {
	for _, name := range tables {
		if _, ok := touched[name]; ok {
			take = append(take, name)
		} else {
			reuse = append(reuse, name)
		}
	}
	sort.Strings(take)
	sort.Strings(reuse)
	return take, reuse
}
