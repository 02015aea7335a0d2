package rehearsal

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/scenario"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// ChaosOptions are `rehearse run`'s fault flags; they override the
// scenario's faults: section.
type ChaosOptions struct {
	// Faults replaces the scenario's list ("all" = every fault;
	// "fault@point" = that fault at that point only).
	Faults []string
	// At restricts the faults to these points (--at).
	At []string
	// Exhaustive: every statement boundary (--exhaustive).
	Exhaustive bool
	// Seed picks the boundaries (--seed; default the scenario's).
	Seed *int64
}

// chaosPlan builds the fault plan from the scenario and the flags.
func chaosPlan(s *scenario.Scenario, o ChaosOptions, next []*migrate.Migration) ([]chaos.Injection, int64, error) {
	reqs, err := s.FaultRequests()
	if err != nil {
		return nil, 0, err
	}
	if len(o.Faults) > 0 {
		reqs = nil
		names := o.Faults
		if slices.Contains(names, "all") {
			names = chaos.Faults
		}
		for _, name := range names {
			// fault@point names one cell.
			fault, at, ok := strings.Cut(name, "@")
			r := chaos.Request{Fault: fault}
			if ok {
				p, err := chaos.ParsePoint(at)
				if err != nil {
					return nil, 0, fmt.Errorf("--faults %s: %w", name, err)
				}
				r.At = []chaos.Point{p}
			}
			reqs = append(reqs, r)
		}
	}
	if len(o.At) > 0 {
		var at []chaos.Point
		for _, a := range o.At {
			p, err := chaos.ParsePoint(a)
			if err != nil {
				return nil, 0, fmt.Errorf("--at: %w", err)
			}
			at = append(at, p)
		}
		for i := range reqs {
			reqs[i].At = at
		}
	}
	seed := s.Spec.Faults.SeedOr(s.Spec.Data.Seed)
	if o.Seed != nil {
		seed = *o.Seed
	}
	plan, err := chaos.Plan(reqs, chaos.PlanOptions{
		Exhaustive: o.Exhaustive || s.Spec.Faults.Exhaustive,
		Seed:       seed,
		Next:       next,
		Procedures: s.ProcedureNames(),
		Specs:      s.ProcedureSpecs(),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: faults: %w", s.File, err)
	}
	return plan, seed, nil
}

// replayCommand is the command that rehearses one cell alone.
func replayCommand(s *scenario.Scenario, backend string, seed int64, inj chaos.Injection) string {
	return fmt.Sprintf("rehearse run -f %s --backend %s --no-matrix --faults %s --at %s --seed %d",
		s.File, backend, inj.Fault, inj.Point, seed)
}

// findPGRestore finds the pg_restore that verifies backups ("" = none).
func findPGRestore(pgBin string) string {
	if dir, err := local.FindBinDir(pgBin); err == nil {
		p := filepath.Join(dir, "pg_restore")
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("pg_restore"); err == nil {
		return p
	}
	return ""
}

// runChaos injects the plan's faults and adds the cells and their
// findings to rep.
func (r *runner) runChaos(ctx context.Context, pc *procedure.Context, plan []chaos.Injection, seed int64, rep *RunReport) error {
	clean := map[string]*procedure.Result{}
	for i := range rep.Procedures {
		clean[rep.Procedures[i].Name] = &rep.Procedures[i]
	}
	fmt.Fprintf(r.progress, "chaos: %d faults to inject (seed %d)\n", len(plan), seed)
	cells, err := chaos.Run(ctx, chaos.Config{
		PC: pc, Plan: plan, Clean: clean, Specs: r.s.ProcedureSpecs(), Logger: r.o.Logger, Progress: r.progress,
		Replay: func(inj chaos.Injection) string { return replayCommand(r.s, r.backend, seed, inj) },
	})
	rep.Chaos = cells
	if err != nil {
		return err
	}
	for _, c := range cells {
		if c.Verdict == chaos.VerdictDataLost {
			rep.Findings = append(rep.Findings, matrix.Finding{
				Migration: "chaos " + c.Fault + " at " + c.Point, Action: "block",
				Reason: fmt.Sprintf("release N's data did not survive %s at %s and the re-run: %s (replay: %s)", c.Fault, c.Point, oneline.First(c.Recovery), c.Replay),
			})
			rep.Blocking = true
		}
	}
	return nil
}
