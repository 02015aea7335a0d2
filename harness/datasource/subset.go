package datasource

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// A subset chooses the sampled rows while they stream in, so a sample
// costs about the rows it keeps (the COPY into the state database, its
// indexes, the WAL), not the source's size.
//
// Tables come children first (a dump's TOC reordered, a DSN's tables
// sorted): a row is kept when its key hashes under the fraction, or when
// a kept child row references it; a kept row's own foreign keys add the
// parent keys it needs. A table that arrives while a table referencing it
// is still to come (a cycle, a self-reference, a plain dump's fixed order)
// or that has a row limit is loaded whole and trimmed afterwards in SQL
// (SampleTables), with the same closure.
type subset struct {
	seed   string
	opts   SampleOptions
	tables map[string]*schema.Table
	// out is a physical table's foreign keys (its own and its partitioned
	// ancestors'), each resolved to the physical tables holding the rows.
	out map[string][]fkEdge
	// in lists the physical tables referencing a physical table.
	in map[string][]string
	// partitions maps a partitioned table to its leaf partitions.
	partitions map[string][]string
	// order is every physical table, children before parents.
	order []string

	seen  map[string]bool
	whole map[string]bool
	// needed[parent][refcols] holds the key tuples kept children need.
	needed map[string]map[string]map[string]struct{}
}

type fkEdge struct {
	name       string
	cols       []string
	parents    []string // physical tables
	refColumns []string
}

// newSubset reads the partition tree of the state database (the snapshot
// does not hold it) and plans the order.
func newSubset(ctx context.Context, conn *pgx.Conn, snap *schema.Snapshot, o SampleOptions) (*subset, error) {
	if o.Fraction == 0 {
		o.Fraction = 1
	}
	s := &subset{
		seed: fmt.Sprint(o.Seed), opts: o, tables: snap.Tables,
		out: map[string][]fkEdge{}, in: map[string][]string{}, partitions: map[string][]string{},
		seen: map[string]bool{}, whole: map[string]bool{}, needed: map[string]map[string]map[string]struct{}{},
	}
	ancestors := map[string][]string{}
	rows, err := conn.Query(ctx, `
WITH RECURSIVE tree AS (
  SELECT i.inhrelid AS leaf, i.inhparent AS anc FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid AND c.relispartition
  UNION SELECT t.leaf, i.inhparent FROM tree t JOIN pg_inherits i ON i.inhrelid = t.anc
)
SELECT ln.nspname || '.' || l.relname, an.nspname || '.' || a.relname
FROM tree JOIN pg_class l ON l.oid = tree.leaf JOIN pg_namespace ln ON ln.oid = l.relnamespace
JOIN pg_class a ON a.oid = tree.anc JOIN pg_namespace an ON an.oid = a.relnamespace
WHERE l.relkind = 'r'`)
	if err != nil {
		return nil, fmt.Errorf("sample: read the partition tree: %w", err)
	}
	for rows.Next() {
		var leaf, anc string
		if err := rows.Scan(&leaf, &anc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sample: read the partition tree: %w", err)
		}
		ancestors[leaf] = append(ancestors[leaf], anc)
		s.partitions[anc] = append(s.partitions[anc], leaf)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sample: read the partition tree: %w", err)
	}
	var names []string
	for name, t := range snap.Tables {
		if t.Kind == "r" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		seenFK := map[string]bool{}
		for _, owner := range append([]string{name}, ancestors[name]...) {
			t := snap.Tables[owner]
			if t == nil {
				continue
			}
			for _, c := range t.Constraints {
				if c.Type != "f" || len(c.Columns) != len(c.RefColumns) {
					continue
				}
				id := strings.Join(c.Columns, ",") + "->" + c.RefTable + "(" + strings.Join(c.RefColumns, ",") + ")"
				if seenFK[id] {
					continue // a partition's clone of its parent's key
				}
				seenFK[id] = true
				e := fkEdge{name: c.Name, cols: c.Columns, refColumns: c.RefColumns, parents: s.physical(c.RefTable)}
				if len(e.parents) == 0 {
					continue
				}
				s.out[name] = append(s.out[name], e)
				for _, p := range e.parents {
					s.in[p] = append(s.in[p], name)
				}
			}
		}
	}
	// Depth-first along foreign keys puts parents first; reversed, every
	// table comes after the tables referencing it (cycles aside).
	done := map[string]bool{}
	var parentsFirst []string
	var visit func(string)
	visit = func(n string) {
		if done[n] {
			return
		}
		done[n] = true
		for _, e := range s.out[n] {
			for _, p := range e.parents {
				visit(p)
			}
		}
		parentsFirst = append(parentsFirst, n)
	}
	for _, n := range names {
		visit(n)
	}
	for i := len(parentsFirst) - 1; i >= 0; i-- {
		s.order = append(s.order, parentsFirst[i])
	}
	return s, nil
}

// physical is the tables holding name's rows: itself, or its partitions.
func (s *subset) physical(name string) []string {
	t := s.tables[name]
	if t == nil {
		return nil
	}
	if t.Kind == "r" {
		return []string{name}
	}
	return s.partitions[name]
}

// rank orders tables for the stream: children first; unknown tables last.
func (s *subset) rank() map[string]int {
	r := map[string]int{}
	for i, n := range s.order {
		r[n] = i
	}
	return r
}

// threshold is the hash bound of a table's fraction (2^32 keeps all).
func (s *subset) threshold(table string) uint64 {
	f := s.opts.Fraction
	if sh, ok := s.opts.Tables[table]; ok && sh.Fraction > 0 {
		f = sh.Fraction
	}
	return uint64(f * float64(uint64(1)<<32))
}

// begin decides how a table arriving now is sampled: whole (trimmed after
// the load) when a table referencing it has not come yet or it has a row
// limit.
func (s *subset) begin(table string) (whole bool) {
	defer func() { s.seen[table] = true }()
	if s.opts.Tables[table].Rows > 0 {
		s.whole[table] = true
		return true
	}
	for _, c := range s.in[table] {
		if !s.seen[c] {
			s.whole[table] = true
			return true
		}
	}
	return false
}

// rowFilter returns the per-row decision for a table's stream: kept rows
// pass unchanged and record the parent keys they need; nil drops a row.
// columns are the source's columns, in field order.
func (s *subset) rowFilter(table string, columns []string) func([]byte) []byte {
	whole := s.begin(table)
	idx := map[string]int{}
	for i, c := range columns {
		idx[c] = i
	}
	fields := func(cols []string) []int {
		out := make([]int, len(cols))
		for i, c := range cols {
			j, ok := idx[c]
			if !ok {
				return nil // the source lacks it: the target gets its default
			}
			out[i] = j
		}
		return out
	}
	type parentKey struct {
		fields  []int
		parents []string
		refcols string
	}
	var outs []parentKey
	for _, e := range s.out[table] {
		if f := fields(e.cols); f != nil {
			outs = append(outs, parentKey{f, e.parents, strings.Join(e.refColumns, ",")})
		}
	}
	type need struct {
		fields []int
		set    map[string]struct{}
	}
	var needs []need
	for refcols, set := range s.needed[table] {
		if f := fields(strings.Split(refcols, ",")); f != nil {
			needs = append(needs, need{f, set})
		}
	}
	key := fields(s.keyColumns(table))
	if len(key) == 0 {
		key = make([]int, len(columns))
		for i := range key {
			key[i] = i
		}
	}
	limit := s.threshold(table)
	var split []string
	return func(line []byte) []byte {
		split = strings.Split(strings.TrimSuffix(string(line), "\n"), "\t")
		keep := whole || rowHash(s.seed, split, key) < limit
		for i := 0; !keep && i < len(needs); i++ {
			k, ok := tuple(split, needs[i].fields)
			_, hit := needs[i].set[k]
			keep = ok && hit
		}
		if !keep {
			return nil
		}
		for _, o := range outs {
			k, ok := tuple(split, o.fields)
			if !ok {
				continue // a NULL reference needs no parent
			}
			for _, p := range o.parents {
				m := s.needed[p]
				if m == nil {
					m = map[string]map[string]struct{}{}
					s.needed[p] = m
				}
				set := m[o.refcols]
				if set == nil {
					set = map[string]struct{}{}
					m[o.refcols] = set
				}
				set[k] = struct{}{}
			}
		}
		return line
	}
}

// keyColumns is the primary key of a table (or of its partitioned root);
// nil when it has none (then the whole row is the key).
func (s *subset) keyColumns(table string) []string {
	cands := []string{table}
	for anc, leaves := range s.partitions {
		for _, l := range leaves {
			if l == table {
				cands = append(cands, anc)
			}
		}
	}
	for _, n := range cands {
		if t := s.tables[n]; t != nil {
			for _, c := range t.Constraints {
				if c.Type == "p" {
					return c.Columns
				}
			}
		}
	}
	return nil
}

// tuple is the decoded values of fields, tab-joined; ok is false when one
// is NULL. Decoded, so a DSN's server-side text of the same values matches.
func tuple(split []string, fields []int) (string, bool) {
	if len(fields) == 1 {
		if fields[0] >= len(split) {
			return "", false
		}
		return decodeField(split[fields[0]])
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		if f >= len(split) {
			return "", false
		}
		v, ok := decodeField(split[f])
		if !ok {
			return "", false
		}
		parts[i] = v
	}
	return strings.Join(parts, "\t"), true
}

// rowHash is md5(seed, key values) as a 32-bit number: the same as
// hashSQL computes server-side for a DSN.
func rowHash(seed string, split []string, key []int) uint64 {
	h := md5.New()
	h.Write([]byte(seed))
	for _, f := range key {
		h.Write([]byte{'\t'})
		if f >= len(split) {
			h.Write([]byte(nullField))
			continue
		}
		v, ok := decodeField(split[f])
		if !ok {
			v = nullField
		}
		h.Write([]byte(v))
	}
	var sum [md5.Size]byte
	return uint64(binary.BigEndian.Uint32(h.Sum(sum[:0])[:4]))
}

// pushdown is the WHERE of a DSN's COPY for a table: the rows rowFilter
// would keep, chosen server-side so the rest never crosses the wire ("" =
// all rows). rowFilter still runs on what arrives, recording parent keys.
// Call it just before rowFilter, with the same columns.
func (s *subset) pushdown(table string, columns []string) string {
	if s.opts.Tables[table].Rows > 0 || s.threshold(table) >= 1<<32 {
		return ""
	}
	for _, c := range s.in[table] {
		if !s.seen[c] {
			return "" // loaded whole
		}
	}
	key := s.keyColumns(table)
	has := map[string]bool{}
	for _, c := range columns {
		has[c] = true
	}
	for _, k := range key {
		if !has[k] {
			key = nil
		}
	}
	if key == nil {
		key = columns
	}
	or := []string{fmt.Sprintf("%s < %d", hashSQL(s.seed, key), s.threshold(table))}
	for refcols, set := range s.needed[table] {
		cols := strings.Split(refcols, ",")
		if len(cols) != 1 {
			return "" // composite keys are matched client-side only
		}
		if !has[cols[0]] || len(set) == 0 {
			continue
		}
		if len(set) > maxPushdownKeys {
			return "" // a query that large costs more than sending the rows
		}
		vals := make([]string, 0, len(set))
		for v := range set {
			vals = append(vals, quoteLiteral(v))
		}
		sort.Strings(vals)
		or = append(or, fmt.Sprintf("format('%%s', %s) = ANY (ARRAY[%s]::text[])", quoteIdent(cols[0]), strings.Join(vals, ",")))
	}
	return strings.Join(or, " OR ")
}

// maxPushdownKeys bounds the parent keys written into a DSN's query.
const maxPushdownKeys = 100_000

// hashSQL is rowHash in SQL: format('%s') is the type's output function,
// the text COPY writes.
func hashSQL(seed string, key []string) string {
	parts := []string{quoteLiteral(seed)}
	for _, k := range key {
		parts = append(parts, fmt.Sprintf(`E'\t' || CASE WHEN %[1]s IS NULL THEN E'\\N' ELSE format('%%s', %[1]s) END`, quoteIdent(k)))
	}
	return "('x' || substr(md5(" + strings.Join(parts, " || ") + "), 1, 8))::bit(32)::bigint"
}

func quoteLiteral(s string) string {
	if strings.Contains(s, `\`) {
		return "E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// trim samples the tables that were loaded whole, in SQL, keeping every
// row of the others (already sampled) and the closure across both.
func (s *subset) trim(ctx context.Context, dsn string, snap *schema.Snapshot) (map[string]int64, error) {
	if len(s.whole) == 0 {
		return nil, nil
	}
	o := s.opts
	o.sampled = map[string]bool{}
	for _, n := range s.order {
		if !s.whole[n] {
			o.sampled[n] = true
		}
	}
	return SampleTables(ctx, dsn, snap, o)
}
