package migrate

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// WritesData reports whether the script has a statement that writes rows
// (INSERT, UPDATE, DELETE, MERGE, COPY FROM, or a WITH holding one): a data
// migration, even when the rows it would touch are absent and it changed
// nothing measurable. Statements the parser refuses count as not writing.
func (s *Script) WritesData() bool {
	if s == nil {
		return false
	}
	for _, st := range s.Statements {
		tree, err := pg_query.Parse(st.SQL)
		if err != nil {
			continue
		}
		for _, raw := range tree.Stmts {
			if writes(raw.Stmt) {
				return true
			}
		}
	}
	return false
}

func writes(n *pg_query.Node) bool {
	if n == nil {
		return false
	}
	switch {
	case n.GetInsertStmt() != nil, n.GetUpdateStmt() != nil, n.GetDeleteStmt() != nil, n.GetMergeStmt() != nil:
		return true
	case n.GetCopyStmt() != nil:
		return n.GetCopyStmt().IsFrom
	case n.GetSelectStmt() != nil:
		if w := n.GetSelectStmt().WithClause; w != nil {
			for _, cte := range w.Ctes {
				if c := cte.GetCommonTableExpr(); c != nil && writes(c.Ctequery) {
					return true
				}
			}
		}
	}
	return false
}
