package matrix

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/contract"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// contractRun holds the contract probes (synthesized from release N's
// catalog) and their outcomes on every state of the data chain.
type contractRun struct {
	probes []contract.Probe
	// states[k] are the outcomes on state k; snaps[k] its catalog;
	// diffs[k] the catalog change of migration k.
	states  [][]ProbeOutcome
	seconds []float64
	snaps   []*schema.Snapshot
	diffs   []*schema.Changeset
	notes   []string
	err     error
	// reseeded[k]: state k restarts the data chain (re-seeded after
	// migration k's up failed), so it holds none of the rows the probes
	// were synthesized on.
	reseeded []bool
}

// contractBase synthesizes the probes on D0 (release N with N-era data) and
// runs them there: what fails on N itself is no evidence against any
// migration and is reported once, at the run level.
func (r *runner) contractBase(ctx context.Context, conn *pgx.Conn, snap *schema.Snapshot) {
	defer r.timed("contract", time.Now())
	n := len(r.next)
	c := &r.contract
	c.states = make([][]ProbeOutcome, n+1)
	c.seconds = make([]float64, n+1)
	c.snaps = make([]*schema.Snapshot, n+1)
	c.diffs = make([]*schema.Changeset, n+1)
	c.reseeded = make([]bool, n+1)
	c.probes, c.notes, c.err = contract.Synthesize(ctx, conn, snap, r.userTables(snap))
	if c.err != nil {
		r.cfg.Logger.Warn("contract probes", "err", c.err)
		return
	}
	c.snaps[0] = snap
	c.states[0] = runContract(ctx, conn, c.probes)
}

// contractState runs the probes on state k (after migration k's up and its
// N+1-era writes).
func (r *runner) contractState(ctx context.Context, conn *pgx.Conn, k int, snap *schema.Snapshot, diff *schema.Changeset) {
	c := &r.contract
	if c.err != nil || c.states == nil {
		return
	}
	t0 := time.Now()
	defer r.timed("contract", t0)
	c.snaps[k], c.diffs[k] = snap, diff
	c.states[k] = runContract(ctx, conn, c.probes)
	c.seconds[k] = time.Since(t0).Seconds()
}

func runContract(ctx context.Context, conn *pgx.Conn, probes []contract.Probe) []ProbeOutcome {
	out := make([]ProbeOutcome, len(probes))
	for i, p := range probes {
		out[i] = outcome(contract.Run(ctx, conn, p))
	}
	return out
}

// judge returns the contract check of migration k (1-based): the probes
// that passed on state k-1 and fail on state k, each with the catalog
// change of migration k behind it.
func (c *contractRun) judge(k int, names []string) Check {
	switch {
	case c.err != nil:
		return Check{Status: StatusSkip, Error: "contract probes not synthesized: " + c.err.Error()}
	case len(c.probes) == 0:
		return Check{Status: StatusSkip, Error: "no contract probe: release N has no table with data"}
	case k >= len(c.states) || c.states[k] == nil || c.states[k-1] == nil:
		return Check{Status: StatusSkip, Error: "state not reached"}
	}
	before, after := c.states[k-1], c.states[k]
	var broke []string
	first := ""
	passed, onN, absent := 0, 0, 0
	earlier := map[string]int{}
	for i, p := range c.probes {
		switch {
		case c.rowAbsent(k, i) || (!before[i].OK() && c.rowAbsent(k-1, i)):
			absent++
		case before[i].OK() && !after[i].OK():
			why := contract.Explain(p, c.snaps[k-1], c.snaps[k], c.diffs[k])
			if c.reseeded[k] && why == contract.NoCatalogChange {
				// State k holds other rows than state k-1: with no
				// catalog change behind it, the break is the data swap.
				absent++
				continue
			}
			broke = append(broke, fmt.Sprintf("%s: %s\n    %s\n    catalog change: %s", p.Name, after[i].Err, oneLine(p.SQL), why))
			if first == "" {
				first = p.Name + ": " + after[i].Err
			}
		case !c.states[0][i].OK():
			onN++
		case !before[i].OK():
			for j := 1; j < k; j++ {
				if !c.states[j][i].OK() {
					earlier[names[j-1]]++
					break
				}
			}
		default:
			passed++
		}
	}
	var notes []string
	if absent > 0 {
		notes = append(notes, fmt.Sprintf("%d contract probe(s) not judged: they depend on N-era rows, which the data chain re-seeded after an up failed does not hold (no catalog change explains them)", absent))
	}
	if onN > 0 {
		notes = append(notes, fmt.Sprintf("%d contract probe(s) already fail on release N (listed once in the run notes)", onN))
	}
	for _, name := range sortedKeys(earlier) {
		notes = append(notes, fmt.Sprintf("%d contract probe(s) already broken by %s", earlier[name], name))
	}
	if len(broke) > 0 {
		return Check{Status: StatusFail, Error: fmt.Sprintf("%d of %d contract probes break: %s", len(broke), len(c.probes), first),
			Detail: strings.Join(broke, "\n"), Notes: notes, Seconds: c.seconds[k]}
	}
	return Check{Status: StatusOK, Notes: append([]string{fmt.Sprintf("%d contract probes pass", passed)}, notes...), Seconds: c.seconds[k]}
}

// rowAbsent: probe i found no row on state k, which is on a data chain
// re-seeded after an up failed. That chain never held the N-era rows the
// probes were synthesized on, so it says nothing about migration k.
func (c *contractRun) rowAbsent(k, i int) bool {
	if c.states[k] == nil || c.states[k][i].Err != contract.ErrNoRow.Error() {
		return false
	}
	for j := k; j > 0; j-- {
		if c.reseeded[j] {
			return true
		}
	}
	return false
}

// runNotes are the run-level findings of the contract probes: what could
// not be synthesized and what already fails on release N.
func (c *contractRun) runNotes() []string {
	var out []string
	if c.err != nil {
		return []string{"contract: probes not synthesized: " + c.err.Error()}
	}
	for _, n := range c.notes {
		out = append(out, "contract: "+n)
	}
	if c.states == nil || c.states[0] == nil {
		return out
	}
	for i, p := range c.probes {
		if o := c.states[0][i]; !o.OK() {
			out = append(out, fmt.Sprintf("contract: %s already fails on release N: %s", p.Name, o.Err))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
