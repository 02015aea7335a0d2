package migrate

import (
	"slices"
	"sort"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Tables lists the relations a statement names (schema.name, public when
// unqualified), in the order they appear, each once, without the one it
// creates (CREATE TABLE/VIEW/SEQUENCE, CREATE TABLE AS). A statement the parser
// cannot read, or one that names no relation (CREATE EXTENSION, a DO block,
// a function call), has none. Chaos uses it to find a table to lock that
// holds a migration back at a chosen statement.
func (st Statement) Tables() []string {
	tree, err := pg_query.Parse(st.SQL)
	if err != nil {
		return nil
	}
	var out []string
	add := func(name string) {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, raw := range tree.Stmts {
		// DROP TABLE names its tables as name lists, not RangeVars.
		if d := raw.Stmt.GetDropStmt(); d != nil && slices.Contains(droppedRelations, d.RemoveType) {
			for _, o := range d.Objects {
				var parts []string
				for _, it := range o.GetList().GetItems() {
					parts = append(parts, it.GetString_().GetSval())
				}
				switch len(parts) {
				case 1:
					add("public." + parts[0])
				case 2:
					add(parts[0] + "." + parts[1])
				}
			}
			continue
		}
		created := createdRelation(raw.Stmt)
		var rvs []*pg_query.RangeVar
		walk(raw.ProtoReflect(), func(m protoreflect.Message) {
			if rv, ok := m.Interface().(*pg_query.RangeVar); ok && rv.Relname != "" && rv != created {
				rvs = append(rvs, rv)
			}
		})
		// In the order they are written (the tree's order is the fields').
		sort.SliceStable(rvs, func(i, j int) bool { return rvs[i].Location < rvs[j].Location })
		for _, rv := range rvs {
			add(relName(rv))
		}
	}
	return out
}

var droppedRelations = []pg_query.ObjectType{pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW, pg_query.ObjectType_OBJECT_SEQUENCE, pg_query.ObjectType_OBJECT_FOREIGN_TABLE}

// Creates is the relation the statement creates (CREATE TABLE/VIEW/
// SEQUENCE, CREATE TABLE AS), "" when none.
func (st Statement) Creates() string {
	tree, err := pg_query.Parse(st.SQL)
	if err != nil {
		return ""
	}
	for _, raw := range tree.Stmts {
		if rv := createdRelation(raw.Stmt); rv != nil {
			return relName(rv)
		}
	}
	return ""
}

// createdRelation is the relation a CREATE statement makes (nil otherwise).
func createdRelation(n *pg_query.Node) *pg_query.RangeVar {
	switch {
	case n.GetCreateStmt() != nil:
		return n.GetCreateStmt().Relation
	case n.GetCreateTableAsStmt() != nil && n.GetCreateTableAsStmt().Into != nil:
		return n.GetCreateTableAsStmt().Into.Rel
	case n.GetViewStmt() != nil:
		return n.GetViewStmt().View
	case n.GetCreateSeqStmt() != nil:
		return n.GetCreateSeqStmt().Sequence
	}
	return nil
}
