package seed

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSkewTableFollowsZipf compares the table's picks with rand.Zipf's (the
// exact discrete law) by the largest gap between their CDFs.
func TestSkewTableFollowsZipf(t *testing.T) {
	for _, n := range []int{1, 2, 10, 1000, 100000, 3000000} {
		const draws = 400000
		r := rand.New(rand.NewPCG(1, uint64(n)))
		tbl := newSkewTable(n)
		z := rand.NewZipf(r, zipfS, zipfV, uint64(n-1))
		got, want := map[int]int{}, map[int]int{}
		for range draws {
			k := tbl.at(r.Uint64())
			if k < 0 || k >= n {
				t.Fatalf("n=%d: position %d out of range", n, k)
			}
			got[k]++
			want[int(z.Uint64())]++
		}
		// The CDFs at a few hundred positions spread over the range, denser
		// at the head.
		gap, cg, cw := 0.0, 0, 0
		next := 0
		for k := 0; k < n; k++ {
			cg += got[k]
			cw += want[k]
			if k == next || k == n-1 {
				gap = max(gap, abs(float64(cg-cw))/draws)
				next = k + 1 + k/50
			}
		}
		assert.Less(t, gap, 0.01, "n=%d: largest CDF gap to rand.Zipf", n)
		if n >= 1000 {
			// A few parents own many children.
			assert.Greater(t, float64(got[0])/draws, 10.0/float64(n), "n=%d: the busiest parent's share", n)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
