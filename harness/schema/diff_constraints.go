package schema

import (
	"regexp"
)

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
