package schema

import (
	"fmt"
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
	// KindACLChange has Before/After = the table's ACL items joined by ",";
	// Object is set (to the sequence) when it is a sequence's ACL.
	KindACLChange = "acl-change"
	// KindChangeOwner has Before/After = the table's owning role.
	KindChangeOwner = "change-owner"
	// KindTableOptions has Before/After = the table's storage parameters
	// (reloptions) joined by ",", e.g. "fillfactor=70".
	KindTableOptions = "table-options"
	// KindTablePartition has Before/After = what the table is a partition
	// of and its bound ("public.events FOR VALUES FROM (0) TO (50)"), ""
	// when it is none: a partition attached or detached.
	KindTablePartition = "table-partition"

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
	// Owner is the "schema.table.column" owning a sequence; for an
	// acl-change, the table's owning role (an empty ACL grants it all).
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
	case KindChangeOwner:
		return fmt.Sprintf("~ table %s: owner %s -> %s", c.Table, c.Before, c.After)
	case KindACLChange:
		noun := "table"
		if c.Object != "" {
			noun = "sequence"
		}
		s := fmt.Sprintf("~ %s %s: privileges {%s} -> {%s}", noun, c.Table, c.Before, c.After)
		if delta := PrivilegeDelta(c.Before, c.After, c.Owner); len(delta) > 0 {
			s += ": " + strings.Join(delta, "; ")
		}
		return s
	case KindTableOptions:
		return fmt.Sprintf("~ table %s: storage options {%s} -> {%s}", c.Table, c.Before, c.After)
	case KindTablePartition:
		side := func(v string) string {
			if v == "" {
				return "no partition"
			}
			return "partition of " + v
		}
		return fmt.Sprintf("~ table %s: %s -> %s", c.Table, side(c.Before), side(c.After))
	case KindChangeFunction:
		return fmt.Sprintf("~ function %s:\n%s", c.Object, indent(unifiedDiff(c.Before, c.After), "  "))
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
	case KindColumnType, KindChangeExtension, KindColumnCollation, KindColumnIdentity, KindTableOptions, KindChangeOwner, KindTablePartition:
		return fmt.Sprintf("%s %s %s -> %s", c.Kind, target, c.Before, c.After)
	case KindAddEnumValue:
		return fmt.Sprintf("%s %s %s", c.Kind, c.Object, c.After)
	}
	return c.Kind + " " + target
}
