package seed

import "math/bits"

// uniqueCap is how many keys a unique key's set holds exactly; past it the
// set is a Bloom filter of uniqueBloomBits bits (4 MiB, about what the exact
// set takes at the cap), so its memory does not grow with the rows. Below
// the cap the data is as it always was.
const (
	uniqueCap        = 1 << 18
	uniqueBloomBits  = 1 << 25
	uniqueBloomProbe = 4
)

// uniqueSet is the keys of one unique key written so far, as 64-bit hashes.
// A filter never forgets a key, so a duplicate is never written; a false
// positive (about 1 in 6,000 lookups at 1M keys, 1 in 120 at 3M, 1 in 4 at
// 10M) only makes the generator try the row again, as a hash collision of
// the exact set does.
type uniqueSet struct {
	exact map[keyHash]struct{}
	bloom []uint64 // once exact passed uniqueCap: every key added
}

func newUniqueSet() uniqueSet { return uniqueSet{exact: map[keyHash]struct{}{}} }

func (s *uniqueSet) has(h keyHash) bool {
	if s.bloom == nil {
		_, ok := s.exact[h]
		return ok
	}
	a, b := bloomHashes(h)
	for i := range uint64(uniqueBloomProbe) {
		bit := (a + i*b) & (uniqueBloomBits - 1)
		if s.bloom[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

func (s *uniqueSet) add(h keyHash) {
	if s.bloom == nil {
		if s.exact == nil {
			s.exact = map[keyHash]struct{}{}
		}
		s.exact[h] = struct{}{}
		if len(s.exact) <= uniqueCap {
			return
		}
		// Past the cap: the filter takes over, with every key so far.
		s.bloom = make([]uint64, uniqueBloomBits/64)
		for k := range s.exact {
			s.setBits(k)
		}
		s.exact = nil
		return
	}
	s.setBits(h)
}

func (s *uniqueSet) setBits(h keyHash) {
	a, b := bloomHashes(h)
	for i := range uint64(uniqueBloomProbe) {
		bit := (a + i*b) & (uniqueBloomBits - 1)
		s.bloom[bit/64] |= 1 << (bit % 64)
	}
}

// bloomHashes derives the probes' start and stride (double hashing) from
// a key's FNV hash, remixed so that every bit of it counts; the stride is
// odd, so the probes differ.
func bloomHashes(h keyHash) (a, b uint64) {
	x := mix64(uint64(h))
	return x, bits.RotateLeft64(x, 32) | 1
}

// reset empties the set for another attempt at the table's rows.
func (s *uniqueSet) reset() {
	if s.bloom != nil {
		*s = newUniqueSet()
		return
	}
	clear(s.exact)
}

// release drops the set once the table is loaded.
func (s *uniqueSet) release() { *s = uniqueSet{} }
