// Package seed fills a database with production-like data generated from
// its catalog: N-era rows on release N's schema (Base), and N+1-era rows
// after each upgrade step shaped to break what that step relaxed (Next).
//
// Data is deterministic: the same seed and schema give the same bytes. Each
// table has its own random source (seed + table name), so loading tables in
// parallel does not change what is generated. Rows are written with COPY
// while they are generated: in binary format when every column's type
// allows (see copybin.go), in text otherwise.
package seed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/rehearse-dev/rehearse/harness/schema"
)

// Options configures a Seeder.
type Options struct {
	Seed int64 // same seed + same schema => byte-identical data
	Rows int   // default rows per table (default 200)
	// Profile tunes volumes and generators; nil = none. See LoadProfile.
	Profile *Profile
	// WeirdRate is the share of values with break-down shapes (NULLs,
	// max-length, unicode/RTL/emoji, empty, boundaries, duplicates); it is
	// also the share of N-era values that break constraints N+1 adds later.
	// Default 0.1; negative means none.
	WeirdRate float64
	Parallel  int // tables generating rows concurrently; default 2
	// Hints are what the window's migrations say about the data (casts,
	// WHEREs); nil = none. See HintsFrom.
	Hints  *Hints
	Logger *slog.Logger
	// Progress receives a line (tables done, rows, rows/s) every
	// ProgressEvery (default 5s) while a load runs; nil = none.
	Progress      io.Writer
	ProgressEvery time.Duration
}

// TableResult says how one table was seeded.
type TableResult struct {
	Table string
	Rows  int64
	// Skipped is the reason the table was not filled, "" when it was.
	Skipped string
	// Unsatisfied lists columns whose CHECK the seeder could not satisfy
	// for some rows (those rows were not written).
	Unsatisfied []string
}

// Result is what one Base or Next call wrote.
type Result struct {
	Tables []TableResult
	// Notes say what the seeder chose and why, e.g. "public.t.c seeded as
	// jsonb because 000015 casts it".
	Notes []string
}

// Seeder writes N-era and N+1-era data.
type Seeder interface {
	// Base fills every table of the database at dsn (N-era data, on release
	// N's schema). future is the snapshot after all of N+1's migrations (may
	// be nil): columns N+1 later constrains (new CHECK, NOT NULL, UNIQUE,
	// FK) get the variety real data has, so an up that fails on real data
	// fails here.
	Base(ctx context.Context, dsn string, snap, future *schema.Snapshot) (*Result, error)
	// Next writes N+1-era rows after migration step was applied, into what
	// it added or relaxed (found by diffing before and after), and records
	// every inserted row with era.RecordWhere.
	Next(ctx context.Context, dsn string, step string, before, after *schema.Snapshot) (*Result, error)
	// NextInRelease is Next for a step that is not the last of its release:
	// end is the schema at the release's end (nil: after). The release ships
	// in one deploy, so its code writes rows valid under end's constraints
	// too; only the relaxations that survive to end are exploited.
	NextInRelease(ctx context.Context, dsn string, step string, before, after, end *schema.Snapshot) (*Result, error)
}

type seeder struct {
	opts Options
	log  *slog.Logger
}

// New returns a Seeder with opts, defaults filled in.
func New(opts Options) Seeder {
	if opts.Rows <= 0 {
		opts.Rows = 200
	}
	switch {
	case opts.WeirdRate == 0:
		opts.WeirdRate = 0.1
	case opts.WeirdRate < 0:
		opts.WeirdRate = 0
	case opts.WeirdRate > 1:
		opts.WeirdRate = 1
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 5 * time.Second
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 2
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &seeder{opts: opts, log: opts.Logger}
}

// Base implements Seeder.
func (s *seeder) Base(ctx context.Context, dsn string, snap, future *schema.Snapshot) (*Result, error) {
	if snap == nil {
		return nil, fmt.Errorf("seed base: no schema snapshot")
	}
	if err := s.checkProfile(snap, future); err != nil {
		return nil, fmt.Errorf("seed base: profile: %w", err)
	}
	r, err := s.newRun(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("seed base: %w", err)
	}
	defer r.close()
	partitions, err := r.partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed base: %w", err)
	}
	plans := map[string]*tablePlan{}
	var notes []string
	for name, t := range snap.Tables {
		var ft *schema.Table
		if future != nil {
			ft = matchTable(future, t)
		}
		p, err := s.planTable(snap, t, ft)
		if err != nil {
			return nil, fmt.Errorf("seed base: plan %s: %w", name, err)
		}
		if parent, ok := partitions[t.OID]; ok {
			p.skip = "partition of " + parent + ": filled through it"
			p.rows = 0
		}
		notes = append(notes, s.opts.Hints.applyHints(p, snap.Enums, enumsOf(future))...)
		plans[name] = p
	}
	ordered := order(plans)
	planExports(plans)
	r.loadAll(ctx, ordered, "")
	r.fillDeferred(ctx, ordered)
	res := r.result(ordered)
	sort.Strings(notes)
	res.Notes = notes
	return res, ctx.Err()
}

// matchTable finds t in other by OID (stable across renames and clones),
// then by name. An OID match is trusted only when no other table has t's
// name: snapshots of unrelated databases can share OIDs by chance.
func matchTable(other *schema.Snapshot, t *schema.Table) *schema.Table {
	byName := other.Tables[t.QualifiedName()]
	for _, o := range other.Tables {
		if o.OID == t.OID && t.OID != 0 && (byName == nil || byName == o) {
			return o
		}
	}
	return byName
}

func sortedTables(snap *schema.Snapshot) []*schema.Table {
	out := make([]*schema.Table, 0, len(snap.Tables))
	for _, t := range snap.Tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].QualifiedName() < out[j].QualifiedName() })
	return out
}

func enumsOf(snap *schema.Snapshot) map[string]*schema.Enum {
	if snap == nil {
		return nil
	}
	return snap.Enums
}
