package seed

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// errOpaque means an expression uses something the evaluator does not know;
// the constraint is then checked by PostgreSQL instead (see load.go).
var errOpaque = errors.New("expression not evaluable by the seeder")

type vkind int

const (
	vNull vkind = iota
	vBool
	vNum
	vStr
)

type value struct {
	k vkind
	b bool
	n float64
	s string
	// bin: s holds a bytea's raw bytes, whose length() counts bytes.
	bin bool
}

// rowLookup returns a column's value in the row being checked.
type rowLookup func(col string) (value, error)

var regexCache sync.Map

func compileRegex(pat string, ci bool) (*regexp.Regexp, error) {
	key := pat
	if ci {
		key = "(?i)" + pat
	}
	if re, ok := regexCache.Load(key); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(key)
	if err != nil {
		return nil, errOpaque
	}
	regexCache.Store(key, re)
	return re, nil
}

func likeToRegex(pat string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			if i+1 < len(pat) {
				i++
				b.WriteString(regexp.QuoteMeta(string(pat[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}

func asText(v value) string {
	switch v.k {
	case vNum:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case vBool:
		if v.b {
			return "true"
		}
		return "false"
	}
	return v.s
}

func asNum(v value) (float64, error) {
	switch v.k {
	case vNum:
		return v.n, nil
	case vStr:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		if err != nil {
			return 0, errOpaque
		}
		return f, nil
	}
	return 0, errOpaque
}

var numericTypes = map[string]bool{"integer": true, "bigint": true, "smallint": true, "numeric": true, "real": true,
	"double precision": true, "int": true, "int2": true, "int4": true, "int8": true, "float4": true, "float8": true, "decimal": true}

// SQL's three-valued AND (and) and OR, shared by eval and the compiled
// CHECKs: decides reports whether the left side settles the result (false
// for AND, true for OR), so the right side is not evaluated; join is the
// result from both sides otherwise (NULL if either is NULL).
func decides(and bool, v value) bool { return v.k == vBool && v.b != and }

func join(and bool, a, b value) value {
	if decides(and, b) {
		return b
	}
	if a.k == vNull || b.k == vNull {
		return value{}
	}
	return b
}

// evaluator reads a row's columns through row, or, for a generator's
// CHECKs, straight from g by the column index bound at planning (bindColumns).
type evaluator struct {
	row rowLookup
	g   *tableGen
}

// eval evaluates n over a row with SQL's three-valued logic.
func eval(n *node, row rowLookup) (value, error) { return evaluator{row: row}.eval(n) }

func (ev evaluator) eval(n *node) (value, error) {
	if n.konst != nil {
		return *n.konst, nil
	}
	// CHECKs run for every generated row: dispatch on the opcode fold set,
	// not on the operator's name.
	switch n.code() {
	case opCol:
		if g := ev.g; g != nil {
			if n.slot > 0 && n.slot <= len(g.plan.cols) {
				if cp := g.plan.cols[n.slot-1]; cp.col.Name == n.name {
					return g.colValue(cp)
				}
			}
			return g.lookup(n.name)
		}
		return ev.row(n.name)
	case opLit:
		if n.num {
			f, err := strconv.ParseFloat(n.val, 64)
			if err != nil {
				return value{}, errOpaque
			}
			return value{k: vNum, n: f}, nil
		}
		return value{k: vStr, s: n.val}, nil
	case opNull:
		return value{}, nil
	case opBool:
		return value{k: vBool, b: n.val == "true"}, nil
	case opCast:
		v, err := ev.eval(n.args[0])
		if err != nil || v.k == vNull {
			return v, err
		}
		switch n.castKind() {
		case castNum:
			f, err := asNum(v)
			return value{k: vNum, n: f}, err
		case castText, castTime, castLabel:
			return value{k: vStr, s: asText(v)}, nil
		case castBool:
			if v.k == vBool {
				return v, nil
			}
			return value{k: vBool, b: strings.HasPrefix(strings.ToLower(asText(v)), "t")}, nil
		}
		return value{}, errOpaque
	case opAnd, opOr:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return value{}, err
		}
		and := n.code() == opAnd
		if decides(and, a) {
			return a, nil
		}
		b, err := ev.eval(n.args[1])
		if err != nil {
			return value{}, err
		}
		return join(and, a, b), nil
	case opNot:
		a, err := ev.eval(n.args[0])
		if err != nil || a.k == vNull {
			return a, err
		}
		return value{k: vBool, b: !a.b}, nil
	case opIsNull, opNotNull:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return a, err
		}
		return value{k: vBool, b: (a.k == vNull) == (n.code() == opIsNull)}, nil
	case opIsTrue:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return a, err
		}
		r := a.k == vBool && a.b == (n.val == "true")
		return value{k: vBool, b: r != n.neg}, nil
	case opCmp:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return value{}, err
		}
		b, err := ev.eval(n.args[1])
		if err != nil {
			return value{}, err
		}
		return compareBy(n.cmpCode(), a, b)
	case opAny, opAll:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return value{}, err
		}
		arr := stripCasts(n.args[1])
		if arr.op != "array" {
			return value{}, errOpaque
		}
		sawNull := false
		for _, e := range arr.args {
			b, err := ev.eval(e)
			if err != nil {
				return value{}, err
			}
			r, err := compareBy(n.cmpCode(), a, b)
			if err != nil {
				return value{}, err
			}
			if r.k == vNull {
				sawNull = true
				continue
			}
			if n.code() == opAny && r.b {
				return r, nil
			}
			if n.code() == opAll && !r.b {
				return r, nil
			}
		}
		if sawNull || a.k == vNull {
			return value{}, nil
		}
		return value{k: vBool, b: n.code() == opAll}, nil
	case opRegex, opLike:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return value{}, err
		}
		b, err := ev.eval(n.args[1])
		if err != nil {
			return value{}, err
		}
		if a.k == vNull || b.k == vNull {
			return value{}, nil
		}
		pat := asText(b)
		if n.op == "like" {
			pat = likeToRegex(pat)
		}
		re, err := compileRegex(pat, n.ci)
		if err != nil {
			return value{}, err
		}
		return value{k: vBool, b: re.MatchString(asText(a)) != n.neg}, nil
	case opArith:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return value{}, err
		}
		b, err := ev.eval(n.args[1])
		if err != nil {
			return value{}, err
		}
		if a.k == vNull || b.k == vNull {
			return value{}, nil
		}
		if n.name == "||" {
			return value{k: vStr, s: asText(a) + asText(b)}, nil
		}
		x, err := asNum(a)
		if err != nil {
			return value{}, err
		}
		y, err := asNum(b)
		if err != nil {
			return value{}, err
		}
		switch n.name {
		case "+":
			return value{k: vNum, n: x + y}, nil
		case "-":
			return value{k: vNum, n: x - y}, nil
		case "*":
			return value{k: vNum, n: x * y}, nil
		case "/":
			if y == 0 {
				return value{}, errOpaque
			}
			return value{k: vNum, n: x / y}, nil
		case "%":
			if y == 0 {
				return value{}, errOpaque
			}
			return value{k: vNum, n: math.Mod(x, y)}, nil
		}
		return value{}, errOpaque
	case opFunc:
		return ev.evalFunc(n)
	}
	return value{}, errOpaque
}

func (ev evaluator) evalFunc(n *node) (value, error) {
	args := make([]value, len(n.args))
	for i, a := range n.args {
		v, err := ev.eval(a)
		if err != nil {
			return value{}, err
		}
		args[i] = v
	}
	if n.name == "coalesce" {
		for _, a := range args {
			if a.k != vNull {
				return a, nil
			}
		}
		return value{}, nil
	}
	if len(args) == 0 {
		return value{}, errOpaque
	}
	if args[0].k == vNull {
		return value{}, nil
	}
	s := asText(args[0])
	switch n.name {
	case "length", "char_length", "character_length":
		if args[0].bin {
			return value{k: vNum, n: float64(len(s))}, nil
		}
		return value{k: vNum, n: float64(utf8.RuneCountInString(s))}, nil
	case "octet_length":
		return value{k: vNum, n: float64(len(s))}, nil
	case "lower":
		return value{k: vStr, s: strings.ToLower(s)}, nil
	case "upper":
		return value{k: vStr, s: strings.ToUpper(s)}, nil
	case "btrim", "trim":
		if len(args) > 1 {
			return value{k: vStr, s: strings.Trim(s, asText(args[1]))}, nil
		}
		return value{k: vStr, s: strings.Trim(s, " ")}, nil
	case "ltrim":
		return value{k: vStr, s: strings.TrimLeft(s, " ")}, nil
	case "rtrim":
		return value{k: vStr, s: strings.TrimRight(s, " ")}, nil
	case "abs":
		f, err := asNum(args[0])
		if f < 0 {
			f = -f
		}
		return value{k: vNum, n: f}, err
	}
	return value{}, errOpaque
}

// cmpOp is a comparison operator, decided once per node (see fold).
type cmpOp uint8

const (
	cmpUnknown cmpOp = iota
	cmpEq
	cmpNe
	cmpLt
	cmpLe
	cmpGt
	cmpGe
	cmpOther
)

func cmpOpOf(op string) cmpOp {
	switch op {
	case "=":
		return cmpEq
	case "<>":
		return cmpNe
	case "<":
		return cmpLt
	case "<=":
		return cmpLe
	case ">":
		return cmpGt
	case ">=":
		return cmpGe
	}
	return cmpOther
}

func compare(op string, a, b value) (value, error) { return compareBy(cmpOpOf(op), a, b) }

func compareBy(op cmpOp, a, b value) (value, error) {
	if a.k == vNull || b.k == vNull {
		return value{}, nil
	}
	var c int
	if a.k == vNum || b.k == vNum {
		x, err := asNum(a)
		if err != nil {
			return value{}, err
		}
		y, err := asNum(b)
		if err != nil {
			return value{}, err
		}
		switch {
		case x < y:
			c = -1
		case x > y:
			c = 1
		}
	} else if a.k == vBool || b.k == vBool {
		if a.k != b.k {
			return value{}, errOpaque
		}
		if a.b != b.b {
			c = 1
			if !a.b {
				c = -1
			}
		}
	} else {
		c = strings.Compare(a.s, b.s)
	}
	var r bool
	switch op {
	case cmpEq:
		r = c == 0
	case cmpNe:
		r = c != 0
	case cmpLt:
		r = c < 0
	case cmpLe:
		r = c <= 0
	case cmpGt:
		r = c > 0
	case cmpGe:
		r = c >= 0
	default:
		return value{}, errOpaque
	}
	return value{k: vBool, b: r}, nil
}

// castKind is what a cast to type name yields in eval.
type castKind uint8

const (
	castOpaque castKind = iota + 1
	castNum
	castText
	castBool
	// castTime: timestamps compare correctly as text in the fixed format
	// the seeder writes.
	castTime
	// castLabel: an enum or other user type, as its label.
	castLabel
)

func castKindOf(name string) castKind {
	t := strings.TrimSuffix(name, "[]")
	switch {
	case numericTypes[t]:
		return castNum
	case t == "text" || t == "character varying" || t == "varchar" || t == "bpchar" || t == "character" || t == "name" || t == "citext":
		return castText
	case t == "boolean" || t == "bool":
		return castBool
	case t == "date" || strings.HasPrefix(t, "timestamp") || strings.HasPrefix(t, "time"):
		return castTime
	case name != "" && !strings.Contains(name, " "):
		return castLabel
	}
	return castOpaque
}

// passes reports whether a CHECK result lets the row in (true or NULL).
func passes(v value) bool { return v.k == vNull || v.k == vBool && v.b }

var knownFuncs = map[string]bool{"length": true, "char_length": true, "character_length": true, "octet_length": true,
	"lower": true, "upper": true, "btrim": true, "trim": true, "ltrim": true, "rtrim": true, "abs": true, "coalesce": true}

// evaluable reports whether eval knows every construct in n, so that a
// failed evaluation means the row breaks the constraint.
func evaluable(n *node) bool {
	switch n.op {
	case "func":
		if !knownFuncs[n.name] {
			return false
		}
	case "cast":
		t := strings.TrimSuffix(n.name, "[]")
		if strings.HasSuffix(n.name, "[]") && stripCasts(n.args[0]).op != "array" {
			return false
		}
		if t == "interval" || t == "jsonb" || t == "json" || t == "inet" || t == "cidr" || t == "uuid" {
			return false
		}
	case "arith":
		if n.name != "+" && n.name != "-" && n.name != "*" && n.name != "/" && n.name != "%" && n.name != "||" {
			return false
		}
	case "col", "lit", "null", "bool", "and", "or", "not", "isnull", "notnull", "istrue", "cmp", "any", "all", "regex", "like", "array":
	default:
		return false
	}
	for _, a := range n.args {
		if !evaluable(a) {
			return false
		}
	}
	return true
}
