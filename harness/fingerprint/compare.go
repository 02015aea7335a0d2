package fingerprint

import (
	"fmt"
	"strconv"
)

// Difference kinds.
const (
	KindMissingTable  = "missing-table"
	KindRowCount      = "row-count"
	KindContent       = "content"
	KindMissingColumn = "missing-column"
	KindColumnContent = "column-content"
)

// Difference is one way after's data differs from before's.
type Difference struct {
	Table  string `json:"table"`
	Column string `json:"column,omitempty"`
	Kind   string `json:"kind"`
	// Before and After are row counts for row-count and missing-table
	// (plain integers), hashes for content and column-content.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

func (d Difference) String() string {
	switch d.Kind {
	case KindMissingTable:
		return fmt.Sprintf("%s: table missing (had %s rows)", d.Table, d.Before)
	case KindRowCount:
		return fmt.Sprintf("%s: %s rows -> %s", d.Table, d.Before, d.After)
	case KindContent:
		return fmt.Sprintf("%s: rows differ (every column's values are the same, their combination in rows is not)", d.Table)
	case KindMissingColumn:
		return fmt.Sprintf("%s.%s: column missing", d.Table, d.Column)
	case KindColumnContent:
		return fmt.Sprintf("%s.%s: values differ", d.Table, d.Column)
	}
	return fmt.Sprintf("%s %s.%s: %s -> %s", d.Kind, d.Table, d.Column, d.Before, d.After)
}

// Compare lists how after differs from before, table by table in name
// order. Only tables and columns in before are compared: new ones in
// after are ignored. A table missing by name is looked up by OID (a
// rename is not a loss). When row counts differ only the count (and
// missing columns) are reported; otherwise each column whose values
// differ, and "content" when every column matches but the rows do not
// (values moved between rows). The table hash is only compared when both
// fingerprints cover the same columns (see TakeLike).
func Compare(before, after Set) []Difference {
	byOID := map[uint32]*TableFingerprint{}
	for _, fp := range after {
		if fp.OID != 0 {
			byOID[fp.OID] = fp
		}
	}
	var out []Difference
	for _, name := range sortedNames(before) {
		b := before[name]
		a := after[name]
		if a == nil && b.OID != 0 {
			a = byOID[b.OID]
		}
		if a == nil {
			out = append(out, Difference{Table: name, Kind: KindMissingTable, Before: strconv.FormatInt(b.Rows, 10)})
			continue
		}
		if b.Rows != a.Rows {
			out = append(out, Difference{Table: name, Kind: KindRowCount,
				Before: strconv.FormatInt(b.Rows, 10), After: strconv.FormatInt(a.Rows, 10)})
		}
		sameColumns := len(a.Columns) == len(b.Columns)
		changed := false
		for _, col := range sortedKeys(b.Columns) {
			ah, ok := a.Columns[col]
			switch {
			case !ok:
				sameColumns = false
				out = append(out, Difference{Table: name, Column: col, Kind: KindMissingColumn})
			case ah != b.Columns[col] && b.Rows == a.Rows:
				changed = true
				out = append(out, Difference{Table: name, Column: col, Kind: KindColumnContent, Before: b.Columns[col], After: ah})
			}
		}
		if !changed && sameColumns && b.Rows == a.Rows && b.Hash != a.Hash {
			out = append(out, Difference{Table: name, Kind: KindContent, Before: b.Hash, After: a.Hash})
		}
	}
	return out
}
