package report

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// WriteMarkdown renders r as GitHub-flavoured Markdown fit for
// $GITHUB_STEP_SUMMARY: header, matrix table, blocking findings, then a
// short section per failing or warning check.
func WriteMarkdown(w io.Writer, r *matrix.Report) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }

	p("## rehearse: %s → %s\n\n", mdInline(r.From), mdInline(r.To))
	gate := "no"
	if r.Blocking {
		gate = "**yes** ⛔"
	}
	p("Run `%s` · blocking: %s · %d migrations · %.1fs", mdCode(r.RunID), gate, len(r.Results), r.Seconds)
	if r.PostgreSQL != "" {
		p(" · PostgreSQL %s", mdInline(r.PostgreSQL))
	}
	if r.Layout != "" {
		p(" · layout %s", mdInline(r.Layout))
	}
	if r.Bookkeeping != "" {
		p(" · bookkeeping %s", mdInline(r.Bookkeeping))
	}
	if r.MigrateAs != "" {
		p(" · migrations run as %s", mdInline(r.MigrateAs))
	}
	p("\n\n")
	if rel := r.Releases; rel != nil && len(rel.Groups) > 0 {
		names := make([]string, len(rel.Groups))
		for i, g := range rel.Groups {
			names[i] = fmt.Sprintf("%s (%d)", g.Name, len(g.Migrations))
		}
		p("Releases (eras) by %s: %s\n\n", mdInline(rel.Grouping), mdInline(strings.Join(names, ", ")))
	}

	if line := dataSourceLine(r.DataSource); line != "" {
		p("%s\n\n", mdInline(line))
	}
	if st := r.Stats; st != nil {
		p("Databases: %d clones, %d cells on their state itself, at most %d at once", st.Clones, st.InPlace, st.PeakDatabases)
		if st.DataStateBytes > 0 {
			p("; largest data state %.1f MiB", float64(st.DataStateBytes)/(1<<20))
		}
		p("\n\n")
	}

	writeProceduresMarkdown(p, r)
	writeChaosMarkdown(p, r)

	// The matrix.
	p("| migration | class | verdict |")
	for _, name := range matrix.CheckNames {
		p(" %s |", name)
	}
	p("\n|---|---|---|")
	for range matrix.CheckNames {
		p(":-:|")
	}
	p("\n")
	for i := range r.Results {
		m := &r.Results[i]
		p("| `%s` | %s | %s %s |", cellCode(migrationID(m)), mdCell(m.Class), verdictEmoji(m.Verdict), mdCell(string(m.Verdict)))
		for _, nc := range m.Checks.List() {
			p(" %s |", statusSymbol(nc.Check.Status))
		}
		p("\n")
	}
	p("\n✓ ok · ✗ fail · ⚠ warn · – skipped\n\n")

	writeFindings(p, r)
	writeBaselineMarkdown(p, r)

	// Evidence for every failing or warning cell.
	var details strings.Builder
	for i := range r.Results {
		m := &r.Results[i]
		for _, nc := range m.Checks.List() {
			c := nc.Check
			if c.Status != matrix.StatusFail && c.Status != matrix.StatusWarn {
				continue
			}
			fmt.Fprintf(&details, "#### %s `%s` · %s\n\n", statusSymbol(c.Status), mdCode(migrationID(m)), nc.Name)
			if c.Error != "" {
				fmt.Fprintf(&details, "- error: %s\n", mdInline(c.Error))
			}
			if c.SQLState != "" {
				fmt.Fprintf(&details, "- sqlstate: `%s`\n", mdCode(c.SQLState))
			}
			if loc := location(c); loc != "" {
				fmt.Fprintf(&details, "- at: `%s`\n", mdCode(loc))
			}
			for _, n := range c.Notes {
				fmt.Fprintf(&details, "- note: %s\n", mdInline(n))
			}
			fmt.Fprintf(&details, "- took: %.2fs\n", c.Seconds)
			if c.Detail != "" {
				detail := clip(strings.TrimRight(c.Detail, "\n"), maxDetailLines, maxDetailBytes)
				fence := fenceFor(detail)
				fmt.Fprintf(&details, "\n%s\n%s\n%s\n", fence, detail, fence)
			}
			details.WriteString("\n")
		}
	}
	if details.Len() > 0 {
		p("### Failing and warning checks\n\n%s", details.String())
	}

	if len(r.Notes) > 0 {
		p("### Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", mdInline(n))
		}
		p("\n")
	}
	if empty := emptySeeding(r); len(empty) > 0 {
		p("### Tables without data\n\nCells touching these tables were computed without rows of that era.\n\n")
		for _, s := range empty {
			p("- `%s` (era %s", mdCode(s.Table), mdInline(s.Era))
			if s.After != "" {
				p(", after %s", mdInline(s.After))
			}
			if s.Error != "" {
				p("): %s\n", mdInline(s.Error))
			} else {
				p("): 0 rows\n")
			}
		}
		p("\n")
	}
	return b.Flush()
}

func writeFindings(p func(string, ...any), r *matrix.Report) {
	var block, warn []matrix.Finding
	for _, f := range r.Findings {
		if f.Action == "block" {
			block = append(block, f)
		} else {
			warn = append(warn, f)
		}
	}
	p("### Blocking findings\n\n")
	if len(block) == 0 {
		p("None.\n\n")
	}
	for _, f := range block {
		p("- ⛔ %s\n", findingLine(f))
	}
	if len(block) > 0 {
		p("\n")
	}
	if len(warn) > 0 {
		p("### Warnings\n\n")
		for _, f := range warn {
			p("- ⚠ %s\n", findingLine(f))
		}
		p("\n")
	}
}

// findingLine renders a finding; its Reason already names the check or
// verdict and the policy rule that decided.
func findingLine(f matrix.Finding) string {
	s := fmt.Sprintf("`%s`: %s", mdCode(f.Migration), mdInline(f.Reason))
	if f.Waiver != "" {
		s += " (waiver: " + mdInline(f.Waiver) + ")"
	}
	return s
}

// mdInline keeps text on one line and stops it from opening Markdown or
// HTML constructs in the step summary. It escapes with backslashes, never
// with HTML entities: the raw file stays readable ("a -> b", "kind <> 'x'"),
// and only what could open a tag or an entity is escaped.
func mdInline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = mdPunct.Replace(s)
	s = htmlOpener.ReplaceAllString(s, `\$1`)
	if strings.HasPrefix(s, ">") {
		s = `\` + s
	}
	return s
}

var (
	mdPunct = strings.NewReplacer(
		`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`, "#", `\#`,
	)
	// htmlOpener: "<" that starts a tag, comment or autolink ("<b", "</",
	// "<!", "<?") and "&" that starts an entity ("&amp;", "&#39;").
	htmlOpener = regexp.MustCompile(`([<][A-Za-z/!?]|&#?[A-Za-z0-9]+;)`)
)

// mdCell is mdInline for table cells (pipes must not split the cell).
func mdCell(s string) string {
	if s == "" {
		return "–"
	}
	return mdInline(s)
}

// mdCode is for text inside a code span, where backticks cannot be
// escaped.
func mdCode(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
}

// cellCode is mdCode inside a table cell: GFM splits cells on a pipe even
// within a code span unless it is escaped.
func cellCode(s string) string {
	return strings.ReplaceAll(mdCode(s), "|", `\|`)
}

// GitHub caps a step summary at 1 MiB: long evidence (a big schema diff)
// is clipped here and stays whole in matrix.html and matrix.json.
const (
	maxDetailLines = 60
	maxDetailBytes = 8 << 10
)

// clip shortens s to at most maxLines lines and about maxBytes bytes,
// saying how much was left out.
func clip(s string, maxLines, maxBytes int) string {
	lines := strings.Split(s, "\n")
	total := len(lines)
	if len(lines) > maxLines {
		lines = lines[:maxLines]
	}
	out, size := lines[:0], 0
	for _, l := range lines {
		if size+len(l)+1 > maxBytes {
			break
		}
		out = append(out, l)
		size += len(l) + 1
	}
	if len(out) == total {
		return s
	}
	return strings.Join(out, "\n") + fmt.Sprintf("\n… %d more lines: see matrix.html", total-len(out))
}

// fenceFor returns a backtick fence longer than any backtick run in s, so
// evidence containing ``` cannot close the block early.
func fenceFor(s string) string {
	longest, run := 0, 0
	for _, ch := range s {
		if ch == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// writeProceduresMarkdown renders the rollback procedures of `rehearse run`:
// a verdict per procedure and each step's timeline.
func writeProceduresMarkdown(p func(string, ...any), r *matrix.Report) {
	if len(r.Procedures) == 0 {
		return
	}
	p("### Rollback procedures\n\n| procedure | verdict | N+1-era writes lost | seconds | steps |\n|---|---|--:|--:|---|\n")
	for _, pr := range r.Procedures {
		var steps []string
		for _, st := range pr.Steps {
			steps = append(steps, fmt.Sprintf("%s %s (%.1fs)", st.Name, st.Status, st.Seconds))
		}
		p("| %s | %s | %d | %.1f | %s |\n", mdInline(pr.Name), mdInline(pr.Verdict), pr.WritesLost, pr.Seconds, mdInline(strings.Join(steps, " → ")))
	}
	p("\n")
}

// writeChaosMarkdown renders the chaos cells of `rehearse run`: one row
// per fault and point, the migrations a fault can leave half-applied, and
// the evidence and replay command of every cell a reader must look into.
func writeChaosMarkdown(p func(string, ...any), r *matrix.Report) {
	if len(r.Chaos) == 0 {
		return
	}
	p("### Chaos: faults and recovery\n\n%d cells: %s\n\n", len(r.Chaos), mdInline(chaosSummary(r.Chaos)))
	p("| fault | point | migration/procedure | state found | bookkeeping | recovered | N-era kept | verdict |\n|---|---|---|---|---|:-:|:-:|---|\n")
	for i := range r.Chaos {
		c := &r.Chaos[i]
		p("| %s | `%s` | %s | %s | %s | %s | %s | %s %s |\n",
			mdCell(c.Fault), cellCode(c.Point), mdCell(chaosTarget(c)), mdCell(c.StateFound), mdCell(c.Bookkeeping),
			yesNo(c.Recovered), yesNo(c.NEraKept), chaosEmoji(c.Verdict), mdCell(c.Verdict))
	}
	p("\n")
	if hint := chaosReplayHint(r.Chaos); hint != "" {
		p("Replay one cell: `%s`\n\n", mdCode(hint))
	}

	p("#### Can be left half-applied\n\n")
	half := 0
	for i := range r.Chaos {
		c := &r.Chaos[i]
		if !c.HalfApplied {
			continue
		}
		half++
		p("- `%s` at `%s`", mdCode(chaosTarget(c)), mdCode(c.Point))
		if st := chaosStatements(c); st != "" {
			p(" (%s)", st)
		}
		if c.Bookkeeping != "" {
			p(": bookkeeping claims %s", mdInline(c.Bookkeeping))
		}
		p("\n")
	}
	if half == 0 {
		p("No fault left a migration half-applied.\n")
	}
	p("\n")

	for i := range r.Chaos {
		c := &r.Chaos[i]
		if !chaosNeedsDetail(c) {
			continue
		}
		// A blank line after <summary> lets GitHub render the Markdown inside.
		p("<details><summary>%s %s: %s @ %s</summary>\n\n", chaosEmoji(c.Verdict), mdInline(c.Verdict), mdInline(c.Fault), mdInline(c.Point))
		if c.StateFound != "" {
			p("- state found: %s\n", mdInline(c.StateFound))
		}
		if c.Recovery != "" {
			p("- recovery: %s\n", mdInline(c.Recovery))
		}
		p("- took: %.2fs\n", c.Seconds)
		if c.Detail != "" {
			detail := clip(strings.TrimRight(c.Detail, "\n"), maxDetailLines, maxDetailBytes)
			fence := fenceFor(detail)
			p("\n%s\n%s\n%s\n", fence, detail, fence)
		}
		if c.Replay != "" {
			fence := fenceFor(c.Replay)
			p("\nReplay:\n\n%ssh\n%s\n%s\n", fence, c.Replay, fence)
		}
		p("\n</details>\n\n")
	}
}

// writeBaselineMarkdown lists the release-level findings: what release N
// already fails on its own state, blamed on no migration.
func writeBaselineMarkdown(p func(string, ...any), r *matrix.Report) {
	if len(r.Baseline) == 0 {
		return
	}
	p("### Release %s on its own state\n\n", mdInline(r.From))
	for _, b := range r.Baseline {
		p("- %s (%s, state: %s)", mdInline(b.Message), mdInline(b.CheckName()), mdInline(b.State))
		if b.SQL != "" {
			p(": `%s`", mdCode(b.SQL))
		}
		p("\n")
	}
	p("\n")
}
