package chaos

import "github.com/rehearse-dev/rehearse/harness/env"

// Verdicts of a chaos cell, best first.
const (
	// VerdictRecovered: re-running the procedure from the state the fault
	// left recovered, with release N's data intact.
	VerdictRecovered = "recovered"
	// VerdictDetected: the procedure noticed the fault before it changed
	// anything or relied on the faulty part; the database is as it was. A
	// re-run needs what the fault destroyed (e.g. a new backup).
	VerdictDetected = "detected"
	// VerdictManual: recovered only after a manual step the report names
	// (e.g. `migrate force`), with N-era data intact.
	VerdictManual = "manual"
	// VerdictAsWithoutFault: the re-run ends as the procedure does without
	// any fault, which is itself not "recovered" (its own verdict is the
	// finding; the fault adds nothing to it).
	VerdictAsWithoutFault = "as-without-fault"
	// VerdictUnrecovered: re-running from the fault's state fails, where
	// the procedure without the fault does better.
	VerdictUnrecovered = "unrecovered"
	// VerdictDataLost: N-era data did not survive the fault and the recovery.
	VerdictDataLost = "data-lost"
	// VerdictNotReached: the fault's point was never reached (an earlier
	// step failed, or the work finished before the fault could land).
	VerdictNotReached = "not-reached"
	// VerdictSkipped: this backend cannot inject the fault; Detail says why.
	VerdictSkipped = "skipped"
	// VerdictError: the harness itself failed on this cell (Detail says
	// how); nothing was measured.
	VerdictError = "error"
)

// Verdicts lists the cell verdicts, best first.
var Verdicts = []string{VerdictRecovered, VerdictDetected, VerdictManual, VerdictAsWithoutFault, VerdictUnrecovered, VerdictDataLost, VerdictNotReached, VerdictSkipped, VerdictError}

// Cell is one fault injected at one point, what it left and whether
// re-running the procedure from there recovers. It is an element of
// matrix.json's "chaos" array.
type Cell struct {
	Fault string `json:"fault"`
	// Point is where the fault was injected, in --at syntax (see ParsePoint).
	Point string `json:"point"`
	// Migration is set for faults inside a migration's up or down file,
	// Procedure for faults inside a procedure's step.
	Migration string `json:"migration,omitempty"`
	Procedure string `json:"procedure,omitempty"`
	// StateFound says what the database held right after the fault: which
	// statements of the interrupted script took effect, the bookkeeping row.
	StateFound string `json:"stateFound"`
	// Statements is how many statements of the interrupted script had run
	// when the fault hit, Effective how many of them took effect (measured
	// by comparing schema and data with the states before and just before
	// the fault), Total the script's statement count. -1 when not measured.
	Statements int `json:"statements"`
	Effective  int `json:"effective"`
	Total      int `json:"total"`
	// HalfApplied: some but not all of the script took effect.
	HalfApplied bool `json:"halfApplied"`
	// Bookkeeping is what the migration tool's table claimed right after
	// the fault, e.g. "golang-migrate: version 12, dirty".
	Bookkeeping string `json:"bookkeeping,omitempty"`
	// Recovery says what was re-run and how it went.
	Recovery  string `json:"recovery"`
	Recovered bool   `json:"recovered"`
	// ManualSteps are the operator's commands the recovery needed (e.g.
	// `migrate force 10`, `helm rollback app 3`); with Recovered, the
	// verdict is manual.
	ManualSteps []string `json:"manualSteps,omitempty"`
	// NEraKept: release N's data was intact at the end (fingerprints equal
	// to the ones taken before the upgrade).
	NEraKept bool   `json:"nEraKept"`
	Verdict  string `json:"verdict"`
	// FromFault are the scenario's procedures, each rehearsed from the
	// state the fault left (kill-hook), as an operator who rolls back
	// instead of re-running the upgrade would.
	FromFault []ProcedureRun `json:"fromFault,omitempty"`
	// Helm is the revisions a cluster upgrade fault made, with the hooks
	// each ran (atomic-timeout: the failed upgrade's and Helm's automatic
	// rollback's).
	Helm []env.HelmRevision `json:"helm,omitempty"`
	// Node is what a node restart took (restart-node).
	Node *env.NodeRestart `json:"node,omitempty"`
	// Detail is multi-line evidence: the diff found, the errors seen.
	Detail string `json:"detail,omitempty"`
	// Replay is the command that rehearses this cell alone.
	Replay  string  `json:"replay"`
	Seconds float64 `json:"seconds"`
}

// Failed reports whether the cell is a finding to act on.
func (c Cell) Failed() bool {
	return c.Verdict == VerdictUnrecovered || c.Verdict == VerdictDataLost || c.Verdict == VerdictError
}

// ProcedureRun is one procedure rehearsed from the state a fault left,
// beside its verdict without the fault.
type ProcedureRun struct {
	Procedure    string   `json:"procedure"`
	Verdict      string   `json:"verdict"`
	Reasons      []string `json:"reasons,omitempty"`
	WithoutFault string   `json:"withoutFault"`
	Seconds      float64  `json:"seconds"`
}
