package seed

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestExportKeysRange: a sequential key is kept as a range while it runs on
// without a gap, and written out as a list, in order, once it does not.
func TestExportKeysRange(t *testing.T) {
	tests := []struct {
		name   string
		keys   []string
		seqCol bool
		seq    bool
	}{
		{"a run from 1", []string{"1", "2", "3", "4"}, true, true},
		{"a run from 41", []string{"41", "42", "43"}, true, true},
		{"a gap", []string{"1", "2", "4", "5"}, true, false},
		{"not a number", []string{"1", "2", "x"}, true, false},
		{"not sequential", []string{"1", "2", "3"}, false, false},
		{"empty", nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &exportKeys{seqCol: tt.seqCol}
			var want [][]string
			for _, k := range tt.keys {
				e.add([]string{k})
				want = append(want, []string{k})
			}
			assert.Equal(t, tt.seq, e.set.seq)
			assert.Equal(t, len(want), e.set.len())
			for i := range want {
				assert.Equal(t, want[i], e.set.at(i))
			}
			assert.True(t, e.set.equal(listKeys(want)))
		})
	}
}

func TestKeySetEqual(t *testing.T) {
	seq := func(start int64, n int) keySet { return keySet{seq: true, start: start, n: n} }
	list := func(start, n int) keySet {
		var l [][]string
		for i := range n {
			l = append(l, []string{strconv.Itoa(start + i)})
		}
		return listKeys(l)
	}
	tests := []struct {
		name string
		a, b keySet
		want bool
	}{
		{"same range", seq(1, 5), seq(1, 5), true},
		{"shorter", seq(1, 5), seq(1, 4), false},
		{"shifted", seq(1, 5), seq(2, 5), false},
		{"range and its list", seq(3, 4), list(3, 4), true},
		{"range and another list", seq(3, 4), list(4, 4), false},
		{"both empty", seq(1, 0), seq(7, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.a.equal(tt.b))
			assert.Equal(t, tt.want, tt.b.equal(tt.a))
		})
	}
}
