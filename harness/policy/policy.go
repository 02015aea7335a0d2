// Package policy decides which outcomes of a matrix run block a release.
//
// A policy maps verdicts and failing checks to block, warn or ignore, and
// carries per-migration waivers. Every waiver needs a reason and an expiry
// date; once expired, whatever it matched blocks again, and the finding
// says the waiver expired, so exceptions cannot silently become the rule.
//
// The default policy (used without --policy) blocks on the verdict broken
// and on every down defect: the checks downPristine, schemaRestored,
// downOnData, nEraKept and roundTrip failing, plus up failing on data.
// nEraKept is included because a down that damages rows written before the
// upgrade is at least as dangerous as one that errors: the operator sees it
// "succeed". oldCode, contract and nextEraLoss failures, and the verdicts
// restore-only, lossy-revert and not-reached, warn: the checks behind
// restore-only already block on their own.
//
// Release-level findings (matrix.Report.Baseline) have their own check
// names: baselineBoot (release N's boot fails on its own state: blocks by
// default, an outage waiting for the next pod restart) and baselineProbe
// (an old-code probe fails on release N's own state: warns by default).
//
// A policy file starts from the default and overrides what it names.
package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// Action is what a finding does to the gate.
type Action string

const (
	Block  Action = "block"
	Warn   Action = "warn"
	Ignore Action = "ignore"
)

// Actions lists the valid actions, strictest first.
var Actions = []Action{Block, Warn, Ignore}

func (a Action) rank() int {
	switch a {
	case Block:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// Policy maps outcomes to actions.
type Policy struct {
	// Source names where the policy came from: a file path or "default".
	Source   string
	Verdicts map[matrix.Verdict]Action
	Checks   map[string]Action
	Waivers  []Waiver
}

// Waiver accepts a known finding for a while.
type Waiver struct {
	// Migration is a version ("000007") or version_name ("000007_drop_x").
	Migration string
	// Check limits the waiver to one check's finding. Verdict limits it to
	// the migration while it has that verdict, and then waives all its
	// findings (accepting "restore-only" accepts the checks that make it
	// so). Neither set: every finding of the migration.
	Check   string
	Verdict matrix.Verdict
	Reason  string
	// Expires is the last day (UTC) on which the waiver applies.
	Expires time.Time
	// Line is the waiver's line in the policy file (0 when built in code).
	Line int
}

// Expired reports whether now is past the waiver's last day.
func (w *Waiver) Expired(now time.Time) bool {
	return !now.UTC().Before(w.Expires.AddDate(0, 0, 1))
}

func (w *Waiver) where(source string) string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d", source, w.Line)
	}
	return source
}

func (w *Waiver) matchesMigration(m *matrix.MigrationResult) bool {
	return w.Migration == m.Version || w.Migration == m.Version+"_"+m.Name
}

// matches reports whether the waiver covers finding f of migration m.
func (w *Waiver) matches(m *matrix.MigrationResult, f *matrix.Finding) bool {
	if !w.matchesMigration(m) {
		return false
	}
	switch {
	case w.Check != "":
		return f.Check == w.Check
	case w.Verdict != "":
		return m.Verdict == w.Verdict
	}
	return true
}

// Default returns the policy used when none is given (see the package doc).
func Default() *Policy {
	return &Policy{
		Source: "default",
		Verdicts: map[matrix.Verdict]Action{
			matrix.VerdictSafe:        Ignore,
			matrix.VerdictRevertible:  Ignore,
			matrix.VerdictLossyRevert: Warn,
			matrix.VerdictRestoreOnly: Warn,
			matrix.VerdictBroken:      Block,
			matrix.VerdictNotReached:  Warn,
		},
		Checks: map[string]Action{
			matrix.CheckUp:             Block,
			matrix.CheckOldCode:        Warn,
			matrix.CheckContract:       Warn,
			matrix.CheckDownPristine:   Block,
			matrix.CheckSchemaRestored: Block,
			matrix.CheckDownOnData:     Block,
			matrix.CheckNEraKept:       Block,
			matrix.CheckNextEraLoss:    Warn,
			matrix.CheckRoundTrip:      Block,
			// Release-level: release N cannot restart on its own state
			// (an outage at the next pod restart) blocks; old-code probes
			// failing there are only no evidence.
			matrix.CheckBaselineBoot:  Block,
			matrix.CheckBaselineProbe: Warn,
		},
	}
}

// Apply evaluates the policy and records the outcome in the report.
func (p *Policy) Apply(r *matrix.Report, now time.Time) {
	r.Findings = p.Evaluate(r, now)
	r.Blocking = false
	for _, f := range r.Findings {
		if f.Action == string(Block) {
			r.Blocking = true
			break
		}
	}
}

// Evaluate returns the findings of r under p, in report order: per
// migration its verdict, then its checks; then remarks about waivers.
// A check counts only when its status is fail; a warn-status check is at
// most a warning.
func (p *Policy) Evaluate(r *matrix.Report, now time.Time) []matrix.Finding {
	var out []matrix.Finding
	used := make([]bool, len(p.Waivers))
	for i := range r.Results {
		m := &r.Results[i]
		for _, f := range p.raw(m) {
			out = append(out, p.waive(m, f, now, used))
		}
	}
	for _, b := range r.Baseline {
		if f, ok := p.baseline(r, b); ok {
			out = append(out, f)
		}
	}
	// An expired waiver that no longer matches anything is clutter that
	// hides the next real exception: say so, without blocking.
	for i := range p.Waivers {
		w := &p.Waivers[i]
		if used[i] || !w.Expired(now) {
			continue
		}
		for j := range r.Results {
			if w.matchesMigration(&r.Results[j]) {
				out = append(out, matrix.Finding{
					Migration: migrationID(&r.Results[j]), Check: w.Check, Verdict: string(w.Verdict),
					Action: string(Warn),
					Reason: fmt.Sprintf("waiver at %s expired on %s and matches no finding: remove it", w.where(p.Source), day(w.Expires)),
					Waiver: w.Reason,
				})
				break
			}
		}
	}
	return out
}

// raw returns the findings of one migration before waivers.
func (p *Policy) raw(m *matrix.MigrationResult) []matrix.Finding {
	id := migrationID(m)
	var out []matrix.Finding
	va, known := p.Verdicts[m.Verdict]
	if !known {
		va = Warn
	}
	if va != Ignore {
		reason := "verdict " + string(m.Verdict)
		if len(m.Reasons) > 0 {
			reason += ": " + strings.Join(m.Reasons, "; ")
		}
		if known {
			reason += fmt.Sprintf(" (policy %s: verdicts.%s=%s)", p.Source, m.Verdict, va)
		} else {
			reason += " (verdict unknown to this policy)"
		}
		out = append(out, matrix.Finding{Migration: id, Verdict: string(m.Verdict), Action: string(va), Reason: reason})
	}
	for _, nc := range m.Checks.List() {
		c := nc.Check
		var verb string
		switch c.Status {
		case matrix.StatusFail:
			verb = "failed"
		case matrix.StatusWarn:
			verb = "warns"
		default:
			continue
		}
		a, ok := p.Checks[nc.Name]
		if !ok {
			a = Warn
		}
		rule := fmt.Sprintf("policy %s: checks.%s=%s", p.Source, nc.Name, a)
		if !ok {
			rule = "check unknown to this policy"
		}
		if c.Status == matrix.StatusWarn && a.rank() > Warn.rank() {
			a = Warn
			rule += "; a warning never blocks"
		}
		if a == Ignore {
			continue
		}
		out = append(out, matrix.Finding{
			Migration: id, Check: nc.Name, Action: string(a),
			Reason: fmt.Sprintf("%s %s%s (%s)", nc.Name, verb, describe(c), rule),
		})
	}
	return out
}

// baseline returns the finding of a release-level finding (Report.Baseline):
// no migration is blamed, the release is.
func (p *Policy) baseline(r *matrix.Report, b matrix.BaselineFinding) (matrix.Finding, bool) {
	name := b.CheckName()
	a, ok := p.Checks[name]
	rule := fmt.Sprintf("policy %s: checks.%s=%s", p.Source, name, a)
	if !ok {
		a, rule = Warn, "check unknown to this policy"
	}
	if a == Ignore {
		return matrix.Finding{}, false
	}
	return matrix.Finding{
		Migration: "release " + r.From, Check: name, Action: string(a),
		Reason: fmt.Sprintf("%s (%s)", b.Message, rule),
	}, true
}

// waive applies the first active waiver matching f; failing that, an
// expired one makes f block and says so.
func (p *Policy) waive(m *matrix.MigrationResult, f matrix.Finding, now time.Time, used []bool) matrix.Finding {
	var expired *Waiver
	for i := range p.Waivers {
		w := &p.Waivers[i]
		if !w.matches(m, &f) {
			continue
		}
		used[i] = true
		if w.Expired(now) {
			if expired == nil {
				expired = w
			}
			continue
		}
		if f.Action == string(Block) {
			f.Action = string(Warn)
		}
		f.Reason += fmt.Sprintf("; waived by %s until %s", w.where(p.Source), day(w.Expires))
		f.Waiver = w.Reason
		return f
	}
	if expired != nil {
		f.Action = string(Block)
		f.Reason += fmt.Sprintf("; waiver at %s expired on %s: renew it with a new date or fix the migration", expired.where(p.Source), day(expired.Expires))
		f.Waiver = "expired " + day(expired.Expires) + ": " + expired.Reason
	}
	return f
}

func describe(c *matrix.Check) string {
	var b strings.Builder
	if c.Error != "" {
		b.WriteString(": " + c.Error)
	}
	if c.SQLState != "" && !strings.Contains(c.Error, c.SQLState) {
		b.WriteString(" (SQLSTATE " + c.SQLState + ")")
	}
	if c.File != "" {
		b.WriteString(" at " + c.File)
		if c.Line > 0 {
			fmt.Fprintf(&b, ":%d", c.Line)
		}
	}
	return b.String()
}

func migrationID(m *matrix.MigrationResult) string {
	if m.Name == "" {
		return m.Version
	}
	return m.Version + "_" + m.Name
}

func day(t time.Time) string { return t.Format(time.DateOnly) }
