package seed

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// A child table needs its parents' keys, not their committed rows: with the
// foreign-key triggers off (skipRITriggers) a child generated from the keys
// its parents' generators kept can COPY while those parents still finish
// their COPYs, index builds and commits. The child's transaction commits
// only after every parent has, and fails if one did not: its keys would
// name rows that are not there. This turns the chain customers → orders →
// order_items from a sum of whole loads into a sum of generations.

// earlyStarted, when set (tests), is told each table that starts on keys
// its parents have not committed yet.
var earlyStarted func(table string)

// stage is where one table's load is, for its children.
type stage struct {
	ready     chan struct{} // keys final: published, or the load ended
	done      chan struct{} // the load ended (committed or failed)
	readyOnce sync.Once
	published atomic.Bool // ready came from the generator's kept keys
}

func newStage() *stage { return &stage{ready: make(chan struct{}), done: make(chan struct{})} }

func (st *stage) keysReady() { st.readyOnce.Do(func() { close(st.ready) }) }

func (st *stage) finish() {
	st.keysReady()
	close(st.done)
}

// canSkipRI reports whether this role may set session_replication_role,
// which an early start needs (see skipRITriggers).
func (r *run) canSkipRI(ctx context.Context) bool {
	if _, err := r.ctl.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		return false
	}
	_, err := r.ctl.Exec(ctx, "RESET session_replication_role")
	return err == nil
}

// waitParents waits until p may start: every parent's keys are final and,
// unless p can start early, every parent's load has ended. early means p
// got its parents' keys from their generators.
func (r *run) waitParents(ctx context.Context, p *tablePlan) (early bool, err error) {
	var parents []*stage
	for _, par := range p.parents {
		if st := r.stages[par]; st != nil {
			parents = append(parents, st)
		}
	}
	for _, st := range parents {
		select {
		case <-st.ready:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	// The same conditions as skipRITriggers: with the triggers on, the
	// parents' rows must be committed before the COPY.
	early = len(parents) > 0 && r.replicaOK && p.skip == "" && p.record == "" && !p.hasTriggers && len(p.fks) > len(p.deferred)
	for _, st := range parents {
		early = early && st.published.Load()
	}
	// Every key the child picks from must have come from a generator (a
	// parent may export only some of the columns children reference).
	for _, fk := range p.fks {
		if early && !fk.deferred {
			early = r.published(keyID(fk.parent, fk.refCols))
		}
	}
	if early {
		if earlyStarted != nil {
			earlyStarted(p.name)
		}
		return true, nil
	}
	for _, st := range parents {
		select {
		case <-st.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return false, nil
}

// parentsFilled waits for p's parents' loads to end and fails when one of
// them was not filled.
func (r *run) parentsFilled(ctx context.Context, p *tablePlan) error {
	for _, par := range p.parents {
		st := r.stages[par]
		if st == nil {
			continue
		}
		select {
		case <-st.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		res := r.get(par)
		if res == nil {
			return fmt.Errorf("parent table %s was not loaded", par)
		}
		if res.Skipped == "" {
			continue
		}
		for _, fk := range p.fks {
			if fk.parent == par && !fk.deferred {
				return fmt.Errorf("foreign key %s needs rows in %s, but it was not filled: %s", fk.con.Name, par, res.Skipped)
			}
		}
	}
	return nil
}

// published reports whether the keys id were handed over by a generator.
func (r *run) published(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.keys[id]
	return e != nil && e.published
}

// withdrawKeys forgets the keys p published before its load failed, so a
// child that starts later reads the table's actual keys instead.
func (r *run) withdrawKeys(p *tablePlan) {
	st := r.stages[p.name]
	if st == nil || !st.published.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range p.exports {
		r.keys[e.id] = &keyEntry{}
	}
}
