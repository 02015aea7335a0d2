package seed

import (
	"context"
	"errors"
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
//
// A child can start earlier still, with its parent: when the parent is
// loaded from empty and the key is its sequential primary key, its keys
// will be seqStart, seqStart+1, ... one per row, unless the generator drops
// a row. The child speculates on that list; once the parent's generator is
// done the child compares, and on a mismatch (a dropped row) throws its rows
// away before they are sent in full and starts over on the actual keys. The
// rows a child writes are the same either way.

// speculate is off only in the tests that compare with and without.
var speculate = true

// errSpeculation: a parent's keys were not the predicted sequence.
var errSpeculation = errors.New("parent keys differ from the predicted sequence")

// errBinaryMiss: a value did not fit binary COPY (see copybin.go).
var errBinaryMiss = errors.New("a value does not fit binary COPY")

// errParentFailed: a parent whose keys a child started on was not filled.
var errParentFailed = errors.New("parent not filled")

// pipelineEvent, when set (tests), is told each table that starts on keys
// its parents have not committed ("early") or not generated yet
// ("speculative"), and each that starts over ("respeculate": a wrong
// guess or a failed parent).
var pipelineEvent func(event, table string)

func event(what, table string) {
	if pipelineEvent != nil {
		pipelineEvent(what, table)
	}
}

// stage is where one table's load is, for its children.
type stage struct {
	prepared  chan struct{} // prepare ran (or the load ended): seq is set
	ready     chan struct{} // keys final: published, or the load ended
	done      chan struct{} // the load ended (committed or failed)
	prepOnce  sync.Once
	readyOnce sync.Once
	published atomic.Bool // ready came from the generator's kept keys
	// seq maps each sequential primary-key column to its first value when
	// the table's keys will be published; rows is how many rows it makes.
	seq  map[string]int64
	rows int
}

func newStage() *stage {
	return &stage{prepared: make(chan struct{}), ready: make(chan struct{}), done: make(chan struct{})}
}

func (st *stage) keysReady() { st.readyOnce.Do(func() { close(st.ready) }) }

// setPrepared records, once p's prepare ran, what its keys will be.
func (st *stage) setPrepared(p *tablePlan) {
	st.prepOnce.Do(func() {
		if publishable(p) {
			st.seq, st.rows = map[string]int64{}, p.rows
			for _, cp := range p.cols {
				if cp.seqPK && cp.fk == nil {
					st.seq[cp.col.Name] = cp.seqStart
				}
			}
		}
		close(st.prepared)
	})
}

func (st *stage) finish() {
	st.prepOnce.Do(func() { close(st.prepared) })
	st.keysReady()
	close(st.done)
}

// predict returns the keys the table will have in refCols if nothing is
// dropped; ok is false when they cannot be predicted.
func (st *stage) predict(refCols []string) (keySet, bool) {
	if len(refCols) != 1 {
		return keySet{}, false
	}
	start, ok := st.seq[refCols[0]]
	if !ok {
		return keySet{}, false
	}
	return seqKeys(start, st.rows), true
}

// publishable: the keys p generates are exactly its keys once committed
// (see publishKeys).
func publishable(p *tablePlan) bool { return p.wasEmpty && len(p.opaque) == 0 && !p.hasTriggers }

// canSkipRI reports whether this role may set session_replication_role,
// which an early start needs (see skipRITriggers).
func (r *run) canSkipRI(ctx context.Context) bool {
	if _, err := r.ctl.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		return false
	}
	_, err := r.ctl.Exec(ctx, "RESET session_replication_role")
	return err == nil
}

// waitParents waits until p may start: every parent's keys are predicted
// (spec, when mayGuess), or final and, unless p can start early, every
// parent's load has ended. early means p got its parents' keys from their
// generators (or will check its guesses against them).
func (r *run) waitParents(ctx context.Context, p *tablePlan, mayGuess bool) (early bool, spec map[*fkPlan]keySet, err error) {
	var parents []*stage
	for _, par := range p.parents {
		if st := r.stages[par]; st != nil {
			parents = append(parents, st)
		}
	}
	// The same conditions as skipRITriggers: with the triggers on, the
	// parents' rows must be committed before the COPY.
	eligible := len(parents) > 0 && r.replicaOK && p.skip == "" && p.record == "" && !p.hasTriggers && len(p.fks) > len(p.deferred)
	if eligible && mayGuess && speculate {
		for _, st := range parents {
			select {
			case <-st.prepared:
			case <-ctx.Done():
				return false, nil, ctx.Err()
			}
		}
		spec = map[*fkPlan]keySet{}
		for _, fk := range p.fks {
			if fk.deferred {
				continue
			}
			var keys keySet
			ok := false
			if st := r.stages[fk.parent]; st != nil {
				keys, ok = st.predict(fk.refCols)
			}
			if !ok {
				spec = nil
				break
			}
			spec[fk] = keys
		}
		if len(spec) > 0 {
			event("speculative", p.name)
			return true, spec, nil
		}
		spec = nil
	}
	for _, st := range parents {
		select {
		case <-st.ready:
		case <-ctx.Done():
			return false, nil, ctx.Err()
		}
	}
	early = eligible
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
		event("early", p.name)
		return true, nil, nil
	}
	for _, st := range parents {
		select {
		case <-st.done:
		case <-ctx.Done():
			return false, nil, ctx.Err()
		}
	}
	return false, nil, nil
}

// checkGuesses waits for the generators of the parents p speculated on and
// returns errSpeculation unless each published exactly the predicted keys.
func (r *run) checkGuesses(ctx context.Context, spec map[*fkPlan]keySet) error {
	for fk, keys := range spec {
		st := r.stages[fk.parent]
		select {
		case <-st.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
		e := r.keys[keyID(fk.parent, fk.refCols)]
		r.mu.Unlock()
		if e == nil || !e.published || !e.keys.equal(keys) {
			return errSpeculation
		}
	}
	return nil
}

// resetGenState forgets what a discarded attempt at p's rows changed in
// its plan, so the next attempt generates the same rows as a first one.
func resetGenState(p *tablePlan) {
	for _, fk := range p.fks {
		fk.pickFrom(keySet{})
	}
	for _, e := range p.exports {
		e.keys = newKeyCollector(e.id, len(e.cps))
	}
	for _, cp := range p.cols {
		cp.recent = nil
	}
	for _, u := range p.uniques {
		u.seen.reset()
	}
}

// releaseGenState drops what generating p's rows kept once its load is
// over: the unique sets, the one-to-one permutations and the keys of an
// export nobody was handed; all of them grow with the rows and would
// otherwise live until the end of the run.
func releaseGenState(p *tablePlan) {
	for _, fk := range p.fks {
		if !fk.deferred {
			fk.pickFrom(keySet{})
		}
	}
	for _, e := range p.exports {
		e.keys = newKeyCollector(e.id, len(e.cps))
	}
	for _, u := range p.uniques {
		u.seen.release()
	}
}

// parentsFilled waits for p's parents' loads to end and returns
// errParentFailed when one of them was not filled.
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
				return fmt.Errorf("foreign key %s needs rows in %s, but it was not filled: %s: %w", fk.con.Name, par, res.Skipped, errParentFailed)
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
