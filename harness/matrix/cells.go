package matrix

import (
	"context"
	"fmt"
	"github.com/jackc/pgx/v5"
	"sort"
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// startCells runs migration k's cells in the background, each on state k
// itself or a clone of it (see cellDB): down on data (downOnData, nEraKept, nextEraLoss) and down on the
// pristine schema (downPristine, schemaRestored, roundTrip).
func (r *runner) startCells(ctx context.Context, k int, prev, cur *dataState) {
	m := r.next[k-1]
	res := &r.results[k-1]
	label := m.Version + "_" + m.Name
	if m.Down == nil {
		msg := "no down file: " + expectedDownName(m)
		// One failing check carries the defect; the others were not measured.
		for _, name := range []string{CheckDownPristine, CheckSchemaRestored, CheckNEraKept, CheckNextEraLoss, CheckRoundTrip} {
			*res.Checks.Get(name) = Check{Status: StatusSkip, Error: msg}
		}
		res.Checks.DownOnData = Check{Status: StatusFail, Error: msg}
		r.cellDone(label + " down: fail (" + msg + ")")
		r.cellDone(label + " pristine: fail (" + msg + ")")
	} else {
		if prev == nil {
			// The up failed on data: state k was re-seeded, there is no data
			// state before it to compare with (the checks say why).
			r.cellDone(label + " down on data: skip (the up failed on data)")
		} else {
			r.spawn(ctx, label+" down on data", cur.db, func(ctx context.Context, l *lease) (string, error) {
				return r.downOnDataCell(ctx, l, k, prev, cur)
			})
		}
		if !r.pristineStarted[k] {
			r.spawnPristine(ctx, k)
		}
	}
	if r.cfg.ServerProbe != nil {
		r.spawnServerProbe(ctx, k, cur.db)
	}
	if r.boot != nil {
		r.spawnBoot(ctx, k, bootData, cur.db, cur.snap)
		if r.pristine[k] != "" && !r.pristineStarted[k] {
			r.spawnBoot(ctx, k, bootSchema, r.pristine[k], r.pristineSnap[k])
		}
	}
}

// spawnPristine starts migration k's cell on the pristine state k.
func (r *runner) spawnPristine(ctx context.Context, k int) {
	m := r.next[k-1]
	r.spawn(ctx, m.Version+"_"+m.Name+" down pristine", r.pristine[k], func(ctx context.Context, l *lease) (string, error) {
		return r.pristineCell(ctx, l, k)
	})
}

func expectedDownName(m *migrate.Migration) string {
	if strings.HasSuffix(m.Up.File, ".up.sql") {
		return strings.TrimSuffix(m.Up.File, ".up.sql") + ".down.sql is missing"
	}
	return m.Up.File + " has no down section"
}

// spawn runs a cell under the parallelism limit, once launched (see
// launch: the builder launches cells after it let go of their states). A
// cell returns a one-line summary for the progress output, or an error when
// the harness itself failed (not the migration). The cell holds state
// database on through its lease until it ends or cloned it (see drops.go).
func (r *runner) spawn(ctx context.Context, label, on string, cell func(context.Context, *lease) (string, error)) {
	r.wg.Add(1)
	l := r.newLease(on)
	start := func() {
		go func() {
			defer r.wg.Done()
			defer l.release()
			select {
			case r.sem <- struct{}{}:
			case <-ctx.Done():
				r.fail(ctx.Err())
				return
			}
			defer func() { <-r.sem }()
			cctx, cancel := context.WithTimeout(ctx, r.cfg.CellTimeout)
			defer cancel()
			summary, err := cell(cctx, l)
			if err != nil {
				r.fail(fmt.Errorf("%s: %w", label, err))
				return
			}
			r.cellDone(label + ": " + summary)
		}()
	}
	r.mu.Lock()
	r.queued = append(r.queued, start)
	r.mu.Unlock()
}

// openCell connects to the database cell k of kind may change: its state
// itself when the cell is the state's last user, else a clone (see
// cellDB); release closes it and drops the clone (the state is dropped by
// its last holder).
func (r *runner) openCell(ctx context.Context, l *lease, kind string, k int) (*pgx.Conn, func(), error) {
	db, dropClone, err := r.cellDB(ctx, l, kind, k)
	if err != nil {
		return nil, nil, err
	}
	conn, err := r.connect(ctx, db)
	if err != nil {
		dropClone()
		return nil, nil, err
	}
	return conn, func() { conn.Close(context.Background()); dropClone() }, nil
}

// downOnDataCell applies the down on state k (N-era plus N+1-era data; or
// a clone, see cellDB) and compares what is left with state k-1.
func (r *runner) downOnDataCell(ctx context.Context, l *lease, k int, prev, cur *dataState) (string, error) {
	res := &r.results[k-1]
	conn, release, err := r.openCell(ctx, l, "dd", k)
	if err != nil {
		return "", err
	}
	defer release()

	downUnmatched := r.unmatched(ctx, conn, r.next[k-1].Down)
	// The state has cur's rows now (its measuring is over), so what the
	// down writes is counted from here.
	base, err := r.writes(ctx, conn)
	if err != nil {
		return "", err
	}
	t0 := time.Now()
	var downErr error
	if err := r.withRoles(ctx, conn.Config().Database, r.rolesOf(cur.db), func() error {
		downErr = r.down(ctx, conn, k)
		return nil
	}); err != nil {
		return "", err
	}
	res.Checks.DownOnData = checkFromErr(downErr, time.Since(t0))
	notRehearsed(&res.Checks.DownOnData, downUnmatched)
	if downErr != nil {
		// A skip says why: nothing to compare after a failed down.
		why := "the down failed on data (see " + CheckDownOnData + "): no state to compare"
		res.Checks.NEraKept = Check{Status: StatusSkip, Error: why}
		res.Checks.NextEraLoss = Check{Status: StatusSkip, Error: why}
		return "fail (" + oneline.First(downErr.Error()) + ")", nil
	}
	after, err := r.snapshot(ctx, conn, schema.Options{})
	if err != nil {
		return "", fmt.Errorf("snapshot after down: %w", err)
	}
	// Old data: the rows and values of state k-1 that existed before k's
	// release shipped (N-era rows and rows earlier releases of the window
	// wrote) must come back exactly. New data (rows k's release wrote) may
	// be lost, and that is counted. Rows are found by table OID, so a table
	// the down renamed back is the same table.
	newSteps := r.releaseSteps(k)
	prevOld, _ := prev.split(newSteps)
	_, curNew := cur.split(newSteps)
	t1 := time.Now()
	nTables := present(after, keys(prevOld))
	xTables := presentByOID(after, cur.snap, keys(curNew))
	now, err := r.writes(ctx, conn)
	if err != nil {
		return "", err
	}
	bySteps, counts, err := r.stepsSince(ctx, conn, cur, after, union(nTables, xTables), now.Since(base))
	res.Fingerprints.AfterDown = counts
	if err != nil {
		return "", fmt.Errorf("fingerprint data after down: %w", err)
	}
	oldAfter, newAfter := fingerprint.SplitSteps(bySteps, func(step string) bool { return newSteps[step] })
	oldAfter = renamedLike(only(oldAfter, nTables), after, prev.snap)
	res.Checks.NEraKept = compareCheck(prevOld, oldAfter, "data older than release "+r.releaseName(k)+" differs from before the up", time.Since(t1))
	notRehearsed(&res.Checks.NEraKept, r.upUnmatched[k])
	t2 := time.Now()
	newAfter = renamedLike(only(newAfter, xTables), after, cur.snap)
	res.Checks.NextEraLoss = lossCheck(curNew, cur.nonNull, newAfter, schema.Diff(cur.snap, after), time.Since(t2))
	return fmt.Sprintf("downOnData ok, nEraKept %s, nextEraLoss %s", res.Checks.NEraKept.Status, res.Checks.NextEraLoss.Status), nil
}

// pristineCell applies the down on the pristine state k (or a clone), diffs
// the schema with state k-1, then re-applies the up (round trip).
func (r *runner) pristineCell(ctx context.Context, l *lease, k int) (string, error) {
	res := &r.results[k-1]
	if r.pristine[k] == "" {
		msg := "the up fails on an empty schema"
		if r.pristineErr[k] != nil {
			msg += ": " + oneline.First(r.pristineErr[k].Error())
		}
		for _, name := range []string{CheckDownPristine, CheckSchemaRestored, CheckRoundTrip} {
			*res.Checks.Get(name) = Check{Status: StatusSkip, Error: msg}
		}
		return "skip (" + msg + ")", nil
	}
	conn, release, err := r.openCell(ctx, l, "dp", k)
	if err != nil {
		return "", err
	}
	defer release()

	// The down and the round trip run as one sequence with the roles of
	// state k, then each is compared with the roles it should leave.
	err = r.withRoles(ctx, conn.Config().Database, r.rolesOf(r.pristine[k]), func() error {
		t0 := time.Now()
		downErr := r.down(ctx, conn, k)
		res.Checks.DownPristine = checkFromErr(downErr, time.Since(t0))
		if downErr != nil {
			why := "the down failed on an empty schema (see " + CheckDownPristine + "): no state to compare"
			res.Checks.SchemaRestored = Check{Status: StatusSkip, Error: why}
			res.Checks.RoundTrip = Check{Status: StatusSkip, Error: why}
			return nil
		}
		t1 := time.Now()
		after, err := r.snapshot(ctx, conn, schema.Options{})
		if err != nil {
			return fmt.Errorf("snapshot after down: %w", err)
		}
		res.Checks.SchemaRestored = schemaCheck(schema.Diff(r.pristineSnap[k-1], after), "schema after down differs from before the up", time.Since(t1))
		if err := r.checkRoles(ctx, &res.Checks.SchemaRestored, r.rolesOf(r.pristine[k-1]), "roles after down differ from before the up"); err != nil {
			return err
		}

		t2 := time.Now()
		upErr := r.up(ctx, conn, r.next[k-1])
		if upErr != nil {
			res.Checks.RoundTrip = checkFromErr(upErr, time.Since(t2))
			res.Checks.RoundTrip.Error = "up after down fails: " + res.Checks.RoundTrip.Error
			return nil
		}
		again, err := r.snapshot(ctx, conn, schema.Options{})
		if err != nil {
			return fmt.Errorf("snapshot after round trip: %w", err)
		}
		res.Checks.RoundTrip = schemaCheck(schema.Diff(r.pristineSnap[k], again), "up after down gives a different schema", time.Since(t2))
		return r.checkRoles(ctx, &res.Checks.RoundTrip, r.rolesOf(r.pristine[k]), "roles after up-down-up differ from after the up")
	})
	if err != nil {
		return "", err
	}
	if res.Checks.DownPristine.Status == StatusFail {
		return "fail (" + oneline.First(res.Checks.DownPristine.Error) + ")", nil
	}
	return fmt.Sprintf("downPristine ok, schemaRestored %s, roundTrip %s", res.Checks.SchemaRestored.Status, res.Checks.RoundTrip.Status), nil
}

// Boot probe states: release N's boot is probed on every state twice, on
// the schema alone and with data, because data can hide a non-rerunnable up
// (CREATE TABLE IF NOT EXISTS over a dropped table) and the schema alone can
// hide a constraint the data violates.
const (
	bootSchema = iota
	bootData
)

var bootStateNames = [2]string{"schema", "data"}

// spawnBoot probes release N's boot on state k (db, snap) of the given kind.
func (r *runner) spawnBoot(ctx context.Context, k, kind int, db string, snap *schema.Snapshot) {
	r.mu.Lock()
	r.total++
	r.mu.Unlock()
	r.spawn(ctx, fmt.Sprintf("state %d boot probe (%s)", k, bootStateNames[kind]), db, func(ctx context.Context, l *lease) (string, error) {
		return r.bootCell(ctx, l, k, kind, db, snap)
	})
}

// checkRoles fails c when the migration-created roles differ from want
// (only when roles are managed: see roles.go).
func (r *runner) checkRoles(ctx context.Context, c *Check, want []roleRef, msg string) error {
	if !r.roles.active {
		return nil
	}
	got, err := r.migrationRoles(ctx)
	if err != nil {
		return err
	}
	d := rolesDiff(want, got)
	if d == "" {
		return nil
	}
	if c.Status != StatusFail {
		c.Status, c.Error = StatusFail, msg+": "+oneline.First(d)
	}
	c.Detail = strings.TrimSpace(c.Detail + "\n" + d)
	return nil
}

// bootCell probes what release N's server does at boot when the app keeps no
// bookkeeping: it re-runs every one of N's up files over a state (or a copy of it).
func (r *runner) bootCell(ctx context.Context, l *lease, k, kind int, db string, snap *schema.Snapshot) (string, error) {
	conn, release, err := r.openCell(ctx, l, []string{"bs", "bd"}[kind], k)
	if err != nil {
		return "", err
	}
	defer release()
	var out ProbeOutcome
	var note string
	err = r.withRoles(ctx, conn.Config().Database, r.rolesOf(db), func() error {
		for _, m := range r.base {
			if err := r.as(ctx, conn, "boot", func() error { return migrate.Apply(ctx, conn, m.Up) }); err != nil {
				c := checkFromErr(err, 0)
				out = ProbeOutcome{Err: "release N's boot (re-running its up files) fails: " + c.Error, SQLState: c.SQLState}
				return nil
			}
		}
		after, err := r.snapshot(ctx, conn, schema.Options{})
		if err != nil {
			return fmt.Errorf("snapshot after boot: %w", err)
		}
		if d := schema.Diff(snap, after); !d.Empty() {
			note = fmt.Sprintf("release N's boot changed the schema of state %d (%s; re-added what N+1 changed?):\n%s", k, bootStateNames[kind], d.String())
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.boot[k][kind] = &out
	if note != "" {
		r.bootNotes[k] = append(r.bootNotes[k], note)
	}
	r.mu.Unlock()
	if out.OK() {
		return "boot ok", nil
	}
	return "boot fail", nil
}

// mergeBootProbes appends the boot outcomes to the probes of each state as
// two more probes, so a boot failure is attributed like a SQL probe's: on
// release N's own state it is a release-level finding, otherwise it is
// blamed on the first migration after which it fails.
func (r *runner) mergeBootProbes() {
	if r.boot == nil {
		return
	}
	r.probes.probes = append([]Probe(nil), r.probes.probes...)
	for _, st := range bootStateNames {
		r.probes.probes = append(r.probes.probes, Probe{Name: "release N's boot on the " + st, SQL: "(re-runs release N's up files)", bootState: st})
	}
	for k, st := range r.probes.states {
		if st == nil {
			continue
		}
		for kind := range bootStateNames {
			o := ProbeOutcome{}
			// A state without a pristine twin (its up failed on an empty
			// schema) has nothing to boot on: not counted as a failure.
			if b := r.boot[k][kind]; b != nil {
				o = *b
			}
			st = append(st, o)
		}
		r.probes.states[k] = st
	}
}

func compareCheck(before, after fingerprint.Set, msg string, d time.Duration) Check {
	diffs := fingerprint.Compare(before, after)
	if len(diffs) == 0 {
		return Check{Status: StatusOK, Seconds: d.Seconds(), Notes: []string{fmt.Sprintf("%d tables equal", len(before))}}
	}
	lines := make([]string, len(diffs))
	for i, df := range diffs {
		lines[i] = df.String()
	}
	return Check{Status: StatusFail, Error: fmt.Sprintf("%s: %s", msg, lines[0]), Detail: strings.Join(lines, "\n"), Seconds: d.Seconds()}
}

func schemaCheck(d *schema.Changeset, msg string, dur time.Duration) Check {
	if d.Empty() {
		return Check{Status: StatusOK, Seconds: dur.Seconds()}
	}
	if d.OnlyColumnOrder() {
		return Check{Status: StatusOK, Seconds: dur.Seconds(), Notes: []string{"column order differs (a dropped and re-added column goes last): " + oneline.First(d.String())}, Detail: d.String()}
	}
	return Check{Status: StatusFail, Error: msg + ": " + oneline.First(d.String()), Detail: d.String(), Seconds: dur.Seconds()}
}

// lossCheck counts the N+1-era data a down lost: N+1-era rows gone or
// changed, and values in columns the down dropped.
func lossCheck(curNew fingerprint.Set, nonNull map[string]int64, after fingerprint.Set, down *schema.Changeset, d time.Duration) Check {
	var lines []string
	var rowsLost int64
	changed := 0
	for _, df := range fingerprint.Compare(curNew, after) {
		switch df.Kind {
		case "missing-table":
			if t := curNew[df.Table]; t != nil && t.Rows > 0 {
				rowsLost += t.Rows
				lines = append(lines, fmt.Sprintf("%s: table dropped, %d N+1-era rows lost", df.Table, t.Rows))
			}
		case "row-count":
			lines = append(lines, df.String())
			rowsLost += parseInt(df.Before) - parseInt(df.After)
		case "missing-column":
			// counted below from the down's own diff, with the values it held
		default:
			changed++
			lines = append(lines, df.String()+" (N+1-era values changed by the down)")
		}
	}
	var valuesLost int64
	for _, c := range down.Changes {
		if c.Kind != "drop-column" {
			continue
		}
		if n := nonNull[c.Table+"."+c.Column]; n > 0 {
			valuesLost += n
			lines = append(lines, fmt.Sprintf("%s.%s: column dropped, %d non-NULL values lost", c.Table, c.Column, n))
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return Check{Status: StatusOK, Seconds: d.Seconds()}
	}
	var parts []string
	if rowsLost > 0 {
		parts = append(parts, fmt.Sprintf("%d N+1-era rows lost", rowsLost))
	}
	if valuesLost > 0 {
		parts = append(parts, fmt.Sprintf("%d values in dropped columns lost", valuesLost))
	}
	if changed > 0 {
		parts = append(parts, fmt.Sprintf("N+1-era values changed in %d columns", changed))
	}
	summary := strings.Join(parts, ", ")
	return Check{Status: StatusWarn, Error: summary, Detail: strings.Join(lines, "\n"), Seconds: d.Seconds()}
}

func parseInt(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

func keys(s fingerprint.Set) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range append(append([]string(nil), a...), b...) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// only keeps the named tables of set.
func only(set fingerprint.Set, tables []string) fingerprint.Set {
	out := fingerprint.Set{}
	for _, t := range tables {
		if fp, ok := set[t]; ok {
			out[t] = fp
		}
	}
	return out
}

// present keeps the tables that exist in snap; the others show up as
// missing in the comparison.
func present(snap *schema.Snapshot, tables []string) []string {
	var out []string
	for _, t := range tables {
		if _, ok := snap.Tables[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// fingerprint fingerprints exactly tables (none when empty).
func (r *runner) fingerprint(ctx context.Context, q schema.Querier, snap *schema.Snapshot, f fingerprint.Filter, tables []string) (fingerprint.Set, error) {
	if len(tables) == 0 {
		return fingerprint.Set{}, nil
	}
	defer r.timed("fingerprint", time.Now())
	return fingerprint.Take(ctx, q, snap, f, tables...)
}

// snapshot takes a catalog snapshot.
func (r *runner) snapshot(ctx context.Context, q schema.Querier, opts schema.Options) (*schema.Snapshot, error) {
	defer r.timed("snapshot", time.Now())
	return schema.Take(ctx, q, opts)
}

// timed adds the time since t0 to phase; the report shows where time went.
func (r *runner) timed(phase string, t0 time.Time) {
	d := time.Since(t0)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.phases == nil {
		r.phases = map[string]time.Duration{}
	}
	r.phases[phase] += d
}

// presentByOID maps tables named as in ref to their names in snap, matching
// by OID first (a table renamed by the down is the same table).
func presentByOID(snap, ref *schema.Snapshot, tables []string) []string {
	byOID := map[uint32]string{}
	for name, t := range snap.Tables {
		byOID[t.OID] = name
	}
	var out []string
	for _, tn := range tables {
		if rt := ref.Tables[tn]; rt != nil {
			if name, ok := byOID[rt.OID]; ok {
				out = append(out, name)
				continue
			}
		}
		if _, ok := snap.Tables[tn]; ok {
			out = append(out, tn)
		}
	}
	return out
}

// renamedLike re-keys a fingerprint taken on snap with the table and column
// names of ref (matched by table OID and column attnum), so a rename undone
// by a down is not mistaken for a loss.
func renamedLike(set fingerprint.Set, snap, ref *schema.Snapshot) fingerprint.Set {
	refByOID := map[uint32]*schema.Table{}
	for _, t := range ref.Tables {
		refByOID[t.OID] = t
	}
	out := fingerprint.Set{}
	for name, fp := range set {
		t := snap.Tables[name]
		rt := (*schema.Table)(nil)
		if t != nil {
			rt = refByOID[t.OID]
		}
		if rt == nil {
			out[name] = fp
			continue
		}
		cp := *fp
		cp.Table = rt.QualifiedName()
		cp.Columns = map[string]string{}
		for col, h := range fp.Columns {
			newName := col
			if c := t.Column(col); c != nil {
				for _, rc := range rt.Columns {
					if rc.Attnum == c.Attnum {
						newName = rc.Name
					}
				}
			}
			cp.Columns[newName] = h
		}
		out[rt.QualifiedName()] = &cp
	}
	return out
}

// spawnServerProbe starts release N's server on state k or a copy of it
// (the server writes: smoke requests, its own boot; see cellDB) and records
// the outcomes.
func (r *runner) spawnServerProbe(ctx context.Context, k int, state string) {
	r.mu.Lock()
	r.total++
	r.mu.Unlock()
	r.spawn(ctx, fmt.Sprintf("state %d server probe", k), state, func(ctx context.Context, l *lease) (string, error) {
		db, done, err := r.cellDB(ctx, l, "sp", k)
		if err != nil {
			return "", err
		}
		defer done()
		t0 := time.Now()
		out := r.cfg.ServerProbe.Run(ctx, r.dsn(db))
		r.timed("server probe", t0)
		failed := 0
		for _, o := range out {
			if !o.OK() {
				failed++
			}
		}
		r.mu.Lock()
		r.serverStates[k] = out
		r.mu.Unlock()
		return fmt.Sprintf("%d of %d server checks fail", failed, len(out)), nil
	})
}

// mergeServerProbes appends the server probe's outcomes to the SQL probes'
// of each state, so both are attributed to migrations the same way.
func (r *runner) mergeServerProbes() {
	sp := r.cfg.ServerProbe
	if sp == nil {
		return
	}
	r.probes.probes = append([]Probe(nil), r.probes.probes...)
	for _, name := range sp.Names {
		r.probes.probes = append(r.probes.probes, Probe{Name: "server: " + name, SQL: "(release N's server)"})
	}
	for k, st := range r.probes.states {
		if st == nil && k > 0 {
			continue
		}
		out := r.serverStates[k]
		if len(out) != len(sp.Names) {
			out = make([]ProbeOutcome, len(sp.Names))
			for i := range out {
				out[i] = ProbeOutcome{Err: "server probe did not run"}
			}
		}
		r.probes.states[k] = append(st, out...)
	}
}
