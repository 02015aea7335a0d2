package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rehearse-dev/rehearse/harness/reportdiff"
)

func newDiffCmd() *cobra.Command {
	var (
		opts   reportdiff.Options
		format string
	)
	cmd := &cobra.Command{
		Use:   "diff OLD.json NEW.json",
		Short: "Compare two matrix reports; exit 1 when something got worse",
		Long: `Compare two matrix.json reports, e.g. last night's and tonight's.

Lists verdicts that got worse or better (safe < revertible < lossy-revert <
restore-only < broken; not-reached is not compared), new and removed
migrations, checks whose status changed, and checks that got slower than
--threshold (relative) and --min-seconds (absolute).

Exit codes: 0 nothing got worse, 1 something got worse (a verdict, a check
that now fails, a new restore-only or broken migration, the gate now
blocking), 2 the reports could not be read.`,
		Example: `  rehearse diff last-night/matrix.json reports/nightly/matrix.json
  rehearse diff old.json new.json --threshold 0.3 --format markdown >> "$GITHUB_STEP_SUMMARY"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			return runDiff(cmd.OutOrStdout(), args[0], args[1], opts, format)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&opts.TimingThreshold, "threshold", reportdiff.DefaultTimingThreshold, "report checks whose seconds grew by more than this fraction (0.5 = 50%)")
	f.Float64Var(&opts.MinTimingSeconds, "min-seconds", reportdiff.DefaultMinTimingSeconds, "ignore timing growth smaller than this many seconds")
	f.StringVar(&format, "format", "text", "output format: text, markdown or json")
	return cmd
}

func runDiff(w io.Writer, oldPath, newPath string, opts reportdiff.Options, format string) error {
	if opts.TimingThreshold <= 0 {
		return exitError{exitHarness, fmt.Errorf("--threshold %g: must be greater than 0 (0.5 means 50%% slower)", opts.TimingThreshold)}
	}
	if opts.MinTimingSeconds < 0 {
		return exitError{exitHarness, fmt.Errorf("--min-seconds %g: must not be negative", opts.MinTimingSeconds)}
	}
	var render func(io.Writer, *reportdiff.Result) error
	switch format {
	case "text":
		render = reportdiff.WriteText
	case "markdown", "md":
		render = reportdiff.WriteMarkdown
	case "json":
		render = func(w io.Writer, r *reportdiff.Result) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(r)
		}
	default:
		return exitError{exitHarness, fmt.Errorf("--format %q: unknown format (valid: text, markdown, json)", format)}
	}
	oldReport, err := reportdiff.Load(oldPath)
	if err != nil {
		return exitError{exitHarness, err}
	}
	newReport, err := reportdiff.Load(newPath)
	if err != nil {
		return exitError{exitHarness, err}
	}
	res := reportdiff.Compare(oldReport, newReport, opts)
	if err := render(w, &res); err != nil {
		return exitError{exitHarness, fmt.Errorf("write diff: %w", err)}
	}
	if res.Worse() {
		return exitError{exitFinding, fmt.Errorf("%d regression(s) from %s to %s", len(res.WorseReasons()), oldPath, newPath)}
	}
	return nil
}
