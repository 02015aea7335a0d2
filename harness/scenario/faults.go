package scenario

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rehearse-dev/rehearse/harness/chaos"
)

// Faults are the chaos faults to inject (see harness/chaos); empty = none.
type Faults struct {
	// Exhaustive: every statement boundary of every N+1 migration.
	Exhaustive bool `yaml:"exhaustive"`
	// Seed picks the boundaries when not exhaustive (default: spec.data.seed).
	Seed   *int64           `yaml:"seed"`
	Inject []FaultInjection `yaml:"inject"`
}

// FaultInjection is one entry of faults.inject: a fault name alone
// (`- kill-migration`) or a mapping with points (`- {fault: kill-postgres, at: [restore]}`).
type FaultInjection struct {
	Fault string `yaml:"fault"` // one of chaos.Faults
	// At are optional points in chaos.ParsePoint syntax; empty = the
	// fault's default points.
	At []string `yaml:"at"`
}

// UnmarshalYAML reads the short form (a plain fault name) as well as the mapping.
func (f *FaultInjection) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f.Fault = n.Value
		return nil
	}
	// A distinct type, so Decode does not call this method again.
	type long FaultInjection
	return n.Decode((*long)(f))
}

// SeedOr returns the faults' seed, or def when none is set.
func (f Faults) SeedOr(def int64) int64 {
	if f.Seed != nil {
		return *f.Seed
	}
	return def
}

// FaultRequests converts spec.faults.inject into chaos requests, parsing
// the points. Load has validated them, so an error here means the
// Scenario was built or changed by hand.
func (s *Scenario) FaultRequests() ([]chaos.Request, error) {
	var out []chaos.Request
	for i, in := range s.Spec.Faults.Inject {
		r := chaos.Request{Fault: in.Fault}
		for _, a := range in.At {
			p, err := chaos.ParsePoint(a)
			if err != nil {
				return nil, fmt.Errorf("%s: spec.faults.inject[%d].at: %w", s.File, i, err)
			}
			r.At = append(r.At, p)
		}
		out = append(out, r)
	}
	return out, nil
}

// faults checks fault names, point syntax and the procedures points
// name; whether a fault takes a
// point's kind, and whether the point's migration exists, needs the
// migration set and is checked by chaos.CheckRequest.
func (v *validator) faults(s *Scenario, f Faults) {
	for i, in := range f.Inject {
		idx := strconv.Itoa(i)
		field := fmt.Sprintf("spec.faults.inject[%d]", i)
		if !slices.Contains(chaos.Faults, in.Fault) {
			line := v.line("spec", "faults", "inject", idx, "fault")
			if in.Fault == "" {
				v.add(line, field+".fault", "missing: name a fault, one of %s", strings.Join(chaos.Faults, ", "))
			} else {
				v.add(line, field+".fault", "unknown fault %q: use one of %s", in.Fault, strings.Join(chaos.Faults, ", "))
			}
		}
		for j, a := range in.At {
			p, err := chaos.ParsePoint(a)
			if err == nil {
				// backup:NAME and rollback:NAME need a procedure the
				// scenario runs, built-in or declared, with that step.
				err = chaos.CheckPoint(p, s.ProcedureNames(), s.ProcedureSpecs())
			}
			if err != nil {
				v.add(v.line("spec", "faults", "inject", idx, "at", strconv.Itoa(j)), fmt.Sprintf("%s.at[%d]", field, j), "%v", err)
			}
		}
	}
}
