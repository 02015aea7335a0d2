package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect adds keys to a collector of one column, as the generator and
// readKeys do.
func collect(keys []string) keySet {
	c := newKeyCollector("t(id)", 1)
	for _, k := range keys {
		c.add([]string{k})
	}
	return c.keys()
}

// TestKeyCollectorInts: a one-column key is kept as runs while every key is
// an integer as PostgreSQL writes it, as a list once one is not; at(i) is
// the i-th key added either way.
func TestKeyCollectorInts(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		ints bool
		runs int
	}{
		{"a run from 1", []string{"1", "2", "3", "4"}, true, 1},
		{"a run from 41", []string{"41", "42", "43"}, true, 1},
		{"a gap", []string{"1", "2", "4", "5"}, true, 2},
		{"descending", []string{"3", "2", "1"}, true, 3},
		{"negative across zero", []string{"-2", "-1", "0", "1"}, true, 1},
		{"extremes", []string{"9223372036854775807", "-9223372036854775808"}, true, 2},
		{"text order", []string{"1", "10", "11", "2"}, true, 3},
		{"not a number", []string{"1", "2", "x"}, false, 0},
		{"a leading zero", []string{"1", "02"}, false, 0},
		{"a plus", []string{"+1"}, false, 0},
		{"minus zero", []string{"-0"}, false, 0},
		{"past int64", []string{"9223372036854775808"}, false, 0},
		{"empty", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := collect(tt.keys)
			assert.Equal(t, tt.ints, set.ints)
			assert.Len(t, set.runs, tt.runs)
			want := make([][]string, len(tt.keys))
			for i, k := range tt.keys {
				want[i] = []string{k}
			}
			require.Equal(t, len(want), set.len())
			buf := make([]string, 1)
			for i := range want {
				assert.Equal(t, want[i], set.at(i))
				assert.Equal(t, want[i], set.atInto(i, buf))
			}
			assert.True(t, set.equal(listKeys(want)))
		})
	}
}

// TestKeySetRunsRandomGaps: for random gap patterns, the runs hold exactly
// the list's keys (at, equal) and as many runs as the list has gaps.
func TestKeySetRunsRandomGaps(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		gapRate float64 // the chance that a key does not follow the previous one
		maxGap  int64
	}{
		{"no gaps", 5000, 0, 1},
		{"rare gaps", 5000, 0.001, 10},
		{"some gaps", 5000, 0.05, 1000},
		{"gaps everywhere", 2000, 0.9, 3},
		{"backwards jumps", 2000, 0.1, -50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tt.n)))
			v, gaps := int64(1000), 0
			var list [][]string
			for i := range tt.n {
				if i > 0 && r.Float64() < tt.gapRate {
					gap := 2 + r.Int64N(max(tt.maxGap, -tt.maxGap))
					if tt.maxGap < 0 {
						gap = -gap
					}
					v += gap
					gaps++
				} else if i > 0 {
					v++
				}
				list = append(list, []string{strconv.FormatInt(v, 10)})
			}
			keys := make([]string, len(list))
			for i, k := range list {
				keys[i] = k[0]
			}
			set := collect(keys)
			require.True(t, set.ints)
			assert.Len(t, set.runs, gaps+1)
			require.Equal(t, len(list), set.len())
			for i := range list {
				require.Equal(t, list[i], set.at(i), "key %d", i)
			}
			assert.True(t, set.equal(listKeys(list)))
			assert.True(t, set.equal(collect(keys)))
			assert.False(t, set.equal(collect(keys[1:])))
		})
	}
}

func TestKeySetEqual(t *testing.T) {
	list := func(start, n int) keySet {
		var l [][]string
		for i := range n {
			l = append(l, []string{strconv.Itoa(start + i)})
		}
		return listKeys(l)
	}
	gapped := collect([]string{"3", "4", "6", "7"})
	tests := []struct {
		name string
		a, b keySet
		want bool
	}{
		{"same range", seqKeys(1, 5), seqKeys(1, 5), true},
		{"shorter", seqKeys(1, 5), seqKeys(1, 4), false},
		{"shifted", seqKeys(1, 5), seqKeys(2, 5), false},
		{"range and its list", seqKeys(3, 4), list(3, 4), true},
		{"range and another list", seqKeys(3, 4), list(4, 4), false},
		{"both empty", seqKeys(1, 0), seqKeys(7, 0), true},
		{"range and runs with a gap", seqKeys(3, 4), gapped, false},
		{"collected run and range", collect([]string{"3", "4", "5", "6"}), seqKeys(3, 4), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.a.equal(tt.b))
			assert.Equal(t, tt.want, tt.b.equal(tt.a))
		})
	}
}

// TestKeyCollectorSample: a list is exact up to keyListCap keys; beyond, a
// sample of keyListCap of them, in the order they came, the same every
// time, with keys from all along the list.
func TestKeyCollectorSample(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{"below the cap", keyListCap - 1},
		{"at the cap", keyListCap},
		{"just past it", keyListCap + 1},
		{"three times it", 3 * keyListCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := func() keySet {
				c := newKeyCollector("t(a,b)", 2)
				for i := range tt.n {
					c.add([]string{strconv.Itoa(i), "x"})
				}
				return c.keys()
			}
			set := build()
			require.False(t, set.ints)
			require.Equal(t, min(tt.n, keyListCap), set.len())
			if tt.n <= keyListCap {
				for i := range tt.n {
					require.Equal(t, []string{strconv.Itoa(i), "x"}, set.at(i))
				}
				return
			}
			prev, late := -1, 0
			for i := range set.len() {
				v, err := strconv.Atoi(set.at(i)[0])
				require.NoError(t, err)
				require.Greater(t, v, prev, "in order, no key twice")
				prev = v
				if v >= keyListCap {
					late++
				}
			}
			// A uniform sample holds about (n-cap)/n of its keys from past the cap.
			wantLate := float64(keyListCap) * float64(tt.n-keyListCap) / float64(tt.n)
			assert.InDelta(t, wantLate, float64(late), 5*max(1, math.Sqrt(wantLate)), "keys from past the cap")
			assert.True(t, set.equal(build()), "deterministic")
		})
	}
}

// TestKeyCollectorTurnsToList: integer runs that meet a key that is not one
// go on as a list of the same keys.
func TestKeyCollectorTurnsToList(t *testing.T) {
	var keys []string
	for i := range 100 {
		keys = append(keys, fmt.Sprint(i+1))
	}
	keys = append(keys, "abc", "101")
	set := collect(keys)
	require.False(t, set.ints)
	require.Equal(t, len(keys), set.len())
	for i, k := range keys {
		assert.Equal(t, []string{k}, set.at(i))
	}
}

// TestPerm32: a one-to-one child's permutation is rand.Perm's, number for
// number, and leaves the random source where Perm would.
func TestPerm32(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1000, 100003} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			a, b := rand.New(rand.NewPCG(9, uint64(n))), rand.New(rand.NewPCG(9, uint64(n)))
			want := a.Perm(n)
			got := perm32(b, n)
			require.Len(t, got, n)
			for i := range want {
				require.Equal(t, want[i], int(got[i]), "index %d", i)
			}
			assert.Equal(t, a.Uint64(), b.Uint64())
		})
	}
}

// TestKeyCollectorManyGaps: integers with more gaps than keyListCap are
// sampled as integers (and handed over as runs), in order, the same every
// time; a key that is not an integer after that turns the sample into a
// list.
func TestKeyCollectorManyGaps(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		tail  string // a last key, "" for none
		ints  bool
		exact bool
	}{
		{"gaps up to the cap", keyListCap, "", true, true},
		{"one gap more", keyListCap + 1, "", true, false},
		{"twice the cap", 2 * keyListCap, "", true, false},
		{"then not an integer", 2 * keyListCap, "x", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := make([]string, tt.n)
			for i := range keys {
				keys[i] = strconv.Itoa(2 * i) // every key a run of its own
			}
			if tt.tail != "" {
				keys = append(keys, tt.tail)
			}
			set := collect(keys)
			assert.Equal(t, tt.ints, set.ints)
			require.Equal(t, min(len(keys), keyListCap), set.len())
			if tt.exact {
				for i := range keys {
					require.Equal(t, []string{keys[i]}, set.at(i))
				}
				return
			}
			prev, late := -1, 0
			for i := range set.len() {
				k := set.at(i)[0]
				if k == tt.tail {
					require.Equal(t, set.len()-1, i, "the last key offered comes last")
					continue
				}
				v, err := strconv.Atoi(k)
				require.NoError(t, err)
				require.Greater(t, v, prev, "in order, no key twice")
				require.Zero(t, v%2, "one of the keys added")
				prev = v
				if v >= 2*keyListCap {
					late++
				}
			}
			if tt.n >= 2*keyListCap {
				assert.InDelta(t, keyListCap/2, late, 5*math.Sqrt(keyListCap/2), "keys from past the cap")
			}
			assert.True(t, set.equal(collect(keys)), "deterministic")
		})
	}
}

// TestFeistelPerm: the keyed permutation of a one-to-one child past
// permCap parents hits every index of [0, n) exactly once, the same for the
// same random source, another for another.
func TestFeistelPerm(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 1000, 65537, permCap + 3} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			f := newFeistelPerm(rand.New(rand.NewPCG(5, 6)), n)
			seen := make([]bool, n)
			moved := 0
			for i := range n {
				v := f.at(i)
				require.True(t, v >= 0 && v < n, "index %d -> %d", i, v)
				require.False(t, seen[v], "%d hit twice", v)
				seen[v] = true
				if v != i {
					moved++
				}
			}
			same := newFeistelPerm(rand.New(rand.NewPCG(5, 6)), n)
			other := newFeistelPerm(rand.New(rand.NewPCG(7, 8)), n)
			differs := false
			for i := range min(n, 1000) {
				require.Equal(t, f.at(i), same.at(i))
				differs = differs || f.at(i) != other.at(i)
			}
			if n >= 1000 {
				assert.True(t, differs, "another key, another order")
				assert.Greater(t, moved, n/2, "not close to the identity")
			}
		})
	}
}
