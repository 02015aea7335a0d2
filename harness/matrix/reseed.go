package matrix

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// SQLSTATE of RAISE EXCEPTION without an explicit ERRCODE: a migration's
// own guard (raise_exception).
const sqlstateRaise = "P0001"

// upFailCheck turns an up that failed on the data chain into its check: a
// guard (the migration's own RAISE EXCEPTION, on data only) is a warning
// that says what the guard said and what to pin; any other error fails.
func (r *runner) upFailCheck(k int, before *schema.Snapshot, upErr error, d time.Duration, reseededNote string) Check {
	c := checkFromErr(upErr, d)
	if reseededNote != "" {
		c.Notes = append(c.Notes, reseededNote)
	}
	if r.pristineErr[k] != nil {
		c.Notes = append(c.Notes, "fails on an empty schema too")
		return c
	}
	if c.SQLState != sqlstateRaise {
		c.Notes = append(c.Notes, "passes on an empty schema: only production-like data shows this")
		return c
	}
	said := c.Error
	var ae *migrate.ApplyError
	if errors.As(upErr, &ae) && ae.Message != "" {
		said = ae.Message
	}
	c.Status = StatusWarn
	c.Error = "guard: the up's own RAISE EXCEPTION rejected the seeded data: " + said
	pin := "pin the columns the guard checks with --profile"
	if cols := guardColumns(c.Detail, before); len(cols) > 0 {
		pin = "the guard reads " + strings.Join(cols, ", ") + ": pin them with --profile to values your production data has"
	}
	c.Notes = append(c.Notes, "guard, not a SQL error: the migration refuses data like the seeded rows, as it would refuse such production data; "+pin)
	return c
}

// guardColumns lists the "table.column"s of before that the guard's
// statement names, for the --profile hint.
func guardColumns(stmt string, before *schema.Snapshot) []string {
	if stmt == "" || before == nil {
		return nil
	}
	words := map[string]bool{}
	for _, w := range regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_$]*`).FindAllString(stmt, -1) {
		words[strings.ToLower(w)] = true
	}
	var out []string
	for _, t := range before.Tables {
		if !words[strings.ToLower(t.Name)] {
			continue
		}
		for _, col := range t.Columns {
			if words[strings.ToLower(col.Name)] {
				out = append(out, t.QualifiedName()+"."+col.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// reseed restarts the data chain after migration k's up failed on data: it
// clones the pristine state k (the schema after that up, applied on an
// empty schema), seeds it like release N's data and measures it, so the
// later migrations' data checks still run. Their reports say so.
func (r *runner) reseed(ctx context.Context, k int) (*dataState, error) {
	m := r.next[k-1]
	label := m.Version + "_" + m.Name
	name := r.dbName("r", k)
	schemaK := r.pristineSnap[k]
	if r.pristineIntact(k) {
		if err := r.create(ctx, name, r.pristine[k]); err != nil {
			return nil, err
		}
	} else {
		var err error
		if schemaK, err = r.rebuildPristine(ctx, name, k); err != nil {
			return nil, fmt.Errorf("re-seed the data chain after %s: %w", m.Up.File, err)
		}
	}
	r.setRolesOf(name, r.rolesOf(r.pristine[k]))
	future := r.pristineSnap[len(r.next)]
	if future == nil {
		future = r.lastPristineSnap()
	}
	t0 := time.Now()
	res, err := r.cfg.Seeder.Base(ctx, r.dsn(name), r.withoutBookkeeping(schemaK), future)
	if err != nil {
		return nil, fmt.Errorf("re-seed the data chain after %s: %w", m.Up.File, err)
	}
	r.timed("seed N-era", t0)
	r.addSeeding("n", "re-seeded after "+label, res)

	conn, err := r.connect(ctx, name)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	if err := era.Ensure(ctx, conn); err != nil {
		return nil, err
	}
	snap, err := r.snapshot(ctx, conn, schema.Options{})
	if err != nil {
		return nil, fmt.Errorf("snapshot the re-seeded state after %s: %w", m.Up.File, err)
	}
	st, _, err := r.measureState(ctx, conn, name, snap, nil)
	if err != nil {
		return nil, fmt.Errorf("measure the re-seeded state after %s: %w", m.Up.File, err)
	}
	if r.probes.states[k], err = r.probe(ctx, conn); err != nil {
		return nil, fmt.Errorf("probe the re-seeded state after %s: %w", m.Up.File, err)
	}
	if r.pristineSnap[k-1] != nil {
		r.contractState(ctx, conn, k, snap, schema.Diff(r.pristineSnap[k-1], r.pristineSnap[k]))
		if r.contract.reseeded != nil {
			r.contract.reseeded[k] = true
		}
	}
	st.reseededNote = fmt.Sprintf("data chain re-seeded after %s's up failed on data: the data checks ran on rows seeded on the schema after it", label)
	return st, nil
}

// withoutBookkeeping returns snap without the bookkeeping table, so the
// seeder never writes into it (the pristine states have it).
func (r *runner) withoutBookkeeping(snap *schema.Snapshot) *schema.Snapshot {
	cp := *snap
	cp.Tables = map[string]*schema.Table{}
	for _, name := range r.userTables(snap) {
		cp.Tables[name] = snap.Tables[name]
	}
	return &cp
}

// rebuildPristine makes database name hold pristine state k again, for a
// re-seed after the pristine chain dropped it (its cells took it over, see
// buildPristine): release N's migrations and bookkeeping, then ups 1..k, on
// an empty database. It returns the schema snapshot of name (its OIDs are
// its own, not the dropped state's). No up there created a role: a role
// keeps the pristine states for the data chain.
func (r *runner) rebuildPristine(ctx context.Context, name string, k int) (*schema.Snapshot, error) {
	if err := r.create(ctx, name, ""); err != nil {
		return nil, err
	}
	conn, err := r.connect(ctx, name)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	err = r.withRoles(ctx, name, r.rolesOf(r.pristine[0]), func() error {
		if err := r.applyBase(ctx, conn); err != nil {
			return err
		}
		if err := r.recordBase(ctx, conn); err != nil {
			return err
		}
		for j := 1; j <= k; j++ {
			if err := r.up(ctx, conn, r.next[j-1]); err != nil {
				return fmt.Errorf("rebuild the schema after %s: %w", r.next[j-1].Up.File, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	snap, err := r.snapshot(ctx, conn, schema.Options{})
	if err != nil {
		return nil, fmt.Errorf("snapshot the rebuilt schema after %s: %w", r.next[k-1].Up.File, err)
	}
	return snap, nil
}
