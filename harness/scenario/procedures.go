package scenario

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
)

// UnmarshalYAML reads a built-in's name alone as well as a declared
// procedure's mapping.
func (p *ProcedureEntry) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		p.Name = n.Value
		return nil
	}
	// A distinct type, so Decode does not call this method again.
	type long ProcedureEntry
	return n.Decode((*long)(p))
}

// ProcedureNames lists the procedures the scenario runs, in order.
func (s *Scenario) ProcedureNames() []string {
	if len(s.Spec.Procedures) == 0 {
		return append([]string(nil), Procedures...)
	}
	out := make([]string, len(s.Spec.Procedures))
	for i, p := range s.Spec.Procedures {
		out[i] = p.Name
	}
	return out
}

// ProcedureSpecs are the procedures the scenario runs, declared ones with
// their sql files resolved against the scenario's folder. Load has
// validated them.
func (s *Scenario) ProcedureSpecs() []procedure.Spec {
	var out []procedure.Spec
	for _, name := range s.ProcedureNames() {
		if b, ok := procedure.Builtin(name); ok && !s.declared(name) {
			out = append(out, b)
			continue
		}
		for _, p := range s.Spec.Procedures {
			if p.Name != name {
				continue
			}
			sp := procedure.Spec{Name: p.Name, Description: p.Description, Steps: slices.Clone(p.Steps)}
			for i := range sp.Steps {
				sp.Steps[i].File = s.Abs(sp.Steps[i].File)
			}
			out = append(out, sp)
			break
		}
	}
	return out
}

func (s *Scenario) declared(name string) bool {
	for _, p := range s.Spec.Procedures {
		if p.Name == name && p.Declared() {
			return true
		}
	}
	return false
}

// CheckProcedures checks the declared procedures against the migrations
// of the releases, known once the set is loaded (a down range N+1 does
// not have, a bookkeeping version no migration has).
func (s *Scenario) CheckProcedures(base, next []*migrate.Migration) error {
	v := &validator{file: s.File, root: s.node()}
	if next == nil {
		next = []*migrate.Migration{}
	}
	v.procedures(s, procedure.Known{Base: base, Next: next, Abs: s.Abs})
	return v.err()
}

// procedures checks spec.procedures: built-in names, declared procedures
// and their steps (see procedure.Spec.Problems), no name twice.
func (v *validator) procedures(s *Scenario, k procedure.Known) {
	seen := map[string]bool{}
	for i, p := range s.Spec.Procedures {
		idx := strconv.Itoa(i)
		f := fmt.Sprintf("spec.procedures[%d]", i)
		line := v.line("spec", "procedures", idx)
		_, builtin := procedure.Builtin(p.Name)
		switch {
		case seen[p.Name]:
			v.add(line, f, "%q is listed twice", p.Name)
		case !p.Declared() && !builtin && (p.Description != "" || p.Name == "" || v.isMapping("spec", "procedures", idx)):
			v.add(line, f+".steps", "missing: a declared procedure lists its steps (kinds: %s); or name a built-in: %s", strings.Join(procedure.Kinds, ", "), strings.Join(Procedures, ", "))
		case !p.Declared() && !builtin:
			v.add(line, f, "unknown procedure %q: use %s, or declare it with name and steps (see `rehearse procedures --show`)", p.Name, strings.Join(Procedures, ", "))
		case p.Declared() && builtin:
			v.add(v.line("spec", "procedures", idx, "name"), f+".name", "%q is a built-in procedure's name: give your version its own name", p.Name)
		}
		seen[p.Name] = true
		if !p.Declared() {
			continue
		}
		spec := procedure.Spec{Name: p.Name, Description: p.Description, Steps: p.Steps}
		for _, pr := range spec.Problems(k) {
			path := []string{"spec", "procedures", idx}
			field := f
			if pr.Step >= 0 {
				path = append(path, "steps", strconv.Itoa(pr.Step))
				field += "." + pr.StepLabel()
			}
			if pr.Field != "" {
				path = append(path, pr.Field)
				field += "." + pr.Field
			}
			v.add(v.line(path...), field, "%s", pr.Msg)
		}
	}
}

// isMapping reports whether the node at path is a mapping.
func (v *validator) isMapping(path ...string) bool {
	n := v.root
	for _, p := range path {
		if n == nil {
			return false
		}
		_, n = child(n, p)
	}
	return n != nil && n.Kind == yaml.MappingNode
}
