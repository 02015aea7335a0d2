package seed

import (
	"strconv"
	"time"
	"unsafe"
)

// Row values are strings (g.vals), but CHECKs compare numbers and binary
// COPY writes integers and microseconds: parsing them back was a fifth of
// the generation cost. A column's side value keeps what a string was
// parsed to, or what a generator made it from, keyed by the string's
// identity (address and length): it is used only while g.vals[i] is that
// very string. Go strings are immutable and the pointer kept here keeps
// the bytes alive, so an equal address and length mean equal bytes; any
// code that puts another string in g.vals[i] simply misses, and nothing
// has to invalidate the side value.
type sideVal struct {
	p   *byte
	n   int
	has sideBits
	// num is what colValue reads a numeric column's s as (sideNum).
	num float64
	// i: s is strconv.FormatInt(i, 10) (sideInt).
	i int64
	// t: s is formatTime of a date, timestamp or timestamptz, a year 1-9999
	// (sideTime); days (date) or microseconds (timestamps) from 2000-01-01,
	// what parseDate / parseTimestamp read s as.
	t int64
}

type sideBits uint8

const (
	sideNum sideBits = 1 << iota
	sideInt
	sideTime
)

// sideOf is column i's side value for s, emptied when it was another
// string's.
func (g *tableGen) sideOf(i int, s string) *sideVal {
	sv := &g.side[i]
	if p := unsafe.StringData(s); sv.p != p || sv.n != len(s) {
		*sv = sideVal{p: p, n: len(s)}
	}
	return sv
}

// text is b as a string. A short one is written into a slab of memory
// shared by the next strings: one allocation for many generated values,
// never written again, so strings from it are as immutable as any. Code
// that keeps a value past its row (recent values, key lists) clones it,
// so that it does not keep a whole slab alive.
func (g *tableGen) text(b []byte) string {
	if len(b) == 0 || len(b) > 64 {
		return string(b)
	}
	if cap(g.slab)-len(g.slab) < len(b) {
		g.slab = make([]byte, 0, 4096)
	}
	at := len(g.slab)
	g.slab = append(g.slab, b...)
	return unsafe.String(&g.slab[at], len(b))
}

// intText is strconv.FormatInt(v, 10) for column cp, remembering v.
func (g *tableGen) intText(cp *colPlan, v int64) string {
	var buf [20]byte
	s := g.text(strconv.AppendInt(buf[:0], v, 10))
	sv := g.sideOf(cp.i, s)
	sv.i, sv.has = v, sv.has|sideInt
	return s
}

// timeText is formatTime(cp.class, t), remembering what binary COPY writes
// for it.
func (g *tableGen) timeText(cp *colPlan, t time.Time) string {
	t = t.UTC()
	y := t.Year()
	if y < 1 || y > 9999 {
		return formatTime(cp.class, t) // parseDate refuses year 0
	}
	var buf [32]byte
	s := g.text(appendTime(buf[:0], cp.class, t))
	var v int64
	switch cp.class {
	case cDate:
		y, m, d := t.Date()
		v = daysFromCivil(y, int(m), d) - pgEpochDays
	case cTS, cTSTZ:
		// Unix() floors, Nanosecond() is the rest: formatTime truncates to
		// microseconds the same way.
		v = (t.Unix()-pgEpochDays*86400)*1000000 + int64(t.Nanosecond()/1000)
	default:
		return s
	}
	sv := g.sideOf(cp.i, s)
	sv.t, sv.has = v, sv.has|sideTime
	return s
}

// colNum is the number colValue reads a numeric column's s as.
func (g *tableGen) colNum(cp *colPlan, s string) (float64, bool) {
	sv := g.sideOf(cp.i, s)
	switch {
	case sv.has&sideNum != 0:
		return sv.num, true
	case sv.has&sideInt != 0 && sv.i > -1e15 && sv.i < 1e15:
		// parseDecimal's float of at most 15 digits: exact.
		sv.num, sv.has = float64(sv.i), sv.has|sideNum
		return sv.num, true
	}
	f, ok := parseDecimal(s)
	if !ok {
		var err error
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return 0, false
		}
	}
	sv.num, sv.has = f, sv.has|sideNum
	return f, true
}

// colTime is parseTime(cp.class, s) from the side value, ok false when
// there is none.
func (g *tableGen) colTime(cp *colPlan, s string) (time.Time, bool) {
	sv := g.sideOf(cp.i, s)
	if sv.has&sideTime == 0 {
		return time.Time{}, false
	}
	switch cp.class {
	case cTS, cTSTZ:
		return time.UnixMicro(sv.t + pgEpochDays*86400*1000000).UTC(), true
	case cDate:
		return time.Unix((sv.t+pgEpochDays)*86400, 0).UTC(), true
	}
	return time.Time{}, false
}

// sideInt is v when column i's s is strconv.FormatInt(v, 10).
func (g *tableGen) sideInt(i int, s string) (int64, bool) { return g.binSide(i, binInt8, s) }

// binSide is the side value binary COPY can write for column i's s of
// kind: ok false means parse s.
func (g *tableGen) binSide(i int, kind binKind, s string) (int64, bool) {
	sv := &g.side[i]
	if sv.p != unsafe.StringData(s) || sv.n != len(s) {
		return 0, false
	}
	switch kind {
	case binInt2, binInt4, binInt8:
		return sv.i, sv.has&sideInt != 0
	case binDate, binTimestamp, binTimestamptz:
		return sv.t, sv.has&sideTime != 0
	}
	return 0, false
}
