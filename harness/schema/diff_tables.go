package schema

import (
	"strings"
)

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
	d.privileges(bt, at)
	d.options(bt, at)
	d.partition(bt, at)
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
