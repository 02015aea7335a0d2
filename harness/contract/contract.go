// Package contract synthesizes contract probes from release N's catalog: what
// release N's code *could* run (read every column, insert a complete row,
// update each column, delete rows with and without dependents), with no
// input from the user. They differ from old-code probes, which are what N's
// code really runs: a contract failure says a capability is gone, not that
// N's code uses it.
//
// Probes name tables and columns as release N has them and address rows of
// N-era data by key, so the same probe runs unchanged on every later state;
// each run is one statement in a transaction that is always rolled back.
package contract

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rehearse-dev/rehearse/harness/schema"
)

// Probe kinds.
const (
	KindSelect = "select"
	KindInsert = "insert"
	KindUpdate = "update"
	KindDelete = "delete"
)

// Probe is one synthesized statement against release N's catalog.
type Probe struct {
	// Name says what the probe does, e.g. "DELETE public.agents (row with
	// dependents via audit_events_agent_id_fkey)".
	Name string
	Kind string
	SQL  string
	// TableOID and Table identify the table as release N has it; OIDs
	// survive renames, so a later state's name is found by OID.
	TableOID uint32
	Table    string
	// Attnum is the updated column of an UPDATE probe (0 otherwise).
	Attnum int16
	// Key are the attnums of the columns an UPDATE or DELETE addresses its
	// row by: a change to them breaks the probe as much as one to Attnum.
	Key []int16
	// FK and FKTableOID name the foreign key a DELETE-with-dependents probe
	// goes through and its table (by OID: a key is often re-created under
	// its name to change its action, and gets a new OID).
	FK         string
	FKTableOID uint32
	// Rejecting names the foreign keys that already refused, on release N,
	// to delete a row of Table with dependents (ON DELETE NO ACTION or
	// RESTRICT). A DELETE refused by one of them on a later state met rows
	// written after N that reference its row: N refuses that too, so it is
	// data, not a lost capability.
	Rejecting []string
}

// ErrNoRow is what a probe reports when the row it addresses is gone.
var ErrNoRow = errors.New("no row matched: the N-era row this probe writes is gone from this state")

// Synthesize builds the probes of the given tables of snap (all when tables
// is nil) from conn, a database of release N with N-era data: rows to
// update and delete are picked there by key. Each UPDATE's value is checked
// on conn so a probe starts out passing where it can. notes say which
// probes could not be made and why.
func Synthesize(ctx context.Context, conn *pgx.Conn, snap *schema.Snapshot, tables []string) (probes []Probe, notes []string, err error) {
	if tables == nil {
		for name := range snap.Tables {
			tables = append(tables, name)
		}
	}
	sort.Strings(tables)
	for _, name := range tables {
		t := snap.Tables[name]
		if t == nil {
			continue
		}
		s := &synth{ctx: ctx, conn: conn, snap: snap, t: t}
		if err := s.run(); err != nil {
			return nil, nil, fmt.Errorf("synthesize contract probes of %s: %w", name, err)
		}
		probes = append(probes, s.probes...)
		notes = append(notes, s.notes...)
	}
	return probes, notes, nil
}

// Run runs p on conn in a transaction that is always rolled back. An
// UPDATE or DELETE that matches no row fails with ErrNoRow: the row N's code
// would write is gone, and a silent no-op would hide that.
func Run(ctx context.Context, conn *pgx.Conn, p Probe) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	// Deferred constraints would only be checked at a commit that never
	// comes: check them at the statement, as a committing client would see.
	if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = '20s'; SET CONSTRAINTS ALL IMMEDIATE"); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, p.SQL)
	var pgErr *pgconn.PgError
	if p.Kind == KindDelete && errors.As(err, &pgErr) && pgErr.Code == "23503" && slices.Contains(p.Rejecting, pgErr.ConstraintName) {
		return nil
	}
	if err != nil {
		return err
	}
	if (p.Kind == KindUpdate || p.Kind == KindDelete) && tag.RowsAffected() == 0 {
		return ErrNoRow
	}
	return nil
}

type synth struct {
	ctx    context.Context
	conn   *pgx.Conn
	snap   *schema.Snapshot
	t      *schema.Table
	probes []Probe
	notes  []string
}

func (s *synth) add(p Probe) {
	p.TableOID, p.Table = s.t.OID, s.t.QualifiedName()
	s.probes = append(s.probes, p)
}

func (s *synth) note(format string, args ...any) {
	s.notes = append(s.notes, s.t.QualifiedName()+": "+fmt.Sprintf(format, args...))
}

func (s *synth) run() error {
	t := s.t
	tbl := ident(t.Schema, t.Name)
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = ident(c.Name)
	}
	s.add(Probe{Name: "SELECT " + t.QualifiedName() + " (all columns)", Kind: KindSelect,
		SQL: fmt.Sprintf("SELECT %s FROM %s LIMIT 1", strings.Join(cols, ", "), tbl)})

	key := rowKey(t)
	sample, err := s.row(keyOrder(key, "ASC"), "")
	if err != nil {
		return err
	}
	if sample == nil {
		s.note("no N-era row: INSERT, UPDATE and DELETE probes not made")
		return nil
	}
	s.insert(sample)
	if len(key) == 0 {
		s.note("no primary key or unique NOT NULL key to address a row: UPDATE and DELETE probes not made")
		return nil
	}
	if err := s.updates(key, sample); err != nil {
		return err
	}
	return s.deletes(key)
}

// row reads one row of the table as text values (nil for NULL), or nil
// when no row matches where.
func (s *synth) row(order, where string) (map[string]*string, error) {
	t := s.t
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		exprs[i] = "r." + ident(c.Name) + "::text"
	}
	q := fmt.Sprintf("SELECT %s FROM %s r", strings.Join(exprs, ", "), ident(t.Schema, t.Name))
	if where != "" {
		q += " WHERE " + where
	}
	if order != "" {
		q += " ORDER BY " + order
	}
	vals := make([]*string, len(t.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := s.conn.QueryRow(s.ctx, q+" LIMIT 1").Scan(ptrs...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("read a row: %w", err)
	}
	out := map[string]*string{}
	for i, c := range t.Columns {
		out[c.Name] = vals[i]
	}
	return out, nil
}

// insert copies the sample row with every unique key made fresh: a
// defaulted column is left to its default, a number becomes the state's
// max + 1 (computed when the probe runs, so rows written after N do not
// collide), a string or uuid gets a new value.
func (s *synth) insert(sample map[string]*string) {
	t := s.t
	omit := map[string]bool{}
	value := map[string]string{}
	for _, c := range t.Columns {
		switch {
		case c.Generated != "" || c.Identity == "a":
			omit[c.Name] = true
		default:
			value[c.Name] = literal(sample[c.Name])
		}
	}
	fks := fkOf(t)
	for _, ix := range t.Indexes {
		if !ix.Unique || slices.Contains(ix.Columns, "") {
			continue
		}
		if slices.ContainsFunc(ix.Columns, func(n string) bool { return omit[n] }) {
			continue // already fresh
		}
		if c := s.freshen(ix.Columns, fks, sample, omit, value); c == "" {
			s.note("INSERT keeps the copied values of unique key %s (no column to make fresh): expect it to fail on release N", ix.Name)
		}
	}
	var names, vals []string
	for _, c := range t.Columns {
		if omit[c.Name] {
			continue
		}
		names = append(names, ident(c.Name))
		vals = append(vals, value[c.Name])
	}
	name := "INSERT " + t.QualifiedName() + " (complete row)"
	sql := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", ident(t.Schema, t.Name), strings.Join(names, ", "), strings.Join(vals, ", "))
	if len(names) == 0 {
		sql = fmt.Sprintf("INSERT INTO %s DEFAULT VALUES", ident(t.Schema, t.Name))
	}
	s.add(Probe{Name: name, Kind: KindInsert, SQL: sql})
}

// freshen gives one column of a unique key a value no row has, preferring
// defaulted columns, then columns outside foreign keys, then a foreign key
// column pointed at a parent without child. It returns the column changed,
// "" when none could be.
func (s *synth) freshen(cols []string, fks map[string]*schema.Constraint, sample map[string]*string, omit map[string]bool, value map[string]string) string {
	t := s.t
	for _, c := range cols {
		if col := t.Column(c); col != nil && (col.Default != "" || col.Identity != "") {
			omit[c] = true
			return c
		}
	}
	for _, c := range cols {
		col := t.Column(c)
		if col == nil || fks[c] != nil {
			continue
		}
		if v := freshValue(t, col, sample[c]); v != "" {
			value[c] = v
			return c
		}
	}
	// A key made of foreign keys (a 1:1 table, a link table): reference a
	// parent row that has no child yet, found when the probe runs.
	for _, c := range cols {
		if fk := fks[c]; fk != nil && len(fk.Columns) == 1 {
			value[c] = fmt.Sprintf("(SELECT p.%s FROM %s p WHERE NOT EXISTS (SELECT 1 FROM %s c WHERE c.%s = p.%s) ORDER BY 1 DESC LIMIT 1)",
				ident(fk.RefColumns[0]), qualified(fk.RefTable), ident(t.Schema, t.Name), ident(c), ident(fk.RefColumns[0]))
			return c
		}
	}
	return ""
}

// qualified quotes a "schema.name" as the catalog gives it.
func qualified(name string) string {
	schemaName, rel, ok := strings.Cut(name, ".")
	if !ok {
		return ident(name)
	}
	return ident(schemaName, rel)
}

func freshValue(t *schema.Table, c *schema.Column, cur *string) string {
	if c.IsArray {
		return ""
	}
	h := fnv.New64a()
	h.Write([]byte(t.QualifiedName() + "." + c.Name))
	sum := h.Sum64()
	switch {
	case c.TypeCategory == "N":
		return fmt.Sprintf("(SELECT coalesce(max(%s), 0) + 1 FROM %s)", ident(c.Name), ident(t.Schema, t.Name))
	case c.BaseType == "uuid":
		return fmt.Sprintf("'%08x-%04x-4%03x-8%03x-%012x'", uint32(sum), uint16(sum>>32), uint16(sum>>48)&0xfff, uint16(sum)&0xfff, sum&0xffffffffffff)
	case c.TypeCategory == "S":
		suffix := fmt.Sprintf("~%08x", uint32(sum))
		base := ""
		if cur != nil {
			base = *cur
		}
		if c.Length > 0 {
			r := []rune(base)
			if keep := c.Length - len(suffix); keep < len(r) {
				if keep < 0 {
					keep = 0
				}
				base = string(r[:keep])
			}
		}
		v := base + suffix
		if c.Length > 0 && len([]rune(v)) > c.Length {
			v = string([]rune(v)[:c.Length])
		}
		return literal(&v)
	}
	return ""
}

// updates makes one UPDATE per writable column of the sample row. The new
// value is the longest value of another row where that is valid on release N
// (so a narrowed type or a new CHECK shows), else the row's own value.
func (s *synth) updates(key []string, sample map[string]*string) error {
	t := s.t
	unique := uniqueColumns(t)
	where := keyWhere(key, sample)
	for _, c := range t.Columns {
		if c.Generated != "" || c.Identity == "a" {
			continue
		}
		p := Probe{Name: fmt.Sprintf("UPDATE %s.%s", t.QualifiedName(), c.Name), Kind: KindUpdate, Attnum: c.Attnum, Key: attnums(t, key)}
		own := fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s", ident(t.Schema, t.Name), ident(c.Name), literal(sample[c.Name]), where)
		p.SQL = own
		if !unique[c.Name] {
			other, err := s.longest(c)
			if err != nil {
				return err
			}
			if other != nil && (sample[c.Name] == nil || *other != *sample[c.Name]) {
				p.SQL = fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s", ident(t.Schema, t.Name), ident(c.Name), literal(other), where)
				if Run(s.ctx, s.conn, p) != nil {
					p.SQL = own
				}
			}
		}
		s.add(p)
	}
	return nil
}

// longest returns the column's longest non-NULL value, as text.
func (s *synth) longest(c *schema.Column) (*string, error) {
	col := ident(c.Name)
	var v *string
	err := s.conn.QueryRow(s.ctx, fmt.Sprintf("SELECT %s::text FROM %s WHERE %s IS NOT NULL ORDER BY length(%s::text) DESC, %s::text LIMIT 1",
		col, ident(s.t.Schema, s.t.Name), col, col, col)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read values of %s: %w", c.Name, err)
	}
	return v, nil
}

// deletes makes one DELETE of a row with dependents per foreign key whose
// ON DELETE lets release N delete such a row (CASCADE, SET NULL, SET
// DEFAULT), and one of a row without dependents. A foreign key that already
// rejects the delete on N is not a capability N's code has.
func (s *synth) deletes(key []string) error {
	t := s.t
	refs := referencing(s.snap, t)
	tbl := ident(t.Schema, t.Name)
	// A row with dependents through a foreign key that rejects the delete
	// would fail on N already: pick one without such dependents.
	var rejecting, rejectingNames []string
	for _, fk := range refs {
		if !deleteAllowed(fk.con.Def) {
			rejecting = append(rejecting, " AND NOT EXISTS ("+dependents(fk)+")")
			rejectingNames = append(rejectingNames, fk.con.Name)
		}
	}
	for _, fk := range refs {
		if !deleteAllowed(fk.con.Def) {
			continue
		}
		row, err := s.row(keyOrder(key, "ASC"), "EXISTS ("+dependents(fk)+")"+strings.Join(rejecting, ""))
		if err != nil {
			return err
		}
		name := fmt.Sprintf("DELETE %s (row with dependents via %s)", t.QualifiedName(), fk.con.Name)
		if row == nil {
			s.note("no N-era row has dependents via %s: %q not made", fk.con.Name, name)
			continue
		}
		s.add(Probe{Name: name, Kind: KindDelete, Key: attnums(t, key), FK: fk.con.Name, FKTableOID: fk.child.OID, Rejecting: rejectingNames,
			SQL: fmt.Sprintf("DELETE FROM %s WHERE %s", tbl, keyWhere(key, row))})
	}
	// The row without dependents is the last by key: seeders skew the
	// parents of later rows to the first ones, so it most likely stays
	// without dependents on later states too.
	var none []string
	for _, fk := range refs {
		none = append(none, "NOT EXISTS ("+dependents(fk)+")")
	}
	where := strings.Join(none, " AND ")
	row, err := s.row(keyOrder(key, "DESC"), where)
	if err != nil {
		return err
	}
	name := "DELETE " + t.QualifiedName() + " (row without dependents)"
	if len(refs) == 0 {
		name = "DELETE " + t.QualifiedName() + " (a row)"
	}
	if row == nil {
		s.note("every N-era row has dependents: %q not made", name)
		return nil
	}
	s.add(Probe{Name: name, Kind: KindDelete, Key: attnums(t, key), Rejecting: rejectingNames, SQL: fmt.Sprintf("DELETE FROM %s WHERE %s", tbl, keyWhere(key, row))})
	return nil
}

// fkRef is a foreign key of child referencing the table being probed.
type fkRef struct {
	child *schema.Table
	con   *schema.Constraint
}

func referencing(snap *schema.Snapshot, t *schema.Table) []fkRef {
	var out []fkRef
	for _, name := range sortedTables(snap) {
		child := snap.Tables[name]
		for _, c := range child.Constraints {
			if c.Type == "f" && c.RefTable == t.QualifiedName() && len(c.Columns) == len(c.RefColumns) {
				out = append(out, fkRef{child: child, con: c})
			}
		}
	}
	return out
}

// dependents is a subquery over fk's child rows referencing row r.
func dependents(fk fkRef) string {
	conds := make([]string, len(fk.con.Columns))
	for i := range fk.con.Columns {
		conds[i] = fmt.Sprintf("d.%s = r.%s", ident(fk.con.Columns[i]), ident(fk.con.RefColumns[i]))
	}
	return fmt.Sprintf("SELECT 1 FROM %s d WHERE %s", ident(fk.child.Schema, fk.child.Name), strings.Join(conds, " AND "))
}

func deleteAllowed(def string) bool {
	for _, a := range []string{"ON DELETE CASCADE", "ON DELETE SET NULL", "ON DELETE SET DEFAULT"} {
		if strings.Contains(def, a) {
			return true
		}
	}
	return false
}

// rowKey is the table's primary key, else a unique index of NOT NULL
// columns without predicate; nil when rows cannot be addressed.
func rowKey(t *schema.Table) []string {
	for _, c := range t.Constraints {
		if c.Type == "p" {
			return c.Columns
		}
	}
	for _, ix := range t.Indexes {
		if !ix.Unique || ix.Predicate != "" || len(ix.Columns) == 0 {
			continue
		}
		ok := true
		for _, n := range ix.Columns {
			if c := t.Column(n); c == nil || !c.NotNull {
				ok = false
			}
		}
		if ok {
			return ix.Columns
		}
	}
	return nil
}

func keyOrder(key []string, dir string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = "r." + ident(k) + " " + dir
	}
	return strings.Join(parts, ", ")
}

func keyWhere(key []string, row map[string]*string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = ident(k) + " = " + literal(row[k])
	}
	return strings.Join(parts, " AND ")
}

// fkOf maps each column of a foreign key of t to that key.
func fkOf(t *schema.Table) map[string]*schema.Constraint {
	out := map[string]*schema.Constraint{}
	for _, c := range t.Constraints {
		if c.Type == "f" {
			for _, n := range c.Columns {
				out[n] = c
			}
		}
	}
	return out
}

func attnums(t *schema.Table, cols []string) []int16 {
	var out []int16
	for _, n := range cols {
		if c := t.Column(n); c != nil {
			out = append(out, c.Attnum)
		}
	}
	return out
}

func uniqueColumns(t *schema.Table) map[string]bool {
	out := map[string]bool{}
	for _, ix := range t.Indexes {
		if ix.Unique {
			for _, n := range ix.Columns {
				out[n] = true
			}
		}
	}
	return out
}

func sortedTables(snap *schema.Snapshot) []string {
	out := make([]string, 0, len(snap.Tables))
	for n := range snap.Tables {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// literal is an untyped SQL literal, so PostgreSQL casts it to whatever type
// the column has on the state the probe runs on, as a client's text
// parameter would be.
func literal(v *string) string {
	if v == nil {
		return "NULL"
	}
	return "'" + strings.ReplaceAll(*v, "'", "''") + "'"
}
