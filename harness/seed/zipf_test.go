package seed

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestZipfDrawsWhatRandZipfDraws: value for value, and the source left
// where rand.Zipf leaves it.
func TestZipfDrawsWhatRandZipfDraws(t *testing.T) {
	for _, imax := range []uint64{1, 2, 9, 999, 19999, 99999, 279999, 1 << 20, 5000000, 1 << 40} {
		for seed := uint64(1); seed <= 3; seed++ {
			a := rand.New(rand.NewPCG(seed, imax))
			b := rand.New(rand.NewPCG(seed, imax))
			ours, theirs := newZipf(a, imax), rand.NewZipf(b, zipfS, zipfV, imax)
			for i := range 300000 {
				require.Equal(t, theirs.Uint64(), ours.Uint64(), "imax %d, seed %d, draw %d", imax, seed, i)
			}
			require.Equal(t, b.Uint64(), a.Uint64(), "imax %d, seed %d: the source after the draws", imax, seed)
		}
	}
}

func BenchmarkZipf(b *testing.B) {
	b.Run("rand.Zipf", func(b *testing.B) {
		z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), zipfS, zipfV, 279999)
		for range b.N {
			z.Uint64()
		}
	})
	b.Run("zipf", func(b *testing.B) {
		z := newZipf(rand.New(rand.NewPCG(1, 2)), 279999)
		for range b.N {
			z.Uint64()
		}
	})
}
