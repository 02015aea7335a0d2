package seed

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// class is what kind of value a column holds, from its (domain-resolved,
// element) base type.
type class string

const (
	cStr      class = "string"
	cChar     class = "char" // the one-byte "char"
	cInt      class = "int"
	cNumeric  class = "numeric"
	cFloat    class = "float"
	cMoney    class = "money"
	cBool     class = "bool"
	cDate     class = "date"
	cTS       class = "timestamp"
	cTSTZ     class = "timestamptz"
	cTime     class = "time"
	cTimeTZ   class = "timetz"
	cInterval class = "interval"
	cUUID     class = "uuid"
	cInet     class = "inet"
	cCIDR     class = "cidr"
	cMac      class = "macaddr"
	cMac8     class = "macaddr8"
	cBytea    class = "bytea"
	cJSON     class = "json"
	cBit      class = "bit"
	cXML      class = "xml"
	cPoint    class = "point"
	cTSVector class = "tsvector"
	cRange    class = "range"
	cEnum     class = "enum"
	cUnknown  class = ""
)

func classOf(baseType string, isEnum bool) class {
	if isEnum {
		return cEnum
	}
	switch baseType {
	case "varchar", "text", "bpchar", "name", "citext":
		return cStr
	case "char":
		return cChar
	case "int2", "int4", "int8", "oid":
		return cInt
	case "numeric":
		return cNumeric
	case "float4", "float8":
		return cFloat
	case "money":
		return cMoney
	case "bool":
		return cBool
	case "date":
		return cDate
	case "timestamp":
		return cTS
	case "timestamptz":
		return cTSTZ
	case "time":
		return cTime
	case "timetz":
		return cTimeTZ
	case "interval":
		return cInterval
	case "uuid":
		return cUUID
	case "inet":
		return cInet
	case "cidr":
		return cCIDR
	case "macaddr":
		return cMac
	case "macaddr8":
		return cMac8
	case "bytea":
		return cBytea
	case "json", "jsonb":
		return cJSON
	case "bit", "varbit":
		return cBit
	case "xml":
		return cXML
	case "point":
		return cPoint
	case "tsvector":
		return cTSVector
	case "int4range", "int8range", "numrange":
		return cRange
	}
	return cUnknown
}

func (c class) numeric() bool { return c == cInt || c == cNumeric || c == cFloat || c == cMoney }
func (c class) temporal() bool {
	return c == cDate || c == cTS || c == cTSTZ || c == cTime || c == cTimeTZ
}

// epoch is "now" for generated data: fixed, so the same seed gives the same
// bytes on any day.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	tsLayout   = "2006-01-02 15:04:05.000000"
	tstzLayout = "2006-01-02 15:04:05.000000+00"
	dateLayout = "2006-01-02"
)

// formatTime renders t in c's layout. The common years are written by hand:
// time.Format's layout interpretation was a tenth of the generation cost.
func formatTime(c class, t time.Time) string {
	t = t.UTC()
	if y := t.Year(); y >= 0 && y <= 9999 {
		var buf [32]byte
		return string(appendTime(buf[:0], c, t))
	}
	switch c {
	case cDate:
		return t.Format(dateLayout)
	case cTS:
		return t.Format(tsLayout)
	case cTime:
		return t.Format("15:04:05")
	case cTimeTZ:
		return t.Format("15:04:05+00")
	}
	return t.Format(tstzLayout)
}

// appendTime appends t (UTC, year 0-9999) exactly as formatTime's layouts
// would: fractions truncated to microseconds, as time.Format does.
func appendTime(b []byte, c class, t time.Time) []byte {
	if c != cTime && c != cTimeTZ {
		y, m, d := t.Date()
		b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
		b = append2(b, int(m))
		b = append(b, '-')
		b = append2(b, d)
		if c == cDate {
			return b
		}
		b = append(b, ' ')
	}
	h, mi, sec := t.Clock()
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	b = append2(b, sec)
	switch c {
	case cTime:
		return b
	case cTimeTZ:
		return append(b, "+00"...)
	}
	us := t.Nanosecond() / 1000
	b = append(b, '.', byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10))
	if c == cTS {
		return b
	}
	return append(b, "+00"...)
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

func parseTime(c class, s string) (time.Time, bool) {
	// The generator's own shapes (tstzLayout, tsLayout) without time.Parse,
	// which costs more than making the value.
	if len(s) == len(tstzLayout) && strings.HasSuffix(s, "+00") && s[19] == '.' || len(s) == len(tsLayout) && s[19] == '.' {
		if us, ok := parseTimestamp(s, len(s) == len(tstzLayout)); ok {
			return time.UnixMicro(us + pgEpochDays*86400*1000000).UTC(), true
		}
	}
	for _, layout := range []string{tstzLayout, tsLayout, dateLayout, "15:04:05+00", "15:04:05", "2006-01-02 15:04:05+00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// intRange is the value range of an integer type.
func intRange(baseType string) (int64, int64) {
	switch baseType {
	case "int2":
		return math.MinInt16, math.MaxInt16
	case "int4":
		return math.MinInt32, math.MaxInt32
	case "oid":
		return 0, math.MaxUint32
	}
	return math.MinInt64, math.MaxInt64
}

// numericMax is the largest value numeric(p,s) holds, as text.
func numericMax(p, s int) string {
	if p <= 0 {
		return "999999999999.99"
	}
	intDigits := p - s
	var b strings.Builder
	if intDigits <= 0 {
		b.WriteString("0")
	} else {
		b.WriteString(strings.Repeat("9", intDigits))
	}
	if s > 0 {
		b.WriteString(".")
		b.WriteString(strings.Repeat("9", s))
	}
	return b.String()
}

// formatNumeric renders f with the column's scale, clamped to its precision.
func formatNumeric(f float64, p, s int) string {
	if s < 0 {
		s = 2
	}
	if p > 0 {
		limit := numericLimit(p, s)
		if f > limit {
			f = limit
		}
		if f < -limit {
			f = -limit
		}
	}
	return strconv.FormatFloat(f, 'f', s, 64)
}

// numericLimits caches numericLimit for the usual precisions and scales:
// two math.Pow calls per generated numeric showed in the profile.
var numericLimits = func() (t [40][40]float64) {
	for p := range t {
		for s := range t[p] {
			t[p][s] = math.Pow(10, float64(p-s)) - math.Pow(10, -float64(s))
		}
	}
	return t
}()

// numericLimit is the largest magnitude numeric(p,s) holds, as a float.
func numericLimit(p, s int) float64 {
	if p < len(numericLimits) && s < len(numericLimits[p]) {
		return numericLimits[p][s]
	}
	return math.Pow(10, float64(p-s)) - math.Pow(10, -float64(s))
}

func truncateRunes(s string, n int) string {
	if n < 0 {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

func runeLen(s string) int { return len([]rune(s)) }

var pemBody = regexp.MustCompile(`.{1,64}`)

func pemBlob(g *tableGen, kind string) string {
	raw := make([]byte, 96+g.r.IntN(96))
	for i := range raw {
		raw[i] = byte(g.r.Uint32())
	}
	body := pemBody.FindAllString(base64.StdEncoding.EncodeToString(raw), -1)
	return "-----BEGIN " + kind + "-----\n" + strings.Join(body, "\n") + "\n-----END " + kind + "-----\n"
}

func hexBytes(g *tableGen, n int, sep string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%02X", byte(g.r.Uint32()))
	}
	return strings.Join(parts, sep)
}

// typeValue generates a plain value for a column's class, ignoring its name.
func typeValue(g *tableGen, c *colPlan) string {
	switch c.class {
	case cStr:
		n := c.length
		switch {
		case n > 0 && n <= 3:
			return strings.ToUpper(g.f.LetterN(uint(n)))
		case n > 0 && n <= 16:
			return truncateRunes(g.f.Word(), n)
		case n > 0 && n <= 40:
			return truncateRunes(g.f.Noun()+" "+g.f.Noun(), n)
		}
		return truncateRunes(g.f.Sentence(), maxLen(c))
	case cChar:
		return g.f.Letter()
	case cInt:
		lo, hi := intRange(c.baseType)
		top := int64(100000)
		switch c.baseType {
		case "int2":
			top = 1000
		case "int8":
			top = 1000000000
		}
		v := g.r.Int64N(top)
		if v < lo || v > hi {
			v = 0
		}
		return g.intText(c, v)
	case cNumeric:
		return formatNumeric(g.r.Float64()*10000, c.col.Precision, c.col.Scale)
	case cFloat:
		return strconv.FormatFloat(math.Round(g.r.Float64()*1e6)/1e3, 'f', -1, 64)
	case cMoney:
		return strconv.FormatFloat(math.Round(g.r.Float64()*1e6)/100, 'f', 2, 64)
	case cBool:
		if g.r.IntN(3) == 0 {
			return "f"
		}
		return "t"
	case cDate, cTS, cTSTZ, cTime, cTimeTZ:
		return g.timeText(c, epoch.Add(-time.Duration(g.r.Int64N(int64(3*365*24*time.Hour)))))
	case cInterval:
		return fmt.Sprintf("%d days %02d:%02d:%02d", g.r.IntN(400), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60))
	case cUUID:
		return g.f.UUID()
	case cInet:
		if g.r.IntN(10) == 0 {
			return g.f.IPv6Address()
		}
		return g.f.IPv4Address()
	case cCIDR:
		return fmt.Sprintf("10.%d.%d.0/24", g.r.IntN(256), g.r.IntN(256))
	case cMac:
		return strings.ToLower(hexBytes(g, 6, ":"))
	case cMac8:
		return strings.ToLower(hexBytes(g, 8, ":"))
	case cBytea:
		raw := make([]byte, 4+g.r.IntN(28))
		for i := range raw {
			raw[i] = byte(g.r.Uint32())
		}
		return `\x` + hex.EncodeToString(raw)
	case cJSON:
		return fmt.Sprintf(`{"id": %d, "name": %q, "tags": [%q, %q], "active": %t}`,
			g.r.IntN(100000), g.f.Noun(), g.f.Word(), g.f.Word(), g.r.IntN(2) == 0)
	case cBit:
		n := c.length
		if n <= 0 {
			n = 8
		}
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + g.r.IntN(2)))
		}
		return b.String()
	case cXML:
		return "<note><to>" + fakeFirstName(g.f) + "</to><body>" + g.f.Word() + "</body></note>"
	case cPoint:
		return fmt.Sprintf("(%.3f,%.3f)", g.r.Float64()*360-180, g.r.Float64()*180-90)
	case cTSVector:
		return g.f.Word() + " " + g.f.Word()
	case cRange:
		lo := g.r.IntN(1000)
		return fmt.Sprintf("[%d,%d)", lo, lo+1+g.r.IntN(100))
	case cEnum:
		return pickSkewed(g, c.labels)
	}
	return ""
}

func maxLen(c *colPlan) int {
	if c.length > 0 {
		return c.length
	}
	return -1
}

// pickSkewed picks from list with the first entries more common, as real
// status columns are.
func pickSkewed(g *tableGen, list []string) string {
	if len(list) == 0 {
		return ""
	}
	i := int(float64(len(list)) * math.Pow(g.r.Float64(), 1.8))
	if i >= len(list) {
		i = len(list) - 1
	}
	return list[i]
}

// weirdStrings are the text shapes that break down migrations and old code.
var weirdStrings = []string{
	"",
	"   ",
	"Zoë Ångström-Łukasz",
	"東京都渋谷区 ・ テスト",
	"مرحبا بالعالم",
	"שלום עולם",
	"🔥🚀 émoji 👩‍💻",
	"O'Brien \"quoted\" \\ back\\slash",
	"line one\nline two\ttabbed",
	" leading and trailing ",
	"UPPER lower MiXeD",
	"NULL",
}

// weirdValue returns a break-down shape for c, "" and false when the class
// has none.
func weirdValue(g *tableGen, c *colPlan) (string, bool) {
	switch c.class {
	case cStr:
		if c.length > 0 && g.r.IntN(3) == 0 {
			// Max length, multi-byte so byte-counting code breaks too.
			return strings.Repeat("é", c.length), true
		}
		if c.length < 0 && g.r.IntN(6) == 0 {
			return strings.Repeat("long text ", 200), true
		}
		s := weirdStrings[g.r.IntN(len(weirdStrings))]
		return truncateRunes(s, maxLen(c)), true
	case cInt:
		lo, hi := intRange(c.baseType)
		return strconv.FormatInt([]int64{0, -1, 1, lo, hi}[g.r.IntN(5)], 10), true
	case cNumeric:
		m := numericMax(c.col.Precision, c.col.Scale)
		return []string{"0", m, "-" + m, "0.01"}[g.r.IntN(4)], true
	case cFloat:
		if c.baseType == "float4" {
			return []string{"0", "-0", "1e-37", "3.4e+38", "-1"}[g.r.IntN(5)], true
		}
		return []string{"0", "-0", "1e-300", "1.7976931348623157e+308", "-1"}[g.r.IntN(5)], true
	case cDate, cTS, cTSTZ:
		ts := []time.Time{
			time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
			time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC),
			time.Date(2038, 1, 19, 3, 14, 7, 0, time.UTC),
		}
		return formatTime(c.class, ts[g.r.IntN(len(ts))]), true
	case cTime, cTimeTZ:
		return []string{"00:00:00", "23:59:59"}[g.r.IntN(2)], true
	case cJSON:
		return []string{`{}`, `[]`, `{"ключ": "значение", "emoji": "🔥", "nested": {"a": [1, null, true]}}`, `null`}[g.r.IntN(4)], true
	case cBytea:
		if c.rule != nil && c.rule.minLen > 0 {
			// The shortest value its CHECK allows (CHECK (length(x) = 20)).
			raw := make([]byte, c.rule.minLen)
			return `\x` + hex.EncodeToString(raw), true
		}
		return `\x`, true
	}
	return "", false
}

// bigIntText adds delta to a decimal integer text, for keys beyond int64.
func bigIntText(s string, delta int64) string {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return s
	}
	return b.Add(b, big.NewInt(delta)).String()
}
