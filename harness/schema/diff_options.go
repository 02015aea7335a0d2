package schema

import "strings"

// options compares the storage parameters (reloptions) of two matched
// tables: a down that forgets to RESET what its up SET leaves them changed.
func (d *differ) options(bt, at *Table) {
	if b, a := strings.Join(bt.Options, ","), strings.Join(at.Options, ","); b != a {
		d.add(Change{Kind: KindTableOptions, Table: at.QualifiedName(), Before: b, After: a})
	}
}
