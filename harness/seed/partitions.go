package seed

import (
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/schema"
)

var (
	// partKey is a partition key on one plain column: "RANGE (day)",
	// "LIST (region)". Keys on several columns or on expressions are not
	// matched: their rows are left to the server to accept or reject.
	partKey    = regexp.MustCompile(`^(RANGE|LIST) \(("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)\)$`)
	rangeBound = regexp.MustCompile(`^FOR VALUES FROM \((.+)\) TO \((.+)\)$`)
	listBound  = regexp.MustCompile(`^FOR VALUES IN \((.+)\)$`)
)

// partitionChecks returns CHECK definitions that keep the rows written
// through partitioned table t inside its partitions' bounds (a row no
// partition takes fails the whole COPY). Nothing when t is not
// partitioned, has a DEFAULT partition, no partition, or a key this does
// not read (hash keys take every value).
//
// Range partitions give two checks: the span from the lowest bound to the
// highest, which the generator solves, and the exact union, verified on
// each row, for partitions with gaps between them.
//
// For range partitions it also returns the key column and the partitions'
// spans, which partitionKeyGen spreads the key's values over.
func partitionChecks(snap *schema.Snapshot, t *schema.Table) (checks []string, keyCol string, spans []span) {
	if t.Kind != "p" {
		return nil, "", nil
	}
	m := partKey.FindStringSubmatch(t.PartitionKey)
	if m == nil {
		return nil, "", nil
	}
	col := m[2]
	var bounds []string
	for _, p := range snap.Tables {
		if p.PartitionOf == t.QualifiedName() {
			bounds = append(bounds, p.PartitionBound)
		}
	}
	sort.Strings(bounds)
	if len(bounds) == 0 || slices.Contains(bounds, "DEFAULT") {
		return nil, "", nil
	}
	if m[1] == "LIST" {
		return listChecks(col, bounds), "", nil
	}
	checks, spans = rangeChecks(col, bounds)
	return checks, unquoteIdent(col), spans
}

// span is one range partition's bounds as pg_get_expr prints them.
type span struct{ lo, hi string }

func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// partitionKeyGen generates a range-partitioned table's key: a partition
// drawn at random, then a value inside its span, so rows spread over the
// partitions (a value solved only against the overall span would pile up
// at one end). nil for a class it does not generate (text keys are left
// to the checks).
func partitionKeyGen(c class, spans []span) func(g *tableGen, cp *colPlan) string {
	unquote := func(v string) string { return strings.Trim(v, "'") }
	switch {
	case c == cInt || c == cNumeric || c == cFloat:
		type num struct{ lo, hi int64 }
		var nums []num
		// [l, h) holds the integers in [lo, hi): exact for integer bounds
		// (epoch microseconds pass 2^53), rounded up for decimal ones.
		bound := func(v string) (int64, bool) {
			if i, err := strconv.ParseInt(v, 10, 64); err == nil {
				return i, true
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.Abs(f) > 1<<62 {
				return 0, false
			}
			return int64(math.Ceil(f)), true
		}
		for _, s := range spans {
			l, okLo := bound(s.lo)
			h, okHi := bound(s.hi)
			switch {
			case s.lo == "MINVALUE" && okHi:
				l = h - 1000
			case s.hi == "MAXVALUE" && okLo:
				h = l + 1000
			case !okLo || !okHi:
				return nil
			}
			if h <= l {
				return nil
			}
			nums = append(nums, num{l, h})
		}
		return func(g *tableGen, cp *colPlan) string {
			n := nums[g.r.IntN(len(nums))]
			return g.intText(cp, n.lo+g.r.Int64N(n.hi-n.lo))
		}
	case c == cDate || c == cTS || c == cTSTZ:
		step := time.Second
		if c == cDate {
			step = day
		}
		type tspan struct {
			lo    time.Time
			steps int64
		}
		var ts []tspan
		for _, s := range spans {
			lo, okLo := parseTime(c, unquote(s.lo))
			hi, okHi := parseTime(c, unquote(s.hi))
			switch {
			case s.lo == "MINVALUE" && okHi:
				lo = hi.Add(-365 * day)
			case s.hi == "MAXVALUE" && okLo:
				hi = lo.Add(365 * day)
			case !okLo || !okHi:
				return nil
			}
			n := int64(hi.Sub(lo) / step)
			if n <= 0 {
				return nil
			}
			ts = append(ts, tspan{lo, n})
		}
		return func(g *tableGen, cp *colPlan) string {
			s := ts[g.r.IntN(len(ts))]
			return g.timeText(cp, s.lo.Add(time.Duration(g.r.Int64N(s.steps))*step))
		}
	}
	return nil
}

func listChecks(col string, bounds []string) []string {
	var vals []string
	null := false
	for _, b := range bounds {
		m := listBound.FindStringSubmatch(b)
		if m == nil {
			return nil
		}
		items, ok := splitLiterals(m[1])
		if !ok {
			return nil
		}
		for _, v := range items {
			if v == "NULL" {
				null = true
				continue
			}
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	in := "(" + col + " = ANY (ARRAY[" + strings.Join(vals, ", ") + "]))"
	if null {
		// A CHECK passes NULL, as the partition listing NULL takes it.
		return []string{"CHECK " + in}
	}
	return []string{"CHECK ((" + col + " IS NOT NULL) AND " + in + ")"}
}

func rangeChecks(col string, bounds []string) ([]string, []span) {
	var spans []span
	for _, b := range bounds {
		m := rangeBound.FindStringSubmatch(b)
		if m == nil {
			return nil, nil
		}
		lo, ok1 := splitLiterals(m[1])
		hi, ok2 := splitLiterals(m[2])
		if !ok1 || !ok2 || len(lo) != 1 || len(hi) != 1 {
			return nil, nil
		}
		spans = append(spans, span{lo[0], hi[0]})
	}
	sort.Slice(spans, func(i, j int) bool { return literalLess(spans[i].lo, spans[j].lo) })
	side := func(op, v string) string {
		if v == "MINVALUE" || v == "MAXVALUE" {
			return ""
		}
		return "(" + col + " " + op + " " + v + ")"
	}
	and := func(parts ...string) string {
		var keep []string
		for _, p := range parts {
			if p != "" {
				keep = append(keep, p)
			}
		}
		return "(" + strings.Join(keep, " AND ") + ")"
	}
	lo, hi := spans[0].lo, spans[0].hi
	var union []string
	for _, s := range spans {
		if literalLess(hi, s.hi) {
			hi = s.hi
		}
		union = append(union, and("("+col+" IS NOT NULL)", side(">=", s.lo), side("<", s.hi)))
	}
	out := []string{"CHECK " + and("("+col+" IS NOT NULL)", side(">=", lo), side("<", hi))}
	if len(spans) > 1 {
		out = append(out, "CHECK ("+strings.Join(union, " OR ")+")")
	}
	return out, spans
}

// literalLess orders two bound literals as pg_get_expr prints them:
// numbers by value, MINVALUE and MAXVALUE at the ends, quoted ones (text,
// dates and times, all printed in one format) as strings.
func literalLess(a, b string) bool {
	rank := func(v string) int {
		switch v {
		case "MINVALUE":
			return 0
		case "MAXVALUE":
			return 2
		}
		return 1
	}
	if ra, rb := rank(a), rank(b); ra != rb || ra != 1 {
		return ra < rb
	}
	fa, errA := strconv.ParseFloat(a, 64)
	fb, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		return fa < fb
	}
	return a < b
}

// splitLiterals splits a bound's comma-separated literals, minding quotes.
func splitLiterals(s string) ([]string, bool) {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			quoted = !quoted
			cur.WriteByte(c)
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, false
	}
	out = append(out, strings.TrimSpace(cur.String()))
	for _, v := range out {
		if v == "" {
			return nil, false
		}
	}
	return out, true
}
