package procedure

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/migrate"
)

// Problem is one thing wrong with a declared procedure: Step is the index
// of the step (-1: the procedure itself), Field the step's field ("" = the
// step as a whole).
type Problem struct {
	Step  int
	Field string
	Msg   string
}

// Known is what validation can check against. Migrations not known yet
// (nil Next, e.g. releases read from git refs) skip the range checks; the
// caller checks again once they are.
type Known struct {
	// Base and Next are release N's migrations and those N+1 adds.
	Base, Next []*migrate.Migration
	// Abs resolves a sql step's file (relative to the scenario).
	Abs func(string) string
}

var (
	procNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	digitsRE   = regexp.MustCompile(`^[0-9]+$`)
)

// Problems checks s before anything runs: known step kinds, the fields
// each kind needs (and none it ignores), files that exist and parse, dumps
// an earlier step writes, versions N+1 has, unique step names.
func (s Spec) Problems(k Known) []Problem {
	var ps []Problem
	add := func(step int, field, format string, args ...any) {
		ps = append(ps, Problem{Step: step, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !procNameRE.MatchString(s.Name) || len(s.Name) > 63 {
		add(-1, "name", "%q: name the procedure with lower-case letters, digits, '-' and '.', e.g. my-runbook", s.Name)
	}
	if len(s.Steps) == 0 {
		add(-1, "steps", "missing: list the procedure's steps, each with a kind (%s)", strings.Join(Kinds, ", "))
	}
	written := map[string]bool{PreUpgradeDump: true}
	names := map[string]int{}
	for i, st := range s.Steps {
		if !slices.Contains(Kinds, st.Kind) {
			if st.Kind == "" {
				add(i, "kind", "missing: give the step a kind, one of %s", strings.Join(Kinds, ", "))
			} else {
				add(i, "kind", "unknown step kind %q: use one of %s", st.Kind, strings.Join(Kinds, ", "))
			}
			continue
		}
		for _, f := range st.setFields() {
			if !slices.Contains(kindFields[st.Kind], f) {
				add(i, f, "not used by a %s step (it takes %s)", st.Kind, fieldList(st.Kind))
			}
		}
		switch st.Kind {
		case KindHelmRollback:
			if st.To != "" && st.To != "N" && st.To != "N+1" && !digitsRE.MatchString(st.To) {
				add(i, "to", "%q: roll back to N, N+1 or a Helm revision number", st.To)
			}
		case KindScale:
			if st.Replicas == nil || *st.Replicas < 0 {
				add(i, "replicas", "missing or negative: the replica count to scale to (0 stops the server)")
			}
			if st.Workload != "" && st.Workload != "server" {
				add(i, "workload", "%q: the harness deploys one workload, server; a runbook step for another workload cannot be rehearsed yet", st.Workload)
			}
		case KindBackup:
			d := s.backupDump(i)
			if d == PreUpgradeDump || !procNameRE.MatchString(d) {
				add(i, "dump", "%q: name the dump with lower-case letters, digits and '-' (pre-upgrade is the harness's own)", d)
			} else if written[d] {
				add(i, "dump", "%q is written twice in this procedure: give each backup its own dump name", d)
			}
			written[d] = true
		case KindVerifyBackup, KindRestore:
			if d := s.readDump(i); !written[d] {
				add(i, "dump", "%q: no earlier backup step of this procedure writes it (use pre-upgrade for the backup taken before the upgrade)", d)
			}
		case KindDown:
			if st.Name != "" {
				add(i, "name", "a down step is one step per migration, each named \"down <version>_<name>\": leave name out")
			}
			ps = append(ps, checkRange(i, st.Range, k.Next)...)
		case KindSQL:
			ps = append(ps, checkSQL(i, st, k)...)
		case KindBookkeeping:
			switch {
			case st.Version != "" && !digitsRE.MatchString(st.Version):
				add(i, "version", "%q is not a migration version (digits)", st.Version)
			case st.Version != "" && k.Next != nil && versionIndex(append(append([]*migrate.Migration{}, k.Base...), k.Next...), st.Version) < 0:
				add(i, "version", "no migration of N or N+1 has version %s", st.Version)
			}
		case KindExec:
			if len(st.Command) == 0 || st.Command[0] == "" {
				add(i, "command", "missing: the command to run, as a list, e.g. [sh, -c, \"echo hi\"]")
			}
			if st.In != "" && st.In != ExecInServer && st.In != ExecInHarness {
				add(i, "in", "%q: run the command in the server's container (server) or on the harness (harness)", st.In)
			}
		}
		if st.Timeout < 0 {
			add(i, "timeout", "must not be negative")
		}
		if st.Kind != KindDown {
			name := st.StepName()
			if j, dup := names[name]; dup {
				add(i, "name", "step %d is also named %q: give one of them its own name (chaos resumes and the report need unique names)", j+1, name)
			}
			names[name] = i
		}
	}
	if k.Next != nil {
		for i, st := range s.Steps {
			if st.Kind != KindDown {
				continue
			}
			for _, m := range downMigrations(k.Next, st.Range) {
				if j, dup := names[DownStep(m)]; dup {
					add(i, "range", "reverts %s again (step %d does too): a migration is reverted once per procedure", m.ID(), j+1)
				}
				names[DownStep(m)] = i
			}
		}
	}
	return ps
}

// kindFields are the fields each kind takes (besides kind and name).
var kindFields = map[string][]string{
	KindHelmRollback: {"to"},
	KindScale:        {"workload", "replicas"},
	KindBackup:       {"dump"},
	KindVerifyBackup: {"dump"},
	KindRestore:      {"dump"},
	KindDown:         {"range"},
	KindSQL:          {"file", "statements", "role"},
	KindBookkeeping:  {"version"},
	KindExec:         {"command", "in", "timeout"},
	KindWaitReady:    {"timeout"},
	KindSmoke:        {},
}

func fieldList(kind string) string {
	if len(kindFields[kind]) == 0 {
		return "no parameters"
	}
	return strings.Join(kindFields[kind], ", ")
}

// setFields names the parameters st sets.
func (st StepSpec) setFields() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"to", st.To != ""}, {"workload", st.Workload != ""}, {"replicas", st.Replicas != nil},
		{"dump", st.Dump != ""}, {"range", st.Range != ""}, {"file", st.File != ""},
		{"statements", st.Statements != ""}, {"role", st.Role != ""}, {"version", st.Version != ""},
		{"command", len(st.Command) > 0}, {"in", st.In != ""}, {"timeout", st.Timeout != 0},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// checkRange checks a down step's range against N+1's migrations.
func checkRange(i int, rng string, next []*migrate.Migration) []Problem {
	if rng == "" {
		return nil
	}
	a, b, ok := strings.Cut(rng, "..")
	if !ok {
		b = a
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if !digitsRE.MatchString(a) || !digitsRE.MatchString(b) {
		return []Problem{{Step: i, Field: "range", Msg: fmt.Sprintf("%q: write HIGH..LOW (versions of N+1's migrations, e.g. 000011..000009) or one version", rng)}}
	}
	if next == nil {
		return nil
	}
	var ps []Problem
	for _, v := range []string{a, b} {
		if versionIndex(next, v) < 0 {
			ps = append(ps, Problem{Step: i, Field: "range", Msg: fmt.Sprintf("N+1 has no migration %s: its migrations are %s", v, versionSpan(next))})
		}
		if b == a {
			break
		}
	}
	return ps
}

func versionSpan(ms []*migrate.Migration) string {
	switch len(ms) {
	case 0:
		return "none"
	case 1:
		return ms[0].Version
	}
	return ms[0].Version + " to " + ms[len(ms)-1].Version
}

// checkSQL checks a sql step: one source, a file that exists, SQL that
// parses (a syntax error names the file's line).
func checkSQL(i int, st StepSpec, k Known) []Problem {
	bad := func(field, format string, args ...any) []Problem {
		return []Problem{{Step: i, Field: field, Msg: fmt.Sprintf(format, args...)}}
	}
	if (st.File == "") == (st.Statements == "") {
		return bad("", "give file (a SQL file, relative to the scenario) or statements (inline SQL), one of them")
	}
	file, text := "statements", st.Statements
	if st.File != "" {
		file = st.File
		if k.Abs != nil {
			file = k.Abs(st.File)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return bad("file", "%s cannot be read (%v): paths are relative to the scenario file's folder", st.File, err)
		}
		text = string(b)
	}
	script, err := migrate.ParseScript(file, text)
	if err != nil {
		return bad(map[bool]string{true: "file", false: "statements"}[st.File != ""], "%v", err)
	}
	if len(script.Statements) == 0 {
		return bad("", "no SQL statement in %s", file)
	}
	return nil
}

// StepLabel is "steps[i]" for a problem's step, "" for the procedure.
func (p Problem) StepLabel() string {
	if p.Step < 0 {
		return ""
	}
	return "steps[" + strconv.Itoa(p.Step) + "]"
}
