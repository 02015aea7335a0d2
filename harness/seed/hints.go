package seed

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// Hints are what the migrations of a window say about the data: a column a
// later migration casts holds values of the cast's type (seeded in that
// domain, so the cast is rehearsed on data it can take), and the rows an
// UPDATE/DELETE ... WHERE selects exist (so its effect is rehearsed).
type Hints struct {
	domains map[string]map[string]domainHint // table -> column
	rows    map[string][]map[string]*string  // table -> row patterns
	// filled are the columns a migration up to release N set on every row
	// (table -> column -> where): see WithBackfills.
	filled map[string]map[string]string
}

// WithBackfills adds what release N's own migrations say about its data: a
// column one of them set to a constant on every row (UPDATE without WHERE,
// or WHERE it IS NULL) holds no NULL, so N-era and N+1-era rows get none.
// (ente's 9 adds file_object_keys.datacenters with a DEFAULT and sets it on
// every row; a NULL seeded there made a later NOT NULL copy fail, which no
// database of that app could.)
func (h *Hints) WithBackfills(base []*migrate.Migration) *Hints {
	if h == nil {
		h = HintsFrom(nil)
	}
	h.filled = map[string]map[string]string{}
	for _, m := range base {
		for _, b := range migrate.Backfills(m.Up) {
			if b.Undone {
				delete(h.filled[b.Table], b.Column)
				continue
			}
			if h.filled[b.Table] == nil {
				h.filled[b.Table] = map[string]string{}
			}
			h.filled[b.Table][b.Column] = fmt.Sprintf("%s:%d", filepath.Base(b.File), b.Line)
		}
	}
	return h
}

type domainHint struct {
	typ     string // the cast's target type: jsonb, int4, uuid, an enum
	because string // the migration that casts it
}

// HintsFrom analyses migrations (those of the window): casts in their ups,
// UPDATE/DELETE ... WHERE in their ups and downs.
func HintsFrom(migrations []*migrate.Migration) *Hints {
	h := &Hints{domains: map[string]map[string]domainHint{}, rows: map[string][]map[string]*string{}}
	for _, m := range migrations {
		casts, dml := migrate.Analyze(m.Up)
		if m.Down != nil {
			_, down := migrate.Analyze(m.Down)
			dml = append(dml, down...)
		}
		for _, c := range casts {
			if classOf(c.Type, false) == cStr {
				continue
			}
			if h.domains[c.Table] == nil {
				h.domains[c.Table] = map[string]domainHint{}
			}
			if _, ok := h.domains[c.Table][c.Column]; !ok {
				h.domains[c.Table][c.Column] = domainHint{typ: c.Type, because: m.Version}
			}
		}
		for _, d := range dml {
			h.rows[d.Table] = append(h.rows[d.Table], d.Rows...)
		}
	}
	return h
}

// applyHints seeds p's columns in the domain a later cast declares (unless
// a profile pins them) and gives it the rows WHEREs select. enums are the
// enum types known (the cast's enum may be created later). It returns the
// seeding notes.
func (h *Hints) applyHints(p *tablePlan, enums ...map[string]*schema.Enum) []string {
	if h == nil {
		return nil
	}
	p.patterns = h.rows[p.name]
	var notes []string
	for col, where := range h.filled[p.name] {
		if cp := p.byName[col]; cp != nil && cp.nullable && cp.fk == nil && cp.genName != pinnedName {
			cp.nullable = false
			notes = append(notes, fmt.Sprintf("%s.%s seeded without NULLs: %s sets it on every row", p.name, col, where))
		}
	}
	for col, d := range h.domains[p.name] {
		cp := p.byName[col]
		if cp == nil || cp.class != cStr || cp.genName == pinnedName || cp.fk != nil {
			continue
		}
		cl := classOf(d.typ, false)
		var labels []string
		if cl == cUnknown {
			for _, es := range enums {
				for _, e := range es {
					if e.Name == d.typ {
						labels = e.Labels
					}
				}
			}
			if len(labels) == 0 {
				continue
			}
			cl = cEnum
		}
		base := d.typ
		if !fitsLength(cl, cp.length, labels) {
			if cl != cInt || cp.length < 6 {
				continue
			}
			base = "int2" // "-32768" fits in 6 characters
		}
		cp.class, cp.baseType, cp.labels = cl, base, labels
		cp.gen, cp.genName = typeValue, "domain "+d.typ
		notes = append(notes, fmt.Sprintf("%s.%s seeded as %s because %s casts it", p.name, col, d.typ, d.because))
	}
	sort.Strings(notes)
	return notes
}

// applyPattern makes the row one a WHERE selects; columns the seeder does
// not choose freely (foreign keys, SQL pins) keep their values.
func (g *tableGen) applyPattern(pat map[string]*string) {
	for col, v := range pat {
		cp := g.plan.byName[col]
		if cp == nil || cp.fk != nil || cp.sqlExpr != "" {
			continue
		}
		switch {
		case v == nil && cp.nullable:
			g.nulls[cp.i] = true
		case v != nil && !(cp.class == cStr && cp.length > 0 && runeLen(*v) > cp.length):
			g.vals[cp.i], g.nulls[cp.i] = *v, false
		}
	}
}

// fitsLength reports whether every value of class (boundaries included)
// fits a string column of length n (n <= 0: no limit).
func fitsLength(cl class, n int, labels []string) bool {
	if n <= 0 {
		return true
	}
	switch cl {
	case cInt:
		return n >= 20 // -9223372036854775808
	case cUUID:
		return n >= 36
	case cEnum:
		for _, l := range labels {
			if runeLen(l) > n {
				return false
			}
		}
		return true
	}
	return n >= 64
}
