package matrix

import (
	"time"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/procedure"
)

// SchemaVersion is the version of the matrix.json format. Bump it on any
// incompatible change; `rehearse diff` refuses reports of another version.
const SchemaVersion = 1

// Status is the outcome of one check of one migration.
type Status string

const (
	StatusOK   Status = "ok"
	StatusFail Status = "fail"
	// StatusSkip means the check was not run (not applicable, or not reached);
	// Check.Error/Detail says why.
	StatusSkip Status = "skip"
	// StatusWarn means the check ran and found something worth a human's look
	// that is not a failure (e.g. N+1-era data lost by a down that is expected
	// to lose it, column order changed).
	StatusWarn Status = "warn"
)

// Verdict is the outcome of a migration (a row of the matrix).
type Verdict string

const (
	VerdictSafe        Verdict = "safe"
	VerdictRevertible  Verdict = "revertible"
	VerdictLossyRevert Verdict = "lossy-revert"
	VerdictRestoreOnly Verdict = "restore-only"
	VerdictBroken      Verdict = "broken"
	// VerdictNotReached marks what truly could not run: migrations after one
	// whose up fails even on an empty schema, so no later state exists.
	VerdictNotReached Verdict = "not-reached"
)

// Verdicts lists every verdict, best first.
var Verdicts = []Verdict{VerdictSafe, VerdictRevertible, VerdictLossyRevert, VerdictRestoreOnly, VerdictBroken, VerdictNotReached}

// Check names, as they appear in matrix.json, JUnit and policies.
const (
	CheckUp      = "up"
	CheckOldCode = "oldCode"
	// CheckContract is the contract probes synthesized from release N's
	// catalog (harness/contract): what N's code could run, not what it runs.
	CheckContract       = "contract"
	CheckDownPristine   = "downPristine"
	CheckSchemaRestored = "schemaRestored"
	CheckDownOnData     = "downOnData"
	CheckNEraKept       = "nEraKept"
	CheckNextEraLoss    = "nextEraLoss"
	CheckRoundTrip      = "roundTrip"
)

// Release-level check names (Report.Baseline), as policies name them.
const (
	CheckBaselineBoot  = "baselineBoot"
	CheckBaselineProbe = "baselineProbe"
)

// BaselineCheckNames lists the release-level checks.
var BaselineCheckNames = []string{CheckBaselineBoot, CheckBaselineProbe}

// CheckName is the policy check name of a baseline finding.
func (b BaselineFinding) CheckName() string {
	if b.Kind == BaselineBoot {
		return CheckBaselineBoot
	}
	return CheckBaselineProbe
}

// CheckNames lists the checks in report order.
var CheckNames = []string{CheckUp, CheckOldCode, CheckContract, CheckDownPristine, CheckSchemaRestored, CheckDownOnData, CheckNEraKept, CheckNextEraLoss, CheckRoundTrip}

// Check is one measured cell of the matrix.
type Check struct {
	Status Status `json:"status"`
	// Error is the one-line reason for fail/skip/warn, e.g. the PostgreSQL
	// message with its SQLSTATE.
	Error    string `json:"error,omitempty"`
	SQLState string `json:"sqlstate,omitempty"`
	// File and Line locate the failing statement, when there is one.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Detail is multi-line evidence: a schema diff, the probes that broke,
	// the tables and columns whose fingerprints differ.
	Detail string `json:"detail,omitempty"`
	// Notes are short remarks that do not change the status.
	Notes   []string `json:"notes,omitempty"`
	Seconds float64  `json:"seconds"`
}

// Checks holds every check of a migration, in report order.
type Checks struct {
	Up             Check `json:"up"`
	OldCode        Check `json:"oldCode"`
	Contract       Check `json:"contract"`
	DownPristine   Check `json:"downPristine"`
	SchemaRestored Check `json:"schemaRestored"`
	DownOnData     Check `json:"downOnData"`
	NEraKept       Check `json:"nEraKept"`
	NextEraLoss    Check `json:"nextEraLoss"`
	RoundTrip      Check `json:"roundTrip"`
}

// NamedCheck pairs a check with its name.
type NamedCheck struct {
	Name  string
	Check *Check
}

// List returns the checks in report order, as pointers into c.
func (c *Checks) List() []NamedCheck {
	return []NamedCheck{
		{CheckUp, &c.Up},
		{CheckOldCode, &c.OldCode},
		{CheckContract, &c.Contract},
		{CheckDownPristine, &c.DownPristine},
		{CheckSchemaRestored, &c.SchemaRestored},
		{CheckDownOnData, &c.DownOnData},
		{CheckNEraKept, &c.NEraKept},
		{CheckNextEraLoss, &c.NextEraLoss},
		{CheckRoundTrip, &c.RoundTrip},
	}
}

// Get returns the named check, or nil for an unknown name.
func (c *Checks) Get(name string) *Check {
	for _, nc := range c.List() {
		if nc.Name == name {
			return nc.Check
		}
	}
	return nil
}

// Rewrite is a table whose storage was rewritten by an up (relfilenode
// changed): on a big table that is a long exclusive lock in production.
type Rewrite struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// MigrationResult is one row of the matrix.
type MigrationResult struct {
	Version string `json:"version"`
	Name    string `json:"name"`
	// Class is measured from the catalog diff of the up (see harness/schema).
	Class string `json:"class"`
	// Changes lists the individual catalog changes behind Class, e.g.
	// "add-column certificates.serial".
	Changes       []string  `json:"changes,omitempty"`
	Verdict       Verdict   `json:"verdict"`
	Reasons       []string  `json:"reasons,omitempty"`
	UpFile        string    `json:"upFile,omitempty"`
	DownFile      string    `json:"downFile,omitempty"`
	NoTransaction bool      `json:"noTransaction,omitempty"`
	Rewrites      []Rewrite `json:"rewrites,omitempty"`
	// Comment is the migration file's leading comment, shown in reports.
	Comment string `json:"comment,omitempty"`
	Checks  Checks `json:"checks"`
	// Fingerprints counts the tables each data measurement fingerprinted
	// and reused (see touched.go).
	Fingerprints FingerprintCounts `json:"fingerprints"`
}

// TableSeed says how a table was seeded, so a cell computed without data
// can say so.
type TableSeed struct {
	Table string `json:"table"`
	Era   string `json:"era"` // "n" or "next"
	After string `json:"after,omitempty"`
	Rows  int64  `json:"rows"`
	Error string `json:"error,omitempty"`
}

// DataSource says where release N's N-era data came from when it was real
// (--data-from): the source, whether its schema drifted from release N's,
// what the sample kept of each table, and how many columns were masked.
type DataSource struct {
	// Kind is custom, directory, tar, plain (pg_dump formats) or dsn.
	Kind string `json:"kind"`
	// Source is the dump's path, or the DSN without its password.
	Source string `json:"source"`
	// Drift is "none", or "allowed" (--allow-drift) with DriftObjects
	// naming what differs.
	Drift        string   `json:"drift"`
	DriftObjects []string `json:"driftObjects,omitempty"`
	// Sample is the --sample fraction (absent: every row); SampleTables
	// counts the tables with their own share in the profile.
	Sample       float64 `json:"sample,omitempty"`
	SampleTables int     `json:"sampleTables,omitempty"`
	// SourceRows and Rows sum the tables below: what the source holds and
	// what the N-era state received.
	SourceRows int64             `json:"sourceRows"`
	Rows       int64             `json:"rows"`
	Tables     []DataSourceTable `json:"tables"`
	// MaskedColumns counts the columns a mask rule rewrote while loading;
	// UnmaskedPersonal lists columns that look personal and had no rule.
	MaskedColumns    int      `json:"maskedColumns"`
	UnmaskedPersonal []string `json:"unmaskedPersonal,omitempty"`
}

// DataSourceTable is one table of a DataSource: rows in the source and
// rows kept (after sampling).
type DataSourceTable struct {
	Table      string   `json:"table"`
	SourceRows int64    `json:"sourceRows"`
	Rows       int64    `json:"rows"`
	Masked     []string `json:"masked,omitempty"`
	// Skipped is why the table was not loaded (absent when it was).
	Skipped string `json:"skipped,omitempty"`
}

// Finding is a policy decision about one check or verdict of one migration.
type Finding struct {
	Migration string `json:"migration"` // version_name
	Check     string `json:"check,omitempty"`
	Verdict   string `json:"verdict,omitempty"`
	Action    string `json:"action"` // block | warn
	Reason    string `json:"reason"`
	Waiver    string `json:"waiver,omitempty"` // the waiver's reason, when one applied
}

// Report is everything one matrix run measured; every writer renders it.
type Report struct {
	SchemaVersion int               `json:"schemaVersion"`
	Tool          string            `json:"tool"`
	RunID         string            `json:"runId"`
	From          string            `json:"from"`
	To            string            `json:"to"`
	Migrations    string            `json:"migrationsSource,omitempty"`
	Layout        string            `json:"layout,omitempty"`
	Bookkeeping   string            `json:"bookkeeping,omitempty"`
	PostgreSQL    string            `json:"postgresql,omitempty"`
	Seed          int64             `json:"seed"`
	Rows          int               `json:"rows"`
	StartedAt     time.Time         `json:"startedAt"`
	Seconds       float64           `json:"seconds"`
	Results       []MigrationResult `json:"migrations"`
	Seeding       []TableSeed       `json:"seeding,omitempty"`
	// SeedingNotes say what the seeder chose and why (e.g. a column seeded
	// as jsonb because a later migration casts it).
	SeedingNotes []string `json:"seedingNotes,omitempty"`
	// DataSource is set when N-era data came from --data-from.
	DataSource *DataSource `json:"dataSource,omitempty"`
	// Releases says how the window was grouped into releases (eras).
	Releases *Releases `json:"releases,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
	// Blocking is true when a finding has Action "block": the gate fails.
	Blocking bool `json:"blocking"`
	// KeptDatabases lists the state databases left in place by --keep:
	// <prefix>_p_<k> (schema after k migrations) and <prefix>_d_<k> (with data).
	KeptDatabases []string `json:"keptDatabases,omitempty"`
	// Procedures are the rollback procedures of `rehearse run`, each with its
	// per-step timeline (empty for `rehearse matrix`).
	Procedures []procedure.Result `json:"procedures,omitempty"`
	// Chaos are the fault-injection cells of `rehearse run` with faults:
	// one per fault and point, with what it left and whether re-running
	// the procedure from there recovered.
	Chaos []chaos.Cell `json:"chaos,omitempty"`
	// PhaseSeconds is where the time went, summed over cells (which run in
	// parallel, so the sum can exceed Seconds): clone, up, down, snapshot,
	// fingerprint, seed N-era, seed N+1-era, probes, ...
	PhaseSeconds map[string]float64 `json:"phaseSeconds,omitempty"`
	// Stats counts what the run's state lifecycle cost (clones, peak
	// databases); absent in reports of older versions.
	Stats *Stats `json:"stats,omitempty"`
	// MigrateAs is the role migrations and probes ran as (--migrate-as).
	MigrateAs string `json:"migrateAs,omitempty"`
	// RolesCreated are the production roles (--roles) the run created on
	// the server; roles that already existed and matched are not listed.
	RolesCreated []string `json:"rolesCreated,omitempty"`
	// Notes are run-level remarks (e.g. "no bookkeeping table: ...").
	Notes []string `json:"notes,omitempty"`
	// Baseline are release-level findings: what release N's code already
	// fails on its own state, before any N+1 migration, so that no
	// migration is blamed for it.
	Baseline []BaselineFinding `json:"baseline,omitempty"`
}

// Baseline finding kinds.
const (
	// BaselineBoot: release N's boot (re-running its up files) fails on its
	// own schema or data: an outage waiting for the next pod restart.
	BaselineBoot = "boot"
	// BaselineProbe: an old-code probe fails on release N's own state, so
	// it is no evidence about any migration.
	BaselineProbe = "probe"
)

// BaselineFinding is one release-level finding (see Report.Baseline).
type BaselineFinding struct {
	Kind string `json:"kind"` // BaselineBoot | BaselineProbe
	// Probe names the probe ("file:line", "server: ...", "boot").
	Probe string `json:"probe"`
	// State is "schema" (release N's schema, no rows) or "data" (with
	// N-era data); SQL probes run on the data state only.
	State    string `json:"state"`
	Message  string `json:"message"`
	Error    string `json:"error"`
	SQLState string `json:"sqlstate,omitempty"`
	SQL      string `json:"sql,omitempty"`
}

// Stats are a run's databases: how many it cloned and how many lived at
// once, for the cost of a run beside its time.
type Stats struct {
	// Clones counts CREATE DATABASE ... TEMPLATE: the chains' states and
	// the cells' copies.
	Clones int `json:"clones"`
	// InPlace counts the cells that worked on their state itself, as its
	// last user, instead of on a clone.
	InPlace int `json:"inPlace"`
	// PeakDatabases is the most databases of the run that existed at once.
	PeakDatabases int `json:"peakDatabases"`
	// DataStateBytes is the size of the largest data state
	// (pg_database_size), the unit of the run's disk needs.
	DataStateBytes int64 `json:"dataStateBytes,omitempty"`
}
