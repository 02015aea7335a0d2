// Package chaos rehearses the bad days: faults injected at named points of
// the upgrade and of the rollback procedures (a migration's session killed
// between two statements, PostgreSQL crashing, the server crash-looping,
// a readiness timeout, a broken backup), what state each leaves, and
// whether re-running the procedure from there recovers. It works through
// env.Environment, so every backend gets the same faults.
package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
)

// Fault names, as written in scenarios (`faults:`) and on the CLI.
const (
	// KillMigration ends the migration's session (pg_terminate_backend)
	// between two statements of an up file (during the upgrade) or of a
	// down file (during schema-revert).
	KillMigration = "kill-migration"
	// KillPostgres crashes PostgreSQL (SIGKILL to a backend: the server
	// ends every session and runs crash recovery) between two statements
	// of an up or down file, or while pg_restore runs.
	KillPostgres = "kill-postgres"
	// CrashLoop kills release N's server right after a procedure's
	// rollback step, so it restarts.
	CrashLoop = "crash-loop"
	// ReadyTimeout makes release N+1's server miss its readiness timeout
	// during the upgrade; the upgrade is rolled back as `helm upgrade
	// --atomic` does.
	ReadyTimeout = "ready-timeout"
	// BackupFail, BackupEmpty and BackupTruncated break the backup a
	// procedure relies on: pg_dump fails, or leaves an empty or cut file.
	BackupFail      = "backup-fail"
	BackupEmpty     = "backup-empty"
	BackupTruncated = "backup-truncated"
	// AtomicTimeout runs the upgrade as Helm's own `helm upgrade --atomic
	// --timeout T` with release N+1's pods made unready: the cluster fails
	// the rollout and Helm rolls back by itself (cluster backends).
	AtomicTimeout = "atomic-timeout"
	// RestartNode restarts the cluster's node while the upgrade runs
	// (kind: the node container; the harness cannot reach other nodes).
	RestartNode = "restart-node"
	// KillHook deletes the pod of the chart's migration hook Job (through
	// the Kubernetes API) while it applies an up file, held at a statement
	// by a lock on the table that statement needs (cluster backends).
	KillHook = "kill-hook"
	// KillPostgresPod deletes PostgreSQL's pod (the chart's StatefulSet)
	// through the Kubernetes API during a backup, a restore or a down
	// file; it comes back on its volume (cluster backends).
	KillPostgresPod = "kill-postgres-pod"
)

// Faults lists every fault, in plan order.
var Faults = []string{KillMigration, KillPostgres, CrashLoop, ReadyTimeout, BackupFail, BackupEmpty, BackupTruncated, AtomicTimeout, RestartNode, KillHook, KillPostgresPod}

// Point kinds.
const (
	PhaseUp       = "up"       // up:<version>:<k>: after k statements of the up file
	PhaseDown     = "down"     // down:<version>:<k>: after k statements of the down file
	PhaseRestore  = "restore"  // restore: while full-restore's pg_restore runs
	PhaseBackup   = "backup"   // backup:<procedure>: the backup that procedure relies on
	PhaseRollback = "rollback" // rollback:<procedure>: right after its rollback step
	PhaseUpgrade  = "upgrade"  // upgrade: N+1's rollout
)

// Point is where a fault is injected.
type Point struct {
	Phase string
	// Version is the migration of an up/down point.
	Version string
	// After is how many statements of the script ran before the fault:
	// 0 is right after the tool marked the migration as started, the
	// script's statement count is just before its commit.
	After int
	// Procedure is the procedure of a backup or rollback point, and the
	// one a down point is injected into (Plan sets it: each procedure the
	// scenario runs that applies that down file; it is not written in the
	// point's syntax).
	Procedure string
}

func (p Point) String() string {
	switch p.Phase {
	case PhaseUp, PhaseDown:
		return fmt.Sprintf("%s:%s:%d", p.Phase, p.Version, p.After)
	case PhaseBackup, PhaseRollback:
		return p.Phase + ":" + p.Procedure
	}
	return p.Phase
}

// ParsePoint reads a point written as String writes it.
func ParsePoint(s string) (Point, error) {
	parts := strings.Split(s, ":")
	bad := func(why string) (Point, error) {
		return Point{}, fmt.Errorf("fault point %q: %s; write up:VERSION:K, down:VERSION:K, restore, backup:PROCEDURE, rollback:PROCEDURE or upgrade", s, why)
	}
	switch parts[0] {
	case PhaseUp, PhaseDown:
		if len(parts) != 3 || parts[1] == "" {
			return bad("needs a migration version and a statement count")
		}
		k, err := strconv.Atoi(parts[2])
		if err != nil || k < 0 {
			return bad("K must be the number of statements run before the fault (0 or more)")
		}
		return Point{Phase: parts[0], Version: parts[1], After: k}, nil
	case PhaseBackup, PhaseRollback:
		// Any procedure name parses: whether the scenario runs (or
		// declares) it is checked against its procedures (CheckPoint).
		if len(parts) != 2 || parts[1] == "" {
			return bad("needs a procedure name (a built-in: " + strings.Join(procedure.Names, ", ") + ", or one the scenario declares)")
		}
		return Point{Phase: parts[0], Procedure: parts[1]}, nil
	case PhaseRestore, PhaseUpgrade:
		if len(parts) != 1 {
			return bad("takes no argument")
		}
		return Point{Phase: parts[0]}, nil
	}
	return bad("unknown kind " + strconv.Quote(parts[0]))
}

// Phases a fault may be injected at.
var faultPhases = map[string][]string{
	KillMigration:   {PhaseUp, PhaseDown},
	KillPostgres:    {PhaseUp, PhaseDown, PhaseRestore},
	CrashLoop:       {PhaseRollback},
	ReadyTimeout:    {PhaseUpgrade},
	BackupFail:      {PhaseBackup},
	BackupEmpty:     {PhaseBackup},
	BackupTruncated: {PhaseBackup},
	AtomicTimeout:   {PhaseUpgrade},
	RestartNode:     {PhaseUpgrade},
	KillHook:        {PhaseUp},
	KillPostgresPod: {PhaseDown, PhaseRestore, PhaseBackup},
}

// Injection is one cell of the plan: a fault at a point.
type Injection struct {
	Fault string
	Point Point
}

func (in Injection) String() string { return in.Fault + "@" + in.Point.String() }

// Request is what the user asked for: faults, optionally at given points.
type Request struct {
	Fault string
	// At restricts the fault to these points; empty = the default points.
	At []Point
}

// PlanOptions shape the plan.
type PlanOptions struct {
	// Exhaustive injects migration faults at every statement boundary of
	// every N+1 migration instead of one seeded boundary per script.
	Exhaustive bool
	// Seed picks the boundaries when not exhaustive.
	Seed int64
	// Next are N+1's migrations, in order.
	Next []*migrate.Migration
	// Procedures are the procedures the scenario runs.
	Procedures []string
	// Specs declare the procedures; a name without a spec here is a
	// built-in's (procedure.Builtin).
	Specs []procedure.Spec
}

// spec is the declaration of the procedure called name.
func (o PlanOptions) spec(name string) (procedure.Spec, bool) {
	for _, s := range o.Specs {
		if s.Name == name {
			return s, true
		}
	}
	return procedure.Builtin(name)
}

// CheckPoint checks that a backup or rollback point names a procedure
// the scenario runs, with the step the point needs; other points pass.
func CheckPoint(p Point, procedures []string, specs []procedure.Spec) error {
	o := PlanOptions{Procedures: procedures, Specs: specs}
	if p.Phase != PhaseBackup && p.Phase != PhaseRollback {
		return nil
	}
	if !slices.Contains(o.Procedures, p.Procedure) {
		return fmt.Errorf("fault point %s: the scenario does not run procedure %q: use one it runs (%s), or declare it in spec.procedures", p, p.Procedure, strings.Join(o.Procedures, ", "))
	}
	sp, ok := o.spec(p.Procedure)
	if !ok {
		return fmt.Errorf("fault point %s: procedure %q has no declaration", p, p.Procedure)
	}
	switch {
	case p.Phase == PhaseRollback && StepOfKind(sp, procedure.KindHelmRollback) == "":
		return fmt.Errorf("fault point %s: procedure %s has no helm-rollback step to crash the server after", p, p.Procedure)
	case p.Phase == PhaseBackup && sp.Name != "full-restore" && StepOfKind(sp, procedure.KindBackup) == "":
		return fmt.Errorf("fault point %s: procedure %s has no backup step to break: add a {kind: backup} step, or pick a procedure with one", p, p.Procedure)
	}
	return nil
}

// reverting are the procedures the scenario runs that apply m's down file.
func (o PlanOptions) reverting(m *migrate.Migration) []string {
	var out []string
	for _, name := range o.Procedures {
		if sp, ok := o.spec(name); ok && m != nil && sp.Reverts(o.Next, m) {
			out = append(out, name)
		}
	}
	return out
}

// StepOfKind is the name of sp's first step of kind ("" = none).
func StepOfKind(sp procedure.Spec, kind string) string {
	for _, st := range sp.Steps {
		if st.Kind == kind {
			return st.StepName()
		}
	}
	return ""
}

// CheckRequest validates a request against the migration set and the
// procedures, naming what is wrong.
func CheckRequest(r Request, o PlanOptions) error {
	phases, ok := faultPhases[r.Fault]
	if !ok {
		return fmt.Errorf("unknown fault %q: use one of %s", r.Fault, strings.Join(Faults, ", "))
	}
	for _, p := range r.At {
		if !slices.Contains(phases, p.Phase) {
			return fmt.Errorf("fault %s cannot be injected at %s: it takes %s points", r.Fault, p, strings.Join(phases, ", "))
		}
		switch p.Phase {
		case PhaseUp, PhaseDown:
			m := find(o.Next, p.Version)
			if m == nil {
				return fmt.Errorf("fault %s at %s: no migration %s among release N+1's (%s)", r.Fault, p, p.Version, versions(o.Next))
			}
			s := script(m, p.Phase)
			if s == nil {
				return fmt.Errorf("fault %s at %s: migration %s has no %s file", r.Fault, p, m.ID(), p.Phase)
			}
			if p.After > len(s.Statements) {
				return fmt.Errorf("fault %s at %s: %s has %d statements, K must be 0..%d", r.Fault, p, s.File, len(s.Statements), len(s.Statements))
			}
			if r.Fault == KillHook {
				if _, err := HookLockTable(m, p.After); err != nil {
					return fmt.Errorf("fault %s at %s: %w", r.Fault, p, err)
				}
			}
			if p.Phase == PhaseDown && len(o.reverting(m)) == 0 {
				return fmt.Errorf("fault %s at %s: no procedure the scenario runs (%s) applies %s's down file: add schema-revert, or a declared procedure with a down step whose range holds it", r.Fault, p, strings.Join(o.Procedures, ", "), m.ID())
			}
		case PhaseBackup, PhaseRollback:
			if err := CheckPoint(p, o.Procedures, o.Specs); err != nil {
				return fmt.Errorf("fault %s: %w", r.Fault, err)
			}
			if r.Fault == KillPostgresPod && p.Procedure == "full-restore" {
				return fmt.Errorf("fault %s at %s: full-restore takes no backup of its own (it restores the pre-upgrade one): pick a procedure with a backup step, or %s at restore", r.Fault, p, r.Fault)
			}
		case PhaseRestore:
			if !slices.Contains(o.Procedures, "full-restore") {
				return fmt.Errorf("fault %s at restore: the scenario does not run full-restore", r.Fault)
			}
		}
	}
	return nil
}

// Plan expands requests into injections, deterministically for a seed.
func Plan(reqs []Request, o PlanOptions) ([]Injection, error) {
	var out []Injection
	for _, r := range reqs {
		if err := CheckRequest(r, o); err != nil {
			return nil, err
		}
		points := r.At
		if len(points) == 0 {
			points = defaultPoints(r.Fault, o)
		}
		for _, p := range points {
			if p.Phase != PhaseDown || p.Procedure != "" {
				out = append(out, Injection{Fault: r.Fault, Point: p})
				continue
			}
			// A down point is injected into every procedure that applies
			// that down file.
			for _, name := range o.reverting(find(o.Next, p.Version)) {
				p.Procedure = name
				out = append(out, Injection{Fault: r.Fault, Point: p})
			}
		}
	}
	return out, nil
}

func defaultPoints(fault string, o PlanOptions) []Point {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), uint64(len(fault))))
	has := func(p string) bool { return slices.Contains(o.Procedures, p) }
	var out []Point
	switch fault {
	case KillMigration:
		out = append(out, boundaries(PhaseUp, o, rng, true)...)
		out = append(out, o.downBoundaries(rng, true)...)
	case KillPostgres:
		// One crash in the upgrade and one in the downs unless exhaustive:
		// every session dies, so more points add little over kill-migration.
		out = append(out, boundaries(PhaseUp, o, rng, o.Exhaustive)...)
		out = append(out, o.downBoundaries(rng, o.Exhaustive)...)
		if has("full-restore") {
			out = append(out, Point{Phase: PhaseRestore})
		}
	case CrashLoop:
		for _, p := range o.Procedures {
			if sp, ok := o.spec(p); ok && StepOfKind(sp, procedure.KindHelmRollback) != "" {
				out = append(out, Point{Phase: PhaseRollback, Procedure: p})
			}
		}
	case ReadyTimeout, AtomicTimeout, RestartNode:
		out = append(out, Point{Phase: PhaseUpgrade})
	case KillHook:
		// One point per up file that has a statement a lock can hold
		// back (K below the statement count, a table named there first).
		for _, m := range o.Next {
			var ps []Point
			for k := 0; m.Up != nil && k < len(m.Up.Statements); k++ {
				if _, err := HookLockTable(m, k); err == nil {
					ps = append(ps, Point{Phase: PhaseUp, Version: m.Version, After: k})
				}
			}
			if len(ps) == 0 {
				continue
			}
			if o.Exhaustive {
				out = append(out, ps...)
			} else {
				out = append(out, ps[rng.IntN(len(ps))])
			}
		}
	case KillPostgresPod:
		// As kill-postgres: one down boundary, the restore, and the
		// backups of the procedures that take their own.
		out = append(out, o.downBoundaries(rng, o.Exhaustive)...)
		if has("full-restore") {
			out = append(out, Point{Phase: PhaseRestore})
		}
		for _, p := range o.Procedures {
			if sp, ok := o.spec(p); ok && p != "full-restore" && StepOfKind(sp, procedure.KindBackup) != "" {
				out = append(out, Point{Phase: PhaseBackup, Procedure: p})
			}
		}
	case BackupFail, BackupEmpty, BackupTruncated:
		// Every procedure with a backup step, and full-restore (whose
		// backup is the pre-upgrade one).
		for _, p := range o.Procedures {
			if sp, ok := o.spec(p); ok && (p == "full-restore" || StepOfKind(sp, procedure.KindBackup) != "") {
				out = append(out, Point{Phase: PhaseBackup, Procedure: p})
			}
		}
	}
	return out
}

// downBoundaries are the down points of N+1's down files some procedure
// the scenario runs applies (none without such a procedure).
func (o PlanOptions) downBoundaries(rng *rand.Rand, perScript bool) []Point {
	applied := o
	applied.Next = nil
	for _, m := range o.Next {
		if m.Down != nil && len(o.reverting(m)) > 0 {
			applied.Next = append(applied.Next, m)
		}
	}
	return boundaries(PhaseDown, applied, rng, perScript)
}

// boundaries lists the points of phase over N+1's scripts: all of them
// when exhaustive, else one seeded boundary per script (every script when
// perScript, else one script chosen by the seed).
func boundaries(phase string, o PlanOptions, rng *rand.Rand, perScript bool) []Point {
	var all [][]Point
	for _, m := range o.Next {
		s := script(m, phase)
		if s == nil {
			continue
		}
		var ps []Point
		for k := 0; k <= len(s.Statements); k++ {
			ps = append(ps, Point{Phase: phase, Version: m.Version, After: k})
		}
		if !o.Exhaustive && s.NoTransaction && len(s.Statements) >= 2 {
			// Outside a transaction, only a boundary between two
			// statements can leave the file half-applied: sample there.
			ps = ps[1:len(s.Statements)]
		}
		all = append(all, ps)
	}
	if len(all) == 0 {
		return nil
	}
	if o.Exhaustive {
		return slices.Concat(all...)
	}
	pick := func(ps []Point) Point { return ps[rng.IntN(len(ps))] }
	if !perScript {
		return []Point{pick(all[rng.IntN(len(all))])}
	}
	out := make([]Point, len(all))
	for i, ps := range all {
		out[i] = pick(ps)
	}
	return out
}

// HookLockTable is the table kill-hook locks to hold m's up file at
// statement k+1: the first table that statement names which statements
// 1..k do not (those would block first, or create it). Whether it exists
// before the file is checked on the database.
func HookLockTable(m *migrate.Migration, k int) (string, error) {
	s := m.Up
	if s == nil {
		return "", fmt.Errorf("migration %s has no up file", m.ID())
	}
	if k >= len(s.Statements) {
		return "", fmt.Errorf("%s has %d statements: kill-hook holds statement K+1, so K must be 0..%d (kill-migration covers K=%d, just before the commit)", s.File, len(s.Statements), len(s.Statements)-1, len(s.Statements))
	}
	st := s.Statements[k]
	tables := st.Tables()
	if len(tables) == 0 {
		return "", fmt.Errorf("statement %d of %s (line %d) names no table, so no lock can hold the hook there: pick another K, or use kill-migration", k+1, s.File, st.Line)
	}
	var earlier []string
	for _, prev := range s.Statements[:k] {
		earlier = append(earlier, prev.Tables()...)
		earlier = append(earlier, prev.Creates())
	}
	for _, t := range tables {
		if !slices.Contains(earlier, t) {
			return t, nil
		}
	}
	return "", fmt.Errorf("statement %d of %s (line %d) names only tables an earlier statement of the file creates or uses too (%s): a lock on them would hold the hook before statement %d, or cannot be taken; pick another K, or use kill-migration", k+1, s.File, st.Line, strings.Join(tables, ", "), k+1)
}

func find(ms []*migrate.Migration, version string) *migrate.Migration {
	for _, m := range ms {
		if m.Version == version || m.ID() == version {
			return m
		}
	}
	return nil
}

func script(m *migrate.Migration, phase string) *migrate.Script {
	if phase == PhaseDown {
		return m.Down
	}
	return m.Up
}

func versions(ms []*migrate.Migration) string {
	vs := make([]string, len(ms))
	for i, m := range ms {
		vs[i] = m.Version
	}
	return strings.Join(vs, ", ")
}
