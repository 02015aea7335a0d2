package chaos

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/schema"

	"github.com/jackc/pgx/v5"
)

// probe is the schema and data of a database at one moment.
type probe struct {
	snap *schema.Snapshot
	data fingerprint.Set
}

// takeProbe snapshots the schema and fingerprints every table but the
// bookkeeping table and the harness's own (they change by design). On a
// connection inside a transaction it sees that transaction's work.
func takeProbe(ctx context.Context, conn *pgx.Conn, bkTable string) (probe, error) {
	snap, err := schema.Take(ctx, conn, schema.Options{})
	if err != nil {
		return probe{}, fmt.Errorf("snapshot the schema: %w", err)
	}
	var tables []string
	for name := range snap.Tables {
		if strings.HasPrefix(name, "_rehearse.") || (bkTable != "" && name == "public."+bkTable) {
			continue
		}
		tables = append(tables, name)
	}
	sort.Strings(tables)
	p := probe{snap: snap, data: fingerprint.Set{}}
	if len(tables) > 0 {
		if p.data, err = fingerprint.Take(ctx, conn, snap, fingerprint.All, tables...); err != nil {
			return probe{}, fmt.Errorf("fingerprint the data: %w", err)
		}
	}
	return p, nil
}

// differences lists how b differs from a, schema first.
func differences(a, b probe) []string {
	var out []string
	if d := schema.Diff(a.snap, b.snap); !d.Empty() {
		out = append(out, schema.Changes(d)...)
	}
	for _, d := range fingerprint.Compare(a.data, b.data) {
		out = append(out, d.String())
	}
	return out
}

// scriptState is what a fault inside a script left, measured.
type scriptState struct {
	effective int    // statements whose effect is in the database; -1 = neither state
	text      string // for StateFound
	detail    string
}

// measureScript compares the database after the fault (now) with the
// state before the script (before) and the state the script's session saw
// at the fault (at, after `ran` statements).
func measureScript(s *migrate.Script, ran int, before, at, now probe) scriptState {
	total, file := len(s.Statements), filepath.Base(s.File)
	fromBefore, fromAt := differences(before, now), differences(at, now)
	st := scriptState{effective: -1}
	switch {
	case len(fromBefore) == 0:
		st.effective = 0
		st.text = fmt.Sprintf("none of %s's %d statements took effect", file, total)
		if ran > 0 {
			st.text += " (its transaction rolled back)"
		}
	case len(fromAt) == 0 && ran == total:
		st.effective = ran
		st.text = fmt.Sprintf("all %d statements of %s took effect, but the tool did not get to record it", total, file)
	case len(fromAt) == 0:
		st.effective = ran
		st.text = fmt.Sprintf("statements 1-%d of %d of %s took effect: HALF-APPLIED (it runs outside a transaction)", ran, total, file)
	default:
		st.text = fmt.Sprintf("the database matches neither the state before %s nor the state its session saw at the fault (%d differences)", file, len(fromAt))
		st.detail = "differences from the state at the fault:\n" + strings.Join(fromAt, "\n")
	}
	return st
}

// bookkeepingText says what the tool's table claims, e.g.
// "golang-migrate: version 12, dirty".
func bookkeepingText(ctx context.Context, conn *pgx.Conn, bk migrate.Bookkeeping) (string, bool, error) {
	if bk == nil || bk.Name() == "none" {
		return "no bookkeeping table (the app re-runs its up files at boot)", false, nil
	}
	v, dirty, err := bk.Current(ctx, conn)
	if errors.Is(err, migrate.ErrNoBookkeeping) {
		return fmt.Sprintf("%s: there is no %s table", bk.Name(), bk.Table()), false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s bookkeeping: %w", bk.Name(), err)
	}
	s := fmt.Sprintf("%s: %s records version %q", bk.Name(), bk.Table(), v)
	if v == "" {
		s = fmt.Sprintf("%s: %s records no version", bk.Name(), bk.Table())
	}
	if dirty {
		s += ", dirty"
	}
	return s, dirty, nil
}

// sameVersion compares migration versions numerically when both are
// numbers ("000012" is 12).
func sameVersion(a, b string) bool {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		return x == y
	}
	return a == b
}
