package seed

import (
	"math"
	"math/rand/v2"
)

// zipf draws exactly what rand.NewZipf(r, zipfS, zipfV, imax) draws from the
// same source, value for value, without its exp and log in the common case.
// rand.Zipf (rejection-inversion) computes x = hinv(u) = exp(c·log(w)) - v
// per draw, with c = 1/(1-s) = -9.999999999999991 for s = 1.1: here x is
// w^-10 - v (one division, four products), which differs from the exact x
// by a few parts in 10^14, and the exact computation is kept for the draws
// whose outcome that could change (x within 10^-11·x of a rounding edge or
// of the acceptance bound) and for rejections. Picking parents with
// rand.Zipf took a tenth of a child table's generation. Same draws matter:
// which rows get children decides some findings (see the corpus).
type zipf struct {
	r                                                    *rand.Rand
	imax, v, q, s, oneminusQ, oneminusQinv, hxm, hx0mhxm float64
}

const (
	zipfS = 1.1
	zipfV = 8.0
	// zipfTol bounds, relative to x, how far the fast x may be from the
	// exact one (about 3e-14 is the worst seen); closer to an edge, the
	// exact x decides.
	zipfTol = 1e-11
)

func newZipf(r *rand.Rand, imax uint64) *zipf {
	z := &zipf{r: r, imax: float64(imax), v: zipfV, q: zipfS}
	// As rand.NewZipf computes them.
	z.oneminusQ = 1.0 - z.q
	z.oneminusQinv = 1.0 / z.oneminusQ
	z.hxm = z.h(z.imax + 0.5)
	z.hx0mhxm = z.h(0.5) - math.Exp(math.Log(z.v)*(-z.q)) - z.hxm
	z.s = 1 - z.hinv(z.h(1.5)-math.Exp(-z.q*math.Log(z.v+1.0)))
	return z
}

func (z *zipf) h(x float64) float64 {
	return math.Exp(z.oneminusQ*math.Log(z.v+x)) * z.oneminusQinv
}

func (z *zipf) hinv(x float64) float64 {
	return math.Exp(z.oneminusQinv*math.Log(z.oneminusQ*x)) - z.v
}

// fastHinv is hinv for s = 1.1: (oneminusQ·x)^-10 - v.
func (z *zipf) fastHinv(x float64) float64 {
	y := 1 / (z.oneminusQ * x)
	y2 := y * y
	y4 := y2 * y2
	y8 := y4 * y4
	return y8*y2 - z.v
}

func (z *zipf) Uint64() uint64 {
	k := 0.0
	for {
		r := z.r.Float64()
		ur := z.hxm + r*z.hx0mhxm
		if x := z.fastHinv(ur); x >= 0 {
			tol := zipfTol * (x + z.v)
			k = math.Floor(x + 0.5)
			if e := x + 0.5 - k; e > tol && e < 1-tol && k-x < z.s-tol {
				break // accepted, and the exact x would say the same
			}
		}
		x := z.hinv(ur)
		k = math.Floor(x + 0.5)
		if k-x <= z.s {
			break
		}
		if ur >= z.h(k+0.5)-math.Exp(-math.Log(k+z.v)*z.q) {
			break
		}
	}
	return uint64(k)
}
