package contract

import (
	"slices"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/schema"
)

// NoCatalogChange is Explain's answer when the step changed nothing the
// probe touches.
const NoCatalogChange = "no catalog change on this table — data or trigger behaviour"

// Explain names the catalog changes of one step (before -> after, diffed
// as d) that can be behind p failing after it: changes to p's table (by
// OID, so under any name it had), to the updated column and the row's key
// only for an UPDATE, to the foreign key a DELETE goes through, and to functions the
// table's triggers call.
func Explain(p Probe, before, after *schema.Snapshot, d *schema.Changeset) string {
	if d.Empty() {
		return NoCatalogChange
	}
	tables := map[string]bool{}
	cols := map[string]bool{}
	fks := map[string]bool{}
	funcs := map[string]bool{}
	for _, s := range []*schema.Snapshot{before, after} {
		if s == nil {
			continue
		}
		for name, t := range s.Tables {
			if t.OID == p.TableOID {
				tables[name] = true
				for _, c := range t.Columns {
					if c.Attnum == p.Attnum || slices.Contains(p.Key, c.Attnum) {
						cols[c.Name] = true
					}
				}
			}
			if p.FK != "" && t.OID == p.FKTableOID {
				fks[name+"."+p.FK] = true
			}
		}
		for _, tr := range s.Triggers {
			if tables[tr.Table] {
				for key, f := range s.Functions {
					if strings.Contains(tr.Def, f.Schema+"."+f.Name+"(") || strings.Contains(tr.Def, " "+f.Name+"(") {
						funcs[key] = true
						funcs[f.Schema+"."+f.Name] = true
					}
				}
			}
		}
	}
	// Tables that now hold a foreign key to the probe's table: their rows
	// can block release N's DELETE of its rows.
	refs := map[string]bool{}
	if after != nil && p.Kind == KindDelete {
		for name, t := range after.Tables {
			for _, con := range t.Constraints {
				if con.Type == "f" && tables[con.RefTable] && !tables[name] {
					refs[name] = true
				}
			}
		}
	}
	var out []string
	for _, c := range d.Changes {
		switch {
		case fks[c.Table+"."+c.Object]:
		case p.Kind == KindDelete && c.ConstraintType == "f" && tables[c.RefTable] && !tables[c.Table]:
		case c.Kind == schema.KindAddTable && refs[c.Table]:
		case tables[c.Table] || tables[c.Before] || tables[c.After]:
			if p.Kind == KindUpdate && !touches(c, cols) {
				continue
			}
		case funcs[c.Table] || funcs[c.Object]:
		default:
			continue
		}
		if strings.HasSuffix(c.Kind, "-function") {
			out = append(out, c.Short()) // a function's definition is too long for a reason
			continue
		}
		out = append(out, c.String())
	}
	if len(out) == 0 {
		return NoCatalogChange
	}
	if len(out) > 4 {
		out = append(out[:4], "...")
	}
	return strings.Join(out, "; ")
}

// touches reports whether a change on the table can matter to an UPDATE of
// one of cols: a change of that column, of a constraint or index covering
// it, or of the table as a whole (rename, trigger, privileges).
func touches(c schema.Change, cols map[string]bool) bool {
	if c.Column != "" {
		return cols[c.Column] || cols[c.Before]
	}
	if len(c.Columns) > 0 {
		for _, n := range c.Columns {
			if cols[n] {
				return true
			}
		}
		return false
	}
	return true
}
