// Package reportdiff compares two matrix reports (e.g. last night's and
// tonight's) and says what got worse, what got better and what slowed down.
package reportdiff

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// Options tune the comparison.
type Options struct {
	// TimingThreshold is the relative growth of a check's seconds that is
	// reported (0.5 = 50% slower). Zero means DefaultTimingThreshold.
	TimingThreshold float64
	// MinTimingSeconds is the absolute growth below which timing changes are
	// noise. Zero means DefaultMinTimingSeconds.
	MinTimingSeconds float64
}

const (
	DefaultTimingThreshold  = 0.5
	DefaultMinTimingSeconds = 1.0
)

func (o Options) withDefaults() Options {
	if o.TimingThreshold <= 0 {
		o.TimingThreshold = DefaultTimingThreshold
	}
	if o.MinTimingSeconds <= 0 {
		o.MinTimingSeconds = DefaultMinTimingSeconds
	}
	return o
}

// Migration names a migration of one of the reports.
type Migration struct {
	Version string         `json:"version"`
	Name    string         `json:"name"`
	Verdict matrix.Verdict `json:"verdict"`
}

// ID is version_name.
func (m Migration) ID() string {
	if m.Name == "" {
		return m.Version
	}
	return m.Version + "_" + m.Name
}

// VerdictChange is a migration whose verdict differs between the reports.
type VerdictChange struct {
	Migration Migration      `json:"migration"` // as in the new report
	Old       matrix.Verdict `json:"old"`
	New       matrix.Verdict `json:"new"`
}

// CheckChange is a check whose status differs.
type CheckChange struct {
	Migration Migration     `json:"migration"`
	Check     string        `json:"check"`
	Old       matrix.Status `json:"old"`
	New       matrix.Status `json:"new"`
	// Error is the new check's one-line reason, for the reader.
	Error string `json:"error,omitempty"`
	// Worse is true when the check now fails and did not before.
	Worse bool `json:"worse"`
}

// TimingChange is a check that got slower by more than the threshold.
type TimingChange struct {
	Migration Migration `json:"migration"`
	Check     string    `json:"check"`
	Old       float64   `json:"oldSeconds"`
	New       float64   `json:"newSeconds"`
}

// Growth is the relative growth, e.g. 0.8 for 80% slower.
func (c TimingChange) Growth() float64 {
	if c.Old == 0 {
		return 0
	}
	return c.New/c.Old - 1
}

// Result is everything Compare found.
type Result struct {
	OldRun      string  `json:"oldRun"`
	NewRun      string  `json:"newRun"`
	OldRange    string  `json:"oldRange"` // "from → to"
	NewRange    string  `json:"newRange"`
	OldBlocking bool    `json:"oldBlocking"`
	NewBlocking bool    `json:"newBlocking"`
	Options     Options `json:"options"`
	// WorseVerdicts and BetterVerdicts follow safe < revertible <
	// lossy-revert < restore-only < broken.
	WorseVerdicts  []VerdictChange `json:"worseVerdicts,omitempty"`
	BetterVerdicts []VerdictChange `json:"betterVerdicts,omitempty"`
	// UnknownVerdicts are changes to or from not-reached: nothing was
	// measured on one side, so they are neither better nor worse.
	UnknownVerdicts []VerdictChange `json:"unknownVerdicts,omitempty"`
	Added           []Migration     `json:"added,omitempty"`
	Removed         []Migration     `json:"removed,omitempty"`
	Checks          []CheckChange   `json:"checks,omitempty"`
	Slower          []TimingChange  `json:"slower,omitempty"`
}

// verdictRank orders verdicts best first; -1 for not-reached or anything
// unknown.
func verdictRank(v matrix.Verdict) int {
	switch v {
	case matrix.VerdictSafe:
		return 0
	case matrix.VerdictRevertible:
		return 1
	case matrix.VerdictLossyRevert:
		return 2
	case matrix.VerdictRestoreOnly:
		return 3
	case matrix.VerdictBroken:
		return 4
	}
	return -1
}

// badVerdict is a verdict that needs a human when it first appears.
func badVerdict(v matrix.Verdict) bool {
	return verdictRank(v) >= verdictRank(matrix.VerdictRestoreOnly)
}

// Worse reports whether anything got worse: a verdict, a check that now
// fails, a new migration arriving restore-only or broken, or the gate
// turning blocking. This is what `rehearse diff` exits 1 on.
func (r *Result) Worse() bool { return len(r.WorseReasons()) > 0 }

// WorseReasons lists, one line each, why Worse is true.
func (r *Result) WorseReasons() []string {
	var out []string
	for _, c := range r.WorseVerdicts {
		out = append(out, fmt.Sprintf("%s: verdict %s → %s", c.Migration.ID(), c.Old, c.New))
	}
	for _, c := range r.Checks {
		if c.Worse {
			out = append(out, fmt.Sprintf("%s: %s %s → %s", c.Migration.ID(), c.Check, c.Old, c.New))
		}
	}
	for _, m := range r.Added {
		if badVerdict(m.Verdict) {
			out = append(out, fmt.Sprintf("%s: new migration is %s", m.ID(), m.Verdict))
		}
	}
	if r.NewBlocking && !r.OldBlocking {
		out = append(out, "the gate now blocks")
	}
	return out
}

// Compare finds the differences from old to new. Migrations are matched by
// version.
func Compare(old, new *matrix.Report, opts Options) Result {
	opts = opts.withDefaults()
	res := Result{
		OldRun: old.RunID, NewRun: new.RunID,
		OldRange: old.From + " → " + old.To, NewRange: new.From + " → " + new.To,
		OldBlocking: old.Blocking, NewBlocking: new.Blocking,
		Options: opts,
	}
	oldBy := map[string]*matrix.MigrationResult{}
	for i := range old.Results {
		oldBy[old.Results[i].Version] = &old.Results[i]
	}
	seen := map[string]bool{}
	for i := range new.Results {
		n := &new.Results[i]
		seen[n.Version] = true
		id := Migration{Version: n.Version, Name: n.Name, Verdict: n.Verdict}
		o, ok := oldBy[n.Version]
		if !ok {
			res.Added = append(res.Added, id)
			continue
		}
		if o.Verdict != n.Verdict {
			vc := VerdictChange{Migration: id, Old: o.Verdict, New: n.Verdict}
			or, nr := verdictRank(o.Verdict), verdictRank(n.Verdict)
			switch {
			case or < 0 || nr < 0:
				res.UnknownVerdicts = append(res.UnknownVerdicts, vc)
			case nr > or:
				res.WorseVerdicts = append(res.WorseVerdicts, vc)
			default:
				res.BetterVerdicts = append(res.BetterVerdicts, vc)
			}
		}
		compareChecks(&res, id, o, n, opts)
	}
	for i := range old.Results {
		o := &old.Results[i]
		if !seen[o.Version] {
			res.Removed = append(res.Removed, Migration{Version: o.Version, Name: o.Name, Verdict: o.Verdict})
		}
	}
	return res
}

func compareChecks(res *Result, id Migration, o, n *matrix.MigrationResult, opts Options) {
	oc, nc := o.Checks.List(), n.Checks.List()
	for i := range nc {
		name, before, after := nc[i].Name, oc[i].Check, nc[i].Check
		if before.Status != after.Status {
			res.Checks = append(res.Checks, CheckChange{
				Migration: id, Check: name, Old: before.Status, New: after.Status, Error: after.Error,
				// A check that was skipped and now fails counts too: a
				// failure nobody saw last time is still new.
				Worse: after.Status == matrix.StatusFail,
			})
		}
		// Timing only means something when both runs really ran the check.
		ran := func(s matrix.Status) bool {
			return s == matrix.StatusOK || s == matrix.StatusWarn || s == matrix.StatusFail
		}
		if ran(before.Status) && ran(after.Status) &&
			after.Seconds-before.Seconds >= opts.MinTimingSeconds &&
			after.Seconds > before.Seconds*(1+opts.TimingThreshold) {
			res.Slower = append(res.Slower, TimingChange{Migration: id, Check: name, Old: before.Seconds, New: after.Seconds})
		}
	}
}

// Load reads a matrix.json, refusing one of another schema version.
func Load(path string) (*matrix.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var head struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%s: not a rehearse matrix.json: %w", path, err)
	}
	if head.SchemaVersion == nil {
		return nil, fmt.Errorf("%s: no schemaVersion: not a rehearse matrix.json", path)
	}
	if *head.SchemaVersion != matrix.SchemaVersion {
		return nil, fmt.Errorf("%s: schemaVersion %d, but this rehearse reads schemaVersion %d: compare reports written by the same rehearse version (re-run the older rehearsal)",
			path, *head.SchemaVersion, matrix.SchemaVersion)
	}
	var r matrix.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: decode matrix.json: %w", path, err)
	}
	if r.Results == nil {
		return nil, errors.New(path + ": no \"migrations\" list: not a rehearse matrix.json")
	}
	return &r, nil
}
