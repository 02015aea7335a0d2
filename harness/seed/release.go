package seed

import (
	"slices"

	"github.com/rehearse-dev/rehearse/harness/schema"
)

// releaseView returns t (the schema after a step) as the code of the step's
// release sees it: a release ships all its migrations in one deploy, so the
// rows it writes must also satisfy what later steps of the same release add
// (NOT NULL, CHECK, UNIQUE, FOREIGN KEY, a shorter length), and a relaxation
// a later step takes back is never exploited. end is t at the release's end
// (nil: t itself); its columns are matched by attnum and renamed to t's names.
func releaseView(t, end *schema.Table) *schema.Table {
	if end == nil || end == t {
		return t
	}
	nameNow := map[string]string{} // end name -> t name
	v := *t
	v.Columns = make([]*schema.Column, len(t.Columns))
	for i, c := range t.Columns {
		cc := *c
		for _, ec := range end.Columns {
			if ec.Attnum != c.Attnum {
				continue
			}
			nameNow[ec.Name] = c.Name
			cc.NotNull = cc.NotNull || ec.NotNull
			if ec.BaseType == c.BaseType && ec.Length > 0 && (c.Length <= 0 || ec.Length < c.Length) {
				cc.Length, cc.Type = ec.Length, ec.Type
			}
		}
		v.Columns[i] = &cc
	}
	rename := func(cols []string) ([]string, bool) {
		out := make([]string, len(cols))
		for i, c := range cols {
			now, ok := nameNow[c]
			if !ok && c != "" {
				return nil, false // a column added later: not written at this step
			}
			out[i] = now
		}
		return out, true
	}
	have := map[string]bool{}
	for _, con := range t.Constraints {
		have[con.Type+":"+con.Def] = true
	}
	v.Constraints = slices.Clone(t.Constraints)
	for _, con := range end.Constraints {
		cols, ok := rename(con.Columns)
		if !ok || con.Type == "p" {
			continue
		}
		def := renameDef(con.Def, nameNow)
		if have[con.Type+":"+def] {
			continue
		}
		cc := *con
		cc.Columns, cc.Def = cols, def
		v.Constraints = append(v.Constraints, &cc)
	}
	haveIdx := map[string]bool{}
	for _, ix := range t.Indexes {
		haveIdx[ix.Name] = true
	}
	v.Indexes = slices.Clone(t.Indexes)
	for _, ix := range end.Indexes {
		if !ix.Unique || haveIdx[ix.Name] || slices.Contains(ix.Columns, "") {
			continue
		}
		cols, ok := rename(ix.Columns)
		if !ok {
			continue
		}
		ic := *ix
		ic.Columns = cols
		v.Indexes = append(v.Indexes, &ic)
	}
	return &v
}
