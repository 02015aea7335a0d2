package schema

import "strings"

// options compares the storage parameters (reloptions) of two matched
// tables: a down that forgets to RESET what its up SET leaves them changed.
func (d *differ) options(bt, at *Table) {
	if b, a := strings.Join(bt.Options, ","), strings.Join(at.Options, ","); b != a {
		d.add(Change{Kind: KindTableOptions, Table: at.QualifiedName(), Before: b, After: a})
	}
}

// partition compares what two matched tables are a partition of, and their
// bounds: a down that forgets to re-attach what its up detached (or the
// other way round) leaves the parent without those rows.
func (d *differ) partition(bt, at *Table) {
	of := func(t *Table, parent string) string {
		if t.PartitionOf == "" {
			return ""
		}
		return parent + " " + t.PartitionBound
	}
	// A renamed parent is the same parent.
	parent := bt.PartitionOf
	if renamed, ok := d.tableMap[parent]; ok {
		parent = renamed
	}
	if b, a := of(bt, parent), of(at, at.PartitionOf); b != a {
		d.add(Change{Kind: KindTablePartition, Table: at.QualifiedName(), Before: b, After: a})
	}
}
