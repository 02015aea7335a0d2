package seed

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binarySchema has every type binary COPY encodes, with the shapes weird
// values and CHECKs give them; fallback has a value it does not encode
// (the constant default 'infinity', written in some rows).
const binarySchema = `
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TABLE accounts (id bigserial PRIMARY KEY, small smallint NOT NULL, regular int, qty positive_int,
	price numeric(8,2) NOT NULL CHECK (price >= 0), ratio numeric, tiny numeric(4,3), flag boolean NOT NULL,
	born date, seen timestamp, at timestamptz NOT NULL, uid uuid UNIQUE, code char(3), name varchar(12),
	body text, starts_on date, ends_on date, CHECK (starts_on < ends_on));
CREATE TABLE entries (id serial PRIMARY KEY, account_id bigint REFERENCES accounts, amount numeric(12,2) NOT NULL,
	booked_at timestamptz NOT NULL, note text);
CREATE TABLE fallback (id serial PRIMARY KEY, valid_until timestamptz NOT NULL DEFAULT 'infinity', n numeric);
`

// TestBinaryCopySameRows: the rows binary COPY writes are the rows text
// COPY writes, and a table with a value binary does not take is loaded in
// text with the same rows.
func TestBinaryCopySameRows(t *testing.T) {
	load := func(binary bool) (string, *Result) {
		binaryCopy = binary
		defer func() { binaryCopy = true }()
		dsn := schemaDB(t, binarySchema)
		snap := take(t, dsn)
		res, err := New(Options{Seed: 3, Rows: 500, WeirdRate: 0.3, Logger: testLogger()}).Base(testCtx(t), dsn, snap, nil)
		require.NoError(t, err)
		for _, tr := range res.Tables {
			require.Empty(t, tr.Skipped, tr.Table)
			require.Positive(t, tr.Rows, tr.Table)
		}
		require.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM fallback WHERE valid_until = 'infinity'"))
		return string(dump(t, dsn, snap)), res
	}
	text, textRes := load(false)
	bin, binRes := load(true)
	assert.Equal(t, textRes, binRes)
	assert.Equal(t, text, bin)
}

func TestAppendNumeric(t *testing.T) {
	for in, want := range map[string][]int{
		"0":           {0, 0, 0, 0},
		"0.00":        {0, 0, 0, 2},
		"-0.01":       {1, -1, 0x4000, 2, 100},
		"12345.678":   {3, 1, 0, 3, 1, 2345, 6780},
		"10000":       {1, 1, 0, 0, 1},
		"007":         {1, 0, 0, 0, 7},
		"99999999.99": {3, 1, 0, 2, 9999, 9999, 9900},
	} {
		b, ok := appendNumeric(nil, in)
		require.True(t, ok, in)
		var got []int
		for i := 0; i < len(b); i += 2 {
			got = append(got, int(int16(uint16(b[i])<<8|uint16(b[i+1]))))
		}
		if want[2] == 0x4000 {
			got[2] = int(uint16(got[2]))
		}
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-", "1e5", "NaN", " 1", "1.2.3", "."} {
		_, ok := appendNumeric(nil, in)
		assert.False(t, ok, in)
	}
}

// TestParseTimeFastPath: the generator's shapes parse as time.Parse reads
// them.
func TestParseTimeFastPath(t *testing.T) {
	for _, s := range []string{"2024-02-29 23:59:59.999999+00", "1999-12-31 00:00:00.000001", "0001-01-01 00:00:00.000000+00",
		"9999-12-31 23:59:59.500000", "2023-02-29 00:00:00.000000+00", "0000-01-01 00:00:00.000000"} {
		got, gotOK := parseTime(cTSTZ, s)
		layout := tsLayout
		if len(s) == len(tstzLayout) {
			layout = tstzLayout
		}
		want, err := time.Parse(layout, s)
		assert.Equal(t, err == nil, gotOK, s)
		assert.True(t, want.Equal(got), "%s: %v != %v", s, got, want)
	}
}

// TestParseDecimalMatchesParseFloat: the fast path reads what ParseFloat
// reads, bit for bit, and leaves other shapes to it.
func TestParseDecimalMatchesParseFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []string{"0", "-0", "0.1", "-0.01", "12.50", "999999999999.99", "123456789012345", "0.000000000000001", ".5", "5."}
	for range 100000 {
		ip := strconv.FormatInt(r.Int64N(1_000_000_000), 10)
		fp := strconv.FormatInt(r.Int64N(1_000_000), 10)
		cases = append(cases, ip+"."+fp, "-"+ip+"."+fp[:len(fp)/2+1], ip)
	}
	for _, s := range cases {
		want, err := strconv.ParseFloat(s, 64)
		got, ok := parseDecimal(s)
		if ok {
			require.NoError(t, err, s)
			require.Equal(t, math.Float64bits(want), math.Float64bits(got), s)
		}
	}
	for _, s := range []string{"", "-", ".", "1e5", "1.2.3", " 1", "NaN", "1234567890123456"} {
		_, ok := parseDecimal(s)
		assert.False(t, ok, s)
	}
}

func TestParseIntMatchesStrconv(t *testing.T) {
	for _, bits := range []int{16, 32, 64} {
		for _, s := range []string{"0", "-0", "7", "-7", "007", "+5", "", "-", "1a", "32767", "32768", "-32768", "-32769",
			"2147483647", "2147483648", "-2147483648", "-2147483649", "999999999999999999", "9223372036854775807",
			"9223372036854775808", "-9223372036854775808", "-9223372036854775809", "1_000", " 1", "1 "} {
			want, err := strconv.ParseInt(s, 10, bits)
			got, ok := parseInt(s, bits)
			if ok != (err == nil) || ok && got != want {
				t.Errorf("parseInt(%q, %d) = %d, %v; strconv: %d, %v", s, bits, got, ok, want, err)
			}
		}
	}
}
