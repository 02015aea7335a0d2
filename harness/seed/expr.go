package seed

import (
	"fmt"
	"strings"
	"unicode"
)

// This file parses the expressions PostgreSQL prints for CHECK constraints
// (pg_get_constraintdef): fully parenthesised, literals cast with ::, IN
// lists as `= ANY (ARRAY[...])`. It is not a general SQL parser; anything it
// does not know makes the constraint "opaque" and the seeder falls back to
// generate-and-retry.

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tCast
)

type token struct {
	kind tokKind
	text string // identifiers lower-cased unless quoted
}

func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tLParen, "("})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")"})
			i++
		case c == '[':
			out = append(out, token{tLBrack, "["})
			i++
		case c == ']':
			out = append(out, token{tRBrack, "]"})
			i++
		case c == ',':
			out = append(out, token{tComma, ","})
			i++
		case c == ':' && i+1 < len(s) && s[i+1] == ':':
			out = append(out, token{tCast, "::"})
			i += 2
		case c == '\'' || ((c == 'E' || c == 'e') && i+1 < len(s) && s[i+1] == '\''):
			escapes := c != '\''
			if escapes {
				i++
			}
			i++
			var b strings.Builder
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated string literal")
				}
				if escapes && s[i] == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, token{tString, b.String()})
		case c == '"':
			j := i + 1
			var b strings.Builder
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated quoted identifier")
				}
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{tIdent, b.String()})
			i = j + 1
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				(s[j] == '-' || s[j] == '+') && j > i && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			out = append(out, token{tNumber, s[i:j]})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)) || c >= 0x80:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || s[j] >= '0' && s[j] <= '9' || unicode.IsLetter(rune(s[j])) || s[j] >= 0x80) {
				j++
			}
			out = append(out, token{tIdent, strings.ToLower(s[i:j])})
			i = j
		case strings.ContainsRune("=<>!~*+-/%|&^#@", rune(c)):
			j := i
			for j < len(s) && strings.ContainsRune("=<>!~*+-/%|&^#@", rune(s[j])) {
				j++
			}
			out = append(out, token{tOp, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return append(out, token{tEOF, ""}), nil
}

// node is a parsed expression.
type node struct {
	op   string  // "col" "lit" "null" "bool" "and" "or" "not" "isnull" "notnull" "cmp" "arith" "func" "any" "all" "array" "cast" "like" "regex"
	name string  // column name, function name, operator, cast type
	val  string  // literal text
	num  bool    // literal is a number
	args []*node // operands
	neg  bool    // negated form (NOT LIKE, !~)
	ci   bool    // case-insensitive (ILIKE, ~*)
	// konst is the value of a constant (column-free) literal or cast,
	// computed once by fold: a CHECK is evaluated for every generated row.
	konst *value
	// opc and cast are op and, for a cast, its kind, set by fold; zero
	// (a node made elsewhere) means work them out from op and name.
	opc  opcode
	cast castKind
	cmp  cmpOp // of a comparison ("cmp", "any", "all")
	// slot is 1 + the index of column name in the plan whose CHECK this
	// is (bindColumns), 0 when unbound.
	slot int
}

type opcode uint8

const (
	opUnknown opcode = iota
	opCol
	opLit
	opNull
	opBool
	opAnd
	opOr
	opNot
	opIsNull
	opNotNull
	opIsTrue
	opCmp
	opArith
	opFunc
	opAny
	opAll
	opArray
	opCast
	opLike
	opRegex
	opOther
)

var opcodes = map[string]opcode{"col": opCol, "lit": opLit, "null": opNull, "bool": opBool, "and": opAnd, "or": opOr,
	"not": opNot, "isnull": opIsNull, "notnull": opNotNull, "istrue": opIsTrue, "cmp": opCmp, "arith": opArith,
	"func": opFunc, "any": opAny, "all": opAll, "array": opArray, "cast": opCast, "like": opLike, "regex": opRegex}

func (n *node) code() opcode {
	if n.opc != opUnknown {
		return n.opc
	}
	if c, ok := opcodes[n.op]; ok {
		return c
	}
	return opOther
}

func (n *node) cmpCode() cmpOp {
	if n.cmp != cmpUnknown {
		return n.cmp
	}
	return cmpOpOf(n.name)
}

func (n *node) castKind() castKind {
	if n.cast != 0 {
		return n.cast
	}
	return castKindOf(n.name)
}

// fold precomputes the constant literals and casts of n's tree.
func fold(n *node) {
	for _, a := range n.args {
		fold(a)
	}
	n.opc = n.code()
	switch n.opc {
	case opCast:
		n.cast = castKindOf(n.name)
	case opCmp, opAny, opAll:
		n.cmp = cmpOpOf(n.name)
	}
	switch n.op {
	case "lit", "null", "bool", "cast":
	default:
		return
	}
	for _, a := range n.args {
		if a.konst == nil {
			return
		}
	}
	if v, err := eval(n, func(string) (value, error) { return value{}, errOpaque }); err == nil {
		n.konst = &v
	}
}

type parser struct {
	toks []token
	pos  int
}

func parseExpr(s string) (*node, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, fmt.Errorf("unexpected %q", p.peek().text)
	}
	fold(n)
	return n, nil
}

// parseCheckDef parses "CHECK (expr)" (optionally followed by NOT VALID / NO INHERIT).
func parseCheckDef(def string) (*node, error) {
	s := strings.TrimSpace(def)
	if !strings.HasPrefix(strings.ToUpper(s), "CHECK") {
		return nil, fmt.Errorf("not a CHECK: %s", def)
	}
	s = strings.TrimSpace(s[5:])
	for _, suffix := range []string{"NOT VALID", "NO INHERIT"} {
		s = strings.TrimSpace(strings.TrimSuffix(s, suffix))
	}
	return parseExpr(s)
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token { t := p.toks[p.pos]; p.pos++; return t }
func (p *parser) isKw(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == kw
}

func (p *parser) expect(k tokKind, what string) error {
	if p.peek().kind != k {
		return fmt.Errorf("expected %s, found %q", what, p.peek().text)
	}
	p.pos++
	return nil
}

func (p *parser) or() (*node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKw("or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &node{op: "or", args: []*node{l, r}}
	}
	return l, nil
}

func (p *parser) and() (*node, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isKw("and") {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &node{op: "and", args: []*node{l, r}}
	}
	return l, nil
}

func (p *parser) not() (*node, error) {
	if p.isKw("not") {
		p.next()
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return &node{op: "not", args: []*node{e}}, nil
	}
	return p.comparison()
}

var cmpOps = map[string]bool{"=": true, "<>": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}
var regexOps = map[string]bool{"~": true, "~*": true, "!~": true, "!~*": true, "~~": true, "~~*": true, "!~~": true, "!~~*": true}

func (p *parser) comparison() (*node, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tIdent && t.text == "is":
			p.next()
			neg := false
			if p.isKw("not") {
				p.next()
				neg = true
			}
			kw := p.next()
			switch kw.text {
			case "null":
				if neg {
					l = &node{op: "notnull", args: []*node{l}}
				} else {
					l = &node{op: "isnull", args: []*node{l}}
				}
			case "true", "false":
				l = &node{op: "istrue", val: kw.text, neg: neg, args: []*node{l}}
			default:
				return nil, fmt.Errorf("unsupported IS %s", kw.text)
			}
		case t.kind == tIdent && (t.text == "like" || t.text == "ilike" || t.text == "not" && p.toks[p.pos+1].kind == tIdent && (p.toks[p.pos+1].text == "like" || p.toks[p.pos+1].text == "ilike")):
			neg := false
			if t.text == "not" {
				p.next()
				neg = true
			}
			kw := p.next()
			r, err := p.additive()
			if err != nil {
				return nil, err
			}
			l = &node{op: "like", neg: neg, ci: kw.text == "ilike", args: []*node{l, r}}
		case t.kind == tOp && (cmpOps[t.text] || regexOps[t.text]):
			p.next()
			if p.isKw("any") || p.isKw("all") || p.isKw("some") {
				kw := p.next().text
				if err := p.expect(tLParen, "("); err != nil {
					return nil, err
				}
				arr, err := p.or()
				if err != nil {
					return nil, err
				}
				if err := p.expect(tRParen, ")"); err != nil {
					return nil, err
				}
				op := "any"
				if kw == "all" {
					op = "all"
				}
				l = &node{op: op, name: t.text, args: []*node{l, arr}}
				continue
			}
			r, err := p.additive()
			if err != nil {
				return nil, err
			}
			if regexOps[t.text] {
				if strings.Contains(t.text, "~~") {
					l = &node{op: "like", neg: t.text[0] == '!', ci: strings.HasSuffix(t.text, "*"), args: []*node{l, r}}
				} else {
					l = &node{op: "regex", neg: t.text[0] == '!', ci: strings.HasSuffix(t.text, "*"), args: []*node{l, r}}
				}
			} else {
				op := t.text
				if op == "!=" {
					op = "<>"
				}
				l = &node{op: "cmp", name: op, args: []*node{l, r}}
			}
		default:
			return l, nil
		}
	}
}

func (p *parser) additive() (*node, error) {
	l, err := p.multiplicative()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOp && (p.peek().text == "+" || p.peek().text == "-" || p.peek().text == "||") {
		op := p.next().text
		r, err := p.multiplicative()
		if err != nil {
			return nil, err
		}
		l = &node{op: "arith", name: op, args: []*node{l, r}}
	}
	return l, nil
}

func (p *parser) multiplicative() (*node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOp && (p.peek().text == "*" || p.peek().text == "/" || p.peek().text == "%") {
		op := p.next().text
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &node{op: "arith", name: op, args: []*node{l, r}}
	}
	return l, nil
}

func (p *parser) unary() (*node, error) {
	if p.peek().kind == tOp && p.peek().text == "-" {
		p.next()
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		if e.op == "lit" && e.num {
			return &node{op: "lit", num: true, val: "-" + e.val}, nil
		}
		return &node{op: "arith", name: "-", args: []*node{{op: "lit", num: true, val: "0"}, e}}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (*node, error) {
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tCast {
		p.next()
		typ, err := p.typeName()
		if err != nil {
			return nil, err
		}
		e = &node{op: "cast", name: typ, args: []*node{e}}
	}
	return e, nil
}

// typeName reads a type after ::, e.g. "character varying", "numeric(10,2)", "text[]".
func (p *parser) typeName() (string, error) {
	t := p.next()
	if t.kind != tIdent {
		return "", fmt.Errorf("expected a type after ::, found %q", t.text)
	}
	name := t.text
	for p.peek().kind == tIdent {
		w := p.peek().text
		if w == "varying" || w == "precision" || w == "with" || w == "without" || w == "time" || w == "zone" {
			name += " " + w
			p.next()
			continue
		}
		break
	}
	if p.peek().kind == tLParen {
		depth := 0
		for {
			t := p.next()
			if t.kind == tLParen {
				depth++
			} else if t.kind == tRParen {
				depth--
				if depth == 0 {
					break
				}
			} else if t.kind == tEOF {
				return "", fmt.Errorf("unterminated type modifier")
			}
		}
	}
	for p.peek().kind == tLBrack {
		p.next()
		if err := p.expect(tRBrack, "]"); err != nil {
			return "", err
		}
		name += "[]"
	}
	return name, nil
}

func (p *parser) primary() (*node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tRParen, ")"); err != nil {
			return nil, err
		}
		return e, nil
	case tString:
		return &node{op: "lit", val: t.text}, nil
	case tNumber:
		return &node{op: "lit", val: t.text, num: true}, nil
	case tIdent:
		switch t.text {
		case "null":
			return &node{op: "null"}, nil
		case "true", "false":
			return &node{op: "bool", val: t.text}, nil
		case "array":
			if err := p.expect(tLBrack, "["); err != nil {
				return nil, err
			}
			arr := &node{op: "array"}
			for p.peek().kind != tRBrack {
				e, err := p.or()
				if err != nil {
					return nil, err
				}
				arr.args = append(arr.args, e)
				if p.peek().kind == tComma {
					p.next()
				}
			}
			p.next()
			return arr, nil
		}
		if p.peek().kind == tLParen {
			p.next()
			fn := &node{op: "func", name: t.text}
			for p.peek().kind != tRParen {
				if p.peek().kind == tEOF {
					return nil, fmt.Errorf("unterminated call of %s", t.text)
				}
				e, err := p.or()
				if err != nil {
					return nil, err
				}
				fn.args = append(fn.args, e)
				if p.peek().kind == tComma {
					p.next()
				} else if p.peek().kind != tRParen {
					return nil, fmt.Errorf("unsupported syntax in %s(...)", t.text)
				}
			}
			p.next()
			return fn, nil
		}
		return &node{op: "col", name: t.text}, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}

// columns returns the column names an expression references.
func (n *node) columns(into map[string]bool) {
	if n.op == "col" {
		into[n.name] = true
	}
	for _, a := range n.args {
		a.columns(into)
	}
}

// conjuncts splits a top-level AND chain.
func (n *node) conjuncts() []*node {
	if n.op == "and" {
		return append(n.args[0].conjuncts(), n.args[1].conjuncts()...)
	}
	return []*node{n}
}

// stripCasts removes casts that do not change what a value is (text and
// numeric casts PostgreSQL adds around columns and literals).
func stripCasts(n *node) *node {
	for n.op == "cast" {
		n = n.args[0]
	}
	return n
}
