package datasource

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// TableLoad says what one table received.
type TableLoad struct {
	Table string `json:"table"`
	// SourceRows is what the source holds; Rows what was kept (after
	// sampling).
	SourceRows int64 `json:"sourceRows"`
	Rows       int64 `json:"rows"`
	// Skipped is why the table was not loaded ("" when it was).
	Skipped string `json:"skipped,omitempty"`
	// Masked lists the columns rewritten by a mask rule.
	Masked []string `json:"masked,omitempty"`
}

// LoadResult is what Load wrote.
type LoadResult struct {
	Tables []TableLoad
	// Personal lists columns that look personal (by name or content) and
	// have no mask rule: "public.users.email (name)".
	Personal []string
}

// LoadOptions configures Load.
type LoadOptions struct {
	BinDir string // pg_restore's folder
	Masks  *Masks
	// Skip lists tables ("schema.name") never loaded (the migration tool's
	// bookkeeping: the harness records release N itself).
	Skip []string
	// Sample, when set, keeps only a sample of the rows, chosen while they
	// stream in (see subset): the load costs about the rows it keeps.
	Sample *SampleOptions
	Logger *slog.Logger
}

const skippedBookkeeping = "bookkeeping of the migration tool: release N is recorded by the harness"

// sniffRows is how many rows of each unmasked text column are looked at
// for personal-looking content.
const sniffRows = 200

// Load copies the source's rows into the database at dsn, which holds
// release N's schema: columns are matched by name (a column the target
// lacks is dropped, one the source lacks gets its default), masks are
// applied in the stream, triggers and foreign keys are not fired while
// loading (as pg_restore --disable-triggers), and owned sequences are
// moved past the loaded values.
func Load(ctx context.Context, dsn string, src *Source, target *schema.Snapshot, opts LoadOptions) (*LoadResult, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to the state database: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		return nil, fmt.Errorf("disable triggers for the load: %w", err)
	}
	skip := map[string]bool{}
	for _, s := range opts.Skip {
		skip[s] = true
	}
	res := &LoadResult{}
	personal := map[string]string{}
	var sub *subset
	var plan *streamPlan
	if opts.Sample != nil {
		if sub, err = newSubset(ctx, conn, target, *opts.Sample); err != nil {
			return nil, err
		}
		plan = &streamPlan{rank: sub.rank(), where: func(table string, cols []string) string {
			if skip[table] || target.Tables[table] == nil {
				return ""
			}
			return sub.pushdown(table, cols)
		}}
	}
	seqs, err := src.eachTable(ctx, opts.BinDir, plan, func(ctx context.Context, b *tableBlock) error {
		tl := TableLoad{Table: b.Qualified()}
		t := target.Tables[b.Qualified()]
		switch {
		case skip[b.Qualified()]:
			tl.Skipped = skippedBookkeeping
		case t == nil:
			tl.Skipped = "not in release N's schema (drift)"
		}
		if tl.Skipped != "" {
			n, err := countRows(b.Rows)
			tl.SourceRows = n
			res.Tables = append(res.Tables, tl)
			return err
		}
		plan := planTable(b, t, opts.Masks)
		tl.Masked = plan.masked
		for _, c := range plan.personalByName {
			personal[c] = "name"
		}
		b.Rows.transform = plan.transform(personal)
		if sub != nil {
			b.Rows.filter = sub.rowFilter(b.Qualified(), b.Columns)
		}
		if len(plan.cols) == 0 {
			n, err := countRows(b.Rows)
			tl.SourceRows, tl.Skipped = n, "no column in common with release N's table"
			res.Tables = append(res.Tables, tl)
			return err
		}
		sql := fmt.Sprintf("COPY %s (%s) FROM STDIN", quoteQualified(t.Schema, t.Name), strings.Join(plan.cols, ", "))
		tag, err := conn.PgConn().CopyFrom(ctx, b.Rows, sql)
		if err != nil {
			return fmt.Errorf("load %s from %s: %w", b.Qualified(), src, err)
		}
		tl.SourceRows, tl.Rows = b.Rows.rows, tag.RowsAffected()
		if b.SourceRows >= 0 {
			tl.SourceRows = b.SourceRows
		}
		res.Tables = append(res.Tables, tl)
		log.Debug("loaded", "table", b.Qualified(), "rows", tl.Rows)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range seqs {
		// A sequence release N lacks is drift, reported by the drift check.
		if _, err := conn.Exec(ctx, s); err != nil {
			log.Info("source sequence not restored", "statement", s, "err", err)
		}
	}
	if sub != nil {
		// Tables that came before a table referencing them were loaded
		// whole: trim them now, with the same closure.
		kept, err := sub.trim(ctx, dsn, target)
		if err != nil {
			return nil, err
		}
		for i := range res.Tables {
			if n, ok := kept[res.Tables[i].Table]; ok && res.Tables[i].Skipped == "" {
				res.Tables[i].Rows = n
			}
		}
	}
	if err := advanceSequences(ctx, conn); err != nil {
		return nil, err
	}
	for c, why := range personal {
		res.Personal = append(res.Personal, c+" ("+why+")")
	}
	sort.Strings(res.Personal)
	return res, nil
}

func countRows(b *blockReader) (int64, error) {
	err := b.drain()
	return b.rows, err
}

// tablePlan maps a source block onto a target table.
type tablePlan struct {
	cols           []string // quoted target columns, in source order of the kept fields
	keep           []int    // source field index of each kept column
	masks          []Masker // per kept column; nil = unchanged
	masked         []string
	sniff          []string // per kept column: "schema.table.column" to sniff, "" = no
	personalByName []string
	identity       bool
}

func planTable(b *tableBlock, t *schema.Table, masks *Masks) *tablePlan {
	p := &tablePlan{identity: true}
	for i, name := range b.Columns {
		c := t.Column(name)
		if c == nil || c.Generated != "" {
			p.identity = false
			continue
		}
		p.cols = append(p.cols, quoteIdent(name))
		p.keep = append(p.keep, i)
		full := t.Schema + "." + t.Name + "." + name
		m := fitLength(masks.For(t.Schema, t.Name, name), c.Type)
		p.masks = append(p.masks, m)
		sniff := ""
		if m != nil {
			p.identity = false
			p.masked = append(p.masked, name)
		} else if c.TypeCategory == "S" {
			sniff = full
			if personalName.MatchString(name) {
				p.personalByName = append(p.personalByName, full)
			}
		}
		p.sniff = append(p.sniff, sniff)
	}
	return p
}

var typeLength = regexp.MustCompile(`^(?:character varying|character|bit varying)\((\d+)\)$`)

// fitLength cuts a masked value to the column's declared length (an
// e-mail rule adds a domain part; a gofakeit value may be longer than the
// original), so masking never fails the load.
func fitLength(m Masker, colType string) Masker {
	g := typeLength.FindStringSubmatch(colType)
	if m == nil || g == nil {
		return m
	}
	n, _ := strconv.Atoi(g[1])
	return func(v string) (string, bool) {
		out, ok := m(v)
		if r := []rune(out); len(r) > n {
			out = string(r[:n])
		}
		return out, ok
	}
}

// transform rewrites a row: drops fields the target lacks, masks, and
// sniffs the first rows of unmasked text columns for personal values.
func (p *tablePlan) transform(personal map[string]string) func([]byte) []byte {
	sniffing := false
	for _, s := range p.sniff {
		if s != "" {
			sniffing = true
		}
	}
	if p.identity && !sniffing {
		return nil
	}
	seen := 0
	hits := make([]int, len(p.keep))
	why := make([]string, len(p.keep))
	return func(line []byte) []byte {
		sniffNow := sniffing && seen < sniffRows
		if p.identity && !sniffNow {
			return line
		}
		body := bytes.TrimSuffix(line, []byte("\n"))
		fields := strings.Split(string(body), "\t")
		out := make([]string, len(p.keep))
		for k, i := range p.keep {
			f := ""
			if i < len(fields) {
				f = fields[i]
			}
			if m := p.masks[k]; m != nil {
				v, ok := decodeField(f)
				if ok {
					v, ok = m(v)
				}
				f = encodeField(v, ok)
			} else if sniffNow && p.sniff[k] != "" {
				if v, ok := decodeField(f); ok {
					if w := looksPersonal(v); w != "" {
						hits[k]++
						why[k] = w
					}
				}
			}
			out[k] = f
		}
		if sniffNow {
			seen++
			for k, h := range hits {
				// Half of the rows seen so far (at least 3) is a pattern, not chance.
				if h >= 3 && h*2 >= seen {
					if _, named := personal[p.sniff[k]]; !named {
						personal[p.sniff[k]] = "values look like " + why[k]
					}
				}
			}
		}
		if p.identity {
			return line
		}
		return []byte(strings.Join(out, "\t") + "\n")
	}
}

// advanceSequences moves every column-owned sequence past the loaded
// values, so N+1-era inserts do not collide with real rows.
func advanceSequences(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `
SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname),
       quote_ident(tn.nspname) || '.' || quote_ident(t.relname), quote_ident(a.attname)
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  AND format_type(a.atttypid, NULL) IN ('smallint', 'integer', 'bigint')`)
	if err != nil {
		return fmt.Errorf("list owned sequences: %w", err)
	}
	type seqCol struct{ seq, table, col string }
	var list []seqCol
	for rows.Next() {
		var s seqCol
		if err := rows.Scan(&s.seq, &s.table, &s.col); err != nil {
			rows.Close()
			return err
		}
		list = append(list, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range list {
		q := fmt.Sprintf(`SELECT setval('%s', m) FROM (SELECT max(%s) AS m FROM %s) x
WHERE m IS NOT NULL AND m > (SELECT last_value FROM %s)`, strings.ReplaceAll(s.seq, "'", "''"), s.col, s.table, s.seq)
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("advance sequence %s past %s.%s: %w", s.seq, s.table, s.col, err)
		}
	}
	return nil
}
