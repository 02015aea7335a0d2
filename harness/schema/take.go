package schema

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Options tunes Take.
type Options struct {
	// CountRows fills Table.Rows with an exact count(*) (one statement for
	// all tables). Rewrites needs it on the snapshot taken before the up.
	CountRows bool
}

// userNS selects the namespaces a snapshot covers (alias n).
const userNS = `n.nspname NOT IN ('pg_catalog', 'information_schema', '` + HarnessSchema + `')
	AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`

// notExt excludes objects that belong to an extension (they come and go
// with the extension, which the snapshot records by name and version).
func notExt(catalog, oid string) string {
	return fmt.Sprintf(`NOT EXISTS (SELECT 1 FROM pg_depend dx WHERE dx.classid = '%s'::regclass AND dx.objid = %s AND dx.deptype = 'e')`, catalog, oid)
}

// userTables is the set of OIDs of the tables a snapshot covers.
var userTables = `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'p') AND ` + userNS + ` AND ` + notExt("pg_class", "c.oid")

// query is one catalog statement and what to do with its rows.
type query struct {
	what string
	sql  string
	scan func(rows pgx.Rows) error
}

// batcher is implemented by *pgx.Conn, pgxpool.Pool and pgx.Tx: when the
// Querier has it, all catalog statements go in one round trip.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Take reads the catalog of the user schemas of the database behind q: one
// statement per object kind, sent as one batch when q supports it.
func Take(ctx context.Context, q Querier, opts Options) (*Snapshot, error) {
	s := &Snapshot{
		Tables:     map[string]*Table{},
		Sequences:  map[string]*Sequence{},
		Enums:      map[string]*Enum{},
		Domains:    map[string]*Domain{},
		Views:      map[string]*View{},
		Functions:  map[string]*Function{},
		Triggers:   map[string]*Trigger{},
		Extensions: map[string]string{},
	}
	b := &builder{snap: s, byOID: map[uint32]*Table{}}
	qs := b.queries()
	if err := run(ctx, q, qs); err != nil {
		return nil, err
	}
	types, err := loadTypes(ctx, q, b.typeOIDs())
	if err != nil {
		return nil, err
	}
	b.resolveTypes(types)
	b.sortAll()
	if opts.CountRows {
		if err := countRows(ctx, q, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func run(ctx context.Context, q Querier, qs []query) error {
	if bq, ok := q.(batcher); ok {
		batch := &pgx.Batch{}
		for _, qu := range qs {
			scan := qu.scan
			what := qu.what
			batch.Queue(qu.sql).Query(func(rows pgx.Rows) error {
				if err := scan(rows); err != nil {
					return fmt.Errorf("read %s: %w", what, err)
				}
				return nil
			})
		}
		if err := bq.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("snapshot catalog: %w", err)
		}
		return nil
	}
	for _, qu := range qs {
		rows, err := q.Query(ctx, qu.sql)
		if err != nil {
			return fmt.Errorf("snapshot catalog: read %s: %w", qu.what, err)
		}
		err = qu.scan(rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return fmt.Errorf("snapshot catalog: read %s: %w", qu.what, err)
		}
	}
	return nil
}

// pendingColumn carries what type resolution needs until the type rows are read.
type pendingColumn struct {
	col    *Column
	typmod int32
}

type builder struct {
	snap    *Snapshot
	byOID   map[uint32]*Table
	pending []pendingColumn
	// Constraints, indexes and columns may arrive before their tables when
	// the statements run in a batch; they wait here, keyed by table OID.
	cols map[uint32][]*Column
	cons map[uint32][]*Constraint
	idxs map[uint32][]*Index
}

func (b *builder) queries() []query {
	b.cols = map[uint32][]*Column{}
	b.cons = map[uint32][]*Constraint{}
	b.idxs = map[uint32][]*Index{}
	return []query{
		{"tables", `SELECT c.oid, n.nspname, c.relname, c.relkind::text,
	CASE WHEN c.relacl IS NULL OR c.relacl = acldefault('r', c.relowner) THEN '{}'::text[] ELSE c.relacl::text[] END,
	c.relfilenode, pg_get_userbyid(c.relowner)::text, coalesce(c.reloptions, '{}')::text[],
	CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) ELSE '' END,
	CASE WHEN c.relispartition THEN coalesce((SELECT pn.nspname || '.' || pc.relname FROM pg_inherits i
		JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
		WHERE i.inhrelid = c.oid), '') ELSE '' END,
	CASE WHEN c.relispartition THEN coalesce(pg_get_expr(c.relpartbound, c.oid), '') ELSE '' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid IN (` + userTables + `)`, b.scanTables},
		{"columns", `SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, a.atttypmod,
	a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text,
	CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname::text ELSE '' END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid IN (` + userTables + `) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`, b.scanColumns},
		{"constraints", `SELECT co.conrelid, co.oid, co.conname, co.contype::text,
	ARRAY(SELECT a.attname::text FROM unnest(co.conkey) WITH ORDINALITY k(num, ord)
		JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num ORDER BY k.ord),
	pg_get_constraintdef(co.oid),
	coalesce((SELECT rn.nspname || '.' || rc.relname FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace
		WHERE rc.oid = co.confrelid), ''),
	ARRAY(SELECT a.attname::text FROM unnest(co.confkey) WITH ORDINALITY k(num, ord)
		JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.num ORDER BY k.ord),
	co.condeferrable, co.condeferred, co.convalidated
FROM pg_constraint co
WHERE co.conrelid IN (` + userTables + `) AND co.contype IN ('p', 'u', 'f', 'c', 'x')
ORDER BY co.conrelid, co.conname`, b.scanConstraints},
		{"indexes", `SELECT i.indrelid, i.indexrelid, ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary,
	ARRAY(SELECT coalesce(a.attname::text, '') FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord)
		LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
		WHERE k.ord <= i.indnkeyatts ORDER BY k.ord),
	coalesce(pg_get_expr(i.indpred, i.indrelid), ''), i.indisvalid
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid IN (` + userTables + `)
ORDER BY i.indrelid, ic.relname`, b.scanIndexes},
		{"sequences", `SELECT c.oid, n.nspname, c.relname, format_type(s.seqtypid, NULL),
	s.seqincrement, s.seqstart, s.seqmin, s.seqmax, s.seqcycle,
	coalesce((SELECT rn.nspname || '.' || rc.relname || '.' || a.attname
		FROM pg_depend d JOIN pg_class rc ON rc.oid = d.refobjid
		JOIN pg_namespace rn ON rn.oid = rc.relnamespace
		JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
		WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
			AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') LIMIT 1), ''),
	CASE WHEN c.relacl IS NULL OR c.relacl = acldefault('s', c.relowner) THEN '{}'::text[] ELSE c.relacl::text[] END,
	pg_get_userbyid(c.relowner)::text
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ` + userNS + ` AND ` + notExt("pg_class", "c.oid"), b.scanSequences},
		{"enums", `SELECT t.oid, n.nspname, t.typname,
	ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND ` + userNS + ` AND ` + notExt("pg_type", "t.oid"), b.scanEnums},
		{"domains", `SELECT t.oid, n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
	coalesce(t.typdefault, ''),
	ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY 1)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND ` + userNS + ` AND ` + notExt("pg_type", "t.oid"), b.scanDomains},
		{"views", `SELECT c.oid, n.nspname, c.relname, c.relkind = 'm', pg_get_viewdef(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND ` + userNS + ` AND ` + notExt("pg_class", "c.oid"), b.scanViews},
		// pg_get_functiondef refuses aggregates; their identity is enough.
		{"functions", `SELECT p.oid, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
	CASE WHEN p.prokind = 'a' THEN 'aggregate ' || p.oid::regprocedure::text ELSE pg_get_functiondef(p.oid) END
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE ` + userNS + ` AND ` + notExt("pg_proc", "p.oid"), b.scanFunctions},
		{"triggers", `SELECT tg.oid, n.nspname || '.' || c.relname, tg.tgname, pg_get_triggerdef(tg.oid)
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT tg.tgisinternal AND ` + userNS + ` AND ` + notExt("pg_trigger", "tg.oid"), b.scanTriggers},
		{"extensions", `SELECT extname::text, extversion FROM pg_extension`, b.scanExtensions},
	}
}

func (b *builder) scanTables(rows pgx.Rows) error {
	for rows.Next() {
		t := &Table{}
		if err := rows.Scan(&t.OID, &t.Schema, &t.Name, &t.Kind, &t.ACL, &t.RelFileNode, &t.Owner, &t.Options,
			&t.PartitionKey, &t.PartitionOf, &t.PartitionBound); err != nil {
			return err
		}
		sort.Strings(t.ACL)
		if len(t.ACL) == 0 {
			t.ACL = nil
		}
		sort.Strings(t.Options)
		if len(t.Options) == 0 {
			t.Options = nil
		}
		b.snap.Tables[t.QualifiedName()] = t
		b.byOID[t.OID] = t
	}
	return rows.Err()
}

func (b *builder) scanColumns(rows pgx.Rows) error {
	for rows.Next() {
		var rel uint32
		var typmod int32
		c := &Column{}
		if err := rows.Scan(&rel, &c.Attnum, &c.Name, &c.Type, &c.TypeOID, &typmod, &c.NotNull, &c.Default,
			&c.Identity, &c.Generated, &c.Collation); err != nil {
			return err
		}
		b.cols[rel] = append(b.cols[rel], c)
		b.pending = append(b.pending, pendingColumn{col: c, typmod: typmod})
	}
	return rows.Err()
}

func (b *builder) scanConstraints(rows pgx.Rows) error {
	for rows.Next() {
		var rel uint32
		c := &Constraint{}
		if err := rows.Scan(&rel, &c.OID, &c.Name, &c.Type, &c.Columns, &c.Def, &c.RefTable, &c.RefColumns,
			&c.Deferrable, &c.Deferred, &c.Validated); err != nil {
			return err
		}
		if len(c.Columns) == 0 {
			c.Columns = nil
		}
		if len(c.RefColumns) == 0 {
			c.RefColumns = nil
		}
		b.cons[rel] = append(b.cons[rel], c)
	}
	return rows.Err()
}

func (b *builder) scanIndexes(rows pgx.Rows) error {
	for rows.Next() {
		var rel uint32
		ix := &Index{}
		if err := rows.Scan(&rel, &ix.OID, &ix.Name, &ix.Def, &ix.Unique, &ix.Primary, &ix.Columns, &ix.Predicate, &ix.Valid); err != nil {
			return err
		}
		b.idxs[rel] = append(b.idxs[rel], ix)
	}
	return rows.Err()
}

func (b *builder) scanSequences(rows pgx.Rows) error {
	for rows.Next() {
		s := &Sequence{}
		if err := rows.Scan(&s.OID, &s.Schema, &s.Name, &s.Type, &s.Increment, &s.Start, &s.Min, &s.Max, &s.Cycle, &s.OwnedBy, &s.ACL, &s.Role); err != nil {
			return err
		}
		sort.Strings(s.ACL)
		if len(s.ACL) == 0 {
			s.ACL = nil
		}
		b.snap.Sequences[s.Schema+"."+s.Name] = s
	}
	return rows.Err()
}

func (b *builder) scanEnums(rows pgx.Rows) error {
	for rows.Next() {
		e := &Enum{}
		if err := rows.Scan(&e.OID, &e.Schema, &e.Name, &e.Labels); err != nil {
			return err
		}
		b.snap.Enums[e.Schema+"."+e.Name] = e
	}
	return rows.Err()
}

func (b *builder) scanDomains(rows pgx.Rows) error {
	for rows.Next() {
		d := &Domain{}
		if err := rows.Scan(&d.OID, &d.Schema, &d.Name, &d.BaseType, &d.NotNull, &d.Default, &d.Checks); err != nil {
			return err
		}
		if len(d.Checks) == 0 {
			d.Checks = nil
		}
		b.snap.Domains[d.Schema+"."+d.Name] = d
	}
	return rows.Err()
}

func (b *builder) scanViews(rows pgx.Rows) error {
	for rows.Next() {
		v := &View{}
		if err := rows.Scan(&v.OID, &v.Schema, &v.Name, &v.Materialized, &v.Def); err != nil {
			return err
		}
		b.snap.Views[v.Schema+"."+v.Name] = v
	}
	return rows.Err()
}

func (b *builder) scanFunctions(rows pgx.Rows) error {
	for rows.Next() {
		f := &Function{}
		var args string
		if err := rows.Scan(&f.OID, &f.Schema, &f.Name, &args, &f.Def); err != nil {
			return err
		}
		b.snap.Functions[f.Schema+"."+f.Name+"("+args+")"] = f
	}
	return rows.Err()
}

func (b *builder) scanTriggers(rows pgx.Rows) error {
	for rows.Next() {
		t := &Trigger{}
		if err := rows.Scan(&t.OID, &t.Table, &t.Name, &t.Def); err != nil {
			return err
		}
		b.snap.Triggers[t.Table+"."+t.Name] = t
	}
	return rows.Err()
}

func (b *builder) scanExtensions(rows pgx.Rows) error {
	for rows.Next() {
		var name, version string
		if err := rows.Scan(&name, &version); err != nil {
			return err
		}
		b.snap.Extensions[name] = version
	}
	return rows.Err()
}

// sortAll attaches columns, constraints and indexes to their tables in a
// stable order.
func (b *builder) sortAll() {
	for oid, t := range b.byOID {
		t.Columns = b.cols[oid]
		sort.Slice(t.Columns, func(i, j int) bool { return t.Columns[i].Attnum < t.Columns[j].Attnum })
		t.Constraints = b.cons[oid]
		sort.Slice(t.Constraints, func(i, j int) bool { return t.Constraints[i].Name < t.Constraints[j].Name })
		t.Indexes = b.idxs[oid]
		sort.Slice(t.Indexes, func(i, j int) bool { return t.Indexes[i].Name < t.Indexes[j].Name })
	}
}

func countRows(ctx context.Context, q Querier, s *Snapshot) error {
	if len(s.Tables) == 0 {
		return nil
	}
	names := make([]string, 0, len(s.Tables))
	for name := range s.Tables {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		t := s.Tables[name]
		only := "ONLY "
		if t.Kind == "p" {
			only = "" // a partitioned table holds its partitions' rows
		}
		parts[i] = fmt.Sprintf("SELECT %d::int, count(*) FROM %s%s", i, only, pgx.Identifier{t.Schema, t.Name}.Sanitize())
	}
	rows, err := q.Query(ctx, strings.Join(parts, "\nUNION ALL\n"))
	if err != nil {
		return fmt.Errorf("count rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var n int64
		if err := rows.Scan(&i, &n); err != nil {
			return fmt.Errorf("count rows: %w", err)
		}
		s.Tables[names[i]].Rows = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count rows: %w", err)
	}
	return nil
}
