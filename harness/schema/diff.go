package schema

import (
	"regexp"
	"sort"
	"strings"
)

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
	d.sequencePrivileges()
	d.enums()
	d.domains()
	d.views()
	d.functions()
	d.triggers()
	d.extensions()
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
