package schema

import (
	"context"
	"fmt"
)

// pgType is the part of a pg_type row that column type resolution needs.
type pgType struct {
	schema, name string
	typtype      string // b base, d domain, e enum, c composite, r range, m multirange, p pseudo
	category     string
	base         uint32 // typbasetype of a domain
	basemod      int32  // typtypmod of a domain
	elem         uint32 // element type of an array
}

func (t *pgType) qualified() string { return t.schema + "." + t.name }

// typeOIDs lists the distinct types of the snapshot's columns.
func (b *builder) typeOIDs() []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, p := range b.pending {
		if !seen[p.col.TypeOID] {
			seen[p.col.TypeOID] = true
			out = append(out, p.col.TypeOID)
		}
	}
	return out
}

// loadTypes reads the given types and, transitively, the bases of domains
// and the elements of arrays; usually one or two statements.
func loadTypes(ctx context.Context, q Querier, oids []uint32) (map[uint32]*pgType, error) {
	types := map[uint32]*pgType{}
	for round := 0; len(oids) > 0 && round < 16; round++ {
		rows, err := q.Query(ctx, `SELECT t.oid, n.nspname, t.typname, t.typtype::text, t.typcategory::text,
	t.typbasetype, t.typtypmod, CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE 0 END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = ANY($1)`, oids)
		if err != nil {
			return nil, fmt.Errorf("snapshot catalog: read column types: %w", err)
		}
		var next []uint32
		for rows.Next() {
			var oid uint32
			t := &pgType{}
			if err := rows.Scan(&oid, &t.schema, &t.name, &t.typtype, &t.category, &t.base, &t.basemod, &t.elem); err != nil {
				rows.Close()
				return nil, fmt.Errorf("snapshot catalog: read column types: %w", err)
			}
			types[oid] = t
			for _, ref := range []uint32{t.base, t.elem} {
				if ref != 0 && types[ref] == nil {
					next = append(next, ref)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("snapshot catalog: read column types: %w", err)
		}
		oids = next
	}
	return types, nil
}

// resolveTypes fills the derived type fields of every column.
func (b *builder) resolveTypes(types map[uint32]*pgType) {
	for _, p := range b.pending {
		resolveColumnType(p.col, p.typmod, types)
	}
}

func resolveColumnType(c *Column, typmod int32, types map[uint32]*pgType) {
	c.Length, c.Precision, c.Scale = -1, -1, -1
	t := types[c.TypeOID]
	if t == nil {
		return
	}
	if t.typtype == "d" {
		c.Domain = t.qualified()
	}
	t, typmod = throughDomains(t, typmod, types)
	c.TypeCategory = t.category
	if t.elem != 0 {
		c.IsArray = true
		if e := types[t.elem]; e != nil {
			t, typmod = throughDomains(e, typmod, types)
		}
	}
	c.BaseType = t.name
	if t.typtype == "e" {
		c.Enum = t.qualified()
	}
	if c.TypeCategory == "" {
		c.TypeCategory = t.category
	}
	applyTypmod(c, typmod)
}

// throughDomains follows a domain to its base type, keeping the innermost
// typmod that is set (a column's own typmod wins over its domain's).
func throughDomains(t *pgType, typmod int32, types map[uint32]*pgType) (*pgType, int32) {
	for i := 0; t.typtype == "d" && i < 32; i++ {
		if typmod < 0 {
			typmod = t.basemod
		}
		next := types[t.base]
		if next == nil {
			break
		}
		t = next
	}
	return t, typmod
}

// applyTypmod decodes varchar(n)/char(n)/bit(n) lengths and numeric(p,s)
// the way PostgreSQL encodes them in atttypmod.
func applyTypmod(c *Column, typmod int32) {
	const varhdrsz = 4
	switch c.BaseType {
	case "varchar", "bpchar":
		if typmod >= varhdrsz {
			c.Length = int(typmod - varhdrsz)
		}
	case "bit", "varbit":
		if typmod >= 0 {
			c.Length = int(typmod)
		}
	case "numeric":
		if typmod >= varhdrsz {
			m := typmod - varhdrsz
			c.Precision = int((m >> 16) & 0xffff)
			c.Scale = int(((m & 0x7ff) ^ 1024) - 1024)
		}
	}
}
