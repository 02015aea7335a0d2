package seed

import (
	"bufio"
	"encoding/hex"
	"hash/fnv"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"
)

// maxAttempts bounds generate-and-retry per row; a row that still breaks a
// CHECK or collides on a unique key is dropped and its columns reported.
const maxAttempts = 25

// tableGen generates the rows of one table. It owns its random source,
// seeded from the run's seed and the table's name, so the data does not
// depend on which tables load in parallel.
type tableGen struct {
	plan     *tablePlan
	r        *rand.Rand
	f        *gofakeit.Faker
	weird    float64
	weirdRow bool
	vals     []string
	nulls    []bool
	side     []sideVal // what vals were parsed to or made from (side.go)
	slab     []byte    // where intText and timeText write (side.go)
	bin      []byte    // a binary COPY row being encoded
	binKinds []binKind
	// binaryMiss: a value did not fit binary COPY (see copybin.go).
	binaryMiss bool
	// keyBuf holds a sequential parent key pickFK returns; the caller
	// copies it out before the next pick.
	keyBuf      [1]string
	keyInt      int64 // keyBuf[0]'s value, when keyIsInt
	keyIsInt    bool
	keys        []keyHash
	keyOK       []bool
	dropped     int
	unsatisfied map[string]bool
	lastFailed  *check
}

func tableSeed(seed int64, table string) (uint64, uint64) {
	h := fnv.New64a()
	h.Write([]byte(table))
	return uint64(seed), h.Sum64()
}

func newTableGen(seed int64, salt string, p *tablePlan, weird float64) *tableGen {
	a, b := tableSeed(seed, p.name+salt)
	src := rand.NewPCG(a, b)
	return &tableGen{
		plan:        p,
		r:           rand.New(src),
		f:           gofakeit.NewFaker(src, false),
		weird:       weird,
		vals:        make([]string, len(p.cols)),
		side:        make([]sideVal, len(p.cols)),
		nulls:       make([]bool, len(p.cols)),
		keys:        make([]keyHash, len(p.uniques)),
		keyOK:       make([]bool, len(p.uniques)),
		unsatisfied: map[string]bool{},
	}
}

// next generates row number row into g.vals/g.nulls. ok is false when the
// row was dropped; stop is true when no further row can be made (a
// one-to-one foreign key ran out of parents).
func (g *tableGen) next(row int) (ok, stop bool) {
	p := g.plan
	// WeirdRate is a share of rows; in such a row about half the columns
	// get a break-down shape.
	g.weirdRow = g.weird > 0 && g.r.Float64() < g.weird
	for attempt := 0; attempt < maxAttempts; attempt++ {
		for _, fk := range p.fks {
			if fk.deferred {
				for _, cp := range fk.cols {
					g.nulls[cp.i] = true
				}
				continue
			}
			key, exhausted := g.pickFK(fk)
			if exhausted {
				return false, true
			}
			for j, cp := range fk.cols {
				if key == nil {
					g.nulls[cp.i] = true
				} else {
					g.vals[cp.i], g.nulls[cp.i] = key[j], false
					if g.keyIsInt {
						sv := g.sideOf(cp.i, key[j])
						sv.i, sv.has = g.keyInt, sv.has|sideInt
					}
				}
			}
		}
		for _, cp := range p.cols {
			if cp.fk == nil {
				g.vals[cp.i], g.nulls[cp.i] = g.value(cp, row, attempt)
			}
		}
		g.orderPairs()
		if len(p.shapes) > 0 && row%2 == 0 {
			p.shapes[(row/2+attempt)%len(p.shapes)].apply(g)
		}
		// The first odd rows match each WHERE of the window once (a step's
		// few N+1-era rows too), then every tenth row; a row that cannot (a
		// CHECK or key rejects it) is made without after a few attempts.
		if n := len(p.patterns); n > 0 && attempt < maxAttempts/2 {
			switch {
			case row < 2*n && row%2 == 1:
				g.applyPattern(p.patterns[row/2])
			case row%10 == 1:
				g.applyPattern(p.patterns[(row/10)%n])
			}
		}
		if ck := g.verify(); ck != nil {
			g.lastFailed = ck
			continue
		}
		if !g.uniqueFree() {
			g.lastFailed = nil
			continue
		}
		g.commit()
		return true, false
	}
	g.dropped++
	if g.lastFailed != nil {
		for _, c := range g.lastFailed.cols {
			g.unsatisfied[c] = true
		}
	}
	return false, false
}

func (g *tableGen) pickFK(fk *fkPlan) (key []string, exhausted bool) {
	n := fk.keys.len()
	if n == 0 {
		return nil, !fk.nullable
	}
	if fk.nullable && g.r.Float64() < fk.cols[0].nullRate {
		return nil, false
	}
	switch {
	case fk.oneToOne:
		switch {
		case fk.perm != nil || fk.walk != nil:
		case n > permCap:
			fk.walk = newFeistelPerm(g.r, n)
		default:
			fk.perm = perm32(g.r, n)
		}
		if fk.permPos >= n {
			return nil, !fk.nullable
		}
		fk.permPos++
		if fk.walk != nil {
			return g.fkKey(fk, fk.walk.at(fk.permPos-1)), false
		}
		return g.fkKey(fk, int(fk.perm[fk.permPos-1])), false
	case fk.uniform || n == 1:
		return g.fkKey(fk, g.r.IntN(n)), false
	}
	// A few parents own many children, most own a few.
	if fk.zipf == nil {
		fk.zipf = newZipf(g.r, uint64(n-1))
	}
	return g.fkKey(fk, int(fk.zipf.Uint64())), false
}

// fkKey is fk.keys.atInto(i, g.keyBuf[:]), keeping an integer key's value
// for its side value.
func (g *tableGen) fkKey(fk *fkPlan, i int) []string {
	if g.keyIsInt = fk.keys.ints; g.keyIsInt {
		g.keyInt = fk.keys.value(i)
		var buf [20]byte
		g.keyBuf[0] = g.text(strconv.AppendInt(buf[:0], g.keyInt, 10))
		return g.keyBuf[:1]
	}
	return fk.keys.list[i]
}

// permCap: a one-to-one child of up to this many parents uses them in the
// order of rand.Perm, kept (perm32); past it, in the order of a keyed
// permutation computed per pick (feistelPerm), which needs no memory per
// parent but draws other random numbers, so the rows differ from what a
// kept permutation would give.
const permCap = 1 << 20

// perm32 is r.Perm(n) in int32s (n <= permCap), drawing the same numbers:
// a one-to-one child's permutation of its parents, half the memory.
func perm32(r *rand.Rand, n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// feistelPerm is a random permutation of [0, n) computed one index at a
// time: a 4-round Feistel network over the smallest even number of bits
// that holds n (a bijection of [0, 4^h)), cycle-walked back into [0, n)
// (at most 4 steps on average), keyed from the generator's random source.
type feistelPerm struct {
	n    uint64
	half uint   // h: bits per half
	mask uint64 // 1<<h - 1
	keys [4]uint64
}

func newFeistelPerm(r *rand.Rand, n int) *feistelPerm {
	h := uint((bits.Len64(uint64(n-1)) + 1) / 2)
	f := &feistelPerm{n: uint64(n), half: h, mask: 1<<h - 1}
	for i := range f.keys {
		f.keys[i] = r.Uint64()
	}
	return f
}

// at is the permutation's i-th value, 0 <= i < n.
func (f *feistelPerm) at(i int) int {
	x := uint64(i)
	for {
		l, r := x>>f.half, x&f.mask
		for _, k := range f.keys {
			l, r = r, l^(mix64(r^k)&f.mask)
		}
		if x = l<<f.half | r; x < f.n {
			return int(x)
		}
	}
}

// mix64 is splitmix64's finaliser: every input bit moves every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// value generates one column's value; null reports SQL NULL.
func (g *tableGen) value(cp *colPlan, row, attempt int) (v string, null bool) {
	if cp.seqPK {
		return g.intText(cp, cp.seqStart+int64(row)), false
	}
	if cp.sqlValues != nil {
		v := cp.sqlValues[row%len(cp.sqlValues)]
		return v, v == nullMarker
	}
	if cp.genName == pinnedName {
		return cp.gen(g, cp), false
	}
	if cp.nullable && g.r.Float64() < cp.nullRate {
		return "", true
	}
	if cp.future != nil && g.weird > 0 && attempt < maxAttempts/2 && g.r.Float64() < g.weird {
		if v, null, ok := g.futureValue(cp); ok {
			return v, null
		}
	}
	if g.weirdRow && attempt < 3 && g.r.IntN(2) == 0 {
		if !cp.inUnique && len(cp.recent) > 0 && g.r.IntN(3) == 0 {
			return cp.recent[g.r.IntN(len(cp.recent))], false
		}
		if v, ok := weirdValue(g, cp); ok && !cp.col.IsArray {
			return v, false
		}
	}
	if cp.col.IsArray {
		return g.array(cp), false
	}
	if cp.rule != nil && len(cp.rule.choices) > 0 {
		// The CHECK's list decides; the name generator's value would be
		// thrown away.
		v = ""
	} else {
		v = cp.gen(g, cp)
	}
	if cp.constDefault != nil && g.r.IntN(4) == 0 {
		v = *cp.constDefault
	}
	if cp.rule != nil {
		v = cp.rule.solve(g, cp, v)
	}
	if cp.inUnique && attempt >= 2 {
		v = g.uniquify(cp, v, row, attempt)
		if cp.rule != nil && cp.class == cInt {
			// uniquify draws from the whole type: keep the CHECK's range
			// (or the partitions'), or the row fails it on every attempt
			// left.
			v = cp.rule.solve(g, cp, v)
		}
	}
	if cp.class == cStr && cp.length > 0 {
		v = truncateRunes(v, cp.length)
	}
	return v, false
}

func (g *tableGen) uniquify(cp *colPlan, v string, row, attempt int) string {
	switch cp.class {
	case cStr:
		suffix := "-" + strconv.FormatInt(int64(row)*int64(maxAttempts)+int64(attempt), 36)
		if cp.length > 0 {
			keep := cp.length - len(suffix)
			if keep < 0 {
				return truncateRunes(suffix, cp.length)
			}
			v = truncateRunes(v, keep)
		}
		return v + suffix
	case cInt:
		_, hi := intRange(cp.baseType)
		return strconv.FormatInt(g.r.Int64N(hi), 10)
	case cNumeric, cFloat, cMoney:
		return strconv.FormatInt(int64(row)*int64(maxAttempts)+int64(attempt), 10)
	}
	return v
}

func (g *tableGen) array(cp *colPlan) string {
	n := g.r.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		e := cp.gen(g, cp)
		if cp.class == cStr && cp.length > 0 {
			e = truncateRunes(e, cp.length)
		}
		parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(e) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// futureValue writes what N+1's coming constraint will reject, the way real
// data has it before the constraint exists.
func (g *tableGen) futureValue(cp *colPlan) (string, bool, bool) {
	sh := cp.future
	var options []func() (string, bool, bool)
	if sh.notNull && cp.nullable {
		options = append(options, func() (string, bool, bool) { return "", true, true })
	}
	if sh.unique && len(cp.recent) > 0 {
		options = append(options, func() (string, bool, bool) { return cp.recent[g.r.IntN(len(cp.recent))], false, true })
	}
	if sh.fk {
		options = append(options, func() (string, bool, bool) {
			switch cp.class {
			case cInt:
				_, hi := intRange(cp.baseType)
				return strconv.FormatInt(hi-g.r.Int64N(1000), 10), false, true
			case cUUID:
				return g.f.UUID(), false, true
			case cStr:
				return truncateRunes("orphan-"+g.f.Word(), maxLen(cp)), false, true
			}
			return "", false, false
		})
	}
	for i, r := range sh.rules {
		ck := sh.checks[i]
		r := r
		options = append(options, func() (string, bool, bool) {
			cands := r.violations(cp)
			if w, ok := weirdValue(g, cp); ok {
				cands = append(cands, w)
			}
			if g.setViolating(cp, cands, ck) {
				return g.vals[cp.i], false, true
			}
			return "", false, false
		})
	}
	if len(options) == 0 {
		return "", false, false
	}
	return options[g.r.IntN(len(options))]()
}

// setViolating sets column cp to the first of cands (in random order) that
// ck rejects while the row still passes the table's own CHECKs.
func (g *tableGen) setViolating(cp *colPlan, cands []string, ck *check) bool {
	old, oldNull := g.vals[cp.i], g.nulls[cp.i]
	for _, k := range g.r.Perm(len(cands)) {
		v := cands[k]
		if cp.class == cStr && cp.length > 0 && runeLen(v) > cp.length {
			continue
		}
		if !g.rejects(ck, cp, v) {
			continue
		}
		g.vals[cp.i], g.nulls[cp.i] = v, false
		if g.verifyColumn(cp) {
			return true
		}
	}
	g.vals[cp.i], g.nulls[cp.i] = old, oldNull
	return false
}

// verifyColumn reports whether the CHECKs that mention cp pass.
func (g *tableGen) verifyColumn(cp *colPlan) bool {
	for _, ck := range g.plan.checks {
		if !slices.Contains(ck.cols, cp.col.Name) {
			continue
		}
		res, err := evaluator{g: g}.eval(ck.expr)
		if err != nil || !passes(res) {
			return false
		}
	}
	return true
}

// rejects reports whether ck fails when column cp holds v (the rest of the
// row as generated so far).
func (g *tableGen) rejects(ck *check, cp *colPlan, v string) bool {
	old, oldNull := g.vals[cp.i], g.nulls[cp.i]
	g.vals[cp.i], g.nulls[cp.i] = v, false
	res, err := evaluator{g: g}.eval(ck.expr)
	g.vals[cp.i], g.nulls[cp.i] = old, oldNull
	return err == nil && !passes(res)
}

func (g *tableGen) lookup(name string) (value, error) {
	cp := g.plan.byName[name]
	if cp == nil {
		return value{}, errOpaque
	}
	return g.colValue(cp)
}

// colValue is column cp of the current row as eval sees it.
func (g *tableGen) colValue(cp *colPlan) (value, error) {
	if g.nulls[cp.i] {
		return value{}, nil
	}
	s := g.vals[cp.i]
	switch {
	case cp.col.IsArray:
		return value{k: vStr, s: s}, nil
	case cp.class.numeric():
		f, ok := g.colNum(cp, s)
		if !ok {
			return value{}, errOpaque
		}
		return value{k: vNum, n: f}, nil
	case cp.class == cBool:
		return value{k: vBool, b: s == "t" || s == "true"}, nil
	case cp.class == cBytea:
		raw, err := hex.DecodeString(strings.TrimPrefix(s, `\x`))
		if err != nil {
			return value{}, errOpaque
		}
		return value{k: vStr, s: string(raw), bin: true}, nil
	}
	return value{k: vStr, s: s}, nil
}

// orderPairs derives the second column of an ordered pair from the first
// (not_after from not_before) and fixes two-column CHECK comparisons.
func (g *tableGen) orderPairs() {
	for _, sp := range g.plan.soft {
		if g.nulls[sp.a.i] || g.nulls[sp.b.i] || sp.b.genName == pinnedName {
			continue
		}
		ta, ok := g.colTime(sp.a, g.vals[sp.a.i])
		if !ok {
			if ta, ok = parseTime(sp.a.class, g.vals[sp.a.i]); !ok {
				continue
			}
		}
		d := sp.min
		if sp.max > sp.min {
			d += g.r.Int64N(sp.max - sp.min)
		}
		g.vals[sp.b.i] = g.timeText(sp.b, ta.Add(time.Duration(d)))
	}
	for _, pr := range g.plan.pairs {
		a, b := g.plan.byName[pr.a], g.plan.byName[pr.b]
		if a == nil || b == nil || g.nulls[a.i] || g.nulls[b.i] || a.fk != nil || b.fk != nil {
			continue
		}
		va, _ := g.lookup(pr.a)
		vb, _ := g.lookup(pr.b)
		if r, err := compare(pr.op, va, vb); err != nil || passes(r) {
			continue
		}
		switch {
		case a.class.temporal() && b.class.temporal():
			ta, ok := g.colTime(a, g.vals[a.i])
			if !ok {
				ta, ok = parseTime(a.class, g.vals[a.i])
			}
			if ok {
				g.vals[b.i] = g.timeText(b, ta.Add(time.Second+time.Duration(g.r.Int64N(int64(30*day)))))
			}
		case a.class.numeric() && b.class.numeric():
			if b.class == cInt {
				g.vals[b.i] = g.intText(b, int64(math.Floor(va.n))+1+g.r.Int64N(100))
			} else {
				g.vals[b.i] = formatNumeric(va.n+0.01+math.Round(g.r.Float64()*10000)/100, b.col.Precision, b.col.Scale)
			}
		default:
			g.vals[a.i], g.vals[b.i] = g.vals[b.i], g.vals[a.i]
		}
	}
}

// verify returns the first CHECK the row breaks, nil when it passes.
func (g *tableGen) verify() *check {
	for _, ck := range g.plan.checks {
		var res value
		var err error
		if ck.fn != nil {
			res, err = ck.fn(g)
		} else {
			res, err = evaluator{g: g}.eval(ck.expr)
		}
		if err != nil || !passes(res) {
			return ck
		}
	}
	return nil
}

func (g *tableGen) uniqueFree() bool {
	for k, u := range g.plan.uniques {
		key, ok := g.uniqueKey(u)
		g.keys[k], g.keyOK[k] = key, ok
		if !ok {
			continue
		}
		if u.seen.has(key) {
			return false
		}
	}
	return true
}

// keyHash is FNV-1a over a key's normalised values: unique keys are kept as
// 64-bit hashes. A hash collision only costs a retry, never a duplicate.
type keyHash uint64

func newKeyHash() keyHash { return 14695981039346656037 }

func (h *keyHash) add(v string, fold, bpchar bool) {
	if fold {
		v = strings.ToLower(v)
	}
	if bpchar {
		v = strings.TrimRight(v, " ")
	}
	x := uint64(*h)
	for i := 0; i < len(v); i++ {
		x ^= uint64(v[i])
		x *= 1099511628211
	}
	x ^= 0xff // never in UTF-8: separates the values
	x *= 1099511628211
	*h = keyHash(x)
}

func (g *tableGen) uniqueKey(u *uniquePlan) (keyHash, bool) {
	h := newKeyHash()
	for _, cp := range u.cols {
		if g.nulls[cp.i] {
			return 0, false // NULLs never collide
		}
		h.add(g.vals[cp.i], u.fold, cp.baseType == "bpchar")
	}
	return h, true
}

func (g *tableGen) commit() {
	for _, e := range g.plan.exports {
		// The commonest export, one integer column, is kept as runs: no
		// slice per row.
		if len(e.cps) == 1 && !g.nulls[e.cps[0].i] {
			cp := e.cps[0]
			if v, ok := g.sideInt(cp.i, g.vals[cp.i]); ok && e.keys.addIntValue(v) || !ok && e.keys.addInt(g.vals[cp.i]) {
				continue
			}
		}
		key := make([]string, len(e.cps))
		for j, cp := range e.cps {
			if g.nulls[cp.i] {
				key = nil
				break
			}
			key[j] = strings.Clone(g.vals[cp.i]) // not pinning a slab (side.go)
		}
		if key != nil {
			e.keys.add(key)
		}
	}
	for k, u := range g.plan.uniques {
		if g.keyOK[k] {
			u.seen.add(g.keys[k])
		}
	}
	for _, cp := range g.plan.cols {
		if g.nulls[cp.i] || cp.fk != nil || cp.seqPK {
			continue
		}
		if len(cp.recent) < 32 {
			cp.recent = append(cp.recent, strings.Clone(g.vals[cp.i]))
		} else if g.r.IntN(8) == 0 {
			cp.recent[g.r.IntN(32)] = strings.Clone(g.vals[cp.i])
		}
	}
}

// writeRow writes the current row in COPY text format.
func (g *tableGen) writeRow(w *bufio.Writer) error {
	for i := range g.vals {
		if i > 0 {
			w.WriteByte('\t')
		}
		if g.nulls[i] {
			w.WriteString(`\N`)
			continue
		}
		writeCopyText(w, g.vals[i])
	}
	return w.WriteByte('\n')
}

// copyEscape marks the bytes COPY's text format escapes.
var copyEscape = [256]bool{'\\': true, '\n': true, '\r': true, '\t': true}

func writeCopyText(w *bufio.Writer, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		if !copyEscape[s[i]] {
			continue
		}
		var esc string
		switch s[i] {
		case '\\':
			esc = `\\`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\t':
			esc = `\t`
		}
		w.WriteString(s[start:i])
		w.WriteString(esc)
		start = i + 1
	}
	w.WriteString(s[start:])
}

func (g *tableGen) unsatisfiedColumns() []string {
	var out []string
	for c := range g.unsatisfied {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// float64pow10 are the powers of ten a float64 holds exactly.
var float64pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal reads [-]digits[.digits] of at most 15 digits, the shape of
// generated integers and numerics, with the arithmetic strconv.ParseFloat
// uses for them (an exact mantissa divided by an exact power of ten), so
// the result is the same; ok is false for any other shape.
func parseDecimal(s string) (float64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	f := float64(mant) / float64pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}
