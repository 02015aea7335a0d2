package seed

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compileTestPlan is a plan with a column of each shape the compiler
// tells apart.
func compileTestPlan() *tablePlan {
	p := &tablePlan{name: "t", byName: map[string]*colPlan{}}
	for _, c := range []struct {
		name, base string
		array      bool
	}{
		{"qty", "int4", false}, {"big", "int8", false}, {"price", "numeric", false}, {"ratio", "float8", false},
		{"status", "text", false}, {"code", "varchar", false}, {"flag", "bool", false}, {"blob", "bytea", false},
		{"tags", "text", true}, {"d", "date", false}, {"ts", "timestamptz", false},
	} {
		cp := &colPlan{col: &schema.Column{Name: c.name, BaseType: c.base, IsArray: c.array},
			i: len(p.cols), class: classOf(c.base, false), baseType: c.base}
		p.cols = append(p.cols, cp)
		p.byName[c.name] = cp
	}
	return p
}

// TestCompiledChecksAgreeWithEval: a compiled CHECK gives eval's value and
// error on every row, NULLs and values that do not parse included, with
// the side values cold and warm.
func TestCompiledChecksAgreeWithEval(t *testing.T) {
	defs := []string{
		`CHECK ((qty >= 1) AND (qty <= 99))`,
		`CHECK ((qty > 0))`,
		`CHECK ((0 < qty))`,
		`CHECK ((qty <> 5))`,
		`CHECK ((qty = '5'::text))`,
		`CHECK ((big >= '-40'::integer))`,
		`CHECK ((price > (0)::numeric))`,
		`CHECK (((price)::numeric >= 0.5))`,
		`CHECK ((price <= 99.99 OR price IS NULL))`,
		`CHECK ((ratio < 1e3))`,
		`CHECK ((amount <> 0))`, // no such column
		`CHECK ((status = ANY (ARRAY['new'::text, 'paid'::text, 'shipped'::text])))`,
		`CHECK (((code)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])))`,
		`CHECK ((code <> ALL (ARRAY['x'::text, 'y'::text])))`,
		`CHECK ((qty = ANY (ARRAY[1, 2, 3])))`,
		`CHECK ((qty <> ALL (ARRAY[1, 2])))`,
		`CHECK ((qty = ANY (ARRAY[1, NULL])))`,
		`CHECK ((status = ANY (ARRAY[1, 2])))`,
		`CHECK ((qty > ANY (ARRAY[1, 2])))`,
		`CHECK ((status > 'm'::text))`,
		`CHECK (('m'::text < status))`,
		`CHECK ((status <> ''::text) AND (code IS NOT NULL))`,
		`CHECK (NOT (status = 'paid'::text AND qty > 10))`,
		`CHECK ((flag = true))`,
		`CHECK ((flag = 'yes'::text))`,
		`CHECK ((length(blob) = 20))`,
		`CHECK ((tags = '{}'::text[]))`,
		`CHECK ((d < '2030-01-01'::date))`,
		`CHECK ((ts > '2000-01-01 00:00:00+00'::timestamp with time zone))`,
		`CHECK ((d < ts))`,
		`CHECK ((qty < big))`,
		`CHECK ((status ~ '^[a-z]+$'::text))`,
		`CHECK ((qty % 7 = 3))`,
		`CHECK (((qty)::text <> '-0'::text))`,
		`CHECK ((status IS NULL) OR (qty IS NOT NULL))`,
		`CHECK ((NULL::integer > qty))`,
		`CHECK (true)`,
	}
	str := func(s string) *string { return &s }
	rows := []map[string]*string{
		{},
		{"qty": str("5"), "big": str("-40"), "price": str("0.50"), "ratio": str("999.5"), "status": str("paid"), "code": str("a"),
			"flag": str("t"), "blob": str(`\x00`), "tags": str("{}"), "d": str("2024-02-29"), "ts": str("2024-01-01 00:00:00.000000+00")},
		{"qty": str("0"), "big": str("9223372036854775807"), "price": str("99.99"), "ratio": str("-0"), "status": str(""), "code": str("x"),
			"flag": str("f"), "blob": str(`\xzz`), "d": str("2031-01-01"), "ts": str("1999-12-31 23:59:59.999999+00")},
		{"qty": str("-0"), "big": str("1e3"), "price": str("abc"), "ratio": str("NaN"), "status": str("shipped"), "code": str("b")},
		{"qty": str("99"), "price": str("1000000000000000000000"), "ratio": str("1e-300"), "status": str("ZZ"), "code": str("y")},
		{"qty": str("100"), "big": str(" 7"), "price": str("+1"), "status": str("new"), "d": str("not a date")},
		{"qty": str("x"), "status": str("new"), "code": str("")},
	}
	p := compileTestPlan()
	for _, def := range defs {
		n, err := parseCheckDef(def)
		require.NoError(t, err, def)
		p.bindColumns(n)
		fn := compileCheck(n, p)
		for ri, row := range rows {
			g := &tableGen{plan: p, vals: make([]string, len(p.cols)), nulls: make([]bool, len(p.cols)), side: make([]sideVal, len(p.cols))}
			for _, cp := range p.cols {
				if v := row[cp.col.Name]; v != nil {
					g.vals[cp.i] = *v
				} else {
					g.nulls[cp.i] = true
				}
			}
			for pass := range 2 { // side values cold, then warm
				want, wantErr := evaluator{g: g}.eval(n)
				got, gotErr := fn(g)
				assert.Equal(t, wantErr, gotErr, "%s row %d pass %d", def, ri, pass)
				assert.True(t, sameValue(want, got), "%s row %d pass %d: eval %+v, compiled %+v", def, ri, pass, want, got)
			}
		}
	}
}

func sameValue(a, b value) bool {
	if math.IsNaN(a.n) && math.IsNaN(b.n) {
		a.n, b.n = 0, 0
	}
	return a == b
}

// TestSideValuesMatchParsing: what intText and timeText remember is what
// parsing their text gives: binary COPY's bytes, eval's number, the time.
func TestSideValuesMatchParsing(t *testing.T) {
	p := compileTestPlan()
	p.cols = append(p.cols,
		&colPlan{col: &schema.Column{Name: "small"}, i: len(p.cols), class: cInt, baseType: "int2"},
		&colPlan{col: &schema.Column{Name: "ts0"}, i: len(p.cols) + 1, class: cTS, baseType: "timestamp"})
	for _, cp := range p.cols {
		p.byName[cp.col.Name] = cp
	}
	g := &tableGen{plan: p, vals: make([]string, len(p.cols)), nulls: make([]bool, len(p.cols)), side: make([]sideVal, len(p.cols))}

	ints := []int64{0, -1, 1, 99, 32767, 32768, -32768, -32769, math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1,
		999999999999999, 1000000000000000, -999999999999999, -1000000000000000, 123456789012345678, math.MaxInt64, math.MinInt64}
	for _, v := range ints {
		for _, name := range []string{"small", "qty", "big", "price"} {
			cp := p.byName[name]
			s := g.intText(cp, v)
			require.Equal(t, strconv.FormatInt(v, 10), s)
			g.vals[cp.i] = s
			kind := binKindOf(cp.baseType)
			want, wantOK := appendBinary(nil, kind, s)
			if side, ok := g.binSide(cp.i, kind, s); ok {
				got, gotOK := appendBinaryInt(nil, kind, side)
				assert.Equal(t, wantOK, gotOK, "%s %d", name, v)
				if wantOK {
					assert.Equal(t, want, got, "%s %d", name, v)
				}
			}
			f, ok := parseDecimal(s)
			if !ok {
				f, _ = strconv.ParseFloat(s, 64)
			}
			got, ok := g.colNum(cp, s)
			assert.True(t, ok)
			assert.Equal(t, math.Float64bits(f), math.Float64bits(got), "%s %d", name, v)
		}
	}

	r := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 6, 1, 12, 0, 0, 0, time.FixedZone("x", 5*3600)),
	}
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(400000000000)-62000000000, r.Int64N(1e9)))
	}
	for _, tm := range times {
		for _, name := range []string{"d", "ts", "ts0"} {
			cp := p.byName[name]
			s := g.timeText(cp, tm)
			require.Equal(t, formatTime(cp.class, tm), s)
			g.vals[cp.i] = s
			kind := binKindOf(cp.baseType)
			want, wantOK := appendBinary(nil, kind, s)
			if side, ok := g.binSide(cp.i, kind, s); ok {
				got, gotOK := appendBinaryInt(nil, kind, side)
				require.True(t, wantOK, "%s %v: side value for what binary COPY refuses", name, tm)
				assert.True(t, gotOK)
				assert.Equal(t, want, got, "%s %v %s", name, tm, s)
				pt, ok := parseTime(cp.class, s)
				require.True(t, ok, s)
				ct, ok := g.colTime(cp, s)
				require.True(t, ok, s)
				assert.True(t, pt.Equal(ct), "%s: parseTime %v, side %v", s, pt, ct)
			}
		}
	}

	// Strings from the slab keep their bytes while later ones are written.
	var kept []string
	for i := range 5000 {
		kept = append(kept, g.intText(p.byName["big"], int64(i)*7919))
	}
	for i, s := range kept {
		require.Equal(t, strconv.FormatInt(int64(i)*7919, 10), s)
	}

	// Another string in the column, even of equal bytes, is parsed afresh.
	cp := p.byName["qty"]
	s := g.intText(cp, 42)
	_, ok := g.sideInt(cp.i, string([]byte(s)))
	assert.False(t, ok)
	_, ok = g.sideInt(cp.i, s)
	assert.True(t, ok)
}
