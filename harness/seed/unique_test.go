package seed

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUniqueSet: below the cap the set is exact (what a map says); past it
// a Bloom filter that still knows every key added, so a duplicate is never
// let through, and says "seen" for few of the others.
func TestUniqueSet(t *testing.T) {
	tests := []struct {
		name  string
		keys  int
		bloom bool
	}{
		{"small", 1000, false},
		{"at the cap", uniqueCap, false},
		{"just past the cap", uniqueCap + 1, true},
		{"four times the cap", 4 * uniqueCap, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tt.keys), 2))
			s := newUniqueSet()
			added := make([]keyHash, 0, tt.keys)
			for range tt.keys {
				h := keyHash(r.Uint64())
				s.add(h)
				added = append(added, h)
			}
			assert.Equal(t, tt.bloom, s.bloom != nil)
			for _, h := range added {
				require.True(t, s.has(h), "a key added is always seen: no duplicate")
			}
			falsePos := 0
			const probes = 100000
			for range probes {
				if s.has(keyHash(r.Uint64())) {
					falsePos++
				}
			}
			if !tt.bloom {
				assert.Zero(t, falsePos, "exact below the cap")
			} else {
				assert.Less(t, falsePos, probes/1000, "few false positives")
			}
			s.reset()
			assert.Nil(t, s.bloom)
			assert.False(t, s.has(added[0]))
			s.add(added[0])
			assert.True(t, s.has(added[0]))
		})
	}
}

// TestUniqueSetNoDuplicates: a generator that checks and adds as tableGen
// does never accepts a key twice, on either side of the switch, even when
// most keys it offers are repeats.
func TestUniqueSetNoDuplicates(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := newUniqueSet()
	accepted := map[keyHash]bool{}
	for range 3 * uniqueCap {
		h := keyHash(r.Uint64N(2 * uniqueCap)) // many repeats
		if s.has(h) {
			continue
		}
		require.False(t, accepted[h], "key %d accepted twice", h)
		accepted[h] = true
		s.add(h)
	}
	assert.NotNil(t, s.bloom)
	assert.Greater(t, len(accepted), uniqueCap)
}
