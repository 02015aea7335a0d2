package seed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rehearse-dev/rehearse/harness/era"
)

// tableTimeout bounds the load of one table.
const tableTimeout = 30 * time.Minute

// run is one Base or Next call: its connection settings, results and the
// parent keys read so far.
type run struct {
	s   *seeder
	dsn string
	ctl *pgx.Conn // control connection (catalog reads, deferred updates)
	// borrowed: ctl is the caller's (WithConn), left open.
	borrowed bool
	mu       sync.Mutex
	results  map[string]*TableResult
	keys     map[string]*keyEntry
	// written and tablesDone feed the progress lines (see progress).
	written    atomic.Int64
	tablesDone atomic.Int64
	// stages lets a child start on its parents' keys before their COPYs
	// commit (see pipeline.go); replicaOK: this role may skip RI triggers.
	stages    map[string]*stage
	replicaOK bool
}

type keyEntry struct {
	once sync.Once
	keys keySet
	err  error
	// published: keys came from the parent's generator (publishKeys).
	published bool
}

func (s *seeder) newRun(ctx context.Context, dsn string) (*run, error) {
	if conn, ok := ctx.Value(ctlConnKey{}).(*pgx.Conn); ok && conn != nil {
		return &run{s: s, dsn: dsn, ctl: conn, borrowed: true, results: map[string]*TableResult{}, keys: map[string]*keyEntry{}}, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &run{s: s, dsn: dsn, ctl: conn, results: map[string]*TableResult{}, keys: map[string]*keyEntry{}}, nil
}

func (r *run) close() {
	if !r.borrowed {
		r.ctl.Close(context.Background())
	}
}

type ctlConnKey struct{}

// WithConn returns ctx under which Base and Next run their control
// statements (catalog and key reads, updates, the N+1-era bookkeeping) on
// conn, an idle connection to the database they are given, instead of
// opening one; tables still load on connections of their own. conn stays
// open and idle for the caller: a rehearsal that measures the database
// right after seeding saves a new backend and its cold catalog caches.
func WithConn(ctx context.Context, conn *pgx.Conn) context.Context {
	return context.WithValue(ctx, ctlConnKey{}, conn)
}

// partitions maps each partition's OID to its partitioned parent: rows go
// in through the parent, so the partition itself is not filled.
func (r *run) partitions(ctx context.Context) (map[uint32]string, error) {
	rows, err := r.ctl.Query(ctx, `SELECT i.inhrelid::oid::int8, n.nspname || '.' || p.relname
FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
WHERE p.relkind = 'p'`)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	out := map[uint32]string{}
	for rows.Next() {
		var oid int64
		var parent string
		if err := rows.Scan(&oid, &parent); err != nil {
			return nil, fmt.Errorf("list partitions: %w", err)
		}
		out[uint32(oid)] = parent
	}
	return out, rows.Err()
}

func (r *run) set(res *TableResult) {
	r.mu.Lock()
	r.results[res.Table] = res
	r.mu.Unlock()
}

func (r *run) get(name string) *TableResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.results[name]
}

func (r *run) result(ordered []*tablePlan) *Result {
	out := &Result{}
	for _, p := range ordered {
		if res := r.get(p.name); res != nil {
			out.Tables = append(out.Tables, *res)
		}
	}
	sort.Slice(out.Tables, func(i, j int) bool { return out.Tables[i].Table < out.Tables[j].Table })
	return out
}

// loadAll loads the tables, each after its parents, at most Parallel
// generating at a time. salt varies the random source between Base and each
// Next step. A child whose parents' keys are final starts while their COPYs
// still run (see pipeline.go).
func (r *run) loadAll(ctx context.Context, ordered []*tablePlan, salt string) {
	r.stages = map[string]*stage{}
	for _, p := range ordered {
		r.stages[p.name] = newStage()
	}
	r.replicaOK = r.canSkipRI(ctx)
	gen := make(chan struct{}, r.s.opts.Parallel)
	// A table past its last row (index builds, commit, checks) keeps its
	// connection but not its generation slot.
	conns := make(chan struct{}, 2*r.s.opts.Parallel)
	stop := r.progress(len(ordered))
	defer stop()
	var wg sync.WaitGroup
	for _, p := range ordered {
		wg.Add(1)
		go func(p *tablePlan) {
			defer wg.Done()
			st := r.stages[p.name]
			defer st.finish()
			early, spec, err := r.waitParents(ctx, p, true)
			if err == nil {
				err = acquire(ctx, conns)
			}
			if err != nil {
				r.set(&TableResult{Table: p.name, Skipped: err.Error()})
				return
			}
			defer func() { <-conns }()
			if err := acquire(ctx, gen); err != nil {
				r.set(&TableResult{Table: p.name, Skipped: err.Error()})
				return
			}
			var once sync.Once
			release := func() { once.Do(func() { <-gen }) }
			defer release()
			start := time.Now()
			res, again := r.fill(ctx, p, salt, early, spec, release)
			// A parent dropped a row or failed: start over on its actual
			// keys. The third attempt at the latest is after the parents'
			// loads ended, which never asks for another.
			for try := 0; again && try < 3; try++ {
				event("respeculate", p.name)
				resetGenState(p)
				early, _, err = r.waitParents(ctx, p, false)
				if err == nil {
					err = acquire(ctx, gen)
				}
				if err != nil {
					res, again = &TableResult{Table: p.name, Skipped: err.Error()}, false
					break
				}
				var once sync.Once
				release := func() { once.Do(func() { <-gen }) }
				res, again = r.fill(ctx, p, salt, early, nil, release)
				release()
			}
			if again {
				res = &TableResult{Table: p.name, Skipped: "its parents' keys changed under it three times"}
			}
			r.s.log.Debug("seed: table done", "table", p.name, "seconds", time.Since(start).Seconds())
			if res.Skipped != "" {
				r.s.log.Warn("seed: table not filled", "table", p.name, "reason", res.Skipped)
			} else {
				r.s.log.Debug("seed: table filled", "table", p.name, "rows", res.Rows)
			}
			releaseGenState(p)
			r.set(res)
			r.tablesDone.Add(1)
		}(p)
	}
	wg.Wait()
}

func acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// progress prints a line every ProgressEvery while a load runs, so a long
// load shows it is moving; a short one prints nothing. stop ends it.
func (r *run) progress(tables int) (stop func()) {
	w := r.s.opts.Progress
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	ended := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(ended)
		t := time.NewTicker(r.s.opts.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				rows := r.written.Load()
				secs := time.Since(start).Seconds()
				fmt.Fprintf(w, "seeding: %d of %d tables done, %d rows written (%.0f rows/s, %.0fs)\n",
					r.tablesDone.Load(), tables, rows, float64(rows)/secs, secs)
			}
		}
	}()
	return func() { close(done); <-ended }
}

// fill generates and copies one table's rows on its own connection. early:
// the parents' keys came from their generators, their COPYs may not have
// committed yet; spec: the keys of some parents are predicted, not yet
// generated (see pipeline.go). generated is called once the last row is
// made. again: a prediction was wrong or a parent failed, nothing was
// written, p's rows must be made again on the parents' actual keys.
func (r *run) fill(ctx context.Context, p *tablePlan, salt string, early bool, spec map[*fkPlan]keySet, generated func()) (res *TableResult, again bool) {
	st := r.stages[p.name]
	defer st.setPrepared(p) // whatever happened, children stop waiting
	res = &TableResult{Table: p.name}
	if p.skip != "" {
		res.Skipped = p.skip
		return res, false
	}
	if p.rows <= 0 {
		return res, false
	}
	ctx, cancel := context.WithTimeout(ctx, tableTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		res.Skipped = fmt.Sprintf("connect: %v", err)
		return res, false
	}
	defer conn.Close(context.Background())
	if err := r.prepare(ctx, conn, p, spec); err != nil {
		res.Skipped = err.Error()
		return res, false
	}
	st.setPrepared(p)
	g := newTableGen(r.s.opts.Seed, salt, p, r.s.opts.WeirdRate)
	fast := r.skipRITriggers(ctx, conn, p)
	if early && !fast {
		// The foreign-key triggers would look for parent rows not yet
		// committed.
		if err := r.parentsFilled(ctx, p); err != nil {
			if errors.Is(err, errParentFailed) {
				return res, true
			}
			res.Skipped = err.Error()
			return res, false
		}
		early = false
	}
	// COPY and the N+1-era bookkeeping commit together (the rows of this
	// transaction are exactly those with its xmin); a table loaded from
	// empty has its indexes dropped and rebuilt in the same transaction; a
	// table started early commits only once its parents have.
	tx := p.record != "" || p.wasEmpty || early
	if tx {
		if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
			res.Skipped = fmt.Sprintf("begin: %v", err)
			return res, false
		}
		defer conn.Exec(context.Background(), "ROLLBACK")
	}
	var deferred []deferredIndex
	if p.wasEmpty {
		deferred = deferIndexes(ctx, conn, p)
	}
	guessed := false
	n, err := copyRows(ctx, conn, p, g, &r.written, func() error {
		generated()
		// The last row is made, not yet sent: a wrong guess aborts the COPY.
		if err := r.checkGuesses(ctx, spec); err != nil {
			guessed = errors.Is(err, errSpeculation)
			return err
		}
		r.publishKeys(p)
		return nil
	})
	if g.binaryMiss {
		r.s.log.Debug("seed: a value does not fit binary COPY, starting over in text", "table", p.name)
		p.textCopy = true
		return res, true
	}
	if guessed {
		r.s.log.Debug("seed: a parent dropped rows, starting over", "table", p.name)
		return res, true
	}
	res.Rows = n
	res.Unsatisfied = g.unsatisfiedColumns()
	if err == nil && len(deferred) > 0 {
		start := time.Now()
		err = rebuildIndexes(ctx, conn, p, deferred)
		r.s.log.Debug("seed: indexes built after COPY", "table", p.name, "indexes", len(deferred), "seconds", time.Since(start).Seconds())
	}
	if err == nil {
		err = advanceSequences(ctx, conn, p)
	}
	if err == nil && early {
		start := time.Now()
		err = r.parentsFilled(ctx, p)
		r.s.log.Debug("seed: waited for parents' commits", "table", p.name, "seconds", time.Since(start).Seconds())
		if errors.Is(err, errParentFailed) {
			// Start over as if it had waited: a nullable key then gets
			// NULLs, a NOT NULL one fails in prepare, as without the pipeline.
			return res, true
		}
	}
	if err == nil && p.record != "" {
		err = recordRows(ctx, conn, p)
	} else if err == nil && tx {
		if _, cerr := conn.Exec(ctx, "COMMIT"); cerr != nil {
			err = fmt.Errorf("commit rows of %s: %s", p.name, describe(cerr))
		}
	}
	if err == nil && fast {
		start := time.Now()
		bad, verr := verifyForeignKeys(ctx, conn, p)
		if verr != nil {
			// The rows are in; only the double check failed.
			r.s.log.Warn("seed: could not verify foreign keys", "table", p.name, "err", verr)
		}
		res.Unsatisfied = append(res.Unsatisfied, bad...)
		r.s.log.Debug("seed: foreign keys verified", "table", p.name, "seconds", time.Since(start).Seconds())
	}
	if err != nil {
		res.Skipped = err.Error()
		res.Rows = 0
		r.withdrawKeys(p)
	}
	if g.dropped > 0 {
		r.s.log.Info("seed: rows dropped", "table", p.name, "dropped", g.dropped, "unsatisfied", res.Unsatisfied)
	}
	return res, false
}

// skipRITriggers turns off the row-by-row foreign-key triggers for this
// table's COPY (session_replication_role = replica, as pg_restore
// --disable-triggers does): every key is picked from the parent's rows, and
// verifyForeignKeys checks them all afterwards with one anti-join per key,
// which is several times cheaper than a trigger per row. Only for Base, only
// on tables without user triggers (which replica would skip too), and only
// when the role may set it (superuser); otherwise the triggers run.
func (r *run) skipRITriggers(ctx context.Context, conn *pgx.Conn, p *tablePlan) bool {
	if p.record != "" || p.hasTriggers || len(p.fks) == len(p.deferred) {
		return false
	}
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		r.s.log.Debug("seed: foreign-key triggers stay on", "table", p.name, "err", err)
		return false
	}
	return true
}

// verifySampleRows is about how many rows of a big table verifyForeignKeys
// checks.
const verifySampleRows = 2000

// verifyForeignKeys returns the columns of foreign keys that rows of p break.
func verifyForeignKeys(ctx context.Context, conn *pgx.Conn, p *tablePlan) ([]string, error) {
	var bad []string
	for _, fk := range append(slices.Clone(p.fks), p.overlapFKs...) {
		if fk.deferred {
			continue
		}
		var notNull, match []string
		for j, cp := range fk.cols {
			c := "c." + pgx.Identifier{cp.col.Name}.Sanitize()
			notNull = append(notNull, c+" IS NOT NULL")
			match = append(match, "p."+pgx.Identifier{fk.refCols[j]}.Sanitize()+" = "+c)
		}
		schemaName, name, _ := strings.Cut(fk.parent, ".")
		// Small tables are checked whole; big ones on a sample of their
		// pages, which catches a systematic mistake (keys written into the
		// wrong column) for a fraction of a full anti-join's cost: 2%, and
		// for more than verifySampleRows/2% rows about verifySampleRows
		// rows (a few dozen pages). Each sampled row costs an index probe
		// into the parent, whose pages are read for the first time since
		// they were written; on a 500,000-row table 2% was a third of its
		// time after COPY.
		sample := ""
		if p.rows > 50000 {
			pct := min(2, 100*float64(verifySampleRows)/float64(p.rows))
			sample = " TABLESAMPLE SYSTEM (" + strconv.FormatFloat(pct, 'f', 4, 64) + ")"
			// Without statistics the planner would hash the whole parent;
			// a few thousand index probes are what a sample needs.
			if _, err := conn.Exec(ctx, "SET enable_hashjoin = off; SET enable_mergejoin = off"); err != nil {
				return bad, fmt.Errorf("verify foreign keys: %w", err)
			}
		}
		q := fmt.Sprintf("SELECT count(*) FROM %s c%s WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)",
			quoteTable(p.t.Schema, p.t.Name), sample, strings.Join(notNull, " AND "), quoteTable(schemaName, name), strings.Join(match, " AND "))
		var n int64
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			return bad, fmt.Errorf("verify foreign key %s: %w", fk.con.Name, err)
		}
		if n > 0 {
			bad = append(bad, fk.con.Columns...)
		}
	}
	return bad, nil
}

// prepare reads what generation needs from the database: parent keys,
// existing unique values, the next sequential key, SQL pin values.
func (r *run) prepare(ctx context.Context, conn *pgx.Conn, p *tablePlan, spec map[*fkPlan]keySet) error {
	start := time.Now()
	defer func() { r.s.log.Debug("seed: prepared", "table", p.name, "seconds", time.Since(start).Seconds()) }()
	table := quoteTable(p.t.Schema, p.t.Name)
	var existing bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+table+")").Scan(&existing); err != nil {
		return fmt.Errorf("read %s: %w", p.name, err)
	}
	for _, fk := range p.fks {
		if fk.deferred {
			continue
		}
		if keys, ok := spec[fk]; ok {
			fk.keys = keys
			continue
		}
		var keys keySet
		var err error
		if fk.oneToOne && existing {
			// Each parent has one row here at most: only the parents
			// without one can take a new row.
			keys, err = readKeysWhere(ctx, conn, fk.parent, fk.refCols, 0, freeParent(table, fk))
		} else {
			keys, err = r.parentKeys(ctx, conn, fk.parent, fk.refCols)
		}
		if err != nil {
			return err
		}
		fk.keys = keys
		if keys.len() == 0 && !fk.nullable {
			reason := "it has no rows"
			if res := r.get(fk.parent); res != nil && res.Skipped != "" {
				reason = "it was not filled: " + res.Skipped
			}
			return fmt.Errorf("foreign key %s needs rows in %s, but %s", fk.con.Name, fk.parent, reason)
		}
	}
	p.wasEmpty = !existing
	if existing {
		for _, u := range p.uniques {
			if err := loadSeen(ctx, conn, table, u); err != nil {
				return err
			}
		}
		for _, cp := range p.cols {
			if cp.seqPK {
				var max int64
				q := fmt.Sprintf("SELECT coalesce(max(%s), 0) FROM %s", pgx.Identifier{cp.col.Name}.Sanitize(), table)
				if err := conn.QueryRow(ctx, q).Scan(&max); err != nil {
					return fmt.Errorf("read max %s.%s: %w", p.name, cp.col.Name, err)
				}
				cp.seqStart = max + 1
			}
		}
	}
	for _, cp := range p.cols {
		if cp.seqPK && cp.seqStart == 0 {
			cp.seqStart = 1
		}
		if cp.sqlExpr == "" {
			continue
		}
		q := fmt.Sprintf("SELECT (%s)::text FROM generate_series(1, $1::int) AS g(i)", cp.sqlExpr)
		rows, err := conn.Query(ctx, q, p.rows)
		if err != nil {
			return fmt.Errorf("profile sql pin for %s.%s (%s): %w", p.name, cp.col.Name, cp.sqlExpr, err)
		}
		cp.sqlValues = cp.sqlValues[:0]
		for rows.Next() {
			var v *string
			if err := rows.Scan(&v); err != nil {
				return fmt.Errorf("profile sql pin for %s.%s: %w", p.name, cp.col.Name, err)
			}
			if v == nil {
				cp.sqlValues = append(cp.sqlValues, nullMarker)
			} else {
				cp.sqlValues = append(cp.sqlValues, *v)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("profile sql pin for %s.%s (%s): %w", p.name, cp.col.Name, cp.sqlExpr, err)
		}
	}
	return nil
}

func loadSeen(ctx context.Context, conn *pgx.Conn, table string, u *uniquePlan) error {
	cols := make([]string, len(u.cols))
	for i, cp := range u.cols {
		cols[i] = pgx.Identifier{cp.col.Name}.Sanitize() + "::text"
	}
	rows, err := conn.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table)
	if err != nil {
		return fmt.Errorf("read unique values of %s: %w", table, err)
	}
	defer rows.Close()
	vals := make([]*string, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read unique values of %s: %w", table, err)
		}
		h := newKeyHash()
		skip := false
		for i, v := range vals {
			if v == nil {
				skip = true
				break
			}
			h.add(*v, u.fold, u.cols[i].baseType == "bpchar")
		}
		if !skip {
			u.seen.add(h)
		}
	}
	return rows.Err()
}

// publishKeys hands the keys p's rows were generated with to its children,
// when they are exactly the table's keys once its COPY commits: the table
// was empty, every row goes in as generated (no PostgreSQL-side filtering)
// and no trigger can change them. It runs when the last row is made, so
// children may start early (see pipeline.go).
func (r *run) publishKeys(p *tablePlan) {
	if !p.wasEmpty || len(p.opaque) > 0 || p.hasTriggers {
		return
	}
	if st := r.stages[p.name]; st != nil {
		defer func() {
			st.published.Store(true)
			st.keysReady()
		}()
	}
	for _, e := range p.exports {
		r.mu.Lock()
		entry := r.keys[e.id]
		if entry == nil {
			entry = &keyEntry{}
			r.keys[e.id] = entry
		}
		r.mu.Unlock()
		keys := e.keys.keys()
		entry.once.Do(func() {
			entry.keys = keys
			r.mu.Lock()
			entry.published = true
			r.mu.Unlock()
		})
		e.keys = newKeyCollector(e.id, len(e.cps))
	}
}

// parentKeys returns the key tuples of table's cols as text, ordered, read
// once per run.
func (r *run) parentKeys(ctx context.Context, conn *pgx.Conn, table string, cols []string) (keySet, error) {
	id := keyID(table, cols)
	r.mu.Lock()
	e := r.keys[id]
	if e == nil {
		e = &keyEntry{}
		r.keys[id] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		e.keys, e.err = readKeys(ctx, conn, table, cols, 0)
	})
	return e.keys, e.err
}

// readKeys reads the keys of table's cols, ordered: the first limit of
// them, or all when limit is 0 (a keySet of at most keyListCap keys unless
// they are integers, see keyCollector).
func readKeys(ctx context.Context, conn *pgx.Conn, table string, cols []string, limit int) (keySet, error) {
	return readKeysWhere(ctx, conn, table, cols, limit, "")
}

// freeParent is the predicate (on fk's parent, aliased p) of the parents
// no row of child references through fk.
func freeParent(child string, fk *fkPlan) string {
	match := make([]string, len(fk.cols))
	for i, cp := range fk.cols {
		match[i] = "c." + pgx.Identifier{cp.col.Name}.Sanitize() + " = p." + pgx.Identifier{fk.refCols[i]}.Sanitize()
	}
	return "NOT EXISTS (SELECT 1 FROM " + child + " c WHERE " + strings.Join(match, " AND ") + ")"
}

// readKeysWhere is readKeys of the rows (aliased p) where holds ("" for all).
func readKeysWhere(ctx context.Context, conn *pgx.Conn, table string, cols []string, limit int, where string) (keySet, error) {
	sel := make([]string, len(cols))
	notNull := make([]string, len(cols))
	ord := make([]string, len(cols))
	for i, c := range cols {
		q := "p." + pgx.Identifier{c}.Sanitize()
		sel[i] = q + "::text"
		notNull[i] = q + " IS NOT NULL"
		ord[i] = q
	}
	if where != "" {
		notNull = append(notNull, where)
	}
	schemaName, name, _ := strings.Cut(table, ".")
	// Foreign keys reference a unique key, so no DISTINCT is needed. COPY
	// TO is several times faster than a row-by-row query for big parents.
	lim := ""
	if limit > 0 {
		lim = fmt.Sprintf(" LIMIT %d", limit)
	}
	q := fmt.Sprintf("COPY (SELECT %s FROM %s p WHERE %s ORDER BY %s%s) TO STDOUT", strings.Join(sel, ", "), quoteTable(schemaName, name),
		strings.Join(notNull, " AND "), strings.Join(ord, ", "), lim)
	w := &keyLines{want: len(cols), c: newKeyCollector(keyID(table, cols), len(cols))}
	if _, err := conn.PgConn().CopyTo(ctx, w, q); err != nil {
		return keySet{}, fmt.Errorf("read keys of %s: %w", table, err)
	}
	if w.err == nil && len(w.partial) > 0 {
		w.line(w.partial)
	}
	if w.err != nil {
		return keySet{}, fmt.Errorf("read keys of %s: %w", table, w.err)
	}
	return w.c.keys(), nil
}

// keyLines parses COPY TO's text lines as they arrive, so reading a
// parent's keys holds the keys and one partial line, not the whole output
// as well.
type keyLines struct {
	want    int
	c       keyCollector
	partial []byte
	err     error
}

func (w *keyLines) Write(b []byte) (int, error) {
	n := len(b)
	for w.err == nil {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.partial = append(w.partial, b...)
			break
		}
		if len(w.partial) > 0 {
			w.partial = append(w.partial, b[:i]...)
			w.line(w.partial)
			w.partial = w.partial[:0]
		} else {
			w.line(b[:i])
		}
		b = b[i+1:]
	}
	return n, nil
}

func (w *keyLines) line(l []byte) {
	// An integer key (no tab, no escape) is kept as a number: no strings.
	if w.want == 1 && w.c.addInt(string(l)) {
		return
	}
	fields := strings.Split(string(l), "\t")
	if len(fields) != w.want {
		w.err = fmt.Errorf("%d fields in a line, want %d", len(fields), w.want)
		return
	}
	for i, f := range fields {
		fields[i] = unescapeCopyText(f)
	}
	w.c.add(fields)
}

// unescapeCopyText reverses COPY's text escaping (the keys read back are
// never NULL).
func unescapeCopyText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func quoteTable(schemaName, name string) string { return pgx.Identifier{schemaName, name}.Sanitize() }

// copyRows streams generated rows into COPY: generation runs in its own
// goroutine, so it overlaps with the server parsing and inserting. Tables
// with CHECKs the seeder cannot evaluate go through a temp table and an
// INSERT ... SELECT that keeps only the rows PostgreSQL accepts.
// written counts the rows generated so far, for the progress lines.
func copyRows(ctx context.Context, conn *pgx.Conn, p *tablePlan, g *tableGen, written *atomic.Int64, generated func() error) (int64, error) {
	if len(p.cols) == 0 {
		return insertDefaults(ctx, conn, p)
	}
	cols := make([]string, len(p.cols))
	for i, cp := range p.cols {
		cols[i] = pgx.Identifier{cp.col.Name}.Sanitize()
	}
	target := quoteTable(p.t.Schema, p.t.Name)
	dest := target
	if len(p.opaque) > 0 {
		if _, err := conn.Exec(ctx, "CREATE TEMP TABLE seed_stage (LIKE "+target+" INCLUDING DEFAULTS) ON COMMIT PRESERVE ROWS"); err != nil {
			return 0, fmt.Errorf("stage %s: %w", p.name, err)
		}
		defer conn.Exec(context.Background(), "DROP TABLE IF EXISTS seed_stage")
		dest = "seed_stage"
	}
	bin := binaryCopyable(p)
	format := ""
	if bin {
		format = " (FORMAT binary)"
	}
	pr, pw := io.Pipe()
	genDone := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 256<<10)
		var err error
		if bin {
			_, err = bw.Write(copyBinaryHeader)
		}
		for row := 0; row < p.rows && err == nil; row++ {
			ok, stop := g.next(row)
			if stop {
				break
			}
			switch {
			case ok && bin:
				if ok, err = g.writeRowBinary(bw); err == nil && !ok {
					g.binaryMiss = true
					err = errBinaryMiss
				}
			case ok:
				err = g.writeRow(bw)
			}
			if row%4096 == 4095 {
				written.Add(4096)
				if ctx.Err() != nil {
					err = ctx.Err()
				}
			}
		}
		if err == nil {
			err = generated()
		}
		if err == nil && bin {
			_, err = bw.Write([]byte{0xff, 0xff}) // the trailer: -1 fields
		}
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		genDone <- err
	}()
	tag, err := conn.PgConn().CopyFrom(ctx, pr, fmt.Sprintf("COPY %s (%s) FROM STDIN%s", dest, strings.Join(cols, ", "), format))
	pr.CloseWithError(errors.New("copy ended"))
	genErr := <-genDone
	if err != nil {
		return 0, fmt.Errorf("copy into %s: %s", p.name, describe(err))
	}
	if genErr != nil && !errors.Is(genErr, io.ErrClosedPipe) {
		return 0, fmt.Errorf("generate %s: %w", p.name, genErr)
	}
	if dest == target {
		return tag.RowsAffected(), nil
	}
	var conds []string
	for _, ck := range p.opaque {
		expr := strings.TrimSpace(ck.def)
		expr = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(expr, "CHECK"), "NOT VALID"))
		conds = append(conds, "("+expr+") IS NOT FALSE")
	}
	ins := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM seed_stage WHERE %s", target, strings.Join(cols, ", "), strings.Join(cols, ", "), strings.Join(conds, " AND "))
	ct, err := conn.Exec(ctx, ins)
	if err != nil {
		return 0, fmt.Errorf("insert staged rows into %s: %s", p.name, describe(err))
	}
	if ct.RowsAffected() < tag.RowsAffected() {
		for _, ck := range p.opaque {
			for _, c := range ck.cols {
				g.unsatisfied[c] = true
			}
			if len(ck.cols) == 0 {
				g.unsatisfied["CHECK "+ck.name] = true
			}
		}
	}
	return ct.RowsAffected(), nil
}

// advanceSequences sets the sequence of each serial column past the values
// COPY wrote, so the application's next insert does not collide.
func advanceSequences(ctx context.Context, conn *pgx.Conn, p *tablePlan) error {
	for _, cp := range p.cols {
		if cp.sequence == "" {
			continue
		}
		q := fmt.Sprintf(`SELECT setval($1::regclass, m) FROM (
	SELECT GREATEST(coalesce(pg_sequence_last_value($1::regclass), 0), coalesce(max(%s), 0)) AS m FROM %s) x WHERE m > 0`,
			pgx.Identifier{cp.col.Name}.Sanitize(), quoteTable(p.t.Schema, p.t.Name))
		if _, err := conn.Exec(ctx, q, cp.sequence); err != nil {
			return fmt.Errorf("advance sequence %s of %s.%s: %s", cp.sequence, p.name, cp.col.Name, describe(err))
		}
	}
	return nil
}

func recordRows(ctx context.Context, conn *pgx.Conn, p *tablePlan) error {
	n, err := era.RecordWhere(ctx, conn, p.t, p.record, nextEraWhere)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit N+1-era rows of %s: %s", p.name, describe(err))
	}
	_ = n
	return nil
}

func insertDefaults(ctx context.Context, conn *pgx.Conn, p *tablePlan) (int64, error) {
	b := &pgx.Batch{}
	for range p.rows {
		b.Queue("INSERT INTO " + quoteTable(p.t.Schema, p.t.Name) + " DEFAULT VALUES")
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("insert into %s: %s", p.name, describe(err))
	}
	return int64(p.rows), nil
}

// describe renders a PostgreSQL error with its SQLSTATE and detail.
func describe(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		s := fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
		if pgErr.Detail != "" {
			s += ": " + pgErr.Detail
		}
		if pgErr.Where != "" {
			s += " [" + pgErr.Where + "]"
		}
		return s
	}
	return err.Error()
}

// fillDeferred sets the foreign keys that were left NULL to break cycles,
// one UPDATE per key, picking parents with the same skew as COPY.
func (r *run) fillDeferred(ctx context.Context, ordered []*tablePlan) {
	for _, p := range ordered {
		if len(p.deferred) == 0 {
			continue
		}
		res := r.get(p.name)
		if res == nil || res.Skipped != "" || res.Rows == 0 {
			continue
		}
		g := newTableGen(r.s.opts.Seed, "deferred", p, 0)
		for _, fk := range p.deferred {
			if err := r.updateDeferred(ctx, p, fk, g); err != nil {
				r.s.log.Warn("seed: deferred foreign key left NULL", "table", p.name, "constraint", fk.con.Name, "err", err)
				res.Unsatisfied = append(res.Unsatisfied, fk.con.Columns...)
				r.set(res)
			}
		}
	}
}

func (r *run) updateDeferred(ctx context.Context, p *tablePlan, fk *fkPlan, g *tableGen) error {
	ctx, cancel := context.WithTimeout(ctx, tableTimeout)
	defer cancel()
	keys, err := readKeys(ctx, r.ctl, fk.parent, fk.refCols, 0)
	if err != nil {
		return err
	}
	if keys.len() == 0 {
		return nil
	}
	fk.pickFrom(keys)
	table := quoteTable(p.t.Schema, p.t.Name)
	var isNull []string
	for _, cp := range fk.cols {
		isNull = append(isNull, pgx.Identifier{cp.col.Name}.Sanitize()+" IS NULL")
	}
	var qargs []any
	if p.record != "" {
		// N+1 era: only this step's rows; an older row's NULL is data.
		isNull = append(isNull, fmt.Sprintf("EXISTS (SELECT 1 FROM %s e WHERE e.rel = %d AND e.step = $1 AND e.key = %s)",
			era.RowsTable, p.t.OID, era.KeyExpr(p.t, "t")))
		qargs = append(qargs, p.record)
	}
	sel := fmt.Sprintf("SELECT ctid::text FROM %s t WHERE %s ORDER BY ctid", table, strings.Join(isNull, " AND "))
	err = r.updateInBatches(ctx, sel, qargs, false, func(tx pgx.Tx, tids []string) error {
		cols := make([][]string, len(fk.cols))
		var picked []string
		exhausted := false
		for _, tid := range tids {
			var key []string
			key, exhausted = g.pickFK(fk)
			if exhausted {
				break
			}
			if key == nil {
				continue
			}
			picked = append(picked, tid)
			for j := range fk.cols {
				cols[j] = append(cols[j], key[j])
			}
		}
		if len(picked) > 0 {
			vals := make([]any, len(cols))
			for j := range cols {
				vals[j] = cols[j]
			}
			if _, err := updateByCtid(ctx, tx, table, fk.cols, picked, vals); err != nil {
				return err
			}
		}
		if exhausted {
			return errStopRows
		}
		return nil
	})
	fk.pickFrom(keySet{})
	if err != nil {
		return fmt.Errorf("update %s: %w", p.name, err)
	}
	return nil
}
