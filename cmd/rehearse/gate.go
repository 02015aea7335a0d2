package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/policy"
	"github.com/rehearse-dev/rehearse/harness/report"
	"github.com/rehearse-dev/rehearse/harness/reportdiff"
)

func newGateCmd() *cobra.Command {
	var (
		policyPath, outDir, date string
	)
	cmd := &cobra.Command{
		Use:   "gate REPORT.json",
		Short: "Judge an existing matrix report against a policy; exit 1 on a blocking finding",
		Long: `Re-evaluate a matrix.json with a policy (the default one without --policy):
print every finding, say which blocked and which waiver applied, and exit 1
when one blocks. With --out the four report files are rewritten with the
new findings. --date evaluates waiver expiry on another day, e.g. to see
what will block next week.

Exit codes: 0 nothing blocking, 1 a blocking finding, 2 bad input.`,
		Example: `  rehearse gate reports/run/matrix.json --policy .rehearse/policy.yaml
  rehearse gate matrix.json --policy policy.yaml --date 2026-07-01`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			now := time.Now()
			if date != "" {
				d, err := time.Parse(time.DateOnly, date)
				if err != nil {
					return exitError{exitHarness, fmt.Errorf("--date %q: write YYYY-MM-DD", date)}
				}
				now = d
			}
			return runGate(cmd.OutOrStdout(), args[0], policyPath, outDir, now)
		},
	}
	f := cmd.Flags()
	f.StringVar(&policyPath, "policy", "", "policy file (default: block on broken and on every down defect)")
	f.StringVar(&outDir, "out", "", "rewrite matrix.md, matrix.html, matrix.json and junit.xml into this directory")
	f.StringVar(&date, "date", "", "evaluate waivers as of this day (YYYY-MM-DD; default today)")
	return cmd
}

func runGate(w io.Writer, reportPath, policyPath, outDir string, now time.Time) error {
	p := policy.Default()
	if policyPath != "" {
		var err error
		if p, err = policy.Load(policyPath); err != nil {
			return exitError{exitHarness, err}
		}
	}
	r, err := reportdiff.Load(reportPath)
	if err != nil {
		return exitError{exitHarness, err}
	}
	p.Apply(r, now)
	printFindings(w, r, p.Source)
	if outDir != "" {
		if err := report.WriteAll(outDir, r); err != nil {
			return exitError{exitHarness, err}
		}
	}
	if r.Blocking {
		return exitError{exitFinding, fmt.Errorf("blocked by policy %s: %d blocking finding(s) in %s", p.Source, countAction(r, "block"), reportPath)}
	}
	return nil
}

func printFindings(w io.Writer, r *matrix.Report, source string) {
	fmt.Fprintf(w, "policy %s on %s → %s: %d migrations\n", source, r.From, r.To, len(r.Results))
	for _, f := range r.Findings {
		fmt.Fprintf(w, "%-5s %s: %s\n", f.Action, f.Migration, f.Reason)
		if f.Waiver != "" {
			fmt.Fprintf(w, "      waiver: %s\n", f.Waiver)
		}
	}
	if r.Blocking {
		fmt.Fprintf(w, "BLOCKED: %d blocking finding(s)\n", countAction(r, "block"))
	} else {
		fmt.Fprintf(w, "passed: nothing blocks (%d warning(s))\n", countAction(r, "warn"))
	}
}

func countAction(r *matrix.Report, action string) int {
	n := 0
	for _, f := range r.Findings {
		if f.Action == action {
			n++
		}
	}
	return n
}
