package seed

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// shape is one N+1-era shape a step made possible (a NULL where NOT NULL was
// dropped, a duplicate where a UNIQUE was dropped, ...). Half of the rows
// Next inserts get one, in rotation, so every shape appears.
type shape struct {
	what  string
	apply func(g *tableGen) bool
}

// noEraKey is why a table without a key to record gets no N+1-era rows.
const noEraKey = "no primary key and no NOT NULL unique key: N+1-era rows could not be told apart from N-era rows, so none were written"

// nextEraWhere selects the rows inserted by the current transaction.
const nextEraWhere = "r.xmin = pg_current_xact_id()::xid"

// Next implements Seeder.
func (s *seeder) Next(ctx context.Context, dsn string, step string, before, after *schema.Snapshot) (*Result, error) {
	return s.NextInRelease(ctx, dsn, step, before, after, nil)
}

// NextInRelease implements Seeder.
func (s *seeder) NextInRelease(ctx context.Context, dsn string, step string, before, after, end *schema.Snapshot) (*Result, error) {
	if before == nil || after == nil {
		return nil, fmt.Errorf("seed next %s: need the snapshots before and after the step", step)
	}
	r, err := s.newRun(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("seed next %s: %w", step, err)
	}
	defer r.close()
	if err := era.Ensure(ctx, r.ctl); err != nil {
		return nil, fmt.Errorf("seed next %s: %w", step, err)
	}
	partitions, err := r.partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed next %s: %w", step, err)
	}
	plans := map[string]*tablePlan{}
	var notes []string
	var updates []*tablePlan
	for _, t := range sortedTables(after) {
		if end != nil {
			t = releaseView(t, matchTable(end, t))
		}
		p, err := s.planTable(after, t, nil)
		if err != nil {
			return nil, fmt.Errorf("seed next %s: plan %s: %w", step, t.QualifiedName(), err)
		}
		p.record = step
		notes = append(notes, s.opts.Hints.applyHints(p, after.Enums, enumsOf(end))...)
		bt := matchTable(before, t)
		if bt == nil {
			p.rows = max(10, s.rowsFor(t)/4)
		} else {
			newCols, err := r.planShapes(ctx, p, bt, before, after)
			if err != nil {
				return nil, fmt.Errorf("seed next %s: %w", step, err)
			}
			// A partitioned table's rows are its partitions' (each in
			// after, updated on its own): a ctid names a row only within
			// one partition.
			if len(newCols) > 0 && t.Kind != "p" {
				up, err := s.planTable(after, t, nil)
				if err != nil {
					return nil, fmt.Errorf("seed next %s: plan %s: %w", step, t.QualifiedName(), err)
				}
				up.updateCols = newCols
				updates = append(updates, up)
			}
			if len(p.shapes) == 0 && len(newCols) == 0 && !typeChanged(bt, t) {
				continue
			}
			p.rows = max(10, s.rowsFor(t)/10)
		}
		if _, ok := partitions[t.OID]; ok {
			continue
		}
		if len(era.PrimaryKey(t)) == 0 && p.skip == "" {
			p.skip = noEraKey
		}
		plans[p.name] = p
	}
	parentNotes, err := r.planFreeParents(ctx, plans, after, end, step)
	if err != nil {
		return nil, fmt.Errorf("seed next %s: %w", step, err)
	}
	notes = append(notes, parentNotes...)
	// New columns first, on the rows that exist before this step's inserts.
	var updateResults []TableResult
	for _, up := range updates {
		if err := r.updateNewColumns(ctx, up, step); err != nil {
			s.log.Warn("seed: new columns of existing rows left to their default", "table", up.name, "err", err)
			updateResults = append(updateResults, TableResult{Table: up.name, Unsatisfied: up.updateCols})
		}
	}
	ordered := order(plans)
	planExports(plans)
	r.loadAll(ctx, ordered, "next:"+step)
	r.fillDeferred(ctx, ordered)
	res := r.result(ordered)
	res.Notes = notes
	for _, u := range updateResults {
		found := false
		for i := range res.Tables {
			if res.Tables[i].Table == u.Table {
				res.Tables[i].Unsatisfied = append(res.Tables[i].Unsatisfied, u.Unsatisfied...)
				found = true
			}
		}
		if !found {
			res.Tables = append(res.Tables, u)
		}
	}
	return res, ctx.Err()
}

func typeChanged(before, after *schema.Table) bool {
	for _, c := range after.Columns {
		for _, b := range before.Columns {
			if b.Attnum == c.Attnum && b.Type != c.Type {
				return true
			}
		}
	}
	return false
}

// planShapes diffs a table before and after a step and plans the N+1-era
// shapes of its new rows. It returns the columns the step added.
func (r *run) planShapes(ctx context.Context, p *tablePlan, bt *schema.Table, before, after *schema.Snapshot) ([]string, error) {
	t := p.t
	beforeName := map[string]string{} // after name -> before name, by attnum
	var newCols []string
	for _, c := range t.Columns {
		var b *schema.Column
		for _, bc := range bt.Columns {
			if bc.Attnum == c.Attnum {
				b = bc
			}
		}
		cp := p.byName[c.Name]
		if b == nil {
			if cp != nil {
				newCols = append(newCols, c.Name)
			}
			continue
		}
		beforeName[c.Name] = b.Name
		if cp == nil {
			continue
		}
		// A foreign-key column too: NULL satisfies its FOREIGN KEY, and a
		// down that sets NOT NULL again must meet the NULLs.
		if b.NotNull && !c.NotNull && cp.nullable {
			p.addShape("NULL in "+c.Name+" (NOT NULL dropped)", func(g *tableGen) bool {
				g.nulls[cp.i] = true
				return true
			})
		}
		if cp.fk != nil {
			continue
		}
		r.planWidening(p, cp, b)
		if c.Enum != "" && b.Enum != "" {
			var added []string
			if ea, eb := after.Enums[c.Enum], before.Enums[b.Enum]; ea != nil && eb != nil {
				for _, l := range ea.Labels {
					if !slices.Contains(eb.Labels, l) {
						added = append(added, l)
					}
				}
			}
			if len(added) > 0 && !c.IsArray {
				p.addShape("new enum label in "+c.Name, func(g *tableGen) bool {
					g.vals[cp.i], g.nulls[cp.i] = added[g.r.IntN(len(added))], false
					return true
				})
			}
		}
	}
	afterNames := map[string]string{} // before name -> after name
	for a, b := range beforeName {
		afterNames[b] = a
	}
	kept := map[string]bool{}
	for _, con := range t.Constraints {
		kept[con.Type+":"+con.Def] = true
	}
	keptIdx := map[string]bool{}
	for _, ix := range t.Indexes {
		if ix.Unique {
			keptIdx[ix.Def] = true
			keptIdx[ix.Name] = true
		}
	}
	for _, con := range bt.Constraints {
		if kept[con.Type+":"+renameDef(con.Def, afterNames)] {
			continue
		}
		switch con.Type {
		case "c":
			r.planRelaxedCheck(p, con, afterNames)
		case "u", "p":
			if keptIdx[con.Name] {
				continue
			}
			if err := r.planDuplicates(ctx, p, con.Name, con.Columns, afterNames); err != nil {
				return nil, err
			}
		case "f":
			r.planOrphans(p, con, afterNames)
		}
	}
	for _, ix := range bt.Indexes {
		if !ix.Unique || ix.Primary || keptIdx[ix.Name] || slices.Contains(ix.Columns, "") {
			continue
		}
		isCon := false
		for _, con := range bt.Constraints {
			if con.Name == ix.Name {
				isCon = true
			}
		}
		if !isCon {
			if err := r.planDuplicates(ctx, p, ix.Name, ix.Columns, afterNames); err != nil {
				return nil, err
			}
		}
	}
	return newCols, nil
}

func renameDef(def string, afterNames map[string]string) string {
	for b, a := range afterNames {
		if a != b {
			def = strings.ReplaceAll(def, b, a)
		}
	}
	return def
}

func (p *tablePlan) addShape(what string, apply func(g *tableGen) bool) {
	p.shapes = append(p.shapes, shape{what: what, apply: apply})
}

// planWidening: longer strings where a type was widened, bigger numbers
// where an integer or numeric type was.
func (r *run) planWidening(p *tablePlan, cp *colPlan, b *schema.Column) {
	c := cp.col
	switch {
	case cp.class == cStr && !c.IsArray && b.Length > 0 && (c.Length < 0 || c.Length > b.Length):
		old := b.Length
		limit := c.Length
		if limit < 0 {
			limit = old + 40
		}
		p.addShape(fmt.Sprintf("%s longer than %d", c.Name, old), func(g *tableGen) bool {
			n := old + 1 + g.r.IntN(min(40, limit-old))
			v := g.vals[cp.i]
			if g.nulls[cp.i] || v == "" {
				v = cp.gen(g, cp)
			}
			for runeLen(v) < n {
				v += "-" + strings.ToLower(g.f.Noun())
			}
			g.vals[cp.i], g.nulls[cp.i] = truncateRunes(v, n), false
			return true
		})
	case cp.class == cInt && classOf(b.BaseType, false) == cInt && b.BaseType != c.BaseType:
		_, oldHi := intRange(b.BaseType)
		_, newHi := intRange(c.BaseType)
		if newHi <= oldHi {
			return
		}
		p.addShape(fmt.Sprintf("%s beyond %s", c.Name, b.BaseType), func(g *tableGen) bool {
			g.vals[cp.i], g.nulls[cp.i] = strconv.FormatInt(oldHi+1+g.r.Int64N(1000), 10), false
			return true
		})
	case cp.class == cNumeric && b.BaseType == "numeric" && b.Precision > 0 &&
		(c.Precision < 0 || c.Precision-c.Scale > b.Precision-b.Scale):
		over := bigIntText(strings.Repeat("9", max(1, b.Precision-b.Scale)), 1)
		p.addShape(fmt.Sprintf("%s beyond numeric(%d,%d)", c.Name, b.Precision, b.Scale), func(g *tableGen) bool {
			g.vals[cp.i], g.nulls[cp.i] = over, false
			return true
		})
	case cp.class == cStr && b.BaseType != c.BaseType && classOf(b.BaseType, false) != cStr:
		// e.g. int -> text: values the old type cannot hold.
		p.addShape(fmt.Sprintf("%s not a %s", c.Name, b.BaseType), func(g *tableGen) bool {
			g.vals[cp.i], g.nulls[cp.i] = truncateRunes("n/a "+g.f.Word(), maxLen(cp)), false
			return true
		})
	}
}

// planRelaxedCheck: values the dropped or relaxed CHECK rejected.
func (r *run) planRelaxedCheck(p *tablePlan, con *schema.Constraint, afterNames map[string]string) {
	expr, err := parseCheckDef(con.Def)
	if err != nil {
		return
	}
	for b, a := range afterNames {
		if a != b {
			renameCol(expr, b, a)
		}
	}
	ck := &check{name: con.Name, def: con.Def, expr: expr}
	rules := map[string]*colRule{}
	var pairs []pairRule
	analyze(expr, rules, &pairs)
	cols := map[string]bool{}
	expr.columns(cols)
	for name := range cols {
		cp := p.byName[name]
		if cp == nil || cp.fk != nil {
			continue
		}
		rule := rules[name]
		if rule == nil {
			rule = newColRule()
		}
		p.addShape(fmt.Sprintf("%s outside dropped %s", name, con.Name), func(g *tableGen) bool {
			cands := rule.violations(cp)
			if cp.rule != nil {
				// What the new constraint allows and the old one did not.
				cands = append(cands, cp.rule.choices...)
			}
			if w, ok := weirdValue(g, cp); ok {
				cands = append(cands, w)
			}
			cands = append(cands, typeValue(g, cp))
			return g.setViolating(cp, cands, ck)
		})
	}
	for _, pr := range pairs {
		a, b := p.byName[pr.a], p.byName[pr.b]
		if a == nil || b == nil {
			continue
		}
		p.addShape(fmt.Sprintf("%s and %s out of order (dropped %s)", pr.a, pr.b, con.Name), func(g *tableGen) bool {
			if g.nulls[a.i] || g.nulls[b.i] {
				return false
			}
			g.vals[a.i], g.vals[b.i] = g.vals[b.i], g.vals[a.i]
			return g.rejects(ck, a, g.vals[a.i])
		})
	}
}

// planDuplicates: rows repeating existing values of a dropped UNIQUE.
func (r *run) planDuplicates(ctx context.Context, p *tablePlan, name string, cols []string, afterNames map[string]string) error {
	var cps []*colPlan
	var now []string
	for _, c := range cols {
		cp := p.byName[afterNames[c]]
		if cp == nil {
			return nil
		}
		cps = append(cps, cp)
		now = append(now, afterNames[c])
	}
	for _, u := range p.uniques {
		if containsCols(cps, u.cols) {
			return nil // still unique through another key
		}
	}
	// The first 64 keys are all a duplicate needs: read no more.
	tuples, err := readKeys(ctx, r.ctl, p.name, now, 64)
	if err != nil {
		return err
	}
	if tuples.len() == 0 {
		return nil
	}
	p.addShape(fmt.Sprintf("duplicate %s (dropped %s)", strings.Join(now, ", "), name), func(g *tableGen) bool {
		tup := tuples.at(g.r.IntN(tuples.len()))
		for j, cp := range cps {
			g.vals[cp.i], g.nulls[cp.i] = tup[j], false
		}
		return true
	})
	return nil
}

// planOrphans: values no parent has, where a FOREIGN KEY was dropped.
func (r *run) planOrphans(p *tablePlan, con *schema.Constraint, afterNames map[string]string) {
	if len(con.Columns) != 1 {
		return
	}
	cp := p.byName[afterNames[con.Columns[0]]]
	if cp == nil || cp.fk != nil || cp.class != cInt {
		return
	}
	p.addShape(fmt.Sprintf("%s without parent (dropped %s)", cp.col.Name, con.Name), func(g *tableGen) bool {
		_, hi := intRange(cp.baseType)
		g.vals[cp.i], g.nulls[cp.i] = strconv.FormatInt(hi-g.r.Int64N(1000), 10), false
		return true
	})
}

// planFreeParents plans N+1-era rows for the parents of a table whose rows
// each need a parent of their own (a foreign key that is also its key, as
// key_attributes.user_id REFERENCES users) when fewer parents are free than
// the table gets rows: N+1's code writes the new user with its key
// attributes. Without them the table got no N+1-era rows at all, and no
// shape the step made possible (a widened type's big values) was written.
func (r *run) planFreeParents(ctx context.Context, plans map[string]*tablePlan, after, end *schema.Snapshot, step string) ([]string, error) {
	var notes []string
	for added := true; added; {
		added = false
		for _, p := range order(plans) {
			for _, fk := range p.fks {
				pt := after.Tables[fk.parent]
				if !fk.oneToOne || fk.nullable || fk.deferred || plans[fk.parent] != nil || pt == nil || pt.PartitionOf != "" || p.skip != "" {
					continue
				}
				var free int64
				q := "SELECT count(*) FROM " + quoteTable(pt.Schema, pt.Name) + " p WHERE " + freeParent(quoteTable(p.t.Schema, p.t.Name), fk)
				if err := r.ctl.QueryRow(ctx, q).Scan(&free); err != nil {
					return nil, fmt.Errorf("count free parents of %s in %s: %w", p.name, fk.parent, err)
				}
				if free >= int64(p.rows) {
					continue
				}
				t := pt
				if end != nil {
					t = releaseView(t, matchTable(end, t))
				}
				pp, err := r.s.planTable(after, t, nil)
				if err != nil {
					return nil, fmt.Errorf("plan %s: %w", t.QualifiedName(), err)
				}
				pp.record = step
				pp.rows = p.rows - int(free)
				notes = append(notes, r.s.opts.Hints.applyHints(pp, after.Enums, enumsOf(end))...)
				if len(era.PrimaryKey(t)) == 0 && pp.skip == "" {
					pp.skip = noEraKey
				}
				plans[pp.name] = pp
				added = true
			}
		}
	}
	return notes, nil
}

// denseUpdateRows is how many existing rows (in ctid order) get the step's
// new columns at the dense share; see touchedByNextEra.
const denseUpdateRows = 1000

// touchedByNextEra says whether existing row number row (1-based, ctid
// order) gets values in the step's new columns, from draw (0..9): 6 in 10
// of the first denseUpdateRows, 1 in 10 after them. N+1's code touches a
// share of a large table's existing rows before a rollback, not most of
// them, and updating most of them was the largest cost of a run on
// realistic data (each UPDATE writes a new row version and index
// entries); the dense head keeps the evidence on small tables as it was.
// One draw per row either way, so tables up to denseUpdateRows get the
// same rows and values as before.
func touchedByNextEra(draw, row int) bool {
	if row <= denseUpdateRows {
		return draw >= 4
	}
	return draw == 0
}

// updateNewColumns gives the rows that exist before the step values in the
// columns it added (a share keeps the default, see touchedByNextEra), one
// UPDATE per table.
func (r *run) updateNewColumns(ctx context.Context, p *tablePlan, step string) error {
	ctx, cancel := context.WithTimeout(ctx, tableTimeout)
	defer cancel()
	var cps []*colPlan
	for _, name := range p.updateCols {
		if cp := p.byName[name]; cp != nil && cp.sqlExpr == "" && cp.class != cUnknown {
			cps = append(cps, cp)
		}
	}
	if len(cps) == 0 || p.skip != "" {
		return nil
	}
	for _, fk := range p.fks {
		if !slices.ContainsFunc(fk.cols, func(c *colPlan) bool { return slices.Contains(cps, c) }) {
			continue
		}
		keys, err := readKeys(ctx, r.ctl, fk.parent, fk.refCols, 0)
		if err != nil {
			return err
		}
		fk.keys = keys
	}
	table := quoteTable(p.t.Schema, p.t.Name)
	// Only keys made of new columns can collide here; the others are
	// unchanged by the UPDATE.
	var uniques []*uniquePlan
	for _, u := range p.uniques {
		if containsCols(cps, u.cols) {
			if err := loadSeen(ctx, r.ctl, table, u); err != nil {
				return err
			}
			uniques = append(uniques, u)
		}
	}
	p.uniques = uniques
	g := newTableGen(r.s.opts.Seed, "update:"+step, p, 0)
	row, updated := 0, int64(0)
	// With user triggers off where the role may: a trigger such as
	// `updated_at = now()` would change N-era values the step never
	// touched, and nEraKept would blame the down for it.
	err := r.updateInBatches(ctx, "SELECT ctid::text FROM "+table+" ORDER BY ctid", nil, true, func(tx pgx.Tx, tids []string) error {
		var picked []string
		vals := make([][]*string, len(cps))
		for _, tid := range tids {
			row++
			if !touchedByNextEra(g.r.IntN(10), row) {
				continue // keeps the default, as rows untouched since the upgrade do
			}
			ok := false
			for attempt := 0; attempt < maxAttempts && !ok; attempt++ {
				for _, cp := range cps {
					if cp.fk != nil {
						key, _ := g.pickFK(cp.fk)
						if key == nil {
							g.nulls[cp.i] = true
							continue
						}
						j := slices.Index(cp.fk.cols, cp)
						g.vals[cp.i], g.nulls[cp.i] = key[j], false
						continue
					}
					g.vals[cp.i], g.nulls[cp.i] = g.value(cp, row-1, attempt)
				}
				ok = g.uniqueFree()
			}
			if !ok {
				continue
			}
			g.commit()
			picked = append(picked, tid)
			for j, cp := range cps {
				if g.nulls[cp.i] {
					vals[j] = append(vals[j], nil)
				} else {
					v := g.vals[cp.i]
					vals[j] = append(vals[j], &v)
				}
			}
		}
		if len(picked) == 0 {
			return nil
		}
		args := make([]any, len(vals))
		for j := range vals {
			args[j] = vals[j]
		}
		n, err := updateByCtid(ctx, tx, table, cps, picked, args)
		updated += n
		return err
	})
	if err != nil {
		return fmt.Errorf("update new columns of %s: %w", p.name, err)
	}
	r.s.log.Debug("seed: new columns set on existing rows", "table", p.name, "rows", updated)
	return nil
}
