package datasource

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// tableBlock is one table's rows from the source, in COPY text format.
type tableBlock struct {
	Schema, Name string
	Columns      []string
	// Rows reads the block's rows; set Rows.transform before the first Read.
	Rows *blockReader
	// SourceRows is the table's row count when only some rows are read
	// (a DSN's server-side sample); -1 when Rows reads them all.
	SourceRows int64
}

// Qualified is "schema.name", as schema snapshots key tables.
func (t *tableBlock) Qualified() string { return t.Schema + "." + t.Name }

// visitor is called once per table of the source; what it leaves unread
// of t.Rows is drained after it returns.
type visitor func(ctx context.Context, t *tableBlock) error

var (
	copyLine   = regexp.MustCompile(`^COPY (.+?) \((.*)\) FROM stdin;\n?$`)
	setvalLine = regexp.MustCompile(`^SELECT pg_catalog\.setval\(.*\);\n?$`)
)

// streamPlan orders and narrows the stream (sampling); nil streams
// every table's rows in the source's order.
type streamPlan struct {
	// rank orders tables ("schema.name"), lowest first; unranked last.
	rank map[string]int
	// where is a predicate a DSN evaluates server-side ("" = every row).
	where func(table string, columns []string) string
}

// eachTable streams every table's data of the source to fn, and returns
// the dump's setval statements.
func (s *Source) eachTable(ctx context.Context, binDir string, plan *streamPlan, fn visitor) ([]string, error) {
	switch s.Kind {
	case KindDSN:
		return nil, s.eachTableDSN(ctx, plan, fn)
	case KindPlain:
		f, err := os.Open(s.Path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.Path, err)
		}
		defer f.Close()
		if plan != nil && len(plan.rank) > 0 {
			return scanScriptOrdered(ctx, f, s.Path, plan.rank, fn)
		}
		return scanScript(ctx, f, s.Path, fn)
	default:
		args := []string{"--data-only", "-f", "-"}
		if plan != nil && len(plan.rank) > 0 {
			list, err := s.orderedTOC(ctx, binDir, plan.rank)
			if err != nil {
				return nil, err
			}
			defer os.Remove(list)
			args = append(args, "-L", list)
		}
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "pg_restore"), append(args, s.Path)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("run pg_restore: %w", err)
		}
		seqs, scanErr := scanScript(ctx, out, s.Path, fn)
		if scanErr != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, scanErr
		}
		if err := cmd.Wait(); err != nil {
			return nil, fmt.Errorf("pg_restore --data-only %s: %w: %s", s.Path, err, strings.TrimSpace(stderr.String()))
		}
		return seqs, nil
	}
}

// scanScript reads a pg_dump SQL script and hands each COPY block to fn.
func scanScript(ctx context.Context, r io.Reader, file string, fn visitor) ([]string, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var seqs []string
	lineNo := 0
	for {
		line, err := br.ReadString('\n')
		lineNo++
		if m := copyLine.FindStringSubmatch(line); m != nil {
			sch, name := splitQualified(m[1])
			t := &tableBlock{Schema: sch, Name: name, Columns: splitIdents(m[2]), Rows: &blockReader{src: br}, SourceRows: -1}
			if err := fn(ctx, t); err != nil {
				return nil, err
			}
			if err := t.Rows.drain(); err != nil {
				return nil, fmt.Errorf("%s: read COPY block of %s: %w", file, t.Qualified(), err)
			}
		} else if setvalLine.MatchString(line) {
			seqs = append(seqs, strings.TrimSpace(line))
		} else if strings.HasPrefix(line, "INSERT INTO ") {
			return nil, fmt.Errorf("%s:%d: the dump holds INSERT statements; re-make it without --inserts/--column-inserts (COPY is what the loader reads)", file, lineNo)
		}
		if err == io.EOF {
			return seqs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// scanScriptOrdered is scanScript in rank order: a first pass notes where
// each COPY block starts (reading is cheap beside loading), then the
// blocks are read from there in order.
func scanScriptOrdered(ctx context.Context, f *os.File, file string, rank map[string]int, fn visitor) ([]string, error) {
	type block struct {
		t      *tableBlock
		offset int64
	}
	var blocks []block
	var seqs []string
	br := bufio.NewReaderSize(f, 1<<20)
	var offset int64
	inCopy := false
	lineNo := 0
	for {
		line, err := br.ReadString('\n')
		offset += int64(len(line))
		lineNo++
		switch {
		case inCopy:
			inCopy = line != "\\.\n" && line != "\\."
		case copyLine.MatchString(line):
			m := copyLine.FindStringSubmatch(line)
			sch, name := splitQualified(m[1])
			blocks = append(blocks, block{&tableBlock{Schema: sch, Name: name, Columns: splitIdents(m[2]), SourceRows: -1}, offset})
			inCopy = true
		case setvalLine.MatchString(line):
			seqs = append(seqs, strings.TrimSpace(line))
		case strings.HasPrefix(line, "INSERT INTO "):
			return nil, fmt.Errorf("%s:%d: the dump holds INSERT statements; re-make it without --inserts/--column-inserts (COPY is what the loader reads)", file, lineNo)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	sort.SliceStable(blocks, func(i, j int) bool {
		return rankOf(rank, blocks[i].t.Qualified()) < rankOf(rank, blocks[j].t.Qualified())
	})
	for _, b := range blocks {
		if _, err := f.Seek(b.offset, io.SeekStart); err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		b.t.Rows = &blockReader{src: bufio.NewReaderSize(f, 1<<20)}
		if err := fn(ctx, b.t); err != nil {
			return nil, err
		}
		if err := b.t.Rows.drain(); err != nil {
			return nil, fmt.Errorf("%s: read COPY block of %s: %w", file, b.t.Qualified(), err)
		}
	}
	return seqs, nil
}

// eachTableDSN reads every table of a live database inside one read-only
// repeatable-read transaction (one consistent snapshot, exported so the
// log names it), with COPY ... TO STDOUT. Nothing is written there.
func (s *Source) eachTableDSN(ctx context.Context, plan *streamPlan, fn visitor) error {
	conn, err := pgx.Connect(ctx, s.DSN)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s, err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin read-only transaction on %s: %w", s, err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	var snapID string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapID); err != nil {
		return fmt.Errorf("%s: export snapshot: %w", s, err)
	}
	tables, err := listTables(ctx, tx)
	if err != nil {
		return fmt.Errorf("%s: list tables: %w", s, err)
	}
	if plan != nil && len(plan.rank) > 0 {
		sort.SliceStable(tables, func(i, j int) bool {
			return rankOf(plan.rank, tables[i].Qualified()) < rankOf(plan.rank, tables[j].Qualified())
		})
	}
	for _, t := range tables {
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = quoteIdent(c)
		}
		from := "FROM ONLY " + quoteQualified(t.Schema, t.Name)
		q := fmt.Sprintf("COPY (SELECT %s %s) TO STDOUT", strings.Join(cols, ", "), from)
		t.SourceRows = -1
		if plan != nil && plan.where != nil {
			if w := plan.where(t.Qualified(), t.Columns); w != "" {
				q = fmt.Sprintf("COPY (SELECT %s %s WHERE %s) TO STDOUT", strings.Join(cols, ", "), from, w)
				if err := tx.QueryRow(ctx, "SELECT count(*) "+from).Scan(&t.SourceRows); err != nil {
					return fmt.Errorf("%s: count %s: %w", s, t.Qualified(), err)
				}
			}
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := conn.PgConn().CopyTo(ctx, pw, q)
			pw.CloseWithError(err)
			done <- err
		}()
		t.Rows = &blockReader{src: bufio.NewReaderSize(pr, 1<<20)}
		ferr := fn(ctx, t)
		if ferr == nil {
			ferr = t.Rows.drain()
		}
		pr.CloseWithError(io.ErrClosedPipe)
		if err := <-done; err != nil && ferr == nil {
			return fmt.Errorf("%s: copy out %s: %w", s, t.Qualified(), err)
		}
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

func rankOf(rank map[string]int, table string) int {
	if r, ok := rank[table]; ok {
		return r
	}
	return len(rank)
}

// tocData is a TABLE DATA line of pg_restore -l: "3360; 0 16397 TABLE
// DATA public accounts owner".
var tocData = regexp.MustCompile(`^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) \S+\s*$`)

// orderedTOC writes the dump's table of contents with its TABLE DATA
// entries in rank order (for pg_restore -L) and returns the file. An
// entry whose name it cannot read (a space in a name) keeps its place.
func (s *Source) orderedTOC(ctx context.Context, binDir string, rank map[string]int) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "pg_restore"), "-l", s.Path).Output()
	if err != nil {
		return "", fmt.Errorf("pg_restore -l %s: %w", s.Path, err)
	}
	lines := strings.Split(string(out), "\n")
	var slots []int
	var data []string
	for i, l := range lines {
		if m := tocData.FindStringSubmatch(l); m != nil {
			if _, ok := rank[m[1]+"."+m[2]]; ok {
				slots = append(slots, i)
				data = append(data, l)
			}
		}
	}
	key := func(l string) int {
		m := tocData.FindStringSubmatch(l)
		return rankOf(rank, m[1]+"."+m[2])
	}
	sort.SliceStable(data, func(i, j int) bool { return key(data[i]) < key(data[j]) })
	for k, i := range slots {
		lines[i] = data[k]
	}
	f, err := os.CreateTemp("", "rehearse-toc-*.list")
	if err != nil {
		return "", fmt.Errorf("write the dump's ordered table of contents: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n")); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write the dump's ordered table of contents: %w", err)
	}
	return f.Name(), nil
}

// listTables lists the user tables that hold rows (ordinary tables and
// partitions; a partitioned parent holds none itself) and their columns
// (generated ones excluded, as pg_dump does).
func listTables(ctx context.Context, q pgx.Tx) ([]*tableBlock, error) {
	rows, err := q.Query(ctx, `
SELECT n.nspname, c.relname, array_agg(a.attname ORDER BY a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
GROUP BY n.nspname, c.relname
ORDER BY n.nspname, c.relname`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*tableBlock
	for rows.Next() {
		t := &tableBlock{}
		if err := rows.Scan(&t.Schema, &t.Name, &t.Columns); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
