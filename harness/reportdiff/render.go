package reportdiff

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteText renders r for a terminal.
func WriteText(w io.Writer, r *Result) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("rehearse diff: %s (%s) → %s (%s)\n", r.OldRun, r.OldRange, r.NewRun, r.NewRange)
	if r.OldBlocking != r.NewBlocking {
		p("gate: blocking %s → %s\n", yesNo(r.OldBlocking), yesNo(r.NewBlocking))
	}
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		p("\n%s:\n", title)
		for _, l := range lines {
			p("  %s\n", l)
		}
	}
	section("verdicts that got worse", verdictLines(r.WorseVerdicts))
	section("verdicts that got better", verdictLines(r.BetterVerdicts))
	section("not comparable (not reached on one side)", verdictLines(r.UnknownVerdicts))
	section("new migrations", migrationLines(r.Added))
	section("removed migrations", migrationLines(r.Removed))
	section("checks that changed", checkLines(r.Checks))
	section(fmt.Sprintf("slower by more than %.0f%% and %.1fs", r.Options.TimingThreshold*100, r.Options.MinTimingSeconds), timingLines(r.Slower))
	if r.empty() {
		p("\nno differences\n")
	}
	if reasons := r.WorseReasons(); len(reasons) > 0 {
		p("\nWORSE: %d regression(s):\n", len(reasons))
		for _, l := range reasons {
			p("  %s\n", l)
		}
	}
	return b.Flush()
}

// WriteMarkdown renders r for a GitHub issue or step summary.
func WriteMarkdown(w io.Writer, r *Result) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	status := "✅ nothing got worse"
	if r.Worse() {
		status = "❌ something got worse"
	}
	p("## rehearse diff: %s\n\n", status)
	p("Old run `%s` (%s) → new run `%s` (%s)", code(r.OldRun), r.OldRange, code(r.NewRun), r.NewRange)
	if r.OldBlocking != r.NewBlocking {
		p(" · gate blocking: %s → **%s**", yesNo(r.OldBlocking), yesNo(r.NewBlocking))
	}
	p("\n\n")
	if reasons := r.WorseReasons(); len(reasons) > 0 {
		p("### Regressions\n\n")
		for _, l := range reasons {
			p("- %s\n", l)
		}
		p("\n")
	}
	verdicts := func(title string, cs []VerdictChange) {
		if len(cs) == 0 {
			return
		}
		p("### %s\n\n| migration | before | now |\n|---|---|---|\n", title)
		for _, c := range cs {
			p("| `%s` | %s | %s |\n", code(c.Migration.ID()), c.Old, c.New)
		}
		p("\n")
	}
	verdicts("Verdicts that got worse", r.WorseVerdicts)
	verdicts("Verdicts that got better", r.BetterVerdicts)
	verdicts("Not comparable (not reached on one side)", r.UnknownVerdicts)
	migs := func(title string, ms []Migration) {
		if len(ms) == 0 {
			return
		}
		p("### %s\n\n", title)
		for _, m := range ms {
			p("- `%s`: %s\n", code(m.ID()), m.Verdict)
		}
		p("\n")
	}
	migs("New migrations", r.Added)
	migs("Removed migrations", r.Removed)
	if len(r.Checks) > 0 {
		p("### Checks that changed\n\n| migration | check | before | now | error |\n|---|---|---|---|---|\n")
		for _, c := range r.Checks {
			mark := ""
			if c.Worse {
				mark = " ❌"
			}
			p("| `%s` | %s | %s | %s%s | %s |\n", code(c.Migration.ID()), c.Check, c.Old, c.New, mark, cell(c.Error))
		}
		p("\n")
	}
	if len(r.Slower) > 0 {
		p("### Slower (more than %.0f%% and %.1fs)\n\n| migration | check | before | now | growth |\n|---|---|---|---|---|\n",
			r.Options.TimingThreshold*100, r.Options.MinTimingSeconds)
		for _, c := range r.Slower {
			p("| `%s` | %s | %.2fs | %.2fs | +%.0f%% |\n", code(c.Migration.ID()), c.Check, c.Old, c.New, c.Growth()*100)
		}
		p("\n")
	}
	if r.empty() {
		p("No differences.\n")
	}
	return b.Flush()
}

func (r *Result) empty() bool {
	return len(r.WorseVerdicts)+len(r.BetterVerdicts)+len(r.UnknownVerdicts)+len(r.Added)+
		len(r.Removed)+len(r.Checks)+len(r.Slower) == 0 && r.OldBlocking == r.NewBlocking
}

func verdictLines(cs []VerdictChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s: %s → %s", c.Migration.ID(), c.Old, c.New))
	}
	return out
}

func migrationLines(ms []Migration) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s: %s", m.ID(), m.Verdict))
	}
	return out
}

func checkLines(cs []CheckChange) []string {
	var out []string
	for _, c := range cs {
		l := fmt.Sprintf("%s %s: %s → %s", c.Migration.ID(), c.Check, c.Old, c.New)
		if c.Error != "" {
			l += " (" + oneLine(c.Error) + ")"
		}
		out = append(out, l)
	}
	return out
}

func timingLines(cs []TimingChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s: %.2fs → %.2fs (+%.0f%%)", c.Migration.ID(), c.Check, c.Old, c.New, c.Growth()*100))
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func code(s string) string { return strings.NewReplacer("`", "'", "|", `\|`).Replace(oneLine(s)) }

func cell(s string) string {
	s = oneLine(s)
	if s == "" {
		return ""
	}
	return strings.NewReplacer("|", `\|`, "<", `\<`).Replace(s)
}
