package seed

import (
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// check is one CHECK constraint of a table (or of a column's domain).
type check struct {
	name string
	def  string
	expr *node
	cols []string // columns it references
	// opaque: the seeder cannot evaluate it; rows are not verified against
	// it in Go (see load.go for how such tables are loaded).
	opaque bool
	// fn is expr compiled for the table's generator (compile.go); nil:
	// eval it.
	fn checkFn
}

// bound is one side of a range from a CHECK.
type bound struct {
	num   float64
	text  string
	isNum bool
	incl  bool
}

// colRule is what the CHECKs of a table say about one column, in the forms
// the seeder solves directly. Anything else is verified after generation.
type colRule struct {
	choices  []string
	exclude  []string
	lo, hi   *bound
	minLen   int
	maxLen   int
	patterns []string
	nonBlank bool
	notNull  bool
	// mod, rem: col % mod = rem.
	mod, rem int64
	// allowed is allowedChoices, worked out once planning is done: solve
	// runs for every generated row.
	allowed []string
}

func newColRule() *colRule { return &colRule{minLen: -1, maxLen: -1} }

// pairRule says column a must compare to column b with op ("<" or "<=").
type pairRule struct {
	a, b string
	op   string
}

func flip(op string) string {
	switch op {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	}
	return op
}

func colName(n *node) (string, bool) {
	n = stripCasts(n)
	if n.op == "col" {
		return n.name, true
	}
	return "", false
}

func litOf(n *node) (*node, bool) {
	n = stripCasts(n)
	if n.op == "lit" {
		return n, true
	}
	return nil, false
}

func lengthOf(n *node) (string, bool) {
	n = stripCasts(n)
	if n.op == "func" && len(n.args) == 1 && (n.name == "length" || n.name == "char_length" || n.name == "character_length" || n.name == "octet_length") {
		return colName(n.args[0])
	}
	return "", false
}

func trimOf(n *node) (string, bool) {
	n = stripCasts(n)
	if n.op == "func" && len(n.args) == 1 && (n.name == "btrim" || n.name == "trim") {
		return colName(n.args[0])
	}
	return "", false
}

// solvableSide: a column, length(column), btrim(column) or column % n.
func solvableSide(n *node) bool {
	if _, ok := colName(n); ok {
		return true
	}
	if _, ok := lengthOf(n); ok {
		return true
	}
	if _, ok := trimOf(n); ok {
		return true
	}
	n = stripCasts(n)
	return n.op == "arith" && n.name == "%"
}

// analyze adds what expr says in solvable forms to rules and pairs.
func analyze(expr *node, rules map[string]*colRule, pairs *[]pairRule) {
	get := func(c string) *colRule {
		if rules[c] == nil {
			rules[c] = newColRule()
		}
		return rules[c]
	}
	for _, cj := range expr.conjuncts() {
		switch cj.op {
		case "notnull":
			if c, ok := colName(cj.args[0]); ok {
				get(c).notNull = true
			}
		case "cmp":
			l, r, op := cj.args[0], cj.args[1], cj.name
			if !solvableSide(l) && solvableSide(r) {
				l, r, op = r, l, flip(op)
			}
			if c, ok := colName(l); ok {
				if c2, ok := colName(r); ok {
					switch op {
					case "<", "<=":
						*pairs = append(*pairs, pairRule{c, c2, op})
					case ">", ">=":
						*pairs = append(*pairs, pairRule{c2, c, flip(op)})
					}
					continue
				}
				lit, ok := litOf(r)
				if !ok {
					continue
				}
				rule := get(c)
				b := &bound{text: lit.val}
				if f, err := strconv.ParseFloat(lit.val, 64); err == nil {
					b.num, b.isNum = f, true
				}
				switch op {
				case "=":
					rule.choices = append(rule.choices, lit.val)
				case "<>":
					rule.exclude = append(rule.exclude, lit.val)
				case ">", ">=":
					b.incl = op == ">="
					rule.lo = b
				case "<", "<=":
					b.incl = op == "<="
					rule.hi = b
				}
				continue
			}
			if c, ok := lengthOf(l); ok {
				lit, ok := litOf(r)
				if !ok {
					continue
				}
				n, err := strconv.Atoi(lit.val)
				if err != nil {
					continue
				}
				rule := get(c)
				switch op {
				case "=":
					rule.minLen, rule.maxLen = n, n
				case ">":
					rule.minLen = n + 1
				case ">=":
					rule.minLen = n
				case "<":
					rule.maxLen = n - 1
				case "<=":
					rule.maxLen = n
				case "<>":
					if n == 0 {
						rule.minLen = 1
					}
				}
				continue
			}
			if m := stripCasts(l); m.op == "arith" && m.name == "%" && op == "=" {
				c, ok := colName(m.args[0])
				mod, ok2 := litOf(m.args[1])
				rem, ok3 := litOf(r)
				if ok && ok2 && ok3 {
					md, err1 := strconv.ParseInt(mod.val, 10, 64)
					rm, err2 := strconv.ParseInt(rem.val, 10, 64)
					if err1 == nil && err2 == nil && md > 0 {
						get(c).mod, get(c).rem = md, rm
					}
				}
				continue
			}
			if c, ok := trimOf(l); ok {
				if lit, ok := litOf(r); ok && lit.val == "" && op == "<>" {
					get(c).nonBlank = true
				}
			}
		case "any", "all":
			c, ok := colName(cj.args[0])
			arr := stripCasts(cj.args[1])
			if !ok || arr.op != "array" {
				continue
			}
			var vals []string
			for _, e := range arr.args {
				if lit, ok := litOf(e); ok {
					vals = append(vals, lit.val)
				}
			}
			if cj.op == "any" && cj.name == "=" {
				get(c).choices = append(get(c).choices, vals...)
			}
			if cj.op == "all" && cj.name == "<>" {
				get(c).exclude = append(get(c).exclude, vals...)
			}
		case "regex", "like":
			c, ok := colName(cj.args[0])
			lit, ok2 := litOf(cj.args[1])
			if !ok || !ok2 || cj.neg {
				continue
			}
			pat := lit.val
			if cj.op == "like" {
				pat = likeToRegex(pat)
			}
			get(c).patterns = append(get(c).patterns, pat)
		}
	}
}

// solve adjusts v (a generated value for column c) toward what the rule
// allows. The caller still verifies the row.
// allowedChoices are the listed values the rule does not also exclude.
func (r *colRule) allowedChoices() []string {
	allowed := make([]string, 0, len(r.choices))
	for _, ch := range r.choices {
		if !slices.Contains(r.exclude, ch) {
			allowed = append(allowed, ch)
		}
	}
	return allowed
}

func (r *colRule) solve(g *tableGen, c *colPlan, v string) string {
	if len(r.choices) > 0 {
		allowed := r.allowed
		if allowed == nil {
			allowed = r.allowedChoices()
		}
		if len(allowed) > 0 && !slices.Contains(allowed, v) {
			return pickSkewed(g, allowed)
		}
		return v
	}
	if len(r.patterns) > 0 {
		if re, err := compileRegex(r.patterns[0], false); err == nil && !re.MatchString(v) {
			v = genRegex(g, r.patterns[0])
		}
	}
	switch {
	case c.class.numeric():
		v = r.solveNumber(g, c, v)
	case c.class.temporal():
		v = r.solveTime(g, c, v)
	}
	if c.class == cBytea && (r.minLen >= 0 || r.maxLen >= 0) {
		v = r.solveBytes(g, v)
	}
	if c.class == cStr {
		if r.minLen >= 0 && runeLen(v) < r.minLen {
			v += strings.Repeat("x", r.minLen-runeLen(v))
		}
		if r.maxLen >= 0 && runeLen(v) > r.maxLen {
			v = truncateRunes(v, r.maxLen)
		}
		if r.nonBlank && strings.TrimSpace(v) == "" {
			v = truncateRunes(g.f.Word(), maxLen(c))
		}
	}
	for i := 0; i < 3 && slices.Contains(r.exclude, v); i++ {
		v = typeValue(g, c)
	}
	return v
}

// solveBytes gives a bytea value (\x hex) a length within the rule's
// bounds: length(bytea) counts bytes, e.g. CHECK (length(address) = 20).
func (r *colRule) solveBytes(g *tableGen, v string) string {
	n := (len(v) - 2) / 2
	lo, hi := max(r.minLen, 0), r.maxLen
	if hi < 0 {
		hi = lo + 28
	}
	if n >= lo && n <= hi && lo <= hi {
		return v
	}
	if lo > hi {
		return v // unsatisfiable; the server says so
	}
	raw := make([]byte, lo+g.r.IntN(hi-lo+1))
	for i := range raw {
		raw[i] = byte(g.r.Uint32())
	}
	return `\x` + hex.EncodeToString(raw)
}

func (r *colRule) solveNumber(g *tableGen, c *colPlan, v string) string {
	f, ok := g.colNum(c, v)
	if !ok {
		return v
	}
	step := 1.0
	if c.class == cNumeric || c.class == cFloat || c.class == cMoney {
		step = 0.01
		if c.class == cNumeric && c.col.Scale == 0 {
			step = 1
		}
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if r.lo != nil && r.lo.isNum {
		lo = r.lo.num
		if !r.lo.incl {
			lo += step
		}
	}
	if r.hi != nil && r.hi.isNum {
		hi = r.hi.num
		if !r.hi.incl {
			hi -= step
		}
	}
	if r.mod > 0 && (c.class == cInt || step == 1) {
		i := int64(f)
		i = i - i%r.mod + r.rem
		if i < 0 {
			i += r.mod
		}
		f = float64(i)
		v = g.intText(c, i)
	}
	if f >= lo && f <= hi {
		return v
	}
	switch {
	case !math.IsInf(lo, 0) && !math.IsInf(hi, 0):
		f = lo + g.r.Float64()*(hi-lo)
	case !math.IsInf(lo, 0):
		f = lo + g.r.Float64()*1000
	default:
		f = hi - g.r.Float64()*1000
	}
	if c.class == cInt || step == 1 {
		f = math.Floor(f)
		if f < lo {
			f = math.Ceil(lo)
		}
		return g.intText(c, int64(f))
	}
	if c.class == cNumeric {
		out := formatNumeric(f, c.col.Precision, c.col.Scale)
		if g2, err := strconv.ParseFloat(out, 64); err == nil && (g2 < lo || g2 > hi) {
			// Rounding to the scale pushed it out: use the bound itself.
			return formatNumeric(math.Max(lo, math.Min(hi, lo)), c.col.Precision, c.col.Scale)
		}
		return out
	}
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

func (r *colRule) solveTime(g *tableGen, c *colPlan, v string) string {
	t, ok := parseTime(c.class, v)
	if !ok {
		return v
	}
	var lo, hi time.Time
	if r.lo != nil {
		lo, _ = parseTime(c.class, r.lo.text)
	}
	if r.hi != nil {
		hi, _ = parseTime(c.class, r.hi.text)
	}
	switch {
	case !lo.IsZero() && !t.After(lo):
		span := 365 * day
		if !hi.IsZero() {
			span = hi.Sub(lo) / 2
		}
		t = lo.Add(time.Second + time.Duration(g.r.Int64N(int64(span)+1)))
	case !hi.IsZero() && !t.Before(hi):
		t = hi.Add(-time.Second - time.Duration(g.r.Int64N(int64(365*day))))
	}
	return g.timeText(c, t)
}

// violations lists values for column c that the rule rejects: the shapes
// real data has before a constraint exists (case variants, values outside a
// list or range, too long or short, blank).
func (r *colRule) violations(c *colPlan) []string {
	var out []string
	for _, ch := range r.choices {
		for _, v := range []string{strings.ToUpper(ch), strings.Title(ch), " " + ch, ch + " "} {
			if !slices.Contains(r.choices, v) {
				out = append(out, v)
			}
		}
	}
	if len(r.choices) > 0 {
		out = append(out, "unknown", "other", "n/a")
	}
	out = append(out, r.exclude...)
	if r.lo != nil {
		if r.lo.isNum {
			out = append(out, strconv.FormatFloat(r.lo.num-1, 'f', -1, 64), strconv.FormatFloat(r.lo.num, 'f', -1, 64))
		} else if t, ok := parseTime(c.class, r.lo.text); ok {
			out = append(out, formatTime(c.class, t.Add(-48*time.Hour)))
		}
	}
	if r.hi != nil {
		if r.hi.isNum {
			out = append(out, strconv.FormatFloat(r.hi.num+1, 'f', -1, 64), strconv.FormatFloat(r.hi.num, 'f', -1, 64))
		} else if t, ok := parseTime(c.class, r.hi.text); ok {
			out = append(out, formatTime(c.class, t.Add(48*time.Hour)))
		}
	}
	if r.maxLen >= 0 {
		out = append(out, strings.Repeat("x", r.maxLen+1))
	}
	if r.minLen > 0 {
		out = append(out, strings.Repeat("x", r.minLen-1))
	}
	if len(r.patterns) > 0 {
		out = append(out, "not-matching ✗", "lower-case value", "UPPER-CASE VALUE", "")
	}
	if r.nonBlank {
		out = append(out, "", "   ")
	}
	return out
}
