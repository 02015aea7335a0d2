package migrate

import (
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Cast is a column a statement casts to another type (ALTER COLUMN ... TYPE
// x [USING col::x], or col::x in an UPDATE): the column's values must be in
// that type's domain.
type Cast struct {
	Table  string // schema.table as written (public when unqualified)
	Column string
	Type   string // the target type's last name: jsonb, int4, uuid, an enum's name
	File   string
	Line   int
}

// DataStatement is an UPDATE or DELETE with a WHERE clause.
type DataStatement struct {
	Kind  string // "UPDATE" or "DELETE"
	Table string
	File  string
	Line  int
	// Count is a SELECT count(*) of the rows the WHERE selects, to tell
	// whether the statement meets any data.
	Count string
	// Rows are row patterns the WHERE selects (column -> value, nil for
	// NULL), one per OR branch, from simple predicates (=, IN, IS NULL,
	// <, >, <=, >=, AND); empty when the WHERE is not that simple.
	Rows []map[string]*string
}

// Analyze finds the casts and the data statements of a script with the
// PostgreSQL parser. Statements it cannot parse are skipped (Load already
// reported syntax errors).
func Analyze(s *Script) (casts []Cast, dml []DataStatement) {
	if s == nil {
		return nil, nil
	}
	for _, st := range s.Statements {
		tree, err := pg_query.Parse(st.SQL)
		if err != nil {
			continue
		}
		for _, raw := range tree.Stmts {
			switch n := raw.Stmt.Node.(type) {
			case *pg_query.Node_AlterTableStmt:
				table := relName(n.AlterTableStmt.Relation)
				for _, c := range n.AlterTableStmt.Cmds {
					cmd := c.GetAlterTableCmd()
					if cmd == nil || cmd.Subtype != pg_query.AlterTableType_AT_AlterColumnType {
						continue
					}
					def := cmd.Def.GetColumnDef()
					if def == nil {
						continue
					}
					// Without USING the values themselves must convert; a USING
					// declares the domain only where it casts the column
					// (USING to_jsonb(c) takes any text).
					if typ := typeName(def.TypeName); typ != "" && def.RawDefault == nil {
						casts = append(casts, Cast{Table: table, Column: cmd.Name, Type: typ, File: s.File, Line: st.Line})
					}
					casts = append(casts, columnCasts(def.RawDefault, table, s.File, st.Line)...)
				}
			case *pg_query.Node_UpdateStmt:
				u := n.UpdateStmt
				table := relName(u.Relation)
				for _, t := range u.TargetList {
					casts = append(casts, columnCasts(t, table, s.File, st.Line)...)
				}
				if u.WhereClause != nil {
					from := append([]*pg_query.Node{rangeVar(u.Relation)}, u.FromClause...)
					dml = append(dml, dataStatement(tree.Version, "UPDATE", table, s.File, st.Line, from, u.WhereClause))
				}
			case *pg_query.Node_DeleteStmt:
				d := n.DeleteStmt
				if d.WhereClause != nil {
					from := append([]*pg_query.Node{rangeVar(d.Relation)}, d.UsingClause...)
					dml = append(dml, dataStatement(tree.Version, "DELETE", relName(d.Relation), s.File, st.Line, from, d.WhereClause))
				}
			}
		}
	}
	return casts, dml
}

func relName(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	schema := rv.Schemaname
	if schema == "" {
		schema = "public"
	}
	return schema + "." + rv.Relname
}

func rangeVar(rv *pg_query.RangeVar) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_RangeVar{RangeVar: rv}}
}

func typeName(tn *pg_query.TypeName) string {
	if tn == nil || len(tn.Names) == 0 {
		return ""
	}
	return tn.Names[len(tn.Names)-1].GetString_().GetSval()
}

// columnCasts finds col::type (a cast of a bare column) anywhere in n.
func columnCasts(n *pg_query.Node, table, file string, line int) []Cast {
	if n == nil {
		return nil
	}
	var out []Cast
	walk(n.ProtoReflect(), func(m protoreflect.Message) {
		tc, ok := m.Interface().(*pg_query.TypeCast)
		if !ok {
			return
		}
		if col := columnName(tc.Arg); col != "" {
			if typ := typeName(tc.TypeName); typ != "" {
				out = append(out, Cast{Table: table, Column: col, Type: typ, File: file, Line: line})
			}
		}
	})
	return out
}

func walk(m protoreflect.Message, fn func(protoreflect.Message)) {
	fn(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() || fd.Message() == nil:
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message(), fn)
			}
		default:
			walk(v.Message(), fn)
		}
		return true
	})
}

// columnName is the column a bare ColumnRef names ("" otherwise).
func columnName(n *pg_query.Node) string {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) == 0 {
		return ""
	}
	return cr.Fields[len(cr.Fields)-1].GetString_().GetSval()
}

func dataStatement(version int32, kind, table, file string, line int, from []*pg_query.Node, where *pg_query.Node) DataStatement {
	ds := DataStatement{Kind: kind, Table: table, File: file, Line: line, Rows: patterns(where)}
	count := &pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: &pg_query.FuncCall{
		Funcname: []*pg_query.Node{pg_query.MakeStrNode("count")}, AggStar: true}}}
	sel := &pg_query.SelectStmt{
		TargetList:  []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(count, 0)},
		FromClause:  from,
		WhereClause: where,
	}
	tree := &pg_query.ParseResult{Version: version, Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}}}}}
	if sql, err := pg_query.Deparse(tree); err == nil {
		ds.Count = sql
	}
	return ds
}

// patterns turns a simple WHERE into the rows it selects; nil when it is
// not simple enough.
func patterns(n *pg_query.Node) []map[string]*string {
	if be := n.GetBoolExpr(); be != nil {
		switch be.Boolop {
		case pg_query.BoolExprType_OR_EXPR:
			var out []map[string]*string
			for _, a := range be.Args {
				out = append(out, patterns(a)...)
			}
			return out
		case pg_query.BoolExprType_AND_EXPR:
			out := []map[string]*string{{}}
			for _, a := range be.Args {
				sub := patterns(a)
				if len(sub) == 0 {
					continue // a predicate we cannot satisfy by hand: the others still help
				}
				var next []map[string]*string
				for _, p := range out {
					for _, s := range sub {
						m := map[string]*string{}
						for k, v := range p {
							m[k] = v
						}
						for k, v := range s {
							m[k] = v
						}
						next = append(next, m)
					}
				}
				if len(next) > 16 {
					next = next[:16]
				}
				out = next
			}
			if len(out) == 1 && len(out[0]) == 0 {
				return nil
			}
			return out
		}
		return nil
	}
	if nt := n.GetNullTest(); nt != nil {
		if col := columnName(nt.Arg); col != "" && nt.Nulltesttype == pg_query.NullTestType_IS_NULL {
			return []map[string]*string{{col: nil}}
		}
		return nil
	}
	ae := n.GetAExpr()
	if ae == nil {
		return nil
	}
	col := columnName(ae.Lexpr)
	if col == "" {
		return nil
	}
	var op string
	if len(ae.Name) > 0 {
		op = ae.Name[0].GetString_().GetSval()
	}
	switch ae.Kind {
	case pg_query.A_Expr_Kind_AEXPR_IN:
		if op != "=" {
			return nil
		}
		var out []map[string]*string
		for _, item := range ae.Rexpr.GetList().GetItems() {
			if v, ok := constText(item); ok {
				out = append(out, map[string]*string{col: &v})
			}
		}
		return out
	case pg_query.A_Expr_Kind_AEXPR_OP:
		v, ok := constText(ae.Rexpr)
		if !ok {
			return nil
		}
		switch op {
		case "=", "<=", ">=":
		case "<", ">":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil
			}
			if op == "<" {
				n--
			} else {
				n++
			}
			v = strconv.FormatInt(n, 10)
		default:
			return nil
		}
		return []map[string]*string{{col: &v}}
	}
	return nil
}

// constText is the text of a constant, through casts ('x'::text).
func constText(n *pg_query.Node) (string, bool) {
	if tc := n.GetTypeCast(); tc != nil {
		return constText(tc.Arg)
	}
	c := n.GetAConst()
	if c == nil || c.Isnull {
		return "", false
	}
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Sval:
		return v.Sval.Sval, true
	case *pg_query.A_Const_Ival:
		return strconv.FormatInt(int64(v.Ival.Ival), 10), true
	case *pg_query.A_Const_Fval:
		return v.Fval.Fval, true
	case *pg_query.A_Const_Boolval:
		return strconv.FormatBool(v.Boolval.Boolval), true
	}
	return "", false
}

// String says where the statement is, for notes.
func (d DataStatement) String() string {
	return fmt.Sprintf("%s:%d (%s %s)", d.File, d.Line, d.Kind, strings.TrimPrefix(d.Table, "public."))
}

// Backfill is a column an UPDATE sets to a constant on every row (no
// WHERE) or on every row where it is NULL: afterwards no row holds NULL
// there. Undone marks the opposite, a later statement that may put NULLs
// back (an UPDATE setting it to NULL, the column dropped).
type Backfill struct {
	Table, Column string
	File          string
	Line          int
	Undone        bool
}

// Backfills finds, in order, the statements of s that leave a column
// without NULLs, and those that undo that.
func Backfills(s *Script) []Backfill {
	if s == nil {
		return nil
	}
	var out []Backfill
	for _, st := range s.Statements {
		tree, err := pg_query.Parse(st.SQL)
		if err != nil {
			continue
		}
		for _, raw := range tree.Stmts {
			if at := raw.Stmt.GetAlterTableStmt(); at != nil {
				for _, c := range at.Cmds {
					if cmd := c.GetAlterTableCmd(); cmd != nil && cmd.Subtype == pg_query.AlterTableType_AT_DropColumn {
						out = append(out, Backfill{Table: relName(at.Relation), Column: cmd.Name, File: s.File, Line: st.Line, Undone: true})
					}
				}
				continue
			}
			u := raw.Stmt.GetUpdateStmt()
			if u == nil {
				continue
			}
			for _, t := range u.TargetList {
				if rt := t.GetResTarget(); rt != nil && rt.Name != "" {
					if c := rt.Val.GetAConst(); c != nil && c.Isnull {
						out = append(out, Backfill{Table: relName(u.Relation), Column: rt.Name, File: s.File, Line: st.Line, Undone: true})
					}
				}
			}
			if len(u.FromClause) > 0 {
				continue
			}
			nullOnly := ""
			if u.WhereClause != nil {
				nt := u.WhereClause.GetNullTest()
				if nt == nil || nt.Nulltesttype != pg_query.NullTestType_IS_NULL || columnName(nt.Arg) == "" {
					continue
				}
				nullOnly = columnName(nt.Arg)
			}
			for _, t := range u.TargetList {
				rt := t.GetResTarget()
				if rt == nil || rt.Name == "" || (nullOnly != "" && rt.Name != nullOnly) {
					continue
				}
				if _, ok := constText(rt.Val); ok {
					out = append(out, Backfill{Table: relName(u.Relation), Column: rt.Name, File: s.File, Line: st.Line})
				}
			}
		}
	}
	return out
}
