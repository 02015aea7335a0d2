package seed

import "strconv"

// keySet is a parent's keys that children pick from: a list, or, for a
// sequential primary key without gaps, only its range, so that the memory
// of the commonest parent does not grow with its rows.
type keySet struct {
	list  [][]string
	seq   bool  // the keys are start, start+1, ..., start+n-1
	start int64 // when seq
	n     int   // when seq
}

func listKeys(list [][]string) keySet { return keySet{list: list} }

func (k keySet) len() int {
	if k.seq {
		return k.n
	}
	return len(k.list)
}

func (k keySet) at(i int) []string {
	if k.seq {
		return []string{strconv.FormatInt(k.start+int64(i), 10)}
	}
	return k.list[i]
}

// atInto is at, with a sequential key written into buf (length >= 1)
// rather than a new slice: a child picks a parent for every row.
func (k keySet) atInto(i int, buf []string) []string {
	if k.seq {
		buf[0] = strconv.FormatInt(k.start+int64(i), 10)
		return buf[:1]
	}
	return k.list[i]
}

// equal reports whether k and o hold the same keys in the same order.
func (k keySet) equal(o keySet) bool {
	if k.len() != o.len() {
		return false
	}
	if k.seq && o.seq {
		return k.start == o.start || k.n == 0
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

// add appends one generated key to an export, keeping only the range while
// the keys of a single integer column run on from start without a gap.
func (e *exportKeys) add(key []string) {
	if e.seqCol && e.set.list == nil {
		if e.addSeq(key[0]) {
			return
		}
		// The run is broken: write the range out and go on as a list.
		list := make([][]string, 0, e.set.n+1)
		for i := range e.set.n {
			list = append(list, e.set.at(i))
		}
		e.set = keySet{list: list}
	}
	e.set.list = append(e.set.list, key)
}

// addSeq extends the range of a sequential export with v; false when v does
// not continue it (add then writes the range out as a list).
func (e *exportKeys) addSeq(v string) bool {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || (e.set.n != 0 && n != e.set.start+int64(e.set.n)) {
		return false
	}
	if e.set.n == 0 {
		e.set.start = n
	}
	e.set.seq = true
	e.set.n++
	return true
}
