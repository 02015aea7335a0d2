package seed

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/rehearse-dev/rehearse/harness/migrate"
)

// Window is every table, and its columns, that the up scripts of a
// migration window create, read from the SQL alone (no server). It lets a
// profile be checked before anything starts: a profile may name a table
// any migration of the window creates, N+1's included.
type Window struct {
	tables map[string]*windowTable // key: "schema.table"
	// opaque lists statements that may create tables the parser cannot
	// see (DO blocks, CALL): while it is not empty, an unknown table is
	// not an error up front (the seeder checks it on the real catalog).
	opaque []string
}

type windowTable struct {
	cols map[string]bool
	// anyCol: the columns come from elsewhere (LIKE, INHERITS, PARTITION
	// OF, OF type, AS SELECT), so any column name is accepted.
	anyCol bool
}

// ReadWindow collects the tables and columns the up scripts of ms create.
func ReadWindow(ms []*migrate.Migration) (*Window, error) {
	w := &Window{tables: map[string]*windowTable{}}
	for _, m := range ms {
		if m.Up == nil {
			continue
		}
		for _, st := range m.Up.Statements {
			tree, err := pg_query.Parse(st.SQL)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: parse: %w", m.Up.File, st.Line, err)
			}
			for _, raw := range tree.Stmts {
				w.add(raw.Stmt, fmt.Sprintf("%s:%d", m.Up.File, st.Line))
			}
		}
	}
	return w, nil
}

func relName(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	s := rv.Schemaname
	if s == "" {
		s = "public"
	}
	return s + "." + rv.Relname
}

func (w *Window) table(name string) *windowTable {
	t := w.tables[name]
	if t == nil {
		t = &windowTable{cols: map[string]bool{}}
		w.tables[name] = t
	}
	return t
}

func (w *Window) add(n *pg_query.Node, at string) {
	switch {
	case n.GetCreateStmt() != nil:
		cs := n.GetCreateStmt()
		t := w.table(relName(cs.Relation))
		t.anyCol = t.anyCol || len(cs.InhRelations) > 0 || cs.Partbound != nil || cs.OfTypename != nil
		for _, e := range cs.TableElts {
			if cd := e.GetColumnDef(); cd != nil {
				t.cols[cd.Colname] = true
			} else if e.GetTableLikeClause() != nil {
				t.anyCol = true
			}
		}
	case n.GetCreateTableAsStmt() != nil:
		into := n.GetCreateTableAsStmt().Into
		if into != nil && into.Rel != nil {
			w.table(relName(into.Rel)).anyCol = true
		}
	case n.GetSelectStmt() != nil && n.GetSelectStmt().IntoClause != nil:
		w.table(relName(n.GetSelectStmt().IntoClause.Rel)).anyCol = true
	case n.GetAlterTableStmt() != nil:
		at := n.GetAlterTableStmt()
		t := w.table(relName(at.Relation))
		for _, c := range at.Cmds {
			cmd := c.GetAlterTableCmd()
			if cmd == nil || cmd.Subtype != pg_query.AlterTableType_AT_AddColumn {
				continue
			}
			if cd := cmd.Def.GetColumnDef(); cd != nil {
				t.cols[cd.Colname] = true
			}
		}
	case n.GetRenameStmt() != nil:
		rs := n.GetRenameStmt()
		old := relName(rs.Relation)
		switch rs.RenameType {
		case pg_query.ObjectType_OBJECT_TABLE:
			// Both names are valid in the window: before and after.
			src := w.table(old)
			dst := w.table(strings.SplitN(old, ".", 2)[0] + "." + rs.Newname)
			dst.anyCol = dst.anyCol || src.anyCol
			for c := range src.cols {
				dst.cols[c] = true
			}
		case pg_query.ObjectType_OBJECT_COLUMN:
			w.table(old).cols[rs.Newname] = true
		}
	case n.GetAlterObjectSchemaStmt() != nil:
		as := n.GetAlterObjectSchemaStmt()
		if as.ObjectType == pg_query.ObjectType_OBJECT_TABLE && as.Relation != nil {
			src := w.table(relName(as.Relation))
			dst := w.table(as.Newschema + "." + as.Relation.Relname)
			dst.anyCol = dst.anyCol || src.anyCol
			for c := range src.cols {
				dst.cols[c] = true
			}
		}
	case n.GetDoStmt() != nil:
		w.opaque = append(w.opaque, at+" (DO block)")
	case n.GetCallStmt() != nil:
		w.opaque = append(w.opaque, at+" (CALL)")
	}
}

// lookup finds a profile table name ("t" or "schema.t") in w.
func (w *Window) lookup(name string) *windowTable {
	if !strings.Contains(name, ".") {
		name = "public." + name
	}
	return w.tables[name]
}

// Tables lists the window's table names, public ones without "public.".
func (w *Window) Tables() []string {
	var out []string
	for n := range w.tables {
		out = append(out, strings.TrimPrefix(n, "public."))
	}
	slices.Sort(out)
	return out
}

// CheckProfile reports every profile table or column that no migration of
// w creates, with the profile's file and line: caught before PostgreSQL
// starts instead of after the base build. When w has statements the parser
// cannot see into, unknown tables are left to the seeder's check.
func (w *Window) CheckProfile(p *Profile, window string) error {
	if p == nil {
		return nil
	}
	var errs []error
	names := make([]string, 0, len(p.Tables))
	for n := range p.Tables {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		tp := p.Tables[name]
		t := w.lookup(name)
		if t == nil {
			if len(w.opaque) == 0 {
				errs = append(errs, fmt.Errorf("%s:%d: table %s: no migration of %s creates it (tables: %s); fix the name or remove the entry",
					p.File, tp.Line, name, window, strings.Join(w.Tables(), ", ")))
			}
			continue
		}
		if t.anyCol {
			continue
		}
		cols := make([]string, 0, len(tp.Columns))
		for c := range tp.Columns {
			cols = append(cols, c)
		}
		slices.Sort(cols)
		for _, c := range cols {
			if !t.cols[c] {
				errs = append(errs, fmt.Errorf("%s:%d: table %s, column %s: no migration of %s creates it; fix the name or remove the pin",
					p.File, tp.Columns[c].Line, name, c, window))
			}
		}
	}
	return errors.Join(errs...)
}
