package schema

import (
	"sort"
	"strings"
)

// Migration classes, as measured by Classify.
const (
	ClassAddColumn      = "add-column"
	ClassAddTable       = "add-table"
	ClassAddIndex       = "add-index"
	ClassAddConstraint  = "add-constraint"
	ClassDropConstraint = "drop-constraint"
	ClassRenameColumn   = "rename-column"
	ClassRenameTable    = "rename-table"
	ClassDropColumn     = "drop-column"
	ClassDropTable      = "drop-table"
	ClassTypeChange     = "type-change"
	ClassAddEnumValue   = "add-enum-value"
	ClassStorage        = "storage"
	ClassBackfill       = "backfill"
	ClassMixed          = "mixed"
	ClassNone           = "none"
)

// Classify names the class of a migration from the diff of its up and
// whether it changed existing data beyond what its schema change implies
// (see the package doc for the table). Each change maps to one class after
// absorbing the changes that belong to a bigger one; no class left gives
// backfill (dataChanged) or none, one gives that class, several give mixed.
func Classify(d *Changeset, dataChanged bool) string {
	primary := map[string]bool{}
	incidental := map[string]bool{}
	if d != nil {
		ctx := newClassifyContext(d)
		for _, c := range d.Changes {
			if ctx.absorbed(c) {
				continue
			}
			class, inc := classOf(c)
			if class == "" {
				continue
			}
			if inc {
				incidental[class] = true
			} else {
				primary[class] = true
			}
		}
	}
	classes := primary
	if len(classes) == 0 {
		classes = incidental
	}
	if dataChanged {
		classes[ClassBackfill] = true
	}
	switch len(classes) {
	case 0:
		return ClassNone
	case 1:
		for c := range classes {
			return c
		}
	}
	return ClassMixed
}

// Classes lists the distinct classes behind a diff, sorted, for reports
// that want to show what made a migration mixed.
func Classes(d *Changeset) []string {
	seen := map[string]bool{}
	if d != nil {
		ctx := newClassifyContext(d)
		for _, c := range d.Changes {
			if ctx.absorbed(c) {
				continue
			}
			if class, _ := classOf(c); class != "" {
				seen[class] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// classOf maps a change to its class and whether it is incidental.
func classOf(c Change) (string, bool) {
	switch c.Kind {
	case KindAddTable, KindAddSequence, KindAddView, KindAddFunction, KindAddEnum, KindAddDomain, KindAddExtension:
		return ClassAddTable, false
	case KindDropTable, KindDropSequence, KindDropView, KindDropFunction, KindDropEnum, KindDropDomain, KindDropExtension:
		return ClassDropTable, false
	case KindRenameTable, KindRenameView, KindRenameSequence, KindRenameFunction, KindRenameEnum, KindRenameDomain:
		return ClassRenameTable, false
	case KindAddColumn:
		return ClassAddColumn, false
	case KindDropColumn:
		return ClassDropColumn, false
	case KindRenameColumn:
		return ClassRenameColumn, false
	case KindColumnType, KindColumnCollation, KindColumnGenerated, KindSetDefault, KindDropDefault,
		KindChangeDefault, KindColumnIdentity,
		KindChangeSequence, KindChangeFunction, KindChangeDomain, KindChangeEnum, KindChangeExtension,
		KindChangeOwner:
		return ClassTypeChange, false
	case KindAddConstraint, KindChangeConstraint, KindSetNotNull, KindAddTrigger, KindChangeTrigger:
		return ClassAddConstraint, false
	case KindAddIndex, KindChangeIndex:
		if c.ConstraintType == "u" {
			return ClassAddConstraint, false
		}
		return ClassAddIndex, false
	case KindDropConstraint, KindDropNotNull, KindDropIndex, KindDropTrigger:
		return ClassDropConstraint, false
	case KindAddEnumValue:
		return ClassAddEnumValue, false
	case KindTableOptions:
		return ClassStorage, true
	case KindTablePartition:
		return ClassStorage, false
	case KindACLChange:
		if revoked(c.Before, c.After) {
			return ClassAddConstraint, false
		}
		return ClassDropConstraint, false
	case KindRenameConstraint, KindRenameIndex, KindRenameTrigger:
		return ClassRenameTable, true
	case KindChangeView:
		return ClassTypeChange, true
	case KindColumnOrder:
		return "", true
	}
	return ClassMixed, false
}

// revoked reports whether any privilege of before is missing from after.
// ACL items are "grantee=privs/grantor".
func revoked(before, after string) bool {
	privs := func(acl string) map[string]bool {
		out := map[string]bool{}
		if acl == "" {
			return out
		}
		for _, item := range strings.Split(acl, ",") {
			eq := strings.LastIndexByte(item, '=')
			slash := strings.LastIndexByte(item, '/')
			if eq < 0 || slash < eq {
				out[item] = true
				continue
			}
			for _, p := range item[eq+1 : slash] {
				out[item[:eq]+"="+string(p)] = true
			}
		}
		return out
	}
	// Empty means the owner's default privileges: nothing to lose when
	// grants are added to it.
	if before == "" {
		return false
	}
	a := privs(after)
	if after == "" {
		return false
	}
	for p := range privs(before) {
		if !a[p] {
			return true
		}
	}
	return false
}

// classifyContext knows which tables and columns a diff added, dropped,
// retyped or renamed, to absorb the changes that come with them.
type classifyContext struct {
	addedTables, droppedTables map[string]bool
	addedCols, droppedCols     map[string]bool // "table.column"
	retypedCols, renamedCols   map[string]bool // after's "table.column"
	identityCols               map[string]bool
}

func newClassifyContext(d *Changeset) *classifyContext {
	x := &classifyContext{
		addedTables: map[string]bool{}, droppedTables: map[string]bool{},
		addedCols: map[string]bool{}, droppedCols: map[string]bool{},
		retypedCols: map[string]bool{}, renamedCols: map[string]bool{}, identityCols: map[string]bool{},
	}
	for _, c := range d.Changes {
		col := c.Table + "." + c.Column
		switch c.Kind {
		case KindAddTable:
			x.addedTables[c.Table] = true
		case KindDropTable:
			x.droppedTables[c.Table] = true
		case KindAddColumn:
			x.addedCols[col] = true
		case KindDropColumn:
			x.droppedCols[col] = true
		case KindColumnType, KindColumnCollation:
			x.retypedCols[col] = true
		case KindRenameColumn:
			x.renamedCols[col] = true
		case KindColumnIdentity:
			x.identityCols[col] = true
		}
	}
	return x
}

func (x *classifyContext) anyColumn(table string, cols []string, set map[string]bool) bool {
	for _, c := range cols {
		if set[table+"."+c] {
			return true
		}
	}
	return false
}

func (x *classifyContext) absorbed(c Change) bool {
	switch c.Kind {
	case KindAddConstraint, KindAddIndex, KindAddTrigger:
		return x.addedTables[c.Table] || x.anyColumn(c.Table, c.Columns, x.addedCols)
	case KindDropConstraint, KindDropIndex, KindDropTrigger:
		return x.droppedTables[c.Table] || x.droppedTables[c.RefTable] ||
			x.anyColumn(c.Table, c.Columns, x.droppedCols)
	case KindChangeConstraint, KindChangeIndex, KindRenameConstraint, KindRenameIndex:
		return x.anyColumn(c.Table, c.Columns, x.retypedCols) || x.anyColumn(c.Table, c.Columns, x.renamedCols) ||
			x.anyColumn(c.Table, c.Columns, x.addedCols)
	case KindSetDefault, KindDropDefault, KindChangeDefault:
		return x.retypedCols[c.Table+"."+c.Column]
	case KindAddSequence:
		return x.ownedBy(c.Owner, x.addedTables, x.addedCols) || x.identityCols[c.Owner]
	case KindDropSequence:
		return x.ownedBy(c.Owner, x.droppedTables, x.droppedCols) || x.identityCols[c.Owner]
	}
	return false
}

// ownedBy reports whether a "schema.table.column" owner is in the tables
// or columns given.
func (x *classifyContext) ownedBy(owner string, tables, cols map[string]bool) bool {
	if owner == "" {
		return false
	}
	if cols[owner] {
		return true
	}
	if i := strings.LastIndexByte(owner, '.'); i > 0 {
		return tables[owner[:i]]
	}
	return false
}
