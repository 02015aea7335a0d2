package seed

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFormatTimeMatchesLayouts: the hand-written formatter writes exactly
// what time.Format writes with each class's layout.
func TestFormatTimeMatchesLayouts(t *testing.T) {
	layouts := map[class]string{cDate: dateLayout, cTS: tsLayout, cTSTZ: tstzLayout, cTime: "15:04:05", cTimeTZ: "15:04:05+00"}
	times := []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 1000, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 7, 0, time.UTC),
		time.Date(5, 6, 7, 8, 9, 10, 11, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 6, 1, 23, 30, 0, 0, time.FixedZone("x", -3600)),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		times = append(times, epoch.Add(-time.Duration(r.Int64N(int64(60*365*24*time.Hour)))))
	}
	for c, layout := range layouts {
		for _, tm := range times {
			require.Equal(t, tm.UTC().Format(layout), formatTime(c, tm), "%s %v", c, tm)
		}
	}
}

// TestFoldKeepsResults: CHECKs evaluate to the same values with their
// constant parts folded as without.
func TestFoldKeepsResults(t *testing.T) {
	checks := []struct {
		def   string
		folds bool // has a constant part
	}{
		{"CHECK ((status = ANY (ARRAY['new'::text, 'paid'::text, 'shipped'::text])))", true},
		{"CHECK (((quantity >= 1) AND (quantity <= 99)))", true},
		{"CHECK ((price > (0)::numeric))", true},
		{"CHECK ((amount > '10.5'::numeric))", true},
		{"CHECK (((code)::text ~ '^[A-Z]{3}$'::text))", true},
		{"CHECK ((starts_on < ends_on))", false},
		{"CHECK ((kind <> 'x'::bpchar))", true},
	}
	rows := []map[string]value{
		{"status": {k: vStr, s: "paid"}, "quantity": {k: vNum, n: 5}, "price": {k: vNum, n: 1}, "amount": {k: vNum, n: 11},
			"code": {k: vStr, s: "ABC"}, "starts_on": {k: vStr, s: "2024-01-01"}, "ends_on": {k: vStr, s: "2024-02-01"}, "kind": {k: vStr, s: "y"}},
		{"status": {k: vStr, s: "lost"}, "quantity": {k: vNum, n: 0}, "price": {k: vNum, n: -1}, "amount": {k: vNum, n: 10.5},
			"code": {k: vStr, s: "abc"}, "starts_on": {k: vStr, s: "2024-03-01"}, "ends_on": {k: vStr, s: "2024-02-01"}, "kind": {k: vStr, s: "x"}},
		{"status": {}, "quantity": {}, "price": {}, "amount": {}, "code": {}, "starts_on": {}, "ends_on": {}, "kind": {}},
	}
	for _, tt := range checks {
		t.Run(tt.def, func(t *testing.T) {
			folded, err := parseCheckDef(tt.def)
			require.NoError(t, err)
			plain, err := parseCheckDef(tt.def)
			require.NoError(t, err)
			unfold(plain)
			assert.Equal(t, tt.folds, hasKonst(folded), "constant parts folded")
			for _, row := range rows {
				lookup := func(c string) (value, error) { return row[c], nil }
				want, wantErr := eval(plain, lookup)
				got, gotErr := eval(folded, lookup)
				assert.Equal(t, want, got)
				assert.Equal(t, wantErr, gotErr)
			}
		})
	}
}

func unfold(n *node) {
	n.konst = nil
	for _, a := range n.args {
		unfold(a)
	}
}

func hasKonst(n *node) bool {
	if n.konst != nil {
		return true
	}
	for _, a := range n.args {
		if hasKonst(a) {
			return true
		}
	}
	return false
}
