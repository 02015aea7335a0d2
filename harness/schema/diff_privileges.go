package schema

import "strings"

// privileges compares the ACLs of two matched tables.
func (d *differ) privileges(bt, at *Table) {
	if b, a := strings.Join(bt.ACL, ","), strings.Join(at.ACL, ","); b != a {
		d.add(Change{Kind: KindACLChange, Table: at.QualifiedName(), Before: b, After: a})
	}
}
