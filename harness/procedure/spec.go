package procedure

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A procedure is declared as data: a name and a list of steps, each one of
// the step kinds below with its parameters. The built-ins are declared the
// same way (Builtins), so a user's runbook and the defaults share one
// implementation, one set of checks and one report section.

// Step kinds, as written in scenarios (`kind:`).
const (
	// KindHelmRollback puts a release back (`helm rollback`): N (default),
	// N+1, or a Helm revision (1 installed N, 2 upgraded to N+1).
	KindHelmRollback = "helm-rollback"
	// KindScale sets the server's replicas (0 stops it).
	KindScale = "scale"
	// KindBackup dumps the current database (pg_dump, custom format).
	KindBackup = "backup"
	// KindVerifyBackup reads a dump through with pg_restore.
	KindVerifyBackup = "verify-backup"
	// KindRestore replaces the database by a dump.
	KindRestore = "restore"
	// KindDown applies N+1's down files in reverse (all, or a range).
	KindDown = "down"
	// KindSQL runs SQL (a file or inline statements), optionally as a role.
	KindSQL = "sql"
	// KindBookkeeping records a version in the migration tool's table, the
	// tool's way.
	KindBookkeeping = "bookkeeping"
	// KindExec runs a command in the server's container or on the harness.
	KindExec = "exec"
	// KindWaitReady waits for the server to become and stay ready.
	KindWaitReady = "wait-ready"
	// KindSmoke sends the scenario's smoke requests now.
	KindSmoke = "smoke"
)

// Kinds lists the step kinds.
var Kinds = []string{KindHelmRollback, KindScale, KindBackup, KindVerifyBackup, KindRestore, KindDown, KindSQL, KindBookkeeping, KindExec, KindWaitReady, KindSmoke}

// PreUpgradeDump names the backup taken just before the upgrade.
const PreUpgradeDump = "pre-upgrade"

// Where an exec step runs its command.
const (
	ExecInServer  = "server"
	ExecInHarness = "harness"
)

// Spec is a declared procedure.
type Spec struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description,omitempty"`
	Steps       []StepSpec `yaml:"steps"`
}

// StepSpec is one declared step: a kind and the parameters it uses.
type StepSpec struct {
	Kind string `yaml:"kind"`
	// Name is the step's name in the report and for chaos resumes
	// (default: from the kind, as the built-ins name their steps).
	Name string `yaml:"name,omitempty"`
	// To (helm-rollback): N (default), N+1, or a Helm revision number.
	To string `yaml:"to,omitempty"`
	// Workload and Replicas (scale): the workload (only "server" today)
	// and its replica count.
	Workload string `yaml:"workload,omitempty"`
	Replicas *int   `yaml:"replicas,omitempty"`
	// Dump names a backup: what backup writes (default PROCEDURE-before),
	// what verify-backup and restore read (default: the last backup of
	// this procedure before them, else pre-upgrade).
	Dump string `yaml:"dump,omitempty"`
	// Range (down): N+1's versions to revert, "HIGH..LOW" or one version;
	// default all of N+1's, newest first.
	Range string `yaml:"range,omitempty"`
	// File or Statements (sql): a SQL file (relative to the scenario) or
	// inline statements; Role is SET ROLE first.
	File       string `yaml:"file,omitempty"`
	Statements string `yaml:"statements,omitempty"`
	Role       string `yaml:"role,omitempty"`
	// Version (bookkeeping): the version to record (default N's last).
	Version string `yaml:"version,omitempty"`
	// Command and In (exec): the command (argv) and where it runs: server
	// (the server's container or pod; default) or harness.
	Command []string `yaml:"command,omitempty,flow"`
	In      string   `yaml:"in,omitempty"`
	// Timeout (exec, wait-ready): default 2m for exec, the scenario's
	// checks.readyTimeout for wait-ready.
	Timeout time.Duration `yaml:"timeout,omitempty"`
}

func replicas(n int) *int { return &n }

// Builtins are the three procedures every run rehearses unless the
// scenario lists others, declared like a user's (`rehearse procedures
// --show` prints them).
func Builtins() []Spec {
	return []Spec{
		{
			Name:        "standard",
			Description: "roll the server back to N (helm rollback); the schema stays at N+1",
			Steps:       []StepSpec{{Kind: KindHelmRollback, To: "N"}},
		},
		{
			Name:        "schema-revert",
			Description: "back up; scale the server to 0; apply N+1's down files in reverse; fix the migration bookkeeping; roll the server back to N",
			Steps: []StepSpec{
				{Kind: KindBackup, Dump: "schema-revert-before"},
				{Kind: KindVerifyBackup, Dump: "schema-revert-before"},
				{Kind: KindScale, Replicas: replicas(0)},
				{Kind: KindDown},
				{Kind: KindBookkeeping},
				{Kind: KindHelmRollback, To: "N"},
			},
		},
		{
			Name:        "full-restore",
			Description: "scale the server to 0; restore the backup taken before the upgrade; roll the server back to N",
			Steps: []StepSpec{
				{Kind: KindVerifyBackup, Dump: PreUpgradeDump},
				{Kind: KindScale, Replicas: replicas(0)},
				{Kind: KindRestore, Dump: PreUpgradeDump},
				{Kind: KindHelmRollback, To: "N"},
			},
		},
	}
}

// Builtin returns the built-in procedure called name.
func Builtin(name string) (Spec, bool) {
	for _, s := range Builtins() {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// StepName is the name a step gets in the report: its own, else one from
// its kind (a down step expands to one step per migration, DownStep).
func (s StepSpec) StepName() string {
	if s.Name != "" {
		return s.Name
	}
	switch s.Kind {
	case KindHelmRollback:
		switch s.To {
		case "", "N":
			return StepRollback
		case "N+1":
			return "rollback server to N+1"
		}
		return "rollback server to revision " + s.To
	case KindScale:
		n := 0
		if s.Replicas != nil {
			n = *s.Replicas
		}
		return fmt.Sprintf("scale server to %d", n)
	case KindBackup:
		return StepBackup
	case KindVerifyBackup:
		if s.Dump == PreUpgradeDump {
			return StepVerifyPreUpgrade
		}
		return StepVerifyBackup
	case KindRestore:
		if s.Dump == "" || s.Dump == PreUpgradeDump {
			return StepRestore
		}
		return "restore " + s.Dump + " backup"
	case KindBookkeeping:
		return "fix bookkeeping"
	case KindSQL:
		if s.File != "" {
			return "sql " + s.File
		}
		return "sql"
	case KindExec:
		if len(s.Command) > 0 {
			return "exec " + s.Command[0]
		}
		return "exec"
	case KindWaitReady:
		return "wait for ready"
	case KindSmoke:
		return "smoke requests"
	}
	return s.Kind
}

// Summary is a one-line description of the steps, for a procedure
// declared without one.
func (s Spec) Summary() string {
	parts := make([]string, 0, len(s.Steps))
	for _, st := range s.Steps {
		if st.Kind == KindDown && st.Range == "" {
			parts = append(parts, "apply N+1's down files in reverse")
			continue
		}
		parts = append(parts, st.StepName())
	}
	return strings.Join(parts, "; ")
}

// YAML writes specs as the `procedures:` list of a scenario's spec.
func YAML(specs []Spec) (string, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(map[string][]Spec{"procedures": specs}); err != nil {
		return "", fmt.Errorf("encode procedures: %w", err)
	}
	return b.String(), enc.Close()
}
