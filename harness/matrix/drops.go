package matrix

import (
	"context"
	"time"

	"github.com/rehearse-dev/rehearse/harness/pgadmin"
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
		if err := pgadmin.Drop(ctx, r.cfg.AdminDSN, db); err != nil {
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
