package seed

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
)

// COPY's binary format spares the server its text input functions, which
// for timestamps (the date/time parser) and numerics cost more than the
// insert itself. Rows are still generated as text; each value is encoded
// as it is written. A table is copied in binary only when every column has
// a type encoded here, and each encoder accepts only the shapes the
// generator writes (which the server's input function would read the same
// way). A value outside them sets binaryMiss: the COPY is abandoned and the
// table made again in text format (see fill), so what PostgreSQL accepts
// or rejects never depends on the format.

// binaryTypes are the base types copied in binary.
var binaryTypes = map[string]bool{
	"int2": true, "int4": true, "int8": true, "text": true, "varchar": true, "bpchar": true,
	"numeric": true, "bool": true, "date": true, "timestamp": true, "timestamptz": true, "uuid": true,
}

// binaryCopy is off only in the tests that compare with text COPY.
var binaryCopy = true

// binaryCopyable reports whether p's rows can go in binary COPY.
func binaryCopyable(p *tablePlan) bool {
	if !binaryCopy || p.textCopy || len(p.cols) == 0 {
		return false
	}
	for _, cp := range p.cols {
		if cp.col.IsArray || !binaryTypes[cp.baseType] {
			return false
		}
	}
	return true
}

var copyBinaryHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// binKind is how a column's values are encoded, decided once per table
// from its base type rather than per value.
type binKind uint8

const (
	binNone binKind = iota
	binText
	binInt2
	binInt4
	binInt8
	binBool
	binNumeric
	binDate
	binTimestamp
	binTimestamptz
	binUUID
)

func binKindOf(baseType string) binKind {
	switch baseType {
	case "text", "varchar", "bpchar":
		return binText
	case "int2":
		return binInt2
	case "int4":
		return binInt4
	case "int8":
		return binInt8
	case "bool":
		return binBool
	case "numeric":
		return binNumeric
	case "date":
		return binDate
	case "timestamp":
		return binTimestamp
	case "timestamptz":
		return binTimestamptz
	case "uuid":
		return binUUID
	}
	return binNone
}

// writeRowBinary writes the current row as a binary COPY tuple; ok is false
// when a value has a shape the encoders do not take (nothing is written).
func (g *tableGen) writeRowBinary(w *bufio.Writer) (ok bool, err error) {
	if len(g.binKinds) != len(g.plan.cols) {
		g.binKinds = make([]binKind, len(g.plan.cols))
		for i, cp := range g.plan.cols {
			g.binKinds[i] = binKindOf(cp.baseType)
		}
	}
	buf := g.bin[:0]
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(g.vals)))
	for i, kind := range g.binKinds {
		if g.nulls[i] {
			buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1
			continue
		}
		at := len(buf)
		buf = append(buf, 0, 0, 0, 0)
		if v, side := g.binSide(i, kind, g.vals[i]); side {
			buf, ok = appendBinaryInt(buf, kind, v)
		} else {
			buf, ok = appendBinary(buf, kind, g.vals[i])
		}
		if !ok {
			g.bin = buf[:0]
			return false, nil
		}
		binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	}
	g.bin = buf[:0]
	_, err = w.Write(buf)
	return true, err
}

func appendBinaryValue(b []byte, baseType, s string) ([]byte, bool) {
	return appendBinary(b, binKindOf(baseType), s)
}

func appendBinary(b []byte, kind binKind, s string) ([]byte, bool) {
	switch kind {
	case binText:
		return append(b, s...), true
	case binInt2:
		v, ok := parseInt(s, 16)
		if !ok {
			return b, false
		}
		return binary.BigEndian.AppendUint16(b, uint16(v)), true
	case binInt4:
		v, ok := parseInt(s, 32)
		if !ok {
			return b, false
		}
		return binary.BigEndian.AppendUint32(b, uint32(v)), true
	case binInt8:
		v, ok := parseInt(s, 64)
		if !ok {
			return b, false
		}
		return binary.BigEndian.AppendUint64(b, uint64(v)), true
	case binBool:
		switch s {
		case "t", "true":
			return append(b, 1), true
		case "f", "false":
			return append(b, 0), true
		}
		return b, false
	case binNumeric:
		return appendNumeric(b, s)
	case binDate:
		days, ok := parseDate(s)
		if !ok {
			return b, false
		}
		return binary.BigEndian.AppendUint32(b, uint32(int32(days))), true
	case binTimestamp, binTimestamptz:
		us, ok := parseTimestamp(s, kind == binTimestamptz)
		if !ok {
			return b, false
		}
		return binary.BigEndian.AppendUint64(b, uint64(us)), true
	case binUUID:
		if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return b, false
		}
		var raw [16]byte
		h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
		if _, err := hex.Decode(raw[:], []byte(h)); err != nil {
			return b, false
		}
		return append(b, raw[:]...), true
	}
	return b, false
}

// appendBinaryInt writes kind's value v: an integer (false when it does
// not fit, as parseInt), days (date) or microseconds (timestamps).
func appendBinaryInt(b []byte, kind binKind, v int64) ([]byte, bool) {
	switch kind {
	case binInt2:
		if v < math.MinInt16 || v > math.MaxInt16 {
			return b, false
		}
		return binary.BigEndian.AppendUint16(b, uint16(v)), true
	case binInt4, binDate:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return b, false
		}
		return binary.BigEndian.AppendUint32(b, uint32(v)), true
	case binInt8, binTimestamp, binTimestamptz:
		return binary.BigEndian.AppendUint64(b, uint64(v)), true
	}
	return b, false
}

// parseInt is strconv.ParseInt(s, 10, bits), without its generality for
// the [-]digits every generated integer is; ok is false where ParseInt
// fails (the caller then abandons binary COPY, nothing is written).
func parseInt(s string, bits int) (int64, bool) {
	d := s
	neg := len(d) > 0 && d[0] == '-'
	if neg {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 {
		v, err := strconv.ParseInt(s, 10, bits)
		return v, err == nil
	}
	var v int64
	for i := 0; i < len(d); i++ {
		c := d[i] - '0'
		if c > 9 {
			v, err := strconv.ParseInt(s, 10, bits)
			return v, err == nil
		}
		v = v*10 + int64(c)
	}
	if neg {
		v = -v
	}
	if bits < 64 && (v < -(1<<(bits-1)) || v >= 1<<(bits-1)) {
		return 0, false
	}
	return v, true
}

// appendNumeric encodes [-]digits[.digits] as numeric's binary form: base
// 10000 digits, the weight of the first, sign and display scale. The
// server applies the column's typmod as numeric_in does.
func appendNumeric(b []byte, s string) ([]byte, bool) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	if (ip == "" && fp == "") || len(s) > 400 || !allDigits(ip) || !allDigits(fp) {
		return b, false
	}
	ip = strings.TrimLeft(ip, "0")
	dscale := len(fp)
	// Pad both parts to whole groups of 4 decimal digits.
	lead := (4 - len(ip)%4) % 4
	trail := (4 - len(fp)%4) % 4
	weight := (lead+len(ip))/4 - 1
	var small [16]int16 // a generated numeric's groups, without a heap slice
	digits := small[:0]
	group, n := 0, lead
	add := func(c byte) {
		group = group*10 + int(c-'0')
		n++
		if n == 4 {
			digits = append(digits, int16(group))
			group, n = 0, 0
		}
	}
	for i := 0; i < len(ip); i++ {
		add(ip[i])
	}
	for i := 0; i < len(fp); i++ {
		add(fp[i])
	}
	for range trail {
		add('0')
	}
	for len(digits) > 0 && digits[0] == 0 {
		digits, weight = digits[1:], weight-1
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	sign := uint16(0)
	if len(digits) == 0 {
		weight = 0
	} else if neg {
		sign = 0x4000
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(digits)))
	b = binary.BigEndian.AppendUint16(b, uint16(int16(weight)))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, uint16(dscale))
	for _, d := range digits {
		b = binary.BigEndian.AppendUint16(b, uint16(d))
	}
	return b, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d (proleptic
// Gregorian).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// pgEpochDays is 2000-01-01, PostgreSQL's epoch, in days from 1970-01-01.
var pgEpochDays = daysFromCivil(2000, 1, 1)

// num reads s[i:i+n] as a decimal number.
func num(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseDate reads YYYY-MM-DD (year 1-9999) as days from 2000-01-01.
func parseDate(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := num(s, 0, 4)
	m, ok2 := num(s, 5, 2)
	d, ok3 := num(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d) - pgEpochDays, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseTimestamp reads YYYY-MM-DD HH:MM:SS[.f{1,6}], with a +HH or -HH
// offset for timestamptz (none for timestamp), as microseconds from
// 2000-01-01 00:00:00 UTC.
func parseTimestamp(s string, tz bool) (int64, bool) {
	if len(s) < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	days, ok := parseDate(s[:10])
	h, ok1 := num(s, 11, 2)
	mi, ok2 := num(s, 14, 2)
	sec, ok3 := num(s, 17, 2)
	if !ok || !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	us := 0
	if strings.HasPrefix(rest, ".") {
		n := 1
		for n < len(rest) && n <= 6 && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || (n < len(rest) && rest[n] >= '0' && rest[n] <= '9') {
			return 0, false // no digits, or more than 6 (the server rounds)
		}
		f, _ := num(rest, 1, n-1)
		for range 7 - n {
			f *= 10
		}
		us, rest = f, rest[n:]
	}
	offset := 0
	if tz {
		if len(rest) != 3 || (rest[0] != '+' && rest[0] != '-') {
			return 0, false
		}
		oh, ok := num(rest, 1, 2)
		if !ok || oh > 15 {
			return 0, false
		}
		offset = oh * 3600
		if rest[0] == '-' {
			offset = -offset
		}
	} else if rest != "" {
		return 0, false
	}
	secs := days*86400 + int64(h*3600+mi*60+sec-offset)
	return secs*1000000 + int64(us), true
}
