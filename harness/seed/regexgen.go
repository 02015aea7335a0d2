package seed

import (
	"regexp/syntax"
	"strings"
	"sync"
)

// regexGen generates strings matching a regular expression. It parses each
// pattern once (gofakeit's Regex parses on every call, which dominated the
// cost of CHECK-constrained columns).
var regexTrees sync.Map

func genRegex(g *tableGen, pattern string) string {
	var re *syntax.Regexp
	if v, ok := regexTrees.Load(pattern); ok {
		re = v.(*syntax.Regexp)
	} else {
		parsed, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			return g.f.Regex(pattern)
		}
		re = parsed.Simplify()
		regexTrees.Store(pattern, re)
	}
	var b strings.Builder
	genNode(g, re, &b, 0)
	return b.String()
}

// printable is what "." and negated classes draw from.
const printable = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

func genNode(g *tableGen, re *syntax.Regexp, b *strings.Builder, depth int) {
	if depth > 64 {
		return
	}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		// Sum the ranges, pick one rune uniformly; cap huge ranges (negated
		// classes) to printable ASCII.
		total := 0
		for i := 0; i+1 < len(re.Rune); i += 2 {
			total += int(re.Rune[i+1]-re.Rune[i]) + 1
		}
		if total <= 0 || total > 1<<16 {
			for range 8 {
				c := rune(printable[g.r.IntN(len(printable))])
				if classHas(re.Rune, c) {
					b.WriteRune(c)
					return
				}
			}
			b.WriteRune(re.Rune[0])
			return
		}
		k := g.r.IntN(total)
		for i := 0; i+1 < len(re.Rune); i += 2 {
			n := int(re.Rune[i+1]-re.Rune[i]) + 1
			if k < n {
				b.WriteRune(re.Rune[i] + rune(k))
				return
			}
			k -= n
		}
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		b.WriteByte(printable[g.r.IntN(len(printable))])
	case syntax.OpCapture:
		genNode(g, re.Sub[0], b, depth+1)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			genNode(g, s, b, depth+1)
		}
	case syntax.OpAlternate:
		genNode(g, re.Sub[g.r.IntN(len(re.Sub))], b, depth+1)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, 8
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 {
				hi = lo + 8
			}
		}
		n := lo
		if hi > lo {
			n += g.r.IntN(hi - lo + 1)
		}
		for range n {
			genNode(g, re.Sub[0], b, depth+1)
		}
	}
	// Anchors and empty matches write nothing.
}

func classHas(ranges []rune, c rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if c >= ranges[i] && c <= ranges[i+1] {
			return true
		}
	}
	return false
}
