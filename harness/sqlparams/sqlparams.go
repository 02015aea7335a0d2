// Package sqlparams reads a normalized statement (constants replaced by $n,
// as pg_stat_statements keeps them) and says which column each parameter is
// compared with or written to, so a replay can bind values from real rows.
//
// It parses with PostgreSQL's own parser (pg_query_go) and walks the JSON
// parse tree: the patterns are few (col = $1, col IN ($1, $2), INSERT ...
// VALUES ($1), SET col = $1) and a generic walk keeps them in one place.
package sqlparams

import (
	"encoding/json"
	"fmt"
	"sort"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Use says how a parameter meets its column.
type Use string

const (
	// Compare: the parameter is compared with the column (WHERE id = $1,
	// col IN ($1, $2)): a value of an existing row makes the statement hit it.
	Compare Use = "compare"
	// Insert: the parameter is the column's value in a new row.
	Insert Use = "insert"
	// Set: the parameter is the column's new value (UPDATE ... SET col = $1).
	Set Use = "set"
)

// Param is one placeholder of a statement.
type Param struct {
	Number int
	// Column is empty when the parameter meets no column (LIMIT $1, a
	// function argument, ...).
	Column string
	// Tables are the relations the column may belong to, most likely
	// first: the qualifier's relation, or every relation of the statement
	// when the column is unqualified. Names keep their schema when given.
	Tables []string
	Use    Use

	qualifier string // alias or table name before the column, resolved after the walk
}

// Statement is what a normalized statement says about its parameters.
type Statement struct {
	// Kind is the parse node of the statement: SelectStmt, InsertStmt,
	// UpdateStmt, DeleteStmt, MergeStmt, or a utility statement's node.
	Kind string
	// Relations are every relation the statement names ("schema.name" or
	// "name"), in order of first appearance.
	Relations []string
	// Params holds one entry per placeholder number, 1..Count.
	Params []Param
}

// Count is the highest placeholder number.
func (s *Statement) Count() int { return len(s.Params) }

// DML reports whether the statement reads or writes rows (not a utility
// statement such as SET, BEGIN or CREATE).
func (s *Statement) DML() bool {
	switch s.Kind {
	case "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt":
		return true
	}
	return false
}

// Analyze parses sql (one statement) and maps its placeholders.
func Analyze(sql string) (*Statement, error) {
	js, err := pg_query.ParseToJSON(sql)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var tree struct {
		Stmts []struct {
			Stmt map[string]any `json:"stmt"`
		} `json:"stmts"`
	}
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return nil, fmt.Errorf("read parse tree: %w", err)
	}
	if len(tree.Stmts) != 1 {
		return nil, fmt.Errorf("want one statement, found %d", len(tree.Stmts))
	}
	a := &analyzer{aliases: map[string]string{}, params: map[int]Param{}, relAt: map[string]int{}}
	st := &Statement{}
	for k := range tree.Stmts[0].Stmt {
		st.Kind = k
	}
	a.walk(tree.Stmts[0].Stmt)
	// The walk visits map keys in random order: order relations by where
	// they appear, and resolve qualifiers once every alias is known.
	sort.SliceStable(a.relations, func(i, j int) bool { return a.relAt[a.relations[i]] < a.relAt[a.relations[j]] })
	st.Relations = a.relations
	for n, p := range a.params {
		if p.qualifier != "" {
			if rel, ok := a.aliases[p.qualifier]; ok {
				p.Tables = []string{rel}
			} else {
				p.Tables = []string{p.qualifier}
			}
			p.qualifier = ""
			a.params[n] = p
		}
	}
	max := 0
	for n := range a.seen {
		if n > max {
			max = n
		}
	}
	for n := 1; n <= max; n++ {
		p, ok := a.params[n]
		if !ok {
			p = Param{Number: n}
		}
		if p.Column != "" && len(p.Tables) == 0 {
			p.Tables = a.relations
		}
		st.Params = append(st.Params, p)
	}
	return st, nil
}

type analyzer struct {
	relations []string
	relAt     map[string]int    // relation -> location of its first mention
	aliases   map[string]string // alias or bare name -> relation
	params    map[int]Param
	seen      map[int]bool
}

func (a *analyzer) walk(n any) {
	switch v := n.(type) {
	case []any:
		for _, x := range v {
			a.walk(x)
		}
	case map[string]any:
		for k, x := range v {
			m, _ := x.(map[string]any)
			switch k {
			case "RangeVar":
				a.rangeVar(m)
			case "ParamRef":
				if a.seen == nil {
					a.seen = map[int]bool{}
				}
				a.seen[num(m["number"])] = true
			case "A_Expr":
				a.aExpr(m)
			case "InsertStmt":
				a.insert(m)
			case "UpdateStmt":
				a.update(m)
			case "DeleteStmt", "MergeStmt":
				if rel, ok := m["relation"].(map[string]any); ok {
					a.rangeVar(rel)
				}
			}
			a.walk(x)
		}
	}
}

func (a *analyzer) rangeVar(m map[string]any) {
	name, _ := m["relname"].(string)
	if s, _ := m["schemaname"].(string); s != "" {
		name = s + "." + name
	}
	if name == "" {
		return
	}
	loc := num(m["location"])
	if at, ok := a.relAt[name]; !ok {
		a.relations = append(a.relations, name)
		a.relAt[name] = loc
	} else if loc < at {
		a.relAt[name] = loc
	}
	rel, _ := m["relname"].(string)
	a.aliases[rel] = name
	if al, ok := m["alias"].(map[string]any); ok {
		if an, _ := al["aliasname"].(string); an != "" {
			a.aliases[an] = name
		}
	}
}

// aExpr maps `col op $n`, `$n op col` and `col IN ($n, ...)`.
func (a *analyzer) aExpr(m map[string]any) {
	l, r := m["lexpr"], m["rexpr"]
	if _, ok := columnRef(r); ok {
		l, r = r, l
	}
	qual, ok := columnRef(l)
	if !ok {
		return
	}
	for _, n := range paramsIn(r) {
		a.bind(n, qual, Compare)
	}
}

func (a *analyzer) insert(m map[string]any) {
	rel := a.relName(m["relation"])
	a.rangeVar(m["relation"].(map[string]any))
	var cols []string
	for _, c := range list(m["cols"]) {
		rt, _ := c.(map[string]any)["ResTarget"].(map[string]any)
		name, _ := rt["name"].(string)
		cols = append(cols, name)
	}
	sel, _ := m["selectStmt"].(map[string]any)
	ss, _ := sel["SelectStmt"].(map[string]any)
	for _, row := range list(ss["valuesLists"]) {
		items := list(row.(map[string]any)["List"].(map[string]any)["items"])
		for i, it := range items {
			if i >= len(cols) {
				break
			}
			if n, ok := param(it); ok {
				a.set(n, Param{Number: n, Column: cols[i], Tables: []string{rel}, Use: Insert})
			}
		}
	}
}

func (a *analyzer) update(m map[string]any) {
	rel := a.relName(m["relation"])
	a.rangeVar(m["relation"].(map[string]any))
	for _, t := range list(m["targetList"]) {
		rt, _ := t.(map[string]any)["ResTarget"].(map[string]any)
		name, _ := rt["name"].(string)
		if n, ok := param(rt["val"]); ok && name != "" {
			a.set(n, Param{Number: n, Column: name, Tables: []string{rel}, Use: Set})
		}
	}
}

func (a *analyzer) relName(n any) string {
	m, _ := n.(map[string]any)
	name, _ := m["relname"].(string)
	if s, _ := m["schemaname"].(string); s != "" {
		name = s + "." + name
	}
	return name
}

// bind records a comparison; qual is [qualifier, column] or [column].
func (a *analyzer) bind(n int, qual []string, use Use) {
	p := Param{Number: n, Column: qual[len(qual)-1], Use: use}
	if len(qual) > 1 {
		p.qualifier = qual[len(qual)-2]
	}
	a.set(n, p)
}

// set keeps the first mapping of a parameter, except that a comparison
// (which picks an existing row) wins over nothing.
func (a *analyzer) set(n int, p Param) {
	if _, ok := a.params[n]; ok {
		return
	}
	a.params[n] = p
}

func columnRef(n any) ([]string, bool) {
	n = unwrapCast(n)
	m, _ := n.(map[string]any)
	cr, ok := m["ColumnRef"].(map[string]any)
	if !ok {
		return nil, false
	}
	var parts []string
	for _, f := range list(cr["fields"]) {
		s, _ := f.(map[string]any)["String"].(map[string]any)
		v, _ := s["sval"].(string)
		if v == "" {
			return nil, false // A_Star
		}
		parts = append(parts, v)
	}
	return parts, len(parts) > 0
}

// paramsIn returns the placeholders of $n, ($n, $m) and ARRAY[$n, ...].
func paramsIn(n any) []int {
	if p, ok := param(n); ok {
		return []int{p}
	}
	m, _ := n.(map[string]any)
	var items []any
	if l, ok := m["List"].(map[string]any); ok {
		items = list(l["items"])
	} else if arr, ok := m["A_ArrayExpr"].(map[string]any); ok {
		items = list(arr["elements"])
	}
	var out []int
	for _, it := range items {
		if p, ok := param(it); ok {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}

func param(n any) (int, bool) {
	n = unwrapCast(n)
	m, _ := n.(map[string]any)
	pr, ok := m["ParamRef"].(map[string]any)
	if !ok {
		return 0, false
	}
	return num(pr["number"]), true
}

func unwrapCast(n any) any {
	for {
		m, _ := n.(map[string]any)
		tc, ok := m["TypeCast"].(map[string]any)
		if !ok {
			return n
		}
		n = tc["arg"]
	}
}

func list(n any) []any {
	l, _ := n.([]any)
	return l
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}
