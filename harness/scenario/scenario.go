// Package scenario loads and validates rehearsal scenario files: k8s-style
// YAML (apiVersion rehearse.dev/v1, kind Scenario) naming the migrations,
// the two releases (server binary or image, chart and values), the data,
// the procedures, the backend and the policy. Every problem is reported
// with the file, the line and the field, and what to do about it.
package scenario

import (
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/procedure"
)

// APIVersion and Kind are the only ones this version reads.
const (
	APIVersion = "rehearse.dev/v1"
	Kind       = "Scenario"
)

// Backends a scenario may name.
var Backends = []string{"local", "docker", "kind", "kube"}

// Procedures are the built-in procedures, in the order a run performs them.
var Procedures = []string{"standard", "schema-revert", "full-restore"}

// Verdicts of a procedure, best first (policy minimums use them).
var Verdicts = []string{"recovered", "degraded", "failed"}

// Scenario is one scenario file.
type Scenario struct {
	// File is the path it was loaded from; Dir is its folder, against which
	// every relative path in the file is resolved.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`

	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`
}

// Metadata names the scenario.
type Metadata struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

// Spec is what to rehearse and where.
type Spec struct {
	// Backend is local (default), docker, kind or kube.
	Backend    string     `yaml:"backend"`
	Migrations Migrations `yaml:"migrations"`
	Releases   Releases   `yaml:"releases"`
	Data       Data       `yaml:"data"`
	// Procedures to run, in order: a built-in's name, or a procedure
	// declared here (name, description, steps); empty means the built-ins.
	Procedures []ProcedureEntry `yaml:"procedures"`
	// Smoke requests sent to release N's server after each procedure.
	Smoke    []SmokeRequest `yaml:"smoke"`
	Checks   Checks         `yaml:"checks"`
	Policy   Policy         `yaml:"policy"`
	Postgres Postgres       `yaml:"postgres"`
	// Faults are the chaos faults to inject (see harness/chaos); empty = none.
	Faults Faults `yaml:"faults"`
	// Roles is production's roles file (pg_dumpall --roles-only output or
	// a YAML roles: list), created on the server before release N's schema.
	Roles string `yaml:"roles"`
	// MigrateAs is the role the matrix's ups, downs, boots and probes run
	// as, as in production; empty = the harness's superuser.
	MigrateAs string `yaml:"migrateAs"`
	// SearchPath is the search_path of the matrix's connections, as the
	// app's connection string sets it (e.g. "app,public"); empty = default.
	SearchPath string `yaml:"searchPath"`
}

// ProcedureEntry is one item of spec.procedures: a built-in's name alone
// (`- full-restore`) or a declared procedure (`- name: my-runbook` with
// steps; see docs/procedures.md).
type ProcedureEntry struct {
	Name        string               `yaml:"name"`
	Description string               `yaml:"description"`
	Steps       []procedure.StepSpec `yaml:"steps"`
}

// Declared reports whether the entry declares its own steps.
func (p ProcedureEntry) Declared() bool { return len(p.Steps) > 0 }

// Migrations is the migration set of both releases.
type Migrations struct {
	// Path is the folder (or, with git refs, the folder inside the repo).
	Path string `yaml:"path"`
	// Layout is one of migrate.Layouts; empty = detect.
	Layout string `yaml:"layout"`
	// Bookkeeping is how the app records applied migrations; empty = the
	// layout's own tool.
	Bookkeeping string `yaml:"bookkeeping"`
	// Repo is the git repository for releases given as gitRef (default:
	// the repository holding the scenario file).
	Repo string `yaml:"repo"`
	// ReleasePerMigration treats each migration as its own release (as
	// `rehearse matrix --release-per-migration`).
	ReleasePerMigration bool `yaml:"releasePerMigration"`
}

// Releases are N (from) and N+1 (to).
type Releases struct {
	From Release `yaml:"from"`
	To   Release `yaml:"to"`
}

// Release is one version of the app.
type Release struct {
	Name string `yaml:"name"`
	// Version is the release's last migration version; empty = looked up
	// by Name in the migrations folder's releases.yaml.
	Version string `yaml:"version"`
	// GitRef reads the migration set of this release from a git ref.
	GitRef string `yaml:"gitRef"`
	Server Server `yaml:"server"`
	Chart  Chart  `yaml:"chart"`
	// OldQueries is a file of the SQL this release runs (matrix old-code probes).
	OldQueries string `yaml:"oldQueries"`
}

// Server is how to run the release's server.
type Server struct {
	// Binary is a prebuilt server executable (local backend).
	Binary string `yaml:"binary"`
	// Build builds the binary with `go build` (local backend).
	Build *Build `yaml:"build"`
	// Args and Env are given to the server; ${MIGRATIONS} stands for the
	// absolute path of spec.migrations.path.
	Args []string          `yaml:"args"`
	Env  map[string]string `yaml:"env"`
	// Image is the server's container image (docker, kind, kube).
	Image string `yaml:"image"`
	// Port the server listens on inside its container (default 8080).
	Port int `yaml:"port"`
	// MigrationsViaHook runs the migrations as a pre-install/pre-upgrade
	// hook (`--migrate-only`) instead of at boot.
	MigrationsViaHook bool `yaml:"migrationsViaHook"`
}

// Build is `go build -ldflags LDFlags -o <tmp> Package`, run in Module.
type Build struct {
	Module  string `yaml:"module"`
	Package string `yaml:"package"`
	LDFlags string `yaml:"ldflags"`
}

// Chart is the Helm chart of the release (kind, kube).
type Chart struct {
	Path   string         `yaml:"path"`
	Values map[string]any `yaml:"values"`
}

// Data is the seeded data.
type Data struct {
	Profile string `yaml:"profile"`
	Rows    int    `yaml:"rows"`
	Seed    int64  `yaml:"seed"`
	// From is a pg_dump file or folder (relative to the scenario) or a DSN
	// that is only read: its rows are the matrix's N-era data
	// (--data-from). AllowDrift and Sample as --allow-drift and --sample.
	From       string  `yaml:"from"`
	AllowDrift bool    `yaml:"allowDrift"`
	Sample     float64 `yaml:"sample"`
}

// FromIsDSN says whether From is a connection string rather than a path.
func (d Data) FromIsDSN() bool {
	return strings.Contains(d.From, "://") || strings.Contains(d.From, "=")
}

// SmokeRequest is one HTTP request a working server must answer.
// In Path and Body, ${unique} is a token unique to the run and procedure,
// and ${NAME.FIELD} a field of the JSON answer of an earlier request saved
// as NAME.
type SmokeRequest struct {
	Name   string `yaml:"name"`
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	Body   string `yaml:"body"`
	// Expect is the status code wanted (default: any 2xx).
	Expect int `yaml:"expect"`
	// Save names the answer for later requests.
	Save string `yaml:"save"`
}

// Checks tune the checks after each procedure.
type Checks struct {
	// ReadyTimeout: how long release N's server may take to become ready
	// (default 60s). Grace: how long it must then stay ready (default 5s).
	ReadyTimeout Duration `yaml:"readyTimeout"`
	Grace        Duration `yaml:"grace"`
}

// Policy says what blocks the release.
type Policy struct {
	// File is a matrix policy file (see `rehearse matrix --policy`).
	File string `yaml:"file"`
	// Procedures maps a procedure to the worst verdict it may have without
	// blocking ("recovered", "degraded" or "failed"). Default: full-restore
	// must be "recovered" (the last resort must work), the others are
	// reported only.
	Procedures map[string]string `yaml:"procedures"`
}

// Postgres is the database server of the docker, kind and kube backends.
type Postgres struct {
	// Image default (empty): $REHEARSE_POSTGRES_IMAGE, else the official
	// postgres image of the local server binaries' major version, e.g.
	// postgres:15. --postgres-image overrides it.
	Image string `yaml:"image"`
}

// Duration is a time.Duration written as "30s" in YAML.
type Duration struct{ time.Duration }
