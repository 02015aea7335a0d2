package schema

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Change kinds. Each names one structured catalog difference; the N+1-era
// data generator reads them to learn what a migration relaxed.
const (
	KindAddTable     = "add-table"
	KindDropTable    = "drop-table"
	KindRenameTable  = "rename-table"
	KindAddColumn    = "add-column"
	KindDropColumn   = "drop-column"
	KindRenameColumn = "rename-column"
	// KindColumnType has Before/After = format_type, e.g. "character varying(64)".
	KindColumnType      = "column-type"
	KindColumnCollation = "column-collation"
	// KindColumnIdentity has Before/After = attidentity ("a", "d" or "").
	KindColumnIdentity = "column-identity"
	// KindColumnGenerated has Before/After = the generation expression ("" when not generated).
	KindColumnGenerated = "column-generated"
	KindSetNotNull      = "set-not-null"
	KindDropNotNull     = "drop-not-null"
	KindSetDefault      = "set-default"
	KindDropDefault     = "drop-default"
	KindChangeDefault   = "change-default"
	// KindColumnOrder: the same columns in a different relative order
	// (Before/After list them); a dropped and re-added column goes last.
	KindColumnOrder = "column-order"

	KindAddConstraint    = "add-constraint"
	KindDropConstraint   = "drop-constraint"
	KindChangeConstraint = "change-constraint"
	KindRenameConstraint = "rename-constraint"
	KindAddIndex         = "add-index"
	KindDropIndex        = "drop-index"
	KindChangeIndex      = "change-index"
	KindRenameIndex      = "rename-index"
	// KindACLChange has Before/After = the table's ACL items joined by ",".
	KindACLChange = "acl-change"

	KindAddEnum      = "add-enum"
	KindDropEnum     = "drop-enum"
	KindRenameEnum   = "rename-enum"
	KindAddEnumValue = "add-enum-value" // Object = enum, After = label
	// KindChangeEnum: labels removed or reordered (not expressible by ALTER TYPE ADD VALUE).
	KindChangeEnum = "change-enum"

	KindAddSequence    = "add-sequence"
	KindDropSequence   = "drop-sequence"
	KindChangeSequence = "change-sequence"
	KindRenameSequence = "rename-sequence"
	KindAddDomain      = "add-domain"
	KindDropDomain     = "drop-domain"
	KindChangeDomain   = "change-domain"
	KindRenameDomain   = "rename-domain"
	KindAddView        = "add-view"
	KindDropView       = "drop-view"
	KindChangeView     = "change-view"
	KindRenameView     = "rename-view"
	KindAddFunction    = "add-function"
	KindDropFunction   = "drop-function"
	KindChangeFunction = "change-function"
	KindRenameFunction = "rename-function"
	KindAddTrigger     = "add-trigger"
	KindDropTrigger    = "drop-trigger"
	KindChangeTrigger  = "change-trigger"
	KindRenameTrigger  = "rename-trigger"
	KindAddExtension   = "add-extension"
	KindDropExtension  = "drop-extension"
	// KindChangeExtension has Before/After = the extension's version.
	KindChangeExtension = "change-extension"
)

// Change is one catalog difference between two snapshots.
type Change struct {
	Kind string `json:"kind"`
	// Table is the qualified table in `after` (in `before` for drops). For
	// objects that are not tables or on tables (sequences, enums, domains,
	// views, functions, extensions) it is the object's qualified name.
	Table  string `json:"table,omitempty"`
	Column string `json:"column,omitempty"`
	// Object names the constraint, index, trigger, sequence, enum, ... the
	// change is about (unqualified for constraints, indexes and triggers).
	Object string `json:"object,omitempty"`
	// Before and After: old and new type, name, definition, ... by kind.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// ConstraintType is pg_constraint.contype ("p", "u", "f", "c", "x") for
	// constraint changes; for index changes "i", or "u" for a unique index.
	ConstraintType string `json:"constraintType,omitempty"`
	// Columns are the columns of Table that a constraint or index covers
	// (after's names; before's for drops).
	Columns []string `json:"columns,omitempty"`
	// RefTable is the table a foreign key references.
	RefTable string `json:"refTable,omitempty"`
	// Owner is the "schema.table.column" owning a sequence.
	Owner string `json:"owner,omitempty"`
}

// Changeset is every catalog difference from one snapshot to another, as
// returned by Diff. (Go cannot have a type and a function both called
// Diff in one package.)
type Changeset struct {
	Changes []Change `json:"changes"`
}

// Empty reports whether the snapshots are identical.
func (d *Changeset) Empty() bool { return d == nil || len(d.Changes) == 0 }

// OnlyColumnOrder reports whether the only differences are column positions
// (a note, not a failure: a down cannot put a re-added column back in place).
func (d *Changeset) OnlyColumnOrder() bool {
	if d.Empty() {
		return false
	}
	for _, c := range d.Changes {
		if c.Kind != KindColumnOrder {
			return false
		}
	}
	return true
}

// String renders one change per line.
func (d *Changeset) String() string {
	if d == nil {
		return ""
	}
	lines := make([]string, len(d.Changes))
	for i, c := range d.Changes {
		lines[i] = c.String()
	}
	return strings.Join(lines, "\n")
}

// String is the human-readable line of a change, e.g.
// "~ column public.certificates.serial: type character varying(64) -> character varying(255)".
func (c Change) String() string {
	col := c.Table + "." + c.Column
	on := c.Object + " on " + c.Table
	switch c.Kind {
	case KindAddTable:
		return "+ table " + c.Table
	case KindDropTable:
		return "- table " + c.Table
	case KindRenameTable:
		return fmt.Sprintf("~ table %s: renamed from %s", c.After, c.Before)
	case KindAddColumn:
		return fmt.Sprintf("+ column %s %s", col, c.After)
	case KindDropColumn:
		return fmt.Sprintf("- column %s %s", col, c.Before)
	case KindRenameColumn:
		return fmt.Sprintf("~ column %s: renamed from %s", col, c.Before)
	case KindColumnType:
		return fmt.Sprintf("~ column %s: type %s -> %s", col, c.Before, c.After)
	case KindColumnCollation:
		return fmt.Sprintf("~ column %s: collation %q -> %q", col, c.Before, c.After)
	case KindColumnIdentity:
		return fmt.Sprintf("~ column %s: identity %q -> %q", col, c.Before, c.After)
	case KindColumnGenerated:
		return fmt.Sprintf("~ column %s: generated %q -> %q", col, c.Before, c.After)
	case KindSetNotNull:
		return fmt.Sprintf("~ column %s: set NOT NULL", col)
	case KindDropNotNull:
		return fmt.Sprintf("~ column %s: drop NOT NULL", col)
	case KindSetDefault:
		return fmt.Sprintf("~ column %s: set default %s", col, c.After)
	case KindDropDefault:
		return fmt.Sprintf("~ column %s: drop default %s", col, c.Before)
	case KindChangeDefault:
		return fmt.Sprintf("~ column %s: default %s -> %s", col, c.Before, c.After)
	case KindColumnOrder:
		return fmt.Sprintf("~ table %s: column order (%s) -> (%s)", c.Table, c.Before, c.After)
	case KindAddConstraint:
		return fmt.Sprintf("+ constraint %s: %s", on, c.After)
	case KindDropConstraint:
		return fmt.Sprintf("- constraint %s: %s", on, c.Before)
	case KindChangeConstraint:
		return fmt.Sprintf("~ constraint %s: %s -> %s", on, c.Before, c.After)
	case KindRenameConstraint:
		return fmt.Sprintf("~ constraint %s: renamed from %s", on, c.Before)
	case KindAddIndex:
		return fmt.Sprintf("+ index %s: %s", on, c.After)
	case KindDropIndex:
		return fmt.Sprintf("- index %s: %s", on, c.Before)
	case KindChangeIndex:
		return fmt.Sprintf("~ index %s: %s -> %s", on, c.Before, c.After)
	case KindRenameIndex:
		return fmt.Sprintf("~ index %s: renamed from %s", on, c.Before)
	case KindACLChange:
		return fmt.Sprintf("~ table %s: privileges {%s} -> {%s}", c.Table, c.Before, c.After)
	case KindAddEnumValue:
		return fmt.Sprintf("+ enum value %s: %s", c.Object, c.After)
	case KindAddTrigger:
		return fmt.Sprintf("+ trigger %s: %s", on, c.After)
	case KindDropTrigger:
		return fmt.Sprintf("- trigger %s: %s", on, c.Before)
	case KindChangeTrigger:
		return fmt.Sprintf("~ trigger %s: %s -> %s", on, c.Before, c.After)
	case KindRenameTrigger:
		return fmt.Sprintf("~ trigger %s: renamed from %s", on, c.Before)
	}
	// The remaining kinds are "<verb>-<object kind>" on a named object.
	verb, noun, _ := strings.Cut(c.Kind, "-")
	switch verb {
	case "add":
		return fmt.Sprintf("+ %s %s: %s", noun, c.Object, c.After)
	case "drop":
		return fmt.Sprintf("- %s %s: %s", noun, c.Object, c.Before)
	case "rename":
		return fmt.Sprintf("~ %s %s: renamed from %s", noun, c.After, c.Before)
	}
	return fmt.Sprintf("~ %s %s: %s -> %s", noun, c.Object, c.Before, c.After)
}

// Changes renders each change as a short string for reports, e.g.
// "add-column public.certificates.issuer".
func Changes(d *Changeset) []string {
	if d == nil {
		return nil
	}
	out := make([]string, len(d.Changes))
	for i, c := range d.Changes {
		out[i] = c.Short()
	}
	return out
}

// Short is "<kind> <target>" plus the old/new value where it is short.
func (c Change) Short() string {
	target := c.Table
	switch {
	case c.Column != "":
		target += "." + c.Column
	case c.Object != "" && c.Object != c.Table:
		target += "." + c.Object
	}
	switch c.Kind {
	case KindRenameColumn, KindRenameConstraint, KindRenameIndex, KindRenameTrigger:
		return fmt.Sprintf("%s %s.%s -> %s", c.Kind, c.Table, c.Before, c.After)
	case KindRenameTable, KindRenameSequence, KindRenameEnum, KindRenameDomain, KindRenameView, KindRenameFunction:
		return fmt.Sprintf("%s %s -> %s", c.Kind, c.Before, c.After)
	case KindColumnType, KindChangeExtension, KindColumnCollation, KindColumnIdentity:
		return fmt.Sprintf("%s %s %s -> %s", c.Kind, target, c.Before, c.After)
	case KindAddEnumValue:
		return fmt.Sprintf("%s %s %s", c.Kind, c.Object, c.After)
	}
	return c.Kind + " " + target
}

// Rewrite is a table whose storage an up rewrote (same OID, new relfilenode).
type Rewrite struct {
	Table string `json:"table"`
	// Rows is the count in the before snapshot (Take with CountRows).
	Rows int64 `json:"rows"`
}

// Rewrites lists the tables whose relfilenode changed between before and
// after (matched by OID), named as in after, sorted by name.
func Rewrites(before, after *Snapshot) []Rewrite {
	byOID := map[uint32]*Table{}
	for _, t := range after.Tables {
		byOID[t.OID] = t
	}
	var out []Rewrite
	for _, bt := range before.Tables {
		at := byOID[bt.OID]
		if at == nil || bt.RelFileNode == 0 || at.RelFileNode == 0 || bt.RelFileNode == at.RelFileNode {
			continue
		}
		out = append(out, Rewrite{Table: at.QualifiedName(), Rows: bt.Rows})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}

// Diff compares two snapshots.
//
// Objects are matched by OID first, so a renamed table, column (same table
// OID and attnum), constraint, index, sequence, ... is reported as a rename
// and not as a drop plus an add. OIDs only identify an object within one
// cluster's history: clones made with CREATE DATABASE ... TEMPLATE keep the
// OIDs of what they copied, and every object created later gets a fresh,
// cluster-wide one. So when before and after come from different clones, or
// an object was dropped and re-created (a down re-adding a column or a
// table), objects without an OID match fall back to matching by qualified
// name (columns by name; triggers by table and name), and constraints and
// indexes left over after that are matched by definition (a rename whose
// OID changed). Definitions are compared after the renames found are
// applied to them, so renaming a column does not also report every index
// and constraint that mentions it as changed.
func Diff(before, after *Snapshot) *Changeset {
	if before == nil {
		before = &Snapshot{}
	}
	if after == nil {
		after = &Snapshot{}
	}
	d := &differ{
		before: before, after: after,
		tableMap: map[string]string{}, colMaps: map[string]map[string]string{},
		colRenames: map[string]map[string]string{}, tableRenames: map[string]string{},
	}
	d.run()
	return &Changeset{Changes: d.changes}
}

type differ struct {
	before, after *Snapshot
	// tableMap maps a matched before table (qualified) to its after name.
	tableMap map[string]string
	// colMaps maps before table -> before column -> after column.
	colMaps map[string]map[string]string
	// colRenames maps before table -> old column name -> new column name.
	colRenames map[string]map[string]string
	// tableRenames maps old unqualified table names to new ones.
	tableRenames map[string]string
	changes      []Change
}

func (d *differ) add(c Change) { d.changes = append(d.changes, c) }

// ident is what matching needs from an object: a name key, an OID (0 for
// none) and an alternative key (a normalized definition, "" for none).
type ident struct {
	key string
	oid uint32
	alt string
}

// match pairs before items with after items: same OID, then same key,
// then same alt when it is unique on both sides. It returns before index
// -> after index.
func match(b, a []ident) map[int]int {
	pairs := map[int]int{}
	used := map[int]bool{}
	pair := func(i, j int) { pairs[i] = j; used[j] = true }
	byOID := map[uint32]int{}
	for j, x := range a {
		if x.oid != 0 {
			byOID[x.oid] = j
		}
	}
	for i, x := range b {
		if j, ok := byOID[x.oid]; ok && x.oid != 0 && !used[j] {
			pair(i, j)
		}
	}
	byKey := map[string]int{}
	for j, x := range a {
		if !used[j] {
			byKey[x.key] = j
		}
	}
	for i, x := range b {
		if _, done := pairs[i]; done {
			continue
		}
		if j, ok := byKey[x.key]; ok && !used[j] {
			pair(i, j)
		}
	}
	altB, altA := map[string][]int{}, map[string][]int{}
	for i, x := range b {
		if _, done := pairs[i]; !done && x.alt != "" {
			altB[x.alt] = append(altB[x.alt], i)
		}
	}
	for j, x := range a {
		if !used[j] && x.alt != "" {
			altA[x.alt] = append(altA[x.alt], j)
		}
	}
	for alt, is := range altB {
		if js := altA[alt]; len(is) == 1 && len(js) == 1 {
			pair(is[0], js[0])
		}
	}
	return pairs
}

// unmatched returns the indexes of n items not in used, in order.
func unmatched(n int, used func(int) bool) []int {
	var out []int
	for i := 0; i < n; i++ {
		if !used(i) {
			out = append(out, i)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (d *differ) run() {
	bNames, aNames := sortedKeys(d.before.Tables), sortedKeys(d.after.Tables)
	bIDs, aIDs := make([]ident, len(bNames)), make([]ident, len(aNames))
	for i, n := range bNames {
		bIDs[i] = ident{key: n, oid: d.before.Tables[n].OID}
	}
	for i, n := range aNames {
		aIDs[i] = ident{key: n, oid: d.after.Tables[n].OID}
	}
	pairs := match(bIDs, aIDs)
	usedA := map[int]bool{}
	for i, j := range pairs {
		d.tableMap[bNames[i]] = aNames[j]
		usedA[j] = true
		bt, at := d.before.Tables[bNames[i]], d.after.Tables[aNames[j]]
		if bt.Name != at.Name && bt.Schema == at.Schema {
			d.tableRenames[bt.Name] = at.Name
		}
	}
	// Columns first: their renames feed every definition compared later.
	for i := range bNames {
		if j, ok := pairs[i]; ok {
			d.matchColumns(d.before.Tables[bNames[i]], d.after.Tables[aNames[j]])
		}
	}
	for i := range bNames {
		if j, ok := pairs[i]; ok {
			d.table(d.before.Tables[bNames[i]], d.after.Tables[aNames[j]])
		}
	}
	for _, i := range unmatched(len(bNames), func(i int) bool { _, ok := pairs[i]; return ok }) {
		d.add(Change{Kind: KindDropTable, Table: bNames[i], Object: bNames[i]})
	}
	for _, j := range unmatched(len(aNames), func(j int) bool { return usedA[j] }) {
		d.add(Change{Kind: KindAddTable, Table: aNames[j], Object: aNames[j]})
	}
	d.sequences()
	d.enums()
	d.domains()
	d.views()
	d.functions()
	d.triggers()
	d.extensions()
}

// columnPairs matches the columns of two matched tables: by attnum when
// the table is the same object (same OID), then by name.
func columnPairs(bt, at *Table) map[int]int {
	same := bt.OID == at.OID
	bIDs, aIDs := make([]ident, len(bt.Columns)), make([]ident, len(at.Columns))
	for i, c := range bt.Columns {
		bIDs[i] = ident{key: c.Name}
		if same {
			bIDs[i].oid = uint32(c.Attnum)
		}
	}
	for i, c := range at.Columns {
		aIDs[i] = ident{key: c.Name}
		if same {
			aIDs[i].oid = uint32(c.Attnum)
		}
	}
	return match(bIDs, aIDs)
}

func (d *differ) matchColumns(bt, at *Table) {
	m := map[string]string{}
	renames := map[string]string{}
	for i, j := range columnPairs(bt, at) {
		b, a := bt.Columns[i].Name, at.Columns[j].Name
		m[b] = a
		if a != b {
			renames[b] = a
		}
	}
	d.colMaps[bt.QualifiedName()] = m
	d.colRenames[bt.QualifiedName()] = renames
}

func (d *differ) table(bt, at *Table) {
	bq, aq := bt.QualifiedName(), at.QualifiedName()
	if bq != aq {
		d.add(Change{Kind: KindRenameTable, Table: aq, Object: aq, Before: bq, After: aq})
	}
	d.columns(bt, at)
	d.constraints(bt, at)
	d.indexes(bt, at)
	if b, a := strings.Join(bt.ACL, ","), strings.Join(at.ACL, ","); b != a {
		d.add(Change{Kind: KindACLChange, Table: aq, Before: b, After: a})
	}
}

func (d *differ) columns(bt, at *Table) {
	aq := at.QualifiedName()
	pairs := columnPairs(bt, at)
	usedA := map[int]bool{}
	type pos struct{ b, a int16 }
	var order []pos
	for i := range bt.Columns {
		j, ok := pairs[i]
		if !ok {
			continue
		}
		usedA[j] = true
		bc, ac := bt.Columns[i], at.Columns[j]
		order = append(order, pos{bc.Attnum, ac.Attnum})
		col := Change{Table: aq, Column: ac.Name}
		with := func(kind, before, after string) Change {
			c := col
			c.Kind, c.Before, c.After = kind, before, after
			return c
		}
		if bc.Name != ac.Name {
			d.add(with(KindRenameColumn, bc.Name, ac.Name))
		}
		if bc.Type != ac.Type {
			d.add(with(KindColumnType, bc.Type, ac.Type))
		}
		if bc.Collation != ac.Collation {
			d.add(with(KindColumnCollation, bc.Collation, ac.Collation))
		}
		switch {
		case !bc.NotNull && ac.NotNull:
			d.add(with(KindSetNotNull, "", ""))
		case bc.NotNull && !ac.NotNull:
			d.add(with(KindDropNotNull, "", ""))
		}
		if bc.Identity != ac.Identity {
			d.add(with(KindColumnIdentity, bc.Identity, ac.Identity))
		}
		if bc.Generated != ac.Generated || (bc.Generated != "" && bc.Default != ac.Default) {
			d.add(with(KindColumnGenerated, generatedExpr(bc), generatedExpr(ac)))
			continue // its "default" is the generation expression
		}
		switch {
		case bc.Default == "" && ac.Default != "":
			d.add(with(KindSetDefault, "", ac.Default))
		case bc.Default != "" && ac.Default == "":
			d.add(with(KindDropDefault, bc.Default, ""))
		case bc.Default != ac.Default:
			d.add(with(KindChangeDefault, bc.Default, ac.Default))
		}
	}
	for _, i := range unmatched(len(bt.Columns), func(i int) bool { _, ok := pairs[i]; return ok }) {
		c := bt.Columns[i]
		d.add(Change{Kind: KindDropColumn, Table: bt.QualifiedName(), Column: c.Name, Before: c.Type})
	}
	for _, j := range unmatched(len(at.Columns), func(j int) bool { return usedA[j] }) {
		c := at.Columns[j]
		d.add(Change{Kind: KindAddColumn, Table: aq, Column: c.Name, After: c.Type})
	}
	// order is in before's attnum order; after's attnums must rise with it.
	for k := 1; k < len(order); k++ {
		if order[k].a < order[k-1].a {
			d.add(Change{Kind: KindColumnOrder, Table: aq,
				Before: strings.Join(matchedNames(bt, pairs, at, false), ", "),
				After:  strings.Join(matchedNames(bt, pairs, at, true), ", ")})
			break
		}
	}
}

func generatedExpr(c *Column) string {
	if c.Generated == "" {
		return ""
	}
	return c.Default
}

// matchedNames lists the matched columns (by after's names) in before's or
// after's attnum order.
func matchedNames(bt *Table, pairs map[int]int, at *Table, afterOrder bool) []string {
	var out []string
	if !afterOrder {
		for i := range bt.Columns {
			if j, ok := pairs[i]; ok {
				out = append(out, at.Columns[j].Name)
			}
		}
		return out
	}
	inv := map[int]bool{}
	for _, j := range pairs {
		inv[j] = true
	}
	for j, c := range at.Columns {
		if inv[j] {
			out = append(out, c.Name)
		}
	}
	return out
}

// renameMap is what to apply to a definition on table bq (before's name)
// so it reads as it would after the renames: table renames, bq's column
// renames and, for a foreign key, the referenced table's.
func (d *differ) renameMap(bq, refTable string) map[string]string {
	m := map[string]string{}
	for k, v := range d.tableRenames {
		m[k] = v
	}
	if refTable != "" && refTable != bq {
		for k, v := range d.colRenames[refTable] {
			m[k] = v
		}
	}
	for k, v := range d.colRenames[bq] {
		m[k] = v
	}
	return m
}

// globalRenames is every table and column rename, for definitions that may
// mention any table (views); an old name renamed two ways is left alone.
func (d *differ) globalRenames() map[string]string {
	m := map[string]string{}
	bad := map[string]bool{}
	put := func(k, v string) {
		if old, ok := m[k]; ok && old != v {
			bad[k] = true
		}
		m[k] = v
	}
	for _, t := range sortedKeys(d.colRenames) {
		for k, v := range d.colRenames[t] {
			put(k, v)
		}
	}
	for k, v := range d.tableRenames {
		put(k, v)
	}
	for k := range bad {
		delete(m, k)
	}
	return m
}

// tokenRe finds string literals (kept as they are), quoted identifiers and
// bare words in a definition.
var tokenRe = regexp.MustCompile(`'(?:[^']|'')*'|"(?:[^"]|"")*"|[A-Za-z_\x{80}-\x{10FFFF}][A-Za-z0-9_$\x{80}-\x{10FFFF}]*`)

// canon rewrites a definition for comparison only: identifiers unquoted
// and renamed through m. Its result is never shown.
func canon(s string, m map[string]string) string {
	return tokenRe.ReplaceAllStringFunc(s, func(tok string) string {
		if tok[0] == '\'' {
			return tok
		}
		name := tok
		if tok[0] == '"' {
			name = strings.ReplaceAll(tok[1:len(tok)-1], `""`, `"`)
		}
		if n, ok := m[name]; ok {
			return n
		}
		return name
	})
}

// consSig is a constraint's comparable definition.
func consSig(c *Constraint, m map[string]string) string {
	return c.Type + "|" + canon(c.Def, m)
}

func (d *differ) constraints(bt, at *Table) {
	bq, aq := bt.QualifiedName(), at.QualifiedName()
	bIDs, aIDs := make([]ident, len(bt.Constraints)), make([]ident, len(at.Constraints))
	for i, c := range bt.Constraints {
		bIDs[i] = ident{key: c.Name, oid: c.OID, alt: consSig(c, d.renameMap(bq, c.RefTable))}
	}
	for i, c := range at.Constraints {
		aIDs[i] = ident{key: c.Name, oid: c.OID, alt: consSig(c, nil)}
	}
	pairs := match(bIDs, aIDs)
	usedA := map[int]bool{}
	for i, c := range bt.Constraints {
		j, ok := pairs[i]
		if !ok {
			d.add(Change{Kind: KindDropConstraint, Table: bq, Object: c.Name, Before: c.Def,
				ConstraintType: c.Type, Columns: c.Columns, RefTable: c.RefTable})
			continue
		}
		usedA[j] = true
		ac := at.Constraints[j]
		base := Change{Table: aq, Object: ac.Name, ConstraintType: ac.Type, Columns: ac.Columns, RefTable: ac.RefTable}
		if c.Name != ac.Name {
			ch := base
			ch.Kind, ch.Before, ch.After = KindRenameConstraint, c.Name, ac.Name
			d.add(ch)
		}
		if bIDs[i].alt != aIDs[j].alt {
			ch := base
			ch.Kind, ch.Before, ch.After = KindChangeConstraint, c.Def, ac.Def
			if c.Type != ac.Type {
				ch.Before = c.Type + " " + c.Def
				ch.After = ac.Type + " " + ac.Def
			}
			d.add(ch)
		}
	}
	for _, j := range unmatched(len(at.Constraints), func(j int) bool { return usedA[j] }) {
		c := at.Constraints[j]
		d.add(Change{Kind: KindAddConstraint, Table: aq, Object: c.Name, After: c.Def,
			ConstraintType: c.Type, Columns: c.Columns, RefTable: c.RefTable})
	}
}

// indexHeadRe matches "CREATE [UNIQUE] INDEX name ON [ONLY] table USING ".
var indexHeadRe = regexp.MustCompile(`^CREATE (UNIQUE )?INDEX (?:"(?:[^"]|"")*"|[^\s"])+ ON (ONLY )?(?:"(?:[^"]|"")*"|[^\s"])+ USING `)

// indexSig is an index's comparable definition: without its own name and
// its table's (both are matched separately).
func indexSig(ix *Index, m map[string]string) string {
	def := indexHeadRe.ReplaceAllString(ix.Def, "CREATE ${1}INDEX ON ${2}USING ")
	return canon(def, m)
}

// plainIndexes are the indexes not backing a constraint (those are
// reported through the constraint).
func plainIndexes(t *Table) []*Index {
	backed := map[string]bool{}
	for _, c := range t.Constraints {
		if c.Type == "p" || c.Type == "u" || c.Type == "x" {
			backed[c.Name] = true
		}
	}
	var out []*Index
	for _, ix := range t.Indexes {
		if !backed[ix.Name] {
			out = append(out, ix)
		}
	}
	return out
}

func indexType(ix *Index) string {
	if ix.Unique {
		return "u"
	}
	return "i"
}

func (d *differ) indexes(bt, at *Table) {
	bq, aq := bt.QualifiedName(), at.QualifiedName()
	bIx, aIx := plainIndexes(bt), plainIndexes(at)
	m := d.renameMap(bq, "")
	bIDs, aIDs := make([]ident, len(bIx)), make([]ident, len(aIx))
	for i, ix := range bIx {
		bIDs[i] = ident{key: ix.Name, oid: ix.OID, alt: indexSig(ix, m)}
	}
	for i, ix := range aIx {
		aIDs[i] = ident{key: ix.Name, oid: ix.OID, alt: indexSig(ix, nil)}
	}
	pairs := match(bIDs, aIDs)
	usedA := map[int]bool{}
	for i, ix := range bIx {
		j, ok := pairs[i]
		if !ok {
			d.add(Change{Kind: KindDropIndex, Table: bq, Object: ix.Name, Before: ix.Def,
				ConstraintType: indexType(ix), Columns: ix.Columns})
			continue
		}
		usedA[j] = true
		ax := aIx[j]
		base := Change{Table: aq, Object: ax.Name, ConstraintType: indexType(ax), Columns: ax.Columns}
		if ix.Name != ax.Name {
			ch := base
			ch.Kind, ch.Before, ch.After = KindRenameIndex, ix.Name, ax.Name
			d.add(ch)
		}
		if bIDs[i].alt != aIDs[j].alt || ix.Valid != ax.Valid {
			ch := base
			ch.Kind, ch.Before, ch.After = KindChangeIndex, indexText(ix), indexText(ax)
			d.add(ch)
		}
	}
	for _, j := range unmatched(len(aIx), func(j int) bool { return usedA[j] }) {
		ix := aIx[j]
		d.add(Change{Kind: KindAddIndex, Table: aq, Object: ix.Name, After: ix.Def,
			ConstraintType: indexType(ix), Columns: ix.Columns})
	}
}

func indexText(ix *Index) string {
	if !ix.Valid {
		return ix.Def + " (INVALID)"
	}
	return ix.Def
}

// named is a generic view of a non-table object for matching and diffing.
type named struct {
	key  string
	oid  uint32
	name string // qualified name, for messages
	// sig is what must be equal for "unchanged", given the rename map.
	sig func(m map[string]string) string
	// text is the definition shown in a change.
	text string
}

// diffNamed matches and diffs objects of one kind. renames gives, for a
// matched pair, the map to apply to before's sig.
func (d *differ) diffNamed(kind string, bs, as []named, renames func(b, a named) map[string]string, extra func(ch *Change, b, a *named)) {
	bIDs, aIDs := make([]ident, len(bs)), make([]ident, len(as))
	for i, x := range bs {
		bIDs[i] = ident{key: x.key, oid: x.oid}
	}
	for i, x := range as {
		aIDs[i] = ident{key: x.key, oid: x.oid}
	}
	pairs := match(bIDs, aIDs)
	usedA := map[int]bool{}
	for i := range bs {
		b := &bs[i]
		j, ok := pairs[i]
		if !ok {
			ch := Change{Kind: "drop-" + kind, Table: b.name, Object: b.name, Before: b.text}
			if extra != nil {
				extra(&ch, b, nil)
			}
			d.add(ch)
			continue
		}
		usedA[j] = true
		a := &as[j]
		if b.name != a.name {
			ch := Change{Kind: "rename-" + kind, Table: a.name, Object: a.name, Before: b.name, After: a.name}
			if extra != nil {
				extra(&ch, b, a)
			}
			d.add(ch)
		}
		if b.sig(renames(*b, *a)) != a.sig(nil) {
			ch := Change{Kind: "change-" + kind, Table: a.name, Object: a.name, Before: b.text, After: a.text}
			if extra != nil {
				extra(&ch, b, a)
			}
			d.add(ch)
		}
	}
	for _, j := range unmatched(len(as), func(j int) bool { return usedA[j] }) {
		a := &as[j]
		ch := Change{Kind: "add-" + kind, Table: a.name, Object: a.name, After: a.text}
		if extra != nil {
			extra(&ch, nil, a)
		}
		d.add(ch)
	}
}

func noRenames(named, named) map[string]string { return nil }

func plain(s string) func(map[string]string) string {
	return func(map[string]string) string { return s }
}

// ownerAfter translates a sequence's "schema.table.column" owner from
// before's names to after's.
func (d *differ) ownerAfter(owner string) string {
	i := strings.LastIndexByte(owner, '.')
	if i < 0 {
		return owner
	}
	table, col := owner[:i], owner[i+1:]
	at, ok := d.tableMap[table]
	if !ok {
		return owner
	}
	if ac, ok := d.colMaps[table][col]; ok {
		return at + "." + ac
	}
	return owner
}

func seqText(s *Sequence, owner string) string {
	t := fmt.Sprintf("%s increment %d start %d min %d max %d", s.Type, s.Increment, s.Start, s.Min, s.Max)
	if s.Cycle {
		t += " cycle"
	}
	if owner != "" {
		t += " owned by " + owner
	}
	return t
}

func (d *differ) sequences() {
	list := func(snap *Snapshot, owner func(string) string) []named {
		var out []named
		for _, k := range sortedKeys(snap.Sequences) {
			s := snap.Sequences[k]
			text := seqText(s, s.OwnedBy)
			sig := seqText(s, owner(s.OwnedBy))
			out = append(out, named{key: k, oid: s.OID, name: k, sig: plain(sig), text: text})
		}
		return out
	}
	same := func(s string) string { return s }
	d.diffNamed("sequence", list(d.before, d.ownerAfter), list(d.after, same), noRenames, func(ch *Change, b, a *named) {
		if a != nil {
			ch.Owner = d.after.Sequences[a.key].OwnedBy
		} else if b != nil {
			ch.Owner = d.before.Sequences[b.key].OwnedBy
		}
	})
}

func (d *differ) enums() {
	bs, as := d.before.Enums, d.after.Enums
	bKeys, aKeys := sortedKeys(bs), sortedKeys(as)
	bIDs, aIDs := make([]ident, len(bKeys)), make([]ident, len(aKeys))
	for i, k := range bKeys {
		bIDs[i] = ident{key: k, oid: bs[k].OID}
	}
	for i, k := range aKeys {
		aIDs[i] = ident{key: k, oid: as[k].OID}
	}
	pairs := match(bIDs, aIDs)
	usedA := map[int]bool{}
	for i, k := range bKeys {
		j, ok := pairs[i]
		if !ok {
			d.add(Change{Kind: KindDropEnum, Table: k, Object: k, Before: strings.Join(bs[k].Labels, ", ")})
			continue
		}
		usedA[j] = true
		ak := aKeys[j]
		if k != ak {
			d.add(Change{Kind: KindRenameEnum, Table: ak, Object: ak, Before: k, After: ak})
		}
		bl, al := bs[k].Labels, as[ak].Labels
		if added, ok := addedLabels(bl, al); ok {
			for _, l := range added {
				d.add(Change{Kind: KindAddEnumValue, Table: ak, Object: ak, After: l})
			}
		} else {
			d.add(Change{Kind: KindChangeEnum, Table: ak, Object: ak, Before: strings.Join(bl, ", "), After: strings.Join(al, ", ")})
		}
	}
	for _, j := range unmatched(len(aKeys), func(j int) bool { return usedA[j] }) {
		k := aKeys[j]
		d.add(Change{Kind: KindAddEnum, Table: k, Object: k, After: strings.Join(as[k].Labels, ", ")})
	}
}

// addedLabels returns the labels of after not in before when before is a
// subsequence of after (what ALTER TYPE ... ADD VALUE can do).
func addedLabels(before, after []string) ([]string, bool) {
	var added []string
	i := 0
	for _, l := range after {
		if i < len(before) && before[i] == l {
			i++
			continue
		}
		added = append(added, l)
	}
	return added, i == len(before)
}

func (d *differ) domains() {
	list := func(snap *Snapshot) []named {
		var out []named
		for _, k := range sortedKeys(snap.Domains) {
			x := snap.Domains[k]
			text := x.BaseType
			if x.NotNull {
				text += " NOT NULL"
			}
			if x.Default != "" {
				text += " DEFAULT " + x.Default
			}
			for _, c := range x.Checks {
				text += " " + c
			}
			out = append(out, named{key: k, oid: x.OID, name: k, sig: plain(text), text: text})
		}
		return out
	}
	d.diffNamed("domain", list(d.before), list(d.after), noRenames, nil)
}

func (d *differ) views() {
	list := func(snap *Snapshot) []named {
		var out []named
		for _, k := range sortedKeys(snap.Views) {
			v := snap.Views[k]
			def := v.Def
			if v.Materialized {
				def = "MATERIALIZED " + def
			}
			out = append(out, named{key: k, oid: v.OID, name: k, text: def,
				sig: func(m map[string]string) string { return canon(def, m) }})
		}
		return out
	}
	global := d.globalRenames()
	d.diffNamed("view", list(d.before), list(d.after), func(named, named) map[string]string { return global }, nil)
}

func (d *differ) functions() {
	list := func(snap *Snapshot) []named {
		var out []named
		for _, k := range sortedKeys(snap.Functions) {
			f := snap.Functions[k]
			def := f.Def
			out = append(out, named{key: k, oid: f.OID, name: k, text: def,
				sig: func(m map[string]string) string { return canon(def, m) }})
		}
		return out
	}
	d.diffNamed("function", list(d.before), list(d.after), func(b, a named) map[string]string {
		bf, af := d.before.Functions[b.key], d.after.Functions[a.key]
		if bf.Name == af.Name {
			return nil
		}
		return map[string]string{bf.Name: af.Name}
	}, nil)
}

// triggerHeadRe matches "CREATE [CONSTRAINT] TRIGGER name ".
var triggerHeadRe = regexp.MustCompile(`^CREATE (CONSTRAINT )?TRIGGER (?:"(?:[^"]|"")*"|[^\s"])+ `)

func (d *differ) triggers() {
	bKeys, aKeys := sortedKeys(d.before.Triggers), sortedKeys(d.after.Triggers)
	bIDs, aIDs := make([]ident, len(bKeys)), make([]ident, len(aKeys))
	for i, k := range bKeys {
		t := d.before.Triggers[k]
		table := t.Table
		if at, ok := d.tableMap[table]; ok {
			table = at
		}
		bIDs[i] = ident{key: table + "." + t.Name, oid: t.OID}
	}
	for i, k := range aKeys {
		aIDs[i] = ident{key: k, oid: d.after.Triggers[k].OID}
	}
	sig := func(t *Trigger, m map[string]string) string {
		return canon(triggerHeadRe.ReplaceAllString(t.Def, "CREATE ${1}TRIGGER "), m)
	}
	pairs := match(bIDs, aIDs)
	usedA := map[int]bool{}
	for i, k := range bKeys {
		bt := d.before.Triggers[k]
		j, ok := pairs[i]
		if !ok {
			d.add(Change{Kind: KindDropTrigger, Table: bt.Table, Object: bt.Name, Before: bt.Def})
			continue
		}
		usedA[j] = true
		at := d.after.Triggers[aKeys[j]]
		if bt.Name != at.Name {
			d.add(Change{Kind: KindRenameTrigger, Table: at.Table, Object: at.Name, Before: bt.Name, After: at.Name})
		}
		if sig(bt, d.renameMap(bt.Table, "")) != sig(at, nil) {
			d.add(Change{Kind: KindChangeTrigger, Table: at.Table, Object: at.Name, Before: bt.Def, After: at.Def})
		}
	}
	for _, j := range unmatched(len(aKeys), func(j int) bool { return usedA[j] }) {
		at := d.after.Triggers[aKeys[j]]
		d.add(Change{Kind: KindAddTrigger, Table: at.Table, Object: at.Name, After: at.Def})
	}
}

func (d *differ) extensions() {
	for _, k := range sortedKeys(d.before.Extensions) {
		bv := d.before.Extensions[k]
		av, ok := d.after.Extensions[k]
		switch {
		case !ok:
			d.add(Change{Kind: KindDropExtension, Table: k, Object: k, Before: bv})
		case av != bv:
			d.add(Change{Kind: KindChangeExtension, Table: k, Object: k, Before: bv, After: av})
		}
	}
	for _, k := range sortedKeys(d.after.Extensions) {
		if _, ok := d.before.Extensions[k]; !ok {
			d.add(Change{Kind: KindAddExtension, Table: k, Object: k, After: d.after.Extensions[k]})
		}
	}
}
