package seed

import "math"

// Children pick their parents with Zipf's law over the parents' positions:
// P(k) ∝ (zipfV+k)^-zipfS, so a few parents own many children and most own
// a few.
const (
	zipfS = 1.1
	zipfV = 8.0
	// skewSteps quantiles of the inverse CDF are kept per foreign key.
	skewBits  = 12
	skewSteps = 1 << skewBits
)

// skewTable picks positions in [0, n) with Zipf's law from a table of the
// continuous law's inverse CDF at skewSteps quantiles, linearly
// interpolated: one random draw and no exp or log per pick. rand.Zipf's
// rejection-inversion drew two to three and took a tenth of the generator's
// time on a child table with two foreign keys. Between two quantiles the
// density is taken as flat; the head, where it is not, spans many
// quantiles per position.
type skewTable struct {
	n int
	x [skewSteps + 1]float64
}

func newSkewTable(n int) *skewTable {
	t := &skewTable{n: n}
	// H(x) = (v+x)^a / a with a = 1-s is the law's integral; x(u) inverts
	// H(0) + u·(H(n)-H(0)).
	a := 1 - zipfS
	h := func(x float64) float64 { return math.Pow(zipfV+x, a) / a }
	h0, hn := h(0), h(float64(n))
	for i := range t.x {
		u := float64(i) / skewSteps
		t.x[i] = math.Pow(a*(h0+u*(hn-h0)), 1/a) - zipfV
	}
	t.x[0], t.x[skewSteps] = 0, float64(n)
	return t
}

// at maps a uniform 64-bit draw to a position: its top skewBits bits pick
// the quantile, the rest the point between it and the next.
func (t *skewTable) at(r uint64) int {
	j := r >> (64 - skewBits)
	frac := float64(r<<skewBits>>(64-52)) / (1 << 52)
	k := int(t.x[j] + frac*(t.x[j+1]-t.x[j]))
	return min(max(k, 0), t.n-1)
}
