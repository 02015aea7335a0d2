package seed

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/schema"
)

// colPlan is how one column of a table is filled.
type colPlan struct {
	col      *schema.Column
	i        int // position in the generated row
	class    class
	baseType string
	length   int
	labels   []string // enum labels
	nullable bool
	// constDefault is the column's default when it is a constant, written in
	// some rows ("default sometimes used"). Non-constant defaults (now())
	// are never left to the server: the data would differ between runs.
	constDefault *string
	rule         *colRule
	gen          func(g *tableGen, c *colPlan) string
	genName      string
	sqlValues    []string // values of a profile `sql:` pin, one per row
	sqlExpr      string
	fk           *fkPlan
	inUnique     bool
	seqPK        bool   // integer primary key without default: 1, 2, 3, ...
	seqStart     int64  // first value of seqPK
	sequence     string // serial column: its sequence, set past the rows after COPY
	nullRate     float64
	future       *futureShape
	recent       []string // earlier values, for the "duplicate" shape
}

// futureShape is what N+1 will later enforce on a column; N-era data is
// written as if it did not know, with the variety real data has.
type futureShape struct {
	notNull bool
	unique  bool
	fk      bool
	checks  []*check
	rules   []*colRule
}

type fkPlan struct {
	con      *schema.Constraint
	parent   string
	cols     []*colPlan
	refCols  []string
	nullable bool
	deferred bool // cycle or self-reference: NULL at COPY, UPDATE afterwards
	oneToOne bool // the FK columns are a unique key: each parent used once
	uniform  bool // the FK columns are part of a unique key: no skew
	keys     keySet
	perm     []int32      // one-to-one, up to permCap parents
	walk     *feistelPerm // one-to-one, past permCap parents
	permPos  int
	zipf     *zipf
}

// pickFrom sets the keys fk picks from and forgets its picks so far.
func (fk *fkPlan) pickFrom(keys keySet) {
	fk.keys, fk.perm, fk.walk, fk.permPos, fk.zipf = keys, nil, nil, 0, nil
}

type uniquePlan struct {
	name string
	cols []*colPlan
	fold bool // expression index over lower()/upper(): compare case-folded
	seen uniqueSet
}

type tablePlan struct {
	t        *schema.Table
	name     string
	cols     []*colPlan // the columns COPY writes, in order
	byName   map[string]*colPlan
	checks   []*check
	opaque   []*check
	pairs    []pairRule
	soft     []softPair
	fks      []*fkPlan
	uniques  []*uniquePlan
	rows     int
	skip     string
	parents  []string // tables that must be loaded first
	deferred []*fkPlan
	// Set by Next: the step whose rows are recorded as N+1-era, the shapes
	// of those rows, and the columns the step added (for the UPDATE).
	record   string
	shapes   []shape
	nameKind string // what a "name" column holds here, decided once
	// exports are the key columns other tables reference: their values are
	// kept as rows are generated, so children need not read them back.
	exports  []*exportKeys
	wasEmpty bool
	// textCopy: a value did not fit binary COPY, the rows go in as text.
	textCopy bool
	// hasTriggers: the table has user triggers, so COPY keeps all triggers on.
	hasTriggers bool
	updateCols  []string
	// patterns are rows an UPDATE/DELETE ... WHERE of the window selects
	// (see Hints); a share of the rows is made to match one.
	patterns []map[string]*string
	// overlapFKs are foreign keys sharing columns with a wider one in fks:
	// not used to pick values, only verified.
	overlapFKs []*fkPlan
}

type exportKeys struct {
	id   string // as in run.keys: "schema.table(col,...)"
	cps  []*colPlan
	keys keyCollector // the keys generated so far
}

// planExports registers, on each parent plan, the key columns its children
// reference.
func planExports(plans map[string]*tablePlan) {
	for _, p := range plans {
		for _, fk := range p.fks {
			parent := plans[fk.parent]
			if fk.deferred || parent == nil {
				continue
			}
			id := keyID(fk.parent, fk.refCols)
			if slices.ContainsFunc(parent.exports, func(e *exportKeys) bool { return e.id == id }) {
				continue
			}
			e := &exportKeys{id: id, keys: newKeyCollector(id, len(fk.refCols))}
			for _, c := range fk.refCols {
				if cp := parent.byName[c]; cp != nil {
					e.cps = append(e.cps, cp)
				}
			}
			if len(e.cps) == len(fk.refCols) {
				parent.exports = append(parent.exports, e)
			}
		}
	}
}

func keyID(table string, cols []string) string { return table + "(" + strings.Join(cols, ",") + ")" }

type softPair struct {
	a, b     *colPlan
	min, max int64 // nanoseconds
}

var constDefault = regexp.MustCompile(`^(?:'((?:[^']|'')*)'(?:::[a-z ]+(?:\(\d+(?:,\d+)?\))?)?|(-?\d+(?:\.\d+)?)(?:::[a-z ]+)?|\((-?\d+(?:\.\d+)?)\)(?:::[a-z ]+)?|(true|false))$`)

func parseConstDefault(def string) (string, bool) {
	m := constDefault.FindStringSubmatch(strings.TrimSpace(def))
	if m == nil {
		return "", false
	}
	switch {
	case m[1] != "" || strings.HasPrefix(def, "''"):
		return strings.ReplaceAll(m[1], "''", "'"), true
	case m[2] != "":
		return m[2], true
	case m[3] != "":
		return m[3], true
	case m[4] != "":
		return m[4][:1], true
	}
	return "", false
}

// intDefault returns the constant default as the column's text input: an
// integer column may declare DEFAULT 0.0, which the server casts on
// INSERT but COPY's text input refuses; nil when it is not integral.
func intDefault(cl class, v string) *string {
	if cl != cInt || !strings.ContainsAny(v, ".eE") {
		return &v
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return nil
	}
	s := strconv.FormatInt(int64(f), 10)
	return &s
}

var mostlyNull = regexp.MustCompile(`deleted_at|archived_at|revoked_at|parent`)

var typeLength = regexp.MustCompile(`^(?:character varying|varchar|character|char|bit|bit varying)\((\d+)\)`)
var typePrecision = regexp.MustCompile(`^numeric\((\d+)(?:,(\d+))?\)`)

// skipColumn says why COPY leaves a column to the server, "" when it is written.
func skipColumn(c *schema.Column) string {
	switch {
	case c.Identity != "":
		return "identity"
	case c.Generated != "":
		return "generated"
	case strings.Contains(c.Default, "nextval(") && (serialSequence(c) == "" || c.IsArray || classOf(c.BaseType, false) != cInt):
		return "serial"
	}
	return ""
}

var nextvalRe = regexp.MustCompile(`^nextval\('((?:[^']|'')+)'::regclass\)$`)

// serialSequence is the sequence of a serial column's default, "" if the
// default is anything else. Serial columns are written 1, 2, 3, ... (after
// the existing rows) and their sequence is set past them afterwards, as
// pg_restore leaves it: nextval() per row costs more than the rest of
// the row's insert.
func serialSequence(c *schema.Column) string {
	m := nextvalRe.FindStringSubmatch(c.Default)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "''", "'")
}

// planTable builds how t is filled from snap (N's catalog), the profile and
// future (what N+1 will enforce, may be nil).
func (s *seeder) planTable(snap *schema.Snapshot, t *schema.Table, future *schema.Table) (*tablePlan, error) {
	p := &tablePlan{t: t, name: t.QualifiedName(), byName: map[string]*colPlan{}, rows: s.rowsFor(t)}
	tp := s.profileTable(t)
	rules := map[string]*colRule{}
	for _, c := range t.Columns {
		if skipColumn(c) != "" {
			continue
		}
		cp := &colPlan{col: c, i: len(p.cols), baseType: c.BaseType, length: c.Length, nullable: !c.NotNull}
		if c.Enum != "" {
			if e := snap.Enums[c.Enum]; e != nil {
				cp.labels = e.Labels
			}
		}
		cp.class = classOf(c.BaseType, c.Enum != "" || c.TypeCategory == "E")
		if cp.class == cEnum && len(cp.labels) == 0 {
			cp.class = cUnknown
		}
		if c.Domain != "" {
			if d := snap.Domains[c.Domain]; d != nil {
				if d.NotNull {
					cp.nullable = false
				}
				if cp.length <= 0 {
					if m := typeLength.FindStringSubmatch(d.BaseType); m != nil {
						cp.length, _ = strconv.Atoi(m[1])
					}
				}
				if c.Precision <= 0 {
					if m := typePrecision.FindStringSubmatch(d.BaseType); m != nil {
						c2 := *c
						c2.Precision, _ = strconv.Atoi(m[1])
						c2.Scale, _ = strconv.Atoi(m[2])
						cp.col = &c2
					}
				}
				for i, def := range d.Checks {
					p.addCheck(fmt.Sprintf("%s check %d", d.Name, i+1), def, c.Name, rules)
				}
			}
		}
		if c.Default != "" {
			if v, ok := parseConstDefault(c.Default); ok {
				cp.constDefault = intDefault(cp.class, v)
			}
		}
		if seq := serialSequence(c); seq != "" {
			cp.sequence, cp.seqPK = seq, true
		}
		if cp.class == cUnknown {
			switch {
			case c.Default != "":
				continue // the server's default fills it
			case cp.nullable:
			default:
				p.skip = fmt.Sprintf("column %s has type %s, which the seeder cannot generate, is NOT NULL and has no default: pin it with `sql:` in a profile", c.Name, c.Type)
			}
		}
		if pin := tp.pin(c.Name); pin != nil {
			if err := cp.applyPin(pin); err != nil {
				return nil, err
			}
			cp.seqPK = false // the pin decides; the sequence is still advanced
		} else if r := s.profileRule(cp); r != nil {
			cp.gen, cp.genName = r.gen, r.faker
		} else if r := findNameRule(nameRules, cp); r != nil {
			cp.gen, cp.genName = r.gen, r.faker
		} else {
			cp.gen, cp.genName = typeValue, "by type"
		}
		cp.nullRate = s.opts.WeirdRate / 2
		if mostlyNull.MatchString(c.Name) {
			cp.nullRate = 0.7
		}
		p.cols = append(p.cols, cp)
		p.byName[c.Name] = cp
	}
	for _, con := range t.Constraints {
		if con.Type == "c" {
			p.addCheck(con.Name, con.Def, "", rules)
		}
	}
	partChecks, keyCol, spans := partitionChecks(snap, t)
	for i, def := range partChecks {
		p.addCheck(fmt.Sprintf("partition bounds %d", i+1), def, "", rules)
	}
	if cp := p.byName[keyCol]; cp != nil && cp.genName != pinnedName && cp.sqlValues == nil {
		if gen := partitionKeyGen(cp.class, spans); gen != nil {
			cp.gen, cp.genName = gen, "partition bounds"
		}
	}
	for _, ck := range p.checks {
		p.bindColumns(ck.expr)
		ck.fn = compileCheck(ck.expr, p)
	}
	for name, r := range rules {
		if cp := p.byName[name]; cp != nil {
			cp.rule = r
			r.allowed = r.allowedChoices()
			if r.notNull {
				cp.nullable = false
			}
		}
	}
	for _, tr := range snap.Triggers {
		if tr.Table == p.name {
			p.hasTriggers = true
		}
	}
	p.planUniques()
	p.planForeignKeys(snap)
	p.planPairs()
	if future != nil {
		p.planFuture(t, future)
	}
	return p, nil
}

func (p *tablePlan) addCheck(name, def, self string, rules map[string]*colRule) {
	expr, err := parseCheckDef(def)
	ck := &check{name: name, def: def}
	if err != nil {
		ck.opaque = true
		p.opaque = append(p.opaque, ck)
		return
	}
	if self != "" {
		renameCol(expr, "value", self)
	}
	ck.expr = expr
	cols := map[string]bool{}
	expr.columns(cols)
	for c := range cols {
		ck.cols = append(ck.cols, c)
	}
	sort.Strings(ck.cols)
	analyze(expr, rules, &p.pairs)
	if !evaluable(expr) {
		if self != "" {
			// A domain CHECK cannot be filtered with INSERT ... SELECT (it
			// refers to VALUE); the solved forms above are all we have.
			return
		}
		ck.opaque = true
		p.opaque = append(p.opaque, ck)
		return
	}
	p.checks = append(p.checks, ck)
}

// bindColumns records in each column reference of n its index in p, so the
// generator's CHECKs read the row without a lookup by name.
func (p *tablePlan) bindColumns(n *node) {
	if n.op == "col" {
		if cp := p.byName[n.name]; cp != nil {
			n.slot = cp.i + 1
		}
	}
	for _, a := range n.args {
		p.bindColumns(a)
	}
}

func renameCol(n *node, from, to string) {
	if n.op == "col" && n.name == from {
		n.name = to
	}
	for _, a := range n.args {
		renameCol(a, from, to)
	}
}

var identRe = regexp.MustCompile(`"((?:[^"]|"")+)"|[a-z_][a-z0-9_$]*`)

// indexColumns returns the columns an index's key refers to, expressions
// included, read from its definition.
func indexColumns(ix *schema.Index, byName map[string]*colPlan) ([]string, bool) {
	if !slices.Contains(ix.Columns, "") && len(ix.Columns) > 0 {
		return ix.Columns, false
	}
	def := ix.Def
	start := strings.Index(def, " USING ")
	if start < 0 {
		return nil, false
	}
	body := def[start:]
	if open := strings.Index(body, "("); open >= 0 {
		body = body[open:]
	}
	if w := strings.Index(body, " WHERE "); w >= 0 {
		body = body[:w]
	}
	var cols []string
	for _, m := range identRe.FindAllStringSubmatch(body, -1) {
		name := m[0]
		if m[1] != "" {
			name = strings.ReplaceAll(m[1], `""`, `"`)
		}
		if byName[name] != nil && !slices.Contains(cols, name) {
			cols = append(cols, name)
		}
	}
	return cols, strings.Contains(body, "lower(") || strings.Contains(body, "upper(")
}

func (p *tablePlan) planUniques() {
	seen := map[string]bool{}
	add := func(name string, cols []string, fold bool) {
		var cps []*colPlan
		for _, c := range cols {
			cp := p.byName[c]
			if cp == nil || cp.seqPK {
				// An identity/generated column, or a serial one written
				// 1, 2, 3, ..., makes the key unique by itself.
				return
			}
			cps = append(cps, cp)
		}
		if len(cps) == 0 {
			return
		}
		key := strings.Join(cols, ",") + fmt.Sprint(fold)
		if seen[key] {
			return
		}
		seen[key] = true
		for _, cp := range cps {
			cp.inUnique = true
		}
		p.uniques = append(p.uniques, &uniquePlan{name: name, cols: cps, fold: fold, seen: newUniqueSet()})
	}
	for _, con := range p.t.Constraints {
		if con.Type == "p" || con.Type == "u" {
			add(con.Name, con.Columns, false)
		}
	}
	for _, ix := range p.t.Indexes {
		if ix.Unique {
			cols, fold := indexColumns(ix, p.byName)
			add(ix.Name, cols, fold)
		}
	}
	// An integer primary key without a default gets 1, 2, 3, ...
	for _, con := range p.t.Constraints {
		if con.Type == "p" && len(con.Columns) == 1 {
			if cp := p.byName[con.Columns[0]]; cp != nil && cp.class == cInt && (cp.col.Default == "" || cp.sequence != "") && !cp.col.IsArray && cp.sqlExpr == "" && cp.genName != pinnedName {
				cp.seqPK = true
			}
		}
	}
}

func (p *tablePlan) planForeignKeys(snap *schema.Snapshot) {
	// Composite keys first: where a composite FK overlaps a single-column
	// one, the composite decides the shared columns (its parent's rows
	// usually satisfy the single FK too, e.g. (tenant_id, x) -> parent whose
	// tenant_id -> tenants), and the single one is left out.
	cons := slices.Clone(p.t.Constraints)
	sort.SliceStable(cons, func(i, j int) bool { return len(cons[i].Columns) > len(cons[j].Columns) })
	for _, con := range cons {
		if con.Type != "f" || snap.Tables[con.RefTable] == nil {
			continue
		}
		fk := &fkPlan{con: con, parent: con.RefTable, refCols: con.RefColumns, nullable: true}
		for _, c := range con.Columns {
			cp := p.byName[c]
			if cp == nil {
				fk = nil
				break
			}
			if cp.fk != nil {
				// Overlapping FKs: the first (widest) one decides; the
				// other is only verified after the load.
				over := &fkPlan{con: con, parent: con.RefTable, refCols: con.RefColumns}
				for _, c := range con.Columns {
					over.cols = append(over.cols, p.byName[c])
				}
				if !slices.Contains(over.cols, nil) {
					p.overlapFKs = append(p.overlapFKs, over)
				}
				fk = nil
				break
			}
			fk.cols = append(fk.cols, cp)
			if !cp.nullable {
				fk.nullable = false
			}
		}
		if fk == nil {
			continue
		}
		for _, cp := range fk.cols {
			cp.fk = fk
			cp.seqPK = false
		}
		for _, u := range p.uniques {
			if sameCols(u.cols, fk.cols) {
				fk.oneToOne = true
			}
			if containsCols(u.cols, fk.cols) {
				fk.uniform = true
			}
		}
		p.fks = append(p.fks, fk)
	}
}

func sameCols(a, b []*colPlan) bool {
	return len(a) == len(b) && containsCols(a, b)
}

func containsCols(set, sub []*colPlan) bool {
	for _, c := range sub {
		if !slices.Contains(set, c) {
			return false
		}
	}
	return true
}

func (p *tablePlan) planPairs() {
	for _, pr := range pairRules {
		a, b := p.byName[pr.first], p.byName[pr.second]
		if a == nil || b == nil || !a.class.temporal() || !b.class.temporal() || a.fk != nil || b.fk != nil || b.sqlExpr != "" {
			continue
		}
		p.soft = append(p.soft, softPair{a: a, b: b, min: int64(pr.min), max: int64(pr.max)})
	}
}

// planFuture marks the columns that N+1 will constrain (found by diffing t
// against its future self) so their N-era values are not pre-cleaned.
func (p *tablePlan) planFuture(t, future *schema.Table) {
	shape := func(cp *colPlan) *futureShape {
		if cp.future == nil {
			cp.future = &futureShape{}
		}
		return cp.future
	}
	for _, fc := range future.Columns {
		var now *schema.Column
		for _, c := range t.Columns {
			if c.Attnum == fc.Attnum {
				now = c
			}
		}
		if now == nil {
			continue
		}
		if cp := p.byName[now.Name]; cp != nil && fc.NotNull && !now.NotNull && cp.nullable {
			shape(cp).notNull = true
		}
	}
	// future's column names may differ (renames); map them back by attnum.
	nameNow := map[string]string{}
	for _, fc := range future.Columns {
		for _, c := range t.Columns {
			if c.Attnum == fc.Attnum {
				nameNow[fc.Name] = c.Name
			}
		}
	}
	existing := map[string]bool{}
	for _, con := range t.Constraints {
		existing[con.Type+":"+con.Def] = true
		existing[con.Type+":"+con.Name] = true
	}
	for _, ix := range t.Indexes {
		existing["i:"+ix.Name] = true
	}
	for _, con := range future.Constraints {
		if existing[con.Type+":"+con.Def] || existing[con.Type+":"+con.Name] {
			continue
		}
		switch con.Type {
		case "u", "p":
			for _, c := range con.Columns {
				if cp := p.byName[nameNow[c]]; cp != nil && !cp.inUnique {
					shape(cp).unique = true
				}
			}
		case "f":
			for _, c := range con.Columns {
				if cp := p.byName[nameNow[c]]; cp != nil && cp.fk == nil {
					shape(cp).fk = true
				}
			}
		case "c":
			expr, err := parseCheckDef(con.Def)
			if err != nil {
				continue
			}
			for fut, now := range nameNow {
				if fut != now {
					renameCol(expr, fut, now)
				}
			}
			ck := &check{name: con.Name, def: con.Def, expr: expr}
			rules := map[string]*colRule{}
			var pairs []pairRule
			analyze(expr, rules, &pairs)
			cols := map[string]bool{}
			expr.columns(cols)
			for c := range cols {
				if cp := p.byName[c]; cp != nil && cp.fk == nil {
					sh := shape(cp)
					sh.checks = append(sh.checks, ck)
					r := rules[c]
					if r == nil {
						r = newColRule()
					}
					sh.rules = append(sh.rules, r)
				}
			}
		}
	}
	for _, ix := range future.Indexes {
		if !ix.Unique || existing["i:"+ix.Name] {
			continue
		}
		for _, c := range ix.Columns {
			if cp := p.byName[nameNow[c]]; cp != nil && !cp.inUnique {
				shape(cp).unique = true
			}
		}
	}
}

// order sorts plans so every table comes after the tables it references,
// deferring foreign keys that close a cycle (nullable ones: NULL, then
// UPDATE). Tables on a cycle of NOT NULL keys are skipped with the reason.
func order(plans map[string]*tablePlan) []*tablePlan {
	names := make([]string, 0, len(plans))
	for n := range plans {
		names = append(names, n)
	}
	sort.Strings(names)
	// Self-references are always deferred.
	for _, n := range names {
		p := plans[n]
		for _, fk := range p.fks {
			if fk.parent == p.name {
				p.deferFK(fk)
			}
		}
	}
	for _, scc := range stronglyConnected(names, plans) {
		if len(scc) < 2 {
			continue
		}
		in := map[string]bool{}
		for _, n := range scc {
			in[n] = true
		}
		for _, n := range scc {
			p := plans[n]
			for _, fk := range p.fks {
				if in[fk.parent] && fk.nullable && !fk.deferred {
					p.deferFK(fk)
				}
			}
		}
	}
	for _, n := range names {
		p := plans[n]
		p.parents = nil
		for _, fk := range p.fks {
			if !fk.deferred && fk.parent != p.name && !slices.Contains(p.parents, fk.parent) {
				p.parents = append(p.parents, fk.parent)
			}
		}
	}
	// Kahn's algorithm; what is left is a cycle of NOT NULL keys.
	var out []*tablePlan
	done := map[string]bool{}
	for len(out) < len(names) {
		progress := false
		for _, n := range names {
			if done[n] {
				continue
			}
			ready := true
			for _, par := range plans[n].parents {
				if !done[par] && plans[par] != nil {
					ready = false
				}
			}
			if ready {
				done[n] = true
				out = append(out, plans[n])
				progress = true
			}
		}
		if !progress {
			for _, n := range names {
				if !done[n] {
					p := plans[n]
					if p.skip == "" {
						p.skip = fmt.Sprintf("on a cycle of NOT NULL foreign keys (%s): the seeder can only break cycles through nullable keys", strings.Join(p.parents, ", "))
					}
					p.parents = nil
					done[n] = true
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func (p *tablePlan) deferFK(fk *fkPlan) {
	if !fk.nullable {
		if p.skip == "" {
			p.skip = fmt.Sprintf("foreign key %s closes a cycle (or references its own table) through NOT NULL columns: the seeder can only break cycles through nullable keys", fk.con.Name)
		}
		return
	}
	fk.deferred = true
	p.deferred = append(p.deferred, fk)
}

// stronglyConnected is Tarjan's algorithm over the FK graph.
func stronglyConnected(names []string, plans map[string]*tablePlan) [][]string {
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	var visit func(n string)
	visit = func(n string) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		for _, fk := range plans[n].fks {
			m := fk.parent
			if plans[m] == nil || m == n {
				continue
			}
			if _, seen := index[m]; !seen {
				visit(m)
				low[n] = min(low[n], low[m])
			} else if onStack[m] {
				low[n] = min(low[n], index[m])
			}
		}
		if low[n] == index[n] {
			var scc []string
			for {
				m := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[m] = false
				scc = append(scc, m)
				if m == n {
					break
				}
			}
			out = append(out, scc)
		}
	}
	for _, n := range names {
		if _, seen := index[n]; !seen {
			visit(n)
		}
	}
	return out
}
