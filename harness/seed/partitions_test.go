package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/stretchr/testify/require"
)

// Rows written through a partitioned table land inside its partitions'
// bounds, so the table is seeded instead of skipped.
func TestBaseFillsPartitionedTables(t *testing.T) {
	for _, tt := range []struct {
		name, ddl string
	}{
		{"int ranges", `CREATE TABLE m (id bigserial, day int NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM (0) TO (50);
CREATE TABLE m_2 PARTITION OF m FOR VALUES FROM (50) TO (100)`},
		{"monthly timestamptz", `CREATE TABLE m (id bigserial, at timestamptz NOT NULL, note text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE m_2024_01 PARTITION OF m FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-02-01 00:00:00+00');
CREATE TABLE m_2024_02 PARTITION OF m FOR VALUES FROM ('2024-02-01 00:00:00+00') TO ('2024-03-01 00:00:00+00');
CREATE TABLE m_2024_03 PARTITION OF m FOR VALUES FROM ('2024-03-01 00:00:00+00') TO ('2024-04-01 00:00:00+00')`},
		{"dates with a gap", `CREATE TABLE m (id bigserial, d date NOT NULL, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE TABLE m_a PARTITION OF m FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE m_b PARTITION OF m FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')`},
		{"open ends", `CREATE TABLE m (id bigserial, n numeric NOT NULL, PRIMARY KEY (id, n)) PARTITION BY RANGE (n);
CREATE TABLE m_lo PARTITION OF m FOR VALUES FROM (MINVALUE) TO (0);
CREATE TABLE m_hi PARTITION OF m FOR VALUES FROM (0) TO (MAXVALUE)`},
		{"lists", `CREATE TABLE m (id bigserial, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu', 'uk');
CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us')`},
		{"epoch microseconds", `CREATE TABLE m (id bigserial, at bigint NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM (1704067200000000) TO (1706745600000000);
CREATE TABLE m_2 PARTITION OF m FOR VALUES FROM (1706745600000000) TO (1709251200000001)`},
		{"an enum list", `CREATE TYPE region AS ENUM ('eu', 'us', 'apac');
CREATE TABLE m (id bigserial, r region NOT NULL, PRIMARY KEY (id, r)) PARTITION BY LIST (r);
CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu');
CREATE TABLE m_other PARTITION OF m FOR VALUES IN ('us', 'apac')`},
		{"a list with NULL", `CREATE TABLE m (id bigserial, region text) PARTITION BY LIST (region);
CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu', NULL);
CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us')`},
		{"a default partition takes the rest", `CREATE TABLE m (id bigserial, day int NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM (0) TO (50);
CREATE TABLE m_rest PARTITION OF m DEFAULT`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dsn := schemaDB(t, tt.ddl)
			res, err := New(Options{Seed: 3, Rows: 300, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
			require.NoError(t, err)
			for _, tr := range res.Tables {
				if tr.Table == "public.m" {
					assert.Empty(t, tr.Skipped)
					assert.Equal(t, int64(300), tr.Rows)
				}
			}
			assert.Equal(t, int64(300), queryInt(t, dsn, "SELECT count(*) FROM m"))
			for _, p := range take(t, dsn).Tables {
				if p.PartitionOf == "public.m" {
					assert.Positive(t, queryInt(t, dsn, "SELECT count(*) FROM "+p.Name), "rows in %s (%s)", p.Name, p.PartitionBound)
				}
			}
		})
	}
}

// A value made unique after repeated collisions stays inside its CHECK's
// range (a partition key's bounds are one): uniquify alone draws from the
// whole type, and the row was dropped.
func TestUniquifyKeepsCheckRange(t *testing.T) {
	dsn := schemaDB(t, `CREATE TABLE slots (id bigserial PRIMARY KEY, owner int NOT NULL CHECK (owner >= 1 AND owner <= 3),
	slot int NOT NULL CHECK (slot >= 1 AND slot <= 400), UNIQUE (owner, slot))`)
	res, err := New(Options{Seed: 3, Rows: 600, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
	require.NoError(t, err)
	for _, tr := range res.Tables {
		assert.Empty(t, tr.Unsatisfied, tr.Table)
	}
	assert.Equal(t, int64(600), queryInt(t, dsn, "SELECT count(*) FROM slots"))
}

func TestPartitionChecks(t *testing.T) {
	table := func(name, kind, key, of, bound string) *schema.Table {
		return &schema.Table{Schema: "public", Name: name, Kind: kind, PartitionKey: key, PartitionOf: of, PartitionBound: bound}
	}
	for _, tt := range []struct {
		name   string
		tables []*schema.Table
		want   []string
		key    string
	}{
		{"range with a gap: the span, then the exact union", []*schema.Table{
			table("m", "p", "RANGE (d)", "", ""),
			table("m_b", "r", "", "public.m", "FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')"),
			table("m_a", "r", "", "public.m", "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')"),
		}, []string{
			"CHECK ((d IS NOT NULL) AND (d >= '2020-01-01') AND (d < '2024-01-01'))",
			"CHECK (((d IS NOT NULL) AND (d >= '2020-01-01') AND (d < '2021-01-01')) OR ((d IS NOT NULL) AND (d >= '2023-01-01') AND (d < '2024-01-01')))",
		}, "d"},
		{"open ends", []*schema.Table{
			table("m", "p", `RANGE ("Day")`, "", ""),
			table("m_lo", "r", "", "public.m", "FOR VALUES FROM (MINVALUE) TO (10)"),
		}, []string{`CHECK (("Day" IS NOT NULL) AND ("Day" < 10))`}, "Day"},
		{"list", []*schema.Table{
			table("m", "p", "LIST (region)", "", ""),
			table("m_eu", "r", "", "public.m", "FOR VALUES IN ('eu', 'it''s')"),
		}, []string{`CHECK ((region IS NOT NULL) AND (region = ANY (ARRAY['eu', 'it''s'])))`}, ""},
		{"a default partition: nothing", []*schema.Table{
			table("m", "p", "RANGE (d)", "", ""),
			table("m_a", "r", "", "public.m", "FOR VALUES FROM (0) TO (1)"),
			table("m_rest", "r", "", "public.m", "DEFAULT"),
		}, nil, ""},
		{"two key columns: nothing", []*schema.Table{
			table("m", "p", "RANGE (a, b)", "", ""),
			table("m_a", "r", "", "public.m", "FOR VALUES FROM (0, 0) TO (1, 1)"),
		}, nil, ""},
		{"not partitioned", []*schema.Table{table("m", "r", "", "", "")}, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := &schema.Snapshot{Tables: map[string]*schema.Table{}}
			for _, tb := range tt.tables {
				snap.Tables[tb.QualifiedName()] = tb
			}
			got, key, _ := partitionChecks(snap, snap.Tables["public.m"])
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.key, key)
			for _, def := range got {
				_, err := parseCheckDef(def)
				assert.NoError(t, err, def)
			}
		})
	}
}
