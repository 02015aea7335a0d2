package seed

import "strings"

// Every generated row is checked against every CHECK: walking the
// expression tree (eval) was a sixth of the generation cost. compileCheck
// turns the common shapes (a column compared with constants, IN lists,
// IS NULL, AND/OR/NOT over them) into closures over the plan's columns;
// any other node is handed to eval. A compiled check gives exactly eval's
// value and error (TestCompiledChecksAgreeWithEval).

// checkFn evaluates a compiled expression over g's current row.
type checkFn func(g *tableGen) (value, error)

// compileCheck compiles n, a CHECK of plan p whose columns are bound
// (bindColumns).
func compileCheck(n *node, p *tablePlan) checkFn {
	if n.konst != nil {
		k := *n.konst
		return func(*tableGen) (value, error) { return k, nil }
	}
	switch n.code() {
	case opCol:
		if cp := p.byName[n.name]; cp != nil {
			return func(g *tableGen) (value, error) { return g.colValue(cp) }
		}
	case opAnd, opOr:
		a, b, and := compileCheck(n.args[0], p), compileCheck(n.args[1], p), n.code() == opAnd
		return func(g *tableGen) (value, error) {
			x, err := a(g)
			if err != nil {
				return value{}, err
			}
			if decides(and, x) {
				return x, nil
			}
			y, err := b(g)
			if err != nil {
				return value{}, err
			}
			return join(and, x, y), nil
		}
	case opNot:
		a := compileCheck(n.args[0], p)
		return func(g *tableGen) (value, error) {
			x, err := a(g)
			if err != nil || x.k == vNull {
				return x, err
			}
			return value{k: vBool, b: !x.b}, nil
		}
	case opIsNull, opNotNull:
		a, isNull := compileCheck(n.args[0], p), n.code() == opIsNull
		return func(g *tableGen) (value, error) {
			x, err := a(g)
			if err != nil {
				return x, err
			}
			return value{k: vBool, b: (x.k == vNull) == isNull}, nil
		}
	case opCmp:
		if f := compileColCmp(n, p); f != nil {
			return f
		}
		a, b, op := compileCheck(n.args[0], p), compileCheck(n.args[1], p), n.cmpCode()
		return func(g *tableGen) (value, error) {
			x, err := a(g)
			if err != nil {
				return value{}, err
			}
			y, err := b(g)
			if err != nil {
				return value{}, err
			}
			return compareBy(op, x, y)
		}
	case opAny, opAll:
		if f := compileColIn(n, p); f != nil {
			return f
		}
	}
	return func(g *tableGen) (value, error) { return evaluator{g: g}.eval(n) }
}

// colShape is what colValue gives for a column, when the fast paths know
// it: a number (numeric classes) or plain text.
type colShape uint8

const (
	shapeOther colShape = iota
	shapeNum
	shapeText
)

func shapeOf(cp *colPlan) colShape {
	switch {
	case cp.col.IsArray:
		return shapeText
	case cp.class.numeric():
		return shapeNum
	case cp.class == cBool || cp.class == cBytea:
		return shapeOther
	}
	return shapeText
}

// bareCol is the column n reads when n is a column under casts that give
// back what they are given: a numeric cast of a number, a text-like cast
// of text.
func bareCol(n *node, p *tablePlan) (*colPlan, colShape) {
	var casts []castKind
	for n.code() == opCast {
		casts = append(casts, n.castKind())
		n = n.args[0]
	}
	if n.code() != opCol || n.konst != nil {
		return nil, shapeOther
	}
	cp := p.byName[n.name]
	if cp == nil {
		return nil, shapeOther
	}
	sh := shapeOf(cp)
	for _, c := range casts {
		switch {
		case sh == shapeNum && c == castNum:
		case sh == shapeText && (c == castText || c == castTime || c == castLabel):
		default:
			return nil, shapeOther
		}
	}
	return cp, sh
}

// compileColCmp compiles a column compared with a constant number, or a
// text column with a constant text; nil for anything else.
func compileColCmp(n *node, p *tablePlan) checkFn {
	r, colLeft := n.args[1], true
	cp, sh := bareCol(n.args[0], p)
	if cp == nil {
		cp, sh = bareCol(n.args[1], p)
		r, colLeft = n.args[0], false
	}
	if cp == nil || r.konst == nil {
		return nil
	}
	k, op := *r.konst, n.cmpCode()
	if op < cmpEq || op > cmpGe {
		return nil
	}
	switch {
	case sh == shapeNum && k.k == vNum:
		y := k.n
		return func(g *tableGen) (value, error) {
			x, null, err := g.checkNum(cp)
			if null || err != nil {
				return value{}, err
			}
			c := cmpFloats(x, y)
			if !colLeft {
				c = -c
			}
			return value{k: vBool, b: cmpResult(op, c)}, nil
		}
	case sh == shapeText && k.k == vStr:
		y := k.s
		return func(g *tableGen) (value, error) {
			if g.nulls[cp.i] {
				return value{}, nil
			}
			c := strings.Compare(g.vals[cp.i], y)
			if !colLeft {
				c = -c
			}
			return value{k: vBool, b: cmpResult(op, c)}, nil
		}
	}
	return nil
}

// compileColIn compiles col = ANY (ARRAY[constants]) (IN) and col <> ALL
// (ARRAY[constants]) (NOT IN) with constants of the column's shape; nil
// for anything else.
func compileColIn(n *node, p *tablePlan) checkFn {
	cp, sh := bareCol(n.args[0], p)
	arr := stripCasts(n.args[1])
	in := n.code() == opAny && n.cmpCode() == cmpEq
	if cp == nil || arr.op != "array" || !in && !(n.code() == opAll && n.cmpCode() == cmpNe) {
		return nil
	}
	var nums []float64
	var texts []string
	for _, e := range arr.args {
		switch {
		case e.konst == nil:
			return nil
		case sh == shapeNum && e.konst.k == vNum:
			nums = append(nums, e.konst.n)
		case sh == shapeText && e.konst.k == vStr:
			texts = append(texts, e.konst.s)
		default:
			return nil
		}
	}
	// eval: NULL for a NULL column; else whether some element is equal
	// (IN), or none is (NOT IN).
	if sh == shapeNum {
		return func(g *tableGen) (value, error) {
			x, null, err := g.checkNum(cp)
			if null || err != nil {
				return value{}, err
			}
			found := false
			for _, y := range nums {
				if cmpFloats(x, y) == 0 {
					found = true
					break
				}
			}
			return value{k: vBool, b: found == in}, nil
		}
	}
	return func(g *tableGen) (value, error) {
		if g.nulls[cp.i] {
			return value{}, nil
		}
		s := g.vals[cp.i]
		found := false
		for _, y := range texts {
			if s == y {
				found = true
				break
			}
		}
		return value{k: vBool, b: found == in}, nil
	}
}

// cmpFloats is compareBy's ordering of numbers (NaN compares equal).
func cmpFloats(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cmpResult is compareBy's result for op (one of = <> < <= > >=) and c.
func cmpResult(op cmpOp, c int) bool {
	switch op {
	case cmpEq:
		return c == 0
	case cmpNe:
		return c != 0
	case cmpLt:
		return c < 0
	case cmpLe:
		return c <= 0
	case cmpGt:
		return c > 0
	}
	return c >= 0
}

// checkNum reads column cp as a number for a compiled CHECK: null for a
// NULL column (the CHECK is then NULL), errOpaque for text that is no
// number (eval's answer too).
func (g *tableGen) checkNum(cp *colPlan) (x float64, null bool, err error) {
	if g.nulls[cp.i] {
		return 0, true, nil
	}
	x, ok := g.colNum(cp, g.vals[cp.i])
	if !ok {
		return 0, false, errOpaque
	}
	return x, false, nil
}
