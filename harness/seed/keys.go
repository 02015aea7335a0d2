package seed

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
)

// keyListCap bounds a key list: a parent with more keys than this that are
// not one integer column is kept as a uniform sample of keyListCap of them
// (see keyCollector), so the seeder's memory does not grow with its rows.
// Below it the list is exact and the data as it always was.
const keyListCap = 1 << 17

// keySet is a parent's keys that children pick from, in order. The keys of
// one integer column (the commonest parent: a serial primary key) are kept
// as runs of consecutive values, so their memory grows with the gaps, not
// the rows; any other key is a list.
type keySet struct {
	list [][]string
	ints bool     // the keys are the runs' values, in order
	runs []keyRun // when ints
	n    int      // when ints: the number of keys
}

// keyRun is a run of consecutive integer keys in a keySet: start,
// start+1, ... up to the next run's first.
type keyRun struct {
	start int64 // the run's first value
	first int   // that value's index in the set: the number of keys before the run
}

func listKeys(list [][]string) keySet { return keySet{list: list} }

// seqKeys is start, start+1, ..., start+n-1.
func seqKeys(start int64, n int) keySet {
	if n == 0 {
		return keySet{ints: true}
	}
	return keySet{ints: true, runs: []keyRun{{start: start}}, n: n}
}

func (k keySet) len() int {
	if k.ints {
		return k.n
	}
	return len(k.list)
}

// value is the i-th integer key of a set of ints.
func (k keySet) value(i int) int64 {
	r := 0
	if len(k.runs) > 1 {
		r = sort.Search(len(k.runs), func(j int) bool { return k.runs[j].first > i }) - 1
	}
	return k.runs[r].start + int64(i-k.runs[r].first)
}

func (k keySet) at(i int) []string {
	if k.ints {
		return []string{strconv.FormatInt(k.value(i), 10)}
	}
	return k.list[i]
}

// atInto is at, with an integer key written into buf (length >= 1) rather
// than a new slice: a child picks a parent for every row.
func (k keySet) atInto(i int, buf []string) []string {
	if k.ints {
		buf[0] = strconv.FormatInt(k.value(i), 10)
		return buf[:1]
	}
	return k.list[i]
}

// appendInt adds v after the last key, extending the last run when v
// continues it: runs are maximal, so two sets of the same ints have the
// same runs.
func (k *keySet) appendInt(v int64) {
	k.ints = true
	if k.continues(v) {
		k.n++
		return
	}
	k.runs = append(k.runs, keyRun{start: v, first: k.n})
	k.n++
}

// continues reports whether v is the last key plus one. MinInt64 never
// is: it would be MaxInt64+1 wrapped.
func (k keySet) continues(v int64) bool {
	last := len(k.runs) - 1
	return last >= 0 && v != math.MinInt64 && k.runs[last].start+int64(k.n-k.runs[last].first) == v
}

// equal reports whether k and o hold the same keys in the same order.
func (k keySet) equal(o keySet) bool {
	if k.len() != o.len() {
		return false
	}
	if k.ints && o.ints {
		// Runs are maximal: the same keys are the same runs.
		if len(k.runs) != len(o.runs) {
			return false
		}
		for i := range k.runs {
			if k.runs[i] != o.runs[i] {
				return false
			}
		}
		return true
	}
	for i := range k.len() {
		a, b := k.at(i), o.at(i)
		if len(a) != len(b) {
			return false
		}
		for j := range a {
			if a[j] != b[j] {
				return false
			}
		}
	}
	return true
}

// canonicalInt parses s when it is an integer exactly as
// strconv.FormatInt (and PostgreSQL) writes it, so that a key kept as a
// number is written back byte for byte: no sign but a minus, no leading
// zero, no "-0".
func canonicalInt(s string) (int64, bool) {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 19 || (d[0] == '0' && (len(d) > 1 || len(s) > 1)) {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// keyCollector builds a keySet one key at a time, in the set's order. A
// key of one column is kept as integer runs while every key is an integer
// and there are at most keyListCap runs; any other is a list of at most
// keyListCap keys. Past those, it is a uniform sample (reservoir sampling)
// of keyListCap of the keys offered, in their order: integers as integers
// (8 bytes a key, handed over as runs), others as a list. Children then
// reference only the sampled parents. The sample's random source depends
// only on the key's table and columns, not on the generator's, so the
// parent's own rows do not change.
type keyCollector struct {
	set    keySet
	single bool   // one column: try integer runs
	seed   uint64 // the sample's random source
	// offered counts the keys offered to a list or a sample; pos holds the
	// offer number of each kept key once sampling, to put them back in order.
	offered int
	pos     []int
	rnd     *rand.Rand
	// ivals: sampling integers, the kept ones (set is then unused).
	ivals []int64
}

func newKeyCollector(id string, cols int) keyCollector {
	h := fnv.New64a()
	h.Write([]byte(id))
	return keyCollector{single: cols == 1, seed: h.Sum64()}
}

// addInt adds the one-column key v when it is kept as an integer; false
// leaves it to add.
func (c *keyCollector) addInt(v string) bool {
	if !c.single || c.set.list != nil {
		return false
	}
	n, ok := canonicalInt(v)
	return ok && c.addIntValue(n)
}

// addIntValue is addInt of strconv.FormatInt(n, 10).
func (c *keyCollector) addIntValue(n int64) bool {
	if !c.single || c.set.list != nil {
		return false
	}
	switch {
	case c.ivals != nil:
		c.offerInt(n)
	case len(c.set.runs) >= keyListCap && !c.set.continues(n):
		// More gaps than keyListCap: a run per key would grow with the
		// rows, so sample the integers instead.
		old := c.set
		c.set = keySet{}
		c.ivals = make([]int64, 0, keyListCap)
		c.pos = make([]int, 0, keyListCap)
		for i := range old.n {
			c.offerInt(old.value(i))
		}
		c.offerInt(n)
	default:
		c.set.appendInt(n)
	}
	return true
}

// add appends one key (the collector keeps it: a new slice per key).
func (c *keyCollector) add(key []string) {
	if len(key) == 1 && c.addInt(key[0]) {
		return
	}
	switch {
	case c.ivals != nil:
		// Not an integer after all: the sample goes on as a list.
		c.sortSample()
		c.set.list = make([][]string, len(c.ivals))
		for i, v := range c.ivals {
			c.set.list[i] = []string{strconv.FormatInt(v, 10)}
		}
		c.ivals = nil
	case c.set.ints:
		// Not an integer after all: go on as a list of the same keys.
		old := c.set
		c.set = keySet{}
		for i := range old.n {
			c.addList(old.at(i))
		}
	}
	c.single = false
	c.addList(key)
}

// slot is where the reservoir keeps the offer just counted: a free slot
// while fewer than keyListCap are kept (kept is how many), else a random
// one or -1 (not kept).
func (c *keyCollector) slot(kept int) int {
	if kept < keyListCap {
		return kept
	}
	if c.rnd == nil {
		c.rnd = rand.New(rand.NewPCG(c.seed, 0x6b657973))
	}
	if j := c.rnd.IntN(c.offered); j < kept {
		return j
	}
	return -1
}

func (c *keyCollector) addList(key []string) {
	c.offered++
	j := c.slot(len(c.set.list))
	switch {
	case j == len(c.set.list):
		c.set.list = append(c.set.list, key)
		if c.pos != nil {
			c.pos = append(c.pos, c.offered-1)
		}
		return
	case j < 0:
		return
	}
	if c.pos == nil {
		c.pos = make([]int, len(c.set.list))
		for i := range c.pos {
			c.pos[i] = i
		}
	}
	c.set.list[j], c.pos[j] = key, c.offered-1
}

func (c *keyCollector) offerInt(v int64) {
	c.offered++
	switch j := c.slot(len(c.ivals)); {
	case j == len(c.ivals):
		c.ivals = append(c.ivals, v)
		c.pos = append(c.pos, c.offered-1)
	case j >= 0:
		c.ivals[j], c.pos[j] = v, c.offered-1
	}
}

// sortSample puts a sample back in the order its keys were offered.
func (c *keyCollector) sortSample() {
	switch {
	case c.ivals != nil:
		sort.Sort(byPos[int64]{c.ivals, c.pos})
	case c.pos != nil:
		sort.Sort(byPos[[]string]{c.set.list, c.pos})
	}
}

// keys returns the set collected so far, a sample in the order its keys
// were added (sampled integers as runs).
func (c *keyCollector) keys() keySet {
	c.sortSample()
	if c.ivals != nil {
		var set keySet
		for _, v := range c.ivals {
			set.appendInt(v)
		}
		return set
	}
	return c.set
}

// byPos sorts a sample's keys by the order they were offered in (pos).
type byPos[T any] struct {
	keys []T
	pos  []int
}

func (b byPos[T]) Len() int           { return len(b.pos) }
func (b byPos[T]) Less(i, j int) bool { return b.pos[i] < b.pos[j] }
func (b byPos[T]) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.pos[i], b.pos[j] = b.pos[j], b.pos[i]
}
