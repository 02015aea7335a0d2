package schema

import (
	"sort"
)

// Rewrite is a table whose storage an up rewrote (same OID, new relfilenode).
type Rewrite struct {
	Table string `json:"table"`
	// Rows is the count in the before snapshot (Take with CountRows).
	Rows int64 `json:"rows"`
}

// Rewrites lists the tables whose relfilenode changed between before and
// after (matched by OID), named as in after, sorted by name.
func Rewrites(before, after *Snapshot) []Rewrite {
	byOID := map[uint32]*Table{}
	for _, t := range after.Tables {
		byOID[t.OID] = t
	}
	var out []Rewrite
	for _, bt := range before.Tables {
		at := byOID[bt.OID]
		if at == nil || bt.RelFileNode == 0 || at.RelFileNode == 0 || bt.RelFileNode == at.RelFileNode {
			continue
		}
		out = append(out, Rewrite{Table: at.QualifiedName(), Rows: bt.Rows})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}
