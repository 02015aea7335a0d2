package matrix

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Early drops bound the disk a run needs: a state database is dropped as
// soon as nothing needs it any more, instead of at the end (or never, on a
// disposable server). Holders are the chain builder (until the next state
// was cloned and the state's cells were started) and each cell using the
// state; the last one to let go drops it in the background, so no cell and
// no step of the chain waits on DROP DATABASE (it costs a checkpoint).

// hold records one more user of state database db.
func (r *runner) hold(db string) {
	if db == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs == nil {
		r.refs = map[string]int{}
	}
	r.refs[db]++
}

// letGo ends one use of db, dropping it when it was the last.
func (r *runner) letGo(db string) {
	if db == "" {
		return
	}
	r.mu.Lock()
	r.refs[db]--
	last := r.refs[db] <= 0
	if last {
		delete(r.refs, db)
	}
	r.refsChanged.Broadcast()
	r.mu.Unlock()
	if last {
		r.dropSoon(db)
	}
}

// dropSoon drops db in the background (--keep keeps it). Run waits for the
// drops only at its end.
func (r *runner) dropSoon(db string) {
	if r.cfg.Keep {
		return
	}
	r.drops.Add(1)
	go func() {
		defer r.drops.Done()
		defer r.timed("drop (background)", time.Now())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.admin.Drop(ctx, db); err != nil {
			r.cfg.Logger.Warn("drop database early", "db", db, "err", err)
			return
		}
		r.forget(db)
	}()
}

// forget removes db from the databases left to clean up.
func (r *runner) forget(db string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, d := range r.dbs {
		if d == db {
			r.dbs = append(r.dbs[:i], r.dbs[i+1:]...)
			return
		}
	}
}

// A cell "takes over" its state instead of cloning it when it is the last
// user: every other cell of the state has opened it (a clone, already
// made) and the chain builder let go. Which cell that is follows from the
// counts alone, so the clone count of a run is the same every time. Cells
// are launched only after the builder let go of their states (see
// spawn and launch), so the builder's hold never makes a cell clone.

// lease is one cell's hold on its state database.
type lease struct {
	r    *runner
	db   string
	once sync.Once
}

// newLease holds db for a cell that will open it once.
func (r *runner) newLease(db string) *lease {
	r.hold(db)
	if db != "" {
		r.mu.Lock()
		if r.unopened == nil {
			r.unopened = map[string]int{}
		}
		r.unopened[db]++
		r.mu.Unlock()
	}
	return &lease{r: r, db: db}
}

// release ends the hold (once; a cell that cloned releases right after the
// clone, so the state's last cell may take it over).
func (l *lease) release() { l.once.Do(func() { l.r.letGo(l.db) }) }

// takeOver reports whether the cell holding l may change the state itself:
// no --keep and it is the last cell to open it. It then waits for the
// clones other cells are making from it (a template must have no
// connection) and for the builder to let go.
func (r *runner) takeOver(l *lease) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unopened[l.db]--
	if r.cfg.Keep || r.unopened[l.db] > 0 {
		return false
	}
	delete(r.unopened, l.db)
	for r.refs[l.db] > 1 {
		r.refsChanged.Wait()
	}
	r.stats.InPlace++
	return true
}

// cellDB returns the database a cell may change: the state itself when the
// cell takes it over, else a clone named after kind and k (the hold on the
// state ends once the clone exists). done drops the clone.
func (r *runner) cellDB(ctx context.Context, l *lease, kind string, k int) (db string, done func(), err error) {
	if r.takeOver(l) {
		return l.db, func() {}, nil
	}
	db = r.dbName(kind, k)
	err = r.create(ctx, db, l.db)
	l.release()
	if err != nil {
		return "", nil, err
	}
	return db, func() { r.dropSoon(db) }, nil
}

// launch starts the cells spawned since the last launch. The builder calls
// it after letting go of the states those cells use.
func (r *runner) launch() {
	r.mu.Lock()
	q := r.queued
	r.queued = nil
	r.mu.Unlock()
	for _, start := range q {
		start()
	}
}

// noteStateSize records the size of the data state conn is on when it is
// the largest so far (Stats.DataStateBytes).
func (r *runner) noteStateSize(ctx context.Context, conn *pgx.Conn) {
	var n int64
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		r.cfg.Logger.Debug("size of a data state", "err", err)
		return
	}
	r.mu.Lock()
	r.stats.DataStateBytes = max(r.stats.DataStateBytes, n)
	r.mu.Unlock()
}
