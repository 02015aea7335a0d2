package seed

import "github.com/rehearse-dev/rehearse/harness/schema"

// rowOverhead is PostgreSQL's per-row cost on disk: the tuple header and
// its line pointer.
const rowOverhead = 28

// EstimateBytes is about how much disk rows rows in each table of snap take
// (heap only, from the column types; indexes are the caller's factor).
func EstimateBytes(snap *schema.Snapshot, rows int) int64 {
	var total int64
	for _, t := range snap.Tables {
		if t.Kind == "p" {
			continue // a partitioned parent holds no rows itself
		}
		w := int64(rowOverhead)
		for _, c := range t.Columns {
			w += columnWidth(c)
		}
		total += w * int64(rows)
	}
	return total
}

// columnWidth is the average bytes of a generated value of c's type.
func columnWidth(c *schema.Column) int64 {
	if c.IsArray {
		return 48
	}
	switch c.BaseType {
	case "bool", "char":
		return 1
	case "int2":
		return 2
	case "int4", "float4", "date", "oid":
		return 4
	case "int8", "float8", "timestamp", "timestamptz", "time", "money":
		return 8
	case "timetz":
		return 12
	case "uuid", "interval":
		return 16
	case "numeric":
		return 12
	case "inet", "cidr", "macaddr":
		return 12
	case "json", "jsonb", "xml":
		return 64
	case "bytea":
		return 40
	}
	switch c.TypeCategory {
	case "E":
		return 4
	case "S":
		return 24
	}
	return 16
}
