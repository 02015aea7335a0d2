package matrix

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
	"github.com/rehearse-dev/rehearse/harness/version"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// Run measures every cell of the matrix and returns the report (verdicts
// set, no policy applied). Each state is built once: the pristine chain
// P0..Pn (schema only) and the data chain D0..Dn (N-era data, plus N+1-era
// data written after each up); every cell works on its own clone
// (CREATE DATABASE ... TEMPLATE), so cost grows linearly with the number of
// migrations and independent cells run in parallel.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	base, next, err := cfg.Set.Range(cfg.From, cfg.To)
	if err != nil {
		return nil, err
	}
	if len(next) == 0 {
		return nil, fmt.Errorf("no migrations between --from %s and --to %s", cfg.From, cfg.To)
	}
	releases, releaseIdx, err := groupReleases(cfg, next)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, base: base, next: next, releases: releases, releaseIdx: releaseIdx}
	r.refsChanged = sync.NewCond(&r.mu)
	// Two connections: the chain's clones and the background drops.
	r.admin = pgadmin.NewPool(cfg.AdminDSN, 2)
	defer r.admin.Close()
	defer func() {
		r.drops.Wait()
		if !cfg.Keep && !cfg.Disposable {
			r.dropAll()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r.cleanupRoles(ctx)
			r.dropRoles() // after the databases holding their objects
		}
	}()
	start := time.Now()
	rep := &Report{
		SchemaVersion: SchemaVersion,
		Tool:          "rehearse " + version.Version,
		RunID:         cfg.Prefix,
		From:          cfg.From,
		To:            cfg.To,
		Migrations:    cfg.Set.Source,
		Layout:        string(cfg.Set.Layout),
		Bookkeeping:   cfg.Bookkeeping.Name(),
		Releases:      releases,
		StartedAt:     start.UTC(),
	}
	r.results = make([]MigrationResult, len(next))
	for i, m := range next {
		res := &r.results[i]
		res.Version, res.Name, res.Comment = m.Version, m.Name, m.Comment
		res.UpFile = m.Up.File
		res.NoTransaction = m.Up.NoTransaction
		if m.Down != nil {
			res.DownFile = m.Down.File
			res.NoTransaction = res.NoTransaction || m.Down.NoTransaction
		}
		for _, nc := range res.Checks.List() {
			*nc.Check = Check{Status: StatusSkip, Error: "not measured"}
		}
	}
	r.total = len(next) * 2

	if err := r.setupRoles(ctx); err != nil {
		return nil, err
	}
	rep.MigrateAs = cfg.MigrateAs
	r.sem = make(chan struct{}, r.cfg.Parallel)
	if cfg.Bookkeeping.Name() == "none" {
		r.boot = make([][2]*ProbeOutcome, len(next)+1)
		r.bootNotes = make([][]string, len(next)+1)
	}
	if err := r.buildPristine(ctx); err != nil {
		r.launch()
		r.wg.Wait()
		return nil, r.blame(err)
	}
	if err := r.buildData(ctx, rep); err != nil {
		r.launch()
		r.wg.Wait()
		return nil, r.blame(err)
	}
	r.launch()
	r.wg.Wait()
	if err := r.blame(r.cellErr); err != nil {
		return nil, err
	}
	r.mergeServerProbes()
	r.mergeBootProbes()
	for i, m := range next {
		res := &r.results[i]
		res.Checks.OldCode = r.probes.judge(i+1, r.names())
		if r.boot != nil {
			res.Checks.OldCode.Notes = append(res.Checks.OldCode.Notes, r.bootNotes[i+1]...)
		}
		res.Checks.Contract = r.contract.judge(i+1, r.names())
		if res.Checks.Up.Status == StatusSkip {
			res.Checks.OldCode = Check{Status: StatusSkip, Error: res.Checks.Up.Error}
			res.Checks.Contract = Check{Status: StatusSkip, Error: res.Checks.Up.Error}
		}
		res.Verdict, res.Reasons = DecideVerdict(&res.Checks, m.Down != nil)
		if note := r.reseeded[i+1]; note != "" {
			res.Reasons = append(res.Reasons, note)
		}
	}
	rep.Results = r.results
	rep.Seeding = r.seeding
	rep.RolesCreated = r.createdRoles
	rep.Baseline = r.probes.baseline()
	rep.SeedingNotes = r.seedingNotes
	rep.Notes = append(rep.Notes, r.notes...)
	rep.Notes = append(rep.Notes, r.contract.runNotes()...)
	for _, res := range r.results {
		if res.Checks.OldCode.Error == NoOldCodeProbe {
			rep.Notes = append(rep.Notes, NoOldCodeProbe)
			break
		}
	}
	if cfg.Bookkeeping.Name() == "none" {
		rep.Notes = append(rep.Notes, "bookkeeping: none (rerun-at-boot) — the app keeps no table of applied migrations, so a runbook step like `DELETE FROM schema_migrations ...` fails; release N's boot (re-running its up files) was probed on every state instead, schema alone and with data")
	}
	if cfg.Keep {
		rep.KeptDatabases = r.Databases()
	}
	// Background drops may still be timing themselves.
	rep.PhaseSeconds = map[string]float64{}
	r.mu.Lock()
	for phase, d := range r.phases {
		rep.PhaseSeconds[phase] = d.Seconds()
	}
	stats := r.stats
	r.mu.Unlock()
	rep.Stats = &stats
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

type runner struct {
	cfg        Config
	base, next []*migrate.Migration
	// releases groups next; releaseIdx[i] is next[i]'s group.
	releases   *Releases
	releaseIdx []int

	// admin creates and drops the run's databases.
	admin *pgadmin.Pool

	mu  sync.Mutex
	dbs []string
	// adminLost names the step after which the admin database was gone
	// (see admin.go); adminDB is that database.
	adminLost string
	adminDB   string
	adminOnce sync.Once
	results   []MigrationResult
	seeding   []TableSeed
	// seedingNotes say what the seeder chose and why, once each.
	seedingNotes []string
	notes        []string
	cellErr      error
	wg           sync.WaitGroup
	sem          chan struct{}
	// refs counts the users of each state database; drops tracks the
	// background drops of those no one needs any more (see drops.go).
	refs  map[string]int
	drops sync.WaitGroup
	// unopened counts, per state, the cells holding it that have not
	// opened it yet; refsChanged (on mu) wakes a cell waiting to take a
	// state over; queued are spawned cells not launched yet (see drops.go).
	unopened    map[string]int
	refsChanged *sync.Cond
	queued      []func()
	stats       Stats
	done        int
	total       int

	// pristine[k] is the database of state k (0 = release N) without data;
	// "" when the up of migration k failed even on an empty schema. It is
	// dropped once its cells ended unless pristineKept[k] (see
	// buildPristine); pristineStarted[k] says its cells were started by the
	// pristine chain, not by the data chain.
	pristine        []string
	pristineKept    []bool
	pristineStarted []bool
	lazyPristine    bool
	pristineSnap    []*schema.Snapshot
	// pristineJobs are the lazy chain's background snapshots and cell
	// starts (see pristineDone); pristineSnapped is closed when the last
	// one started so far is done; pristineJobErr is their first error.
	pristineJobs    sync.WaitGroup
	pristineSnapped chan struct{}
	pristineJobErr  error
	pristineErr     []error

	// upUnmatched[k] lists migration k's UPDATE/DELETE ... WHERE that
	// matched no seeded row (measured just before its up on the data chain).
	upUnmatched [][]string

	probes   probeHistory
	contract contractRun
	// boot[k] holds release N's boot outcome on state k (schema alone,
	// with data) under --bookkeeping rerun-at-boot; nil otherwise.
	boot      [][2]*ProbeOutcome
	bootNotes [][]string
	// reseeded[k] is the note of migration k when its data state descends
	// from a re-seeded state (an earlier up failed on data).
	reseeded []string
	roles    roleBook
	// serverStates[k] holds the server probe's outcomes on state k.
	serverStates [][]ProbeOutcome
	phases       map[string]time.Duration
	// createdRoles are the roles this run made (never pre-existing ones).
	createdRoles []string
}

func (r *runner) names() []string {
	out := make([]string, len(r.next))
	for i, m := range r.next {
		out[i] = m.Version + "_" + m.Name
	}
	return out
}

func (r *runner) dbName(kind string, k int) string {
	return pgadmin.Name(r.cfg.Prefix, kind, fmt.Sprint(k))
}

func (r *runner) dsn(db string) string {
	dsn, _ := pgadmin.WithDatabase(r.cfg.AdminDSN, db)
	return dsn
}

// create makes database name (a clone of template when not empty) and
// remembers it for cleanup.
func (r *runner) create(ctx context.Context, name, template string) error {
	defer r.timed("clone", time.Now())
	if err := r.admin.Create(ctx, name, template); err != nil {
		return err
	}
	r.mu.Lock()
	r.dbs = append(r.dbs, name)
	if template != "" {
		r.stats.Clones++
	}
	r.stats.PeakDatabases = max(r.stats.PeakDatabases, len(r.dbs))
	r.mu.Unlock()
	if template == "" {
		if err := r.setupDatabase(ctx, name); err != nil {
			return err
		}
	}
	return r.ownDatabase(ctx, name)
}

func (r *runner) drop(name string) {
	if r.cfg.Disposable {
		return
	}
	defer r.timed("drop", time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.admin.Drop(ctx, name); err != nil {
		r.cfg.Logger.Warn("drop database", "db", name, "err", err)
		return
	}
	r.forget(name)
}

func (r *runner) dropAll() {
	r.mu.Lock()
	dbs := append([]string(nil), r.dbs...)
	r.mu.Unlock()
	for _, d := range dbs {
		r.drop(d)
	}
}

// Databases lists the databases a kept run left, for --keep.
func (r *runner) Databases() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.dbs...)
}

func (r *runner) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, r.dsn(db))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", db, err)
	}
	return conn, nil
}

// buildPristine builds P0 (release N's schema, bookkeeping included) and
// P1..Pn, each a clone of the previous plus one up. A pristine state is
// needed only as the template of the next one and by its own cells, so
// those start as soon as the next state was cloned and the state is dropped
// when they end: the chain never holds more than a few states (disk). When
// migrations create roles (cluster-wide, see clusterroles.go) the states
// from there on are kept for the data chain, whose cells start them under
// the role lock, as the whole chain once was.
func (r *runner) buildPristine(ctx context.Context) error {
	n := len(r.next)
	r.pristine = make([]string, n+1)
	r.pristineSnap = make([]*schema.Snapshot, n+1)
	r.pristineErr = make([]error, n+1)
	r.pristineStarted = make([]bool, n+1)
	r.pristineKept = make([]bool, n+1)
	r.lazyPristine = true

	if err := r.startRoles(ctx); err != nil {
		return err
	}
	defer r.endPristineRoles()
	p0 := r.dbName("p", 0)
	if err := r.create(ctx, p0, ""); err != nil {
		return err
	}
	conn, err := r.connect(ctx, p0)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if err := r.applyBase(ctx, conn); err != nil {
		return err
	}
	// D0 is cloned before bookkeeping exists so the seeder never fills the
	// bookkeeping table. A template must have no open connection.
	conn.Close(ctx)
	if err := r.create(ctx, r.dbName("d", 0), p0); err != nil {
		return err
	}
	if err := r.recordRoles(ctx, p0); err != nil {
		return err
	}
	r.setRolesOf(r.dbName("d", 0), r.rolesOf(p0))
	if conn, err = r.connect(ctx, p0); err != nil {
		return err
	}
	if err := r.recordBase(ctx, conn); err != nil {
		return err
	}
	r.pristine[0] = p0
	r.keepPristine(0)
	if r.pristineSnap[0], err = r.snapshot(ctx, conn, schema.Options{}); err != nil {
		return fmt.Errorf("snapshot release N's schema: %w", err)
	}
	conn.Close(ctx)
	r.checkPristineRoles()

	for k := 1; k <= n; k++ {
		m := r.next[k-1]
		if r.pristine[k-1] == "" {
			r.pristineErr[k] = r.pristineErr[k-1]
			r.pristineDone(ctx, k-1)
			continue
		}
		name := r.dbName("p", k)
		if err := r.create(ctx, name, r.pristine[k-1]); err != nil {
			return err
		}
		r.pristineDone(ctx, k-1)
		conn, err := r.connect(ctx, name)
		if err != nil {
			return err
		}
		upErr := r.up(ctx, conn, m)
		// While the chain is lazy, the snapshot is taken beside it, once
		// the next state was cloned (see pristineDone).
		if upErr == nil && !r.lazyPristine {
			r.pristineSnap[k], err = r.snapshot(ctx, conn, schema.Options{})
		}
		if err == nil {
			err = r.recordRoles(ctx, name)
		}
		conn.Close(context.Background())
		if err != nil {
			return fmt.Errorf("snapshot after %s: %w", m.Up.File, err)
		}
		if upErr != nil {
			// No state k: the up failed even on an empty schema.
			r.pristineErr[k] = upErr
			r.dropSoon(name)
			continue
		}
		r.pristine[k] = name
		r.keepPristine(k)
		r.checkPristineRoles()
		if r.pristineSnap[k] == nil && !r.lazyPristine {
			// The chain stopped being lazy at this state.
			if r.pristineSnap[k], err = r.snapPristine(ctx, k); err != nil {
				return err
			}
		}
	}
	r.pristineDone(ctx, n)
	r.pristineJobs.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pristineJobErr
}

// snapPristine takes the catalog snapshot of pristine state k.
func (r *runner) snapPristine(ctx context.Context, k int) (*schema.Snapshot, error) {
	conn, err := r.connect(ctx, r.pristine[k])
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	snap, err := r.snapshot(ctx, conn, schema.Options{})
	if err != nil {
		return nil, fmt.Errorf("snapshot after %s: %w", r.next[k-1].Up.File, err)
	}
	return snap, nil
}

// applyBase applies release N's migrations on an empty database.
func (r *runner) applyBase(ctx context.Context, conn *pgx.Conn) error {
	for _, m := range r.base {
		if err := r.as(ctx, conn, "up", func() error { return migrate.Apply(ctx, conn, m.Up) }); err != nil {
			if note := privilegeNote(err); note != "" {
				err = fmt.Errorf("%w (%s)", err, note)
			}
			return fmt.Errorf("release N's migration %s_%s fails on an empty database, so there is no release N to rehearse from: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// keepPristine holds pristine state k for the chain: the next state is
// cloned from it.
func (r *runner) keepPristine(k int) {
	r.hold(r.pristine[k])
	r.pristineKept[k] = true
}

// checkPristineRoles switches the rest of the pristine chain to keeping its
// states once a migration created a role: their cells must run under the
// role lock, which is decided when the chain ends. The cells already
// started touch no role (no up before created one); they are waited for.
func (r *runner) checkPristineRoles() {
	if !r.lazyPristine || !r.createdAnyRole() {
		return
	}
	r.lazyPristine = false
	r.pristineJobs.Wait()
	r.launch()
	r.wg.Wait()
}

// pristineDone is called once pristine state k served as the template of
// state k+1: its cells start (migration k's down on the empty schema, and
// release N's boot on it) and the chain lets go of it, so the last cell
// takes it over and it is dropped when they end.
func (r *runner) pristineDone(ctx context.Context, k int) {
	if !r.lazyPristine {
		return
	}
	// In the background: the snapshot of state k, then (after state k-1's,
	// which its cell compares with) the cells.
	before := r.pristineSnapped
	done := make(chan struct{})
	r.pristineSnapped = done
	r.pristineJobs.Add(1)
	go func() {
		defer r.pristineJobs.Done()
		defer close(done)
		if k >= 1 && r.pristine[k] != "" && r.pristineSnap[k] == nil {
			snap, err := r.snapPristine(ctx, k)
			if err != nil {
				r.mu.Lock()
				if r.pristineJobErr == nil {
					r.pristineJobErr = err
				}
				r.mu.Unlock()
				// No cell can compare with a state it could not read.
				r.pristineKept[k] = false
				r.letGo(r.pristine[k])
				return
			}
			r.pristineSnap[k] = snap
		}
		if before != nil {
			<-before
		}
		r.startPristine(ctx, k)
	}()
}

// startPristine starts the cells of pristine state k and lets go of it.
func (r *runner) startPristine(ctx context.Context, k int) {
	if k >= 1 && r.next[k-1].Down != nil {
		r.spawnPristine(ctx, k)
	}
	if r.boot != nil && r.pristine[k] != "" {
		r.spawnBoot(ctx, k, bootSchema, r.pristine[k], r.pristineSnap[k])
	}
	r.pristineStarted[k] = true
	if r.pristineKept[k] {
		r.pristineKept[k] = false
		r.letGo(r.pristine[k])
	}
	r.launch()
}

// pristineIntact reports whether pristine state k still exists unchanged
// (kept for the data chain, or by --keep).
func (r *runner) pristineIntact(k int) bool {
	return r.pristine[k] != "" && (r.pristineKept[k] || r.cfg.Keep)
}

// recordBase creates the bookkeeping table and records release N as applied.
func (r *runner) recordBase(ctx context.Context, conn *pgx.Conn) error {
	// The migration tool writes its bookkeeping as the migrating role.
	return r.as(ctx, conn, "bookkeeping", func() error { return r.recordBaseAs(ctx, conn) })
}

func (r *runner) recordBaseAs(ctx context.Context, conn *pgx.Conn) error {
	bk := r.cfg.Bookkeeping
	if err := bk.Ensure(ctx, conn); err != nil {
		return fmt.Errorf("create %s bookkeeping: %w", bk.Name(), err)
	}
	for _, m := range r.base {
		if err := bk.BeforeUp(ctx, conn, m); err != nil {
			return fmt.Errorf("record %s_%s as applied: %w", m.Version, m.Name, err)
		}
		if err := bk.AfterUp(ctx, conn, m); err != nil {
			return fmt.Errorf("record %s_%s as applied: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// up applies m's up with bookkeeping, as the migration tool would.
func (r *runner) up(ctx context.Context, conn *pgx.Conn, m *migrate.Migration) error {
	defer r.timed("up", time.Now())
	defer r.checkAdmin(ctx, conn, "up", m, m.Up.File)
	return r.as(ctx, conn, "up", func() error { return migrate.Up(ctx, conn, m, r.cfg.Bookkeeping, nil) })
}

// down applies migration k's down with bookkeeping.
func (r *runner) down(ctx context.Context, conn *pgx.Conn, k int) error {
	defer r.timed("down", time.Now())
	var prev *migrate.Migration
	if k >= 2 {
		prev = r.next[k-2]
	} else if len(r.base) > 0 {
		prev = r.base[len(r.base)-1]
	}
	m := r.next[k-1]
	if m.Down != nil {
		defer r.checkAdmin(ctx, conn, "down", m, m.Down.File)
	}
	return r.as(ctx, conn, "down", func() error { return migrate.Down(ctx, conn, m, prev, r.cfg.Bookkeeping, nil) })
}

// dataState is what the data chain measured at state k, for the cells.
type dataState struct {
	db string
	// snap is the catalog after the up and the N+1-era writes of step k.
	snap *schema.Snapshot
	// bySteps are fingerprints of the rows each seeding step wrote ("": the
	// N-era rows), regrouped into old and new data per release by split.
	bySteps map[string]fingerprint.Set
	// nonNull counts the non-NULL values of each column ("table.column") of
	// state k, for the columns a down may drop.
	nonNull map[string]int64
	// reseededNote is set when this state descends from a re-seeded one
	// (an earlier up failed on data), for the notes of later migrations.
	reseededNote string
	// mark is what bySteps depend on, so the next measurement can reuse
	// the fingerprints of the tables nothing changed since.
	mark *fingerprint.Mark
}

// all is the fingerprint of every row of the state.
func (s *dataState) all() fingerprint.Set {
	old, new := s.split(nil)
	return fingerprint.Merge(old, new)
}

// split returns the rows written before the release whose seeding steps are
// newSteps shipped (old data), and the rows written in it (new data).
func (s *dataState) split(newSteps map[string]bool) (old, new fingerprint.Set) {
	return fingerprint.SplitSteps(s.bySteps, func(step string) bool { return newSteps[step] })
}

// buildData seeds N-era data on D0, then builds D1..Dn (up, N+1-era writes)
// and starts each migration's cells as soon as its states exist.
func (r *runner) buildData(ctx context.Context, rep *Report) error {
	n := len(r.next)
	d0 := r.dbName("d", 0)
	// The builder holds each state until the next one was cloned from it and
	// its cells were started; the pristine state k until step k is done
	// (a re-seed clones it). See drops.go.
	held := map[string]bool{}
	hold := func(db string) {
		if db != "" && !held[db] {
			held[db] = true
			r.hold(db)
		}
	}
	letGo := func(db string) {
		if held[db] {
			delete(held, db)
			r.letGo(db)
		}
	}
	hold(d0)
	// The pristine states the pristine chain kept (see buildPristine) are
	// held from here on by this builder.
	for k, p := range r.pristine {
		if r.pristineKept[k] {
			held[p] = true
		}
	}
	defer func() {
		for db := range held {
			letGo(db)
		}
	}()
	conn, err := r.connect(ctx, d0)
	if err != nil {
		return err
	}
	snap0, err := r.snapshot(ctx, conn, schema.Options{})
	if err != nil {
		conn.Close(ctx)
		return fmt.Errorf("snapshot release N's schema: %w", err)
	}
	conn.Close(ctx)
	future := r.pristineSnap[n]
	if future == nil {
		future = r.lastPristineSnap()
	}
	if err := r.checkDisk(snap0); err != nil {
		return err
	}
	seedStart := time.Now()
	res, err := r.cfg.Seeder.Base(ctx, r.dsn(d0), snap0, future)
	if err != nil {
		return fmt.Errorf("seed N-era data: %w", err)
	}
	r.timed("seed N-era", seedStart)
	r.addSeeding("n", "", res)
	r.cfg.Logger.Info("seeded N-era data", "seconds", time.Since(seedStart).Seconds())

	conn, err = r.connect(ctx, d0)
	if err != nil {
		return err
	}
	if err := era.Ensure(ctx, conn); err != nil {
		conn.Close(ctx)
		return err
	}
	if err := r.recordBase(ctx, conn); err != nil {
		conn.Close(ctx)
		return err
	}
	snapD0, err := r.snapshot(ctx, conn, schema.Options{})
	if err != nil {
		conn.Close(ctx)
		return fmt.Errorf("snapshot N-era state: %w", err)
	}
	// The mark is taken now, the rest of the measuring once state 1 was
	// cloned from this one (see measuring).
	mark0, err := r.mark(ctx, conn, snapD0, r.userTables(snapD0))
	conn.Close(ctx)
	if err != nil {
		return err
	}
	r.probes.probes = r.cfg.Probes
	r.probes.states = make([][]ProbeOutcome, n+1)
	if r.cfg.ServerProbe != nil {
		r.serverStates = make([][]ProbeOutcome, n+1)
	}
	r.reseeded = make([]string, n+1)
	if r.boot != nil && !r.pristineStarted[0] {
		r.spawnBoot(ctx, 0, bootSchema, r.pristine[0], r.pristineSnap[0])
	}
	letGo(r.pristine[0])

	r.upUnmatched = make([][]string, n+1)
	// State k is measured (fingerprints, probes, contract) in the
	// background once state k+1 was cloned from it, while the chain runs
	// the next up and seeds; its cells start on it when that is done, so
	// they may work on state k itself instead of on a copy (see measuring).
	var background sync.WaitGroup
	defer background.Wait()
	// measureLater starts measuring state k in the background; the holds on
	// it and on its pristine twin (kept for cells the data chain starts)
	// pass to the measuring, which starts the cells.
	measureLater := func(k int, db string, after *schema.Snapshot, since *measuring, mark *fingerprint.Mark, base *fingerprint.Writes, note string) *measuring {
		mk := &measuring{done: make(chan struct{})}
		holds := []string{db}
		if p := r.pristine[k]; held[p] {
			holds = append(holds, p)
		}
		for _, h := range holds {
			delete(held, h)
		}
		background.Add(1)
		go func() {
			defer background.Done()
			r.measureInBackground(ctx, mk, k, db, after, since, mark, base, note, holds)
		}()
		return mk
	}
	var prevM *measuring
	prevDB, prevSnap, prevNote, prevMark := d0, snapD0, "", mark0
	// startPrev runs once state k-1 served as the template of state k.
	startPrev := func() { prevM = measureLater(0, d0, snapD0, nil, mark0, nil, "") }
	for k := 1; k <= n; k++ {
		m := r.next[k-1]
		res := &r.results[k-1]
		name := r.dbName("d", k)
		// prevM measures state k-2 here (state k-1's starts once state k
		// was cloned from it): waiting for it bounds the states waiting to
		// be measured, each a database on disk, to two.
		if prevM != nil {
			if _, err := prevM.wait(); err != nil {
				return err
			}
		}
		if err := r.create(ctx, name, prevDB); err != nil {
			return err
		}
		hold(name)
		startPrev()
		letGo(r.pristine[k-1])
		r.launch()
		conn, err := r.connect(ctx, name)
		if err != nil {
			return err
		}
		// What the up and the seeding write is counted from here: the clone
		// has state k-1's rows, which mark describes, and no counts yet.
		base, err := fingerprint.NewDatabaseWrites(ctx, conn)
		if err != nil {
			conn.Close(ctx)
			return err
		}
		// A clone has its template's catalog, OIDs and relfilenodes included,
		// so the previous state's snapshot is this one's "before".
		before := prevSnap
		r.reseeded[k] = prevNote
		r.upUnmatched[k] = r.unmatched(ctx, conn, m.Up)
		var upErr error
		var upTook time.Duration
		if err := r.withRoles(ctx, name, r.rolesOf(prevDB), func() error {
			t0 := time.Now()
			upErr = r.up(ctx, conn, m)
			upTook = time.Since(t0)
			return r.recordRoles(ctx, name)
		}); err != nil {
			conn.Close(ctx)
			return err
		}
		if upErr != nil {
			conn.Close(ctx)
			letGo(name)
			// The re-seed measures and probes on the chain: state k-1's
			// measuring must be over.
			prevSt, err := prevM.wait()
			if err != nil {
				return err
			}
			res.Checks.Up = r.upFailCheck(k, prevSt.snap, upErr, upTook, prevNote)
			res.Class = r.pristineClass(k)
			if r.pristine[k] == "" {
				// No state k exists at all: nothing later can run.
				r.markNotReached(k)
				return nil
			}
			cur, err := r.reseed(ctx, k)
			if err != nil {
				return err
			}
			hold(cur.db)
			why := "the up failed on data"
			if res.Checks.Up.Status == StatusWarn {
				why = "the up's guard rejected the data"
			}
			for _, c := range []*Check{&res.Checks.DownOnData, &res.Checks.NEraKept, &res.Checks.NextEraLoss} {
				*c = Check{Status: StatusSkip, Error: why + ": no data state after this up to roll back"}
			}
			r.progress(fmt.Sprintf("%s_%s up: %s (%s); data chain re-seeded from the schema after it", m.Version, m.Name, res.Checks.Up.Status, oneline.First(res.Checks.Up.Error)))
			k, cur := k, cur
			prevM = measured(cur)
			startPrev = func() {
				r.startCells(ctx, k, nil, cur)
				letGo(cur.db)
			}
			prevDB, prevSnap, prevNote, prevMark = cur.db, cur.snap, cur.reseededNote, cur.mark
			continue
		}
		res.Checks.Up = checkFromErr(nil, upTook)
		upWrites, err := r.writes(ctx, conn)
		if err != nil {
			conn.Close(ctx)
			return err
		}
		if prevNote != "" {
			res.Checks.Up.Notes = append(res.Checks.Up.Notes, prevNote)
		}
		after, err := r.snapshot(ctx, conn, schema.Options{})
		if err != nil {
			conn.Close(ctx)
			return fmt.Errorf("snapshot after %s: %w", m.Up.File, err)
		}
		// What the up changed is measured beside the seeding, in a snapshot
		// taken before it; only the tables the up can have changed are
		// fingerprinted again. The step is classified from it in the
		// background, once state k-1 was measured.
		au, err := r.startAfterUp(ctx, conn, k, prevM, prevMark, upWrites.Since(base), before, after, present(after, r.userTables(before)), &background)
		if err != nil {
			conn.Close(ctx)
			return fmt.Errorf("fingerprint after %s: %w", m.Up.File, err)
		}

		// The seeder works on this connection and leaves it for the mark.
		tSeed := time.Now()
		seedRes, err := r.cfg.Seeder.NextInRelease(seed.WithConn(ctx, conn), r.dsn(name), m.Version+"_"+m.Name, before, after, r.endSnapshot(k, after))
		if err != nil {
			conn.Close(ctx)
			return fmt.Errorf("seed N+1-era data after %s: %w", m.Up.File, err)
		}
		r.timed("seed N+1-era", tSeed)
		r.addSeeding("next", m.Version+"_"+m.Name, seedRes)
		if conn.IsClosed() || conn.PgConn().TxStatus() != 'I' {
			conn.Close(ctx)
			if conn, err = r.connect(ctx, name); err != nil {
				return err
			}
		}

		// A template has no other session: the measurement's must be gone.
		<-au.released
		// Seeding writes rows, never schema: the snapshot after the up
		// stands. The mark is taken here, the fingerprints on state k once
		// state k+1 was cloned from it (nothing writes in between).
		mark, err := r.mark(ctx, conn, after, r.userTables(after))
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("measure state after %s: %w", m.Up.File, err)
		}
		k, since, note := k, prevM, prevNote
		startPrev = func() { prevM = measureLater(k, name, after, since, mark, base, note) }
		prevDB, prevSnap, prevMark = name, after, mark
	}
	startPrev()
	_, err = prevM.wait()
	return err
}

// measuring is a data state measured in the background: st and err are
// set once done is closed.
type measuring struct {
	done chan struct{}
	st   *dataState
	err  error
}

// measured is a state measured already.
func measured(st *dataState) *measuring {
	m := &measuring{done: make(chan struct{}), st: st}
	close(m.done)
	return m
}

func (m *measuring) wait() (*dataState, error) {
	<-m.done
	return m.st, m.err
}

// measureInBackground measures state k (database db, marked with mark when
// the chain left it; sinceM measures state k-1, nil for the N-era state
// k = 0; base the write counters read when db had state k-1's rows) on its
// own connection: the fingerprints, release N's probes, the contract probes
// and the size; then it starts the state's cells and lets go of holds. A
// failure fails the run.
func (r *runner) measureInBackground(ctx context.Context, mk *measuring, k int, db string, after *schema.Snapshot, sinceM *measuring, mark *fingerprint.Mark, base *fingerprint.Writes, note string, holds []string) {
	letGo := func() {
		for _, h := range holds {
			r.letGo(h)
		}
		holds = nil
	}
	defer letGo()
	closed := false
	done := func() {
		if !closed {
			closed = true
			close(mk.done)
		}
	}
	defer done()
	what := "the N-era state"
	if k > 0 {
		what = "state after " + r.next[k-1].Up.File
	}
	fail := func(err error) {
		err = fmt.Errorf("measure %s: %w", what, err)
		r.fail(err)
		if !closed {
			mk.err = err
		}
	}
	var since *dataState
	var diff *schema.Changeset
	if sinceM != nil {
		var err error
		if since, err = sinceM.wait(); err != nil {
			fail(err)
			return
		}
		diff = schema.Diff(since.snap, after)
	}
	conn, err := r.connect(ctx, db)
	if err != nil {
		fail(err)
		return
	}
	defer conn.Close(context.Background())
	var written *fingerprint.Written
	if base != nil {
		// The chain and the seeder left db before it was cloned: their
		// counts are all in.
		now, err := r.writes(ctx, conn)
		if err != nil {
			fail(err)
			return
		}
		written = now.Since(base)
	}
	st, counts, err := r.measureMarked(ctx, conn, db, after, since, mark, written)
	if err != nil {
		fail(err)
		return
	}
	st.reseededNote = note
	mk.st = st
	if k > 0 {
		r.results[k-1].Fingerprints.State = counts
		// The chain's next measurement needs only the fingerprints and
		// the mark's counts; the probes and the cells follow.
		done()
	}
	tProbe := time.Now()
	r.probes.states[k], err = r.probe(ctx, conn)
	r.timed("probes", tProbe)
	if err != nil {
		fail(err)
		return
	}
	if k == 0 {
		// Every later state runs the contract probes synthesized here:
		// state 1's measuring, which waits for done, must find them.
		r.contractBase(ctx, conn, after)
		done()
	} else {
		r.contractState(ctx, conn, k, st.snap, diff)
	}
	r.noteStateSize(ctx, conn)
	conn.Close(ctx)
	if k > 0 {
		r.startCells(ctx, k, since, st)
	} else {
		if r.cfg.ServerProbe != nil {
			r.spawnServerProbe(ctx, 0, db)
		}
		if r.boot != nil {
			r.spawnBoot(ctx, 0, bootData, db, st.snap)
		}
	}
	letGo()
	r.launch()
}

// startAfterUp measures, beside the seeding, what step k's up left on the
// database chain is on (after: its catalog now; before: the catalog mark
// was taken on) against state k-1 (since): which of tables it can have
// changed, and their fingerprints; then it classifies the step. Where the
// write counters tell what the up wrote (written), that is known at once,
// and a connection of its own fingerprints only the tables the up touched;
// else it scans for rows written since the mark. Either way its snapshot is
// taken before it returns, so the N+1-era rows the seeder then writes are
// not seen. The result's released is closed once it left the database; wg
// counts it, and a failure fails the run.
func (r *runner) startAfterUp(ctx context.Context, chain *pgx.Conn, k int, since *measuring, mark *fingerprint.Mark, written *fingerprint.Written, before, after *schema.Snapshot, tables []string, wg *sync.WaitGroup) (*afterUp, error) {
	a := &afterUp{released: make(chan struct{})}
	var touching *fingerprint.Touching
	var first []string
	if written != nil {
		t0 := time.Now()
		var err error
		touching, err = mark.TouchedSoFar(ctx, chain, before, after, tables, written)
		r.timed("touched", t0)
		if err != nil {
			return nil, fmt.Errorf("measure what changed since the state before: %w", err)
		}
		first, _ = fingerprint.Split(tables, touching.Why)
	}
	var conn *pgx.Conn
	if written == nil || len(first) > 0 {
		var err error
		if conn, err = r.connect(ctx, chain.Config().Database); err != nil {
			return nil, err
		}
		// REPEATABLE READ: every statement sees the snapshot the first took.
		if _, err = conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err == nil {
			_, err = conn.Exec(ctx, "SELECT 1")
		}
		if err != nil {
			conn.Close(ctx)
			return nil, fmt.Errorf("take a snapshot after the up: %w", err)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var once sync.Once
		release := func() {
			once.Do(func() {
				if conn != nil {
					// Closing ends the transaction.
					conn.Close(context.Background())
				}
				close(a.released)
			})
		}
		defer release()
		err := r.measureAfterUp(ctx, conn, a, since, mark, touching, first, before, after, tables, release)
		if err == nil {
			err = r.classify(k, since, a, after)
		}
		if err != nil {
			r.fail(fmt.Errorf("fingerprint after %s: %w", r.next[k-1].Up.File, err))
		}
	}()
	return a, nil
}

// measureAfterUp fingerprints what the up can have changed, on conn (its
// snapshot right after the up; nil when touching, known already, needs no
// table fingerprinted), then calls release once conn is no longer needed.
func (r *runner) measureAfterUp(ctx context.Context, conn *pgx.Conn, a *afterUp, since *measuring, mark *fingerprint.Mark, touching *fingerprint.Touching, first []string, before, after *schema.Snapshot, tables []string, release func()) error {
	if touching == nil {
		t0 := time.Now()
		var err error
		touching, err = mark.TouchedSoFar(ctx, conn, before, after, tables, nil)
		r.timed("touched", t0)
		if err != nil {
			return fmt.Errorf("measure what changed since the state before: %w", err)
		}
		first, _ = fingerprint.Split(tables, touching.Why)
	}
	all := fingerprint.Set{}
	if len(first) > 0 {
		var err error
		if all, err = r.fingerprint(ctx, conn, after, fingerprint.All, first); err != nil {
			return err
		}
	}
	if !touching.ComparesRowCounts() {
		// Settle adds at most tables state k-1's mark did not measure, and
		// it measures every table: the chain may clone this state already.
		release()
	}
	if _, err := since.wait(); err != nil {
		return err
	}
	why := touching.Settle()
	take, reuse := fingerprint.Split(tables, why)
	var more []string
	for _, name := range take {
		if _, ok := all[name]; !ok {
			more = append(more, name)
		}
	}
	if len(more) > 0 {
		if conn == nil || conn.IsClosed() {
			return fmt.Errorf("tables %v found touched once the state before was measured, after the snapshot of the up was let go", more)
		}
		got, err := r.fingerprint(ctx, conn, after, fingerprint.All, more)
		if err != nil {
			return err
		}
		for name, fp := range got {
			all[name] = fp
		}
	}
	release()
	a.all, a.take, a.reuse, a.why = all, take, reuse, why
	return nil
}

// afterUp is startAfterUp's measurement: all fingerprints the tables of
// take (the others, reuse, are unchanged since the state before; why says
// why each was taken). released is closed once it left the database.
type afterUp struct {
	released    chan struct{}
	all         fingerprint.Set
	take, reuse []string
	why         map[string]string
}

// classify records step k's class, changes and rewrites, from what its up
// changed (a) against state k-1 (since, measured by now).
func (r *runner) classify(k int, since *measuring, a *afterUp, after *schema.Snapshot) error {
	prevSt, err := since.wait()
	if err != nil {
		return err
	}
	m := r.next[k-1]
	res := &r.results[k-1]
	before := prevSt.snap
	afterAll := a.all
	prevAll := prevSt.all()
	for _, name := range a.reuse {
		afterAll[name] = prevAll[name]
	}
	res.Fingerprints.AfterUp = tableCounts(a.take, a.reuse, a.why)
	diff := schema.Diff(before, after)
	changed := dataChanged(prevAll, renamedLike(afterAll, after, before), diff)
	res.Class = schema.Classify(diff, changed)
	if res.Class == schema.ClassNone && m.Up.WritesData() {
		res.Class = schema.ClassBackfill
		res.Checks.Up.Notes = append(res.Checks.Up.Notes, "writes data but changed no row of the seeded data: not rehearsed on matching data")
	}
	res.Changes = schema.Changes(diff)
	judged := map[string]bool{}
	for _, t := range r.userTables(before) {
		judged[t] = true
	}
	for _, rw := range schema.Rewrites(before, after) {
		// The tool's own bookkeeping table is rewritten by the tool
		// (e.g. a TRUNCATE), never by the migration.
		if judged[rw.Table] {
			res.Rewrites = append(res.Rewrites, Rewrite{Table: rw.Table, Rows: rw.Rows})
		}
	}
	if len(res.Rewrites) > 0 {
		res.Checks.Up.Notes = append(res.Checks.Up.Notes, rewriteNote(res.Rewrites))
	}
	return nil
}

// endSnapshot returns the schema at the end of migration k's release (from
// the pristine chain), for the seeder: rows written after step k are what
// the release's code writes, valid under what its later steps add. Tables
// carry the OIDs of the data chain's state after (the two chains give the
// tables a release creates different OIDs); nil when k ends its release.
func (r *runner) endSnapshot(k int, after *schema.Snapshot) *schema.Snapshot {
	var es *schema.Snapshot
	for j := r.releaseEnd(k); j > k && es == nil; j-- {
		es = r.pristineSnap[j]
	}
	pk := r.pristineSnap[k]
	if es == nil || pk == nil {
		return nil
	}
	oids := map[uint32]uint32{}
	for name, pt := range pk.Tables {
		if at := after.Tables[name]; at != nil {
			oids[pt.OID] = at.OID
		}
	}
	cp := es.WithOwnTables()
	for _, t := range cp.Tables {
		t.OID = oids[t.OID] // 0 (never matched by OID) for tables created later
	}
	return cp
}

func (r *runner) lastPristineSnap() *schema.Snapshot {
	for k := len(r.pristineSnap) - 1; k >= 0; k-- {
		if r.pristineSnap[k] != nil {
			return r.pristineSnap[k]
		}
	}
	return nil
}

// pristineClass classifies migration k from the pristine chain, for a
// migration whose up failed on data.
func (r *runner) pristineClass(k int) string {
	if r.pristineSnap[k] == nil || r.pristineSnap[k-1] == nil {
		return "unknown"
	}
	class := schema.Classify(schema.Diff(r.pristineSnap[k-1], r.pristineSnap[k]), false)
	if class == schema.ClassNone && r.next[k-1].Up.WritesData() {
		return schema.ClassBackfill
	}
	return class
}

func (r *runner) markNotReached(k int) {
	failed := r.next[k-1]
	for j := k + 1; j <= len(r.next); j++ {
		res := &r.results[j-1]
		res.Class = r.pristineClass(j)
		for _, nc := range res.Checks.List() {
			*nc.Check = Check{Status: StatusSkip, Error: fmt.Sprintf("not reached: the up of %s_%s failed on data", failed.Version, failed.Name)}
		}
	}
	res := &r.results[k-1]
	for _, nc := range res.Checks.List() {
		if nc.Name != CheckUp {
			*nc.Check = Check{Status: StatusSkip, Error: "up failed on data"}
		}
	}
	r.progress(fmt.Sprintf("%s_%s up: fail (%s)", failed.Version, failed.Name, res.Checks.Up.Error))
}

// measureState fingerprints a finished state of the data chain (N-era and
// N+1-era rows in one scan per table); see measureMarked.
func (r *runner) measureState(ctx context.Context, conn *pgx.Conn, db string, snap *schema.Snapshot, since *dataState) (*dataState, TableCounts, error) {
	// The mark comes first: a write after it is seen by the next measurement.
	mark, err := r.mark(ctx, conn, snap, r.userTables(snap))
	if err != nil {
		return nil, TableCounts{}, err
	}
	return r.measureMarked(ctx, conn, db, snap, since, mark, nil)
}

// measureMarked fingerprints state db, marked with mark (on it or on the
// database it was cloned from, with no write since), and records each
// table's row count in a copy of snap, for the rewrite report of the next
// up. Tables nothing can have changed since state since (nil: none) keep
// their fingerprints; written is what the write counters say was written
// since (nil: unknown).
func (r *runner) measureMarked(ctx context.Context, conn *pgx.Conn, db string, snap *schema.Snapshot, since *dataState, mark *fingerprint.Mark, written *fingerprint.Written) (*dataState, TableCounts, error) {
	st := &dataState{db: db, nonNull: map[string]int64{}}
	bySteps, counts, err := r.stepsSince(ctx, conn, since, snap, r.userTables(snap), written)
	if err != nil {
		return nil, TableCounts{}, err
	}
	st.bySteps, st.mark = bySteps, mark
	all := st.all()
	mark.Counted(all)
	// A copy: the chain reads snap while this runs in the background.
	cp := snap.WithOwnTables()
	for name, fp := range all {
		cp.Tables[name].Rows = fp.Rows
		for col, n := range fp.NonNull {
			st.nonNull[name+"."+col] = n
		}
	}
	st.snap = cp
	return st, counts, nil
}

// userTables lists the tables whose data is judged: all but the bookkeeping
// table, whose rows change by design.
func (r *runner) userTables(snap *schema.Snapshot) []string {
	bkTable := r.cfg.Bookkeeping.Table()
	if bkTable != "" && !strings.Contains(bkTable, ".") {
		bkTable = "public." + bkTable
	}
	var out []string
	for name := range snap.Tables {
		if name != bkTable {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// dataChanged reports whether an up changed data beyond what its schema
// change implies: rows added or removed, or values changed in a column
// whose type it did not change (a backfill).
func dataChanged(before, after fingerprint.Set, d *schema.Changeset) bool {
	retyped := map[string]bool{}
	for _, c := range d.Changes {
		if c.Kind == "column-type" {
			retyped[c.Table+"."+c.Column] = true
		}
	}
	for _, df := range fingerprint.Compare(before, after) {
		switch df.Kind {
		case "row-count":
			return true
		case "column-content":
			if !retyped[df.Table+"."+df.Column] {
				return true
			}
		}
	}
	return false
}

func (r *runner) addSeeding(era, after string, res *seed.Result) {
	if res == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range res.Notes {
		if !slices.Contains(r.seedingNotes, n) {
			r.seedingNotes = append(r.seedingNotes, n)
		}
	}
	for _, t := range res.Tables {
		ts := TableSeed{Table: t.Table, Era: era, After: after, Rows: t.Rows, Error: t.Skipped}
		if len(t.Unsatisfied) > 0 {
			msg := "could not satisfy CHECK on " + strings.Join(t.Unsatisfied, ", ")
			if ts.Error != "" {
				ts.Error += "; " + msg
			} else {
				ts.Error = msg
			}
		}
		r.seeding = append(r.seeding, ts)
	}
}

func rewriteNote(rws []Rewrite) string {
	parts := make([]string, len(rws))
	for i, rw := range rws {
		parts[i] = fmt.Sprintf("%s (%d rows)", rw.Table, rw.Rows)
	}
	return "rewrites " + strings.Join(parts, ", ") + ": an exclusive lock for the whole rewrite in production"
}

// checkFromErr turns a migration error into a check, keeping the SQLSTATE
// and the file:line of the failing statement.
func checkFromErr(err error, d time.Duration) Check {
	c := Check{Status: StatusOK, Seconds: d.Seconds()}
	if err == nil {
		return c
	}
	c.Status = StatusFail
	c.Error = err.Error()
	var ae *migrate.ApplyError
	if errors.As(err, &ae) {
		c.File, c.Line, c.SQLState = ae.File, ae.Line, ae.SQLState
		c.Detail = ae.Statement
	}
	var pgErr *pgconn.PgError
	if c.SQLState == "" && errors.As(err, &pgErr) {
		c.SQLState = pgErr.Code
	}
	if note := privilegeNote(err); note != "" {
		c.Notes = append(c.Notes, note)
	}
	return c
}

func (r *runner) progress(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.cfg.Progress, "[%d/%d] %s\n", r.done, r.total, line)
}

func (r *runner) cellDone(line string) {
	r.mu.Lock()
	r.done++
	fmt.Fprintf(r.cfg.Progress, "[%d/%d] %s\n", r.done, r.total, line)
	r.mu.Unlock()
}

func (r *runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cellErr == nil {
		r.cellErr = err
	}
}

// unmatched lists the UPDATE/DELETE ... WHERE statements of script whose
// WHERE selects no row of the database conn is on: their effect on data
// is not rehearsed. A count that cannot run (its table is created by the
// same script) is left out.
func (r *runner) unmatched(ctx context.Context, conn *pgx.Conn, script *migrate.Script) []string {
	_, dml := migrate.Analyze(script)
	var out []string
	for _, d := range dml {
		if d.Count == "" {
			continue
		}
		var n int64
		err := func() error {
			tx, err := conn.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			return tx.QueryRow(ctx, d.Count).Scan(&n)
		}()
		if err != nil {
			r.cfg.Logger.Debug("count rows a WHERE selects", "statement", d.String(), "err", err)
			continue
		}
		if n == 0 {
			out = append(out, d.String())
		}
	}
	return out
}

// notRehearsed marks c (a check that passed) as a warning: the statements
// matched no seeded row, so "data survived" would claim too much.
func notRehearsed(c *Check, stmts []string) {
	if len(stmts) == 0 {
		return
	}
	msg := "not rehearsed on matching data: " + strings.Join(stmts, ", ") + " selected no seeded row (pin matching values in a --profile)"
	c.Notes = append(c.Notes, msg)
	if c.Status == StatusOK {
		c.Status, c.Error = StatusWarn, msg
	}
}
