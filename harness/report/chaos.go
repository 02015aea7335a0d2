package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// chaosEmoji gives each chaos verdict a glyph, like verdictEmoji does for
// migrations.
func chaosEmoji(v string) string {
	switch v {
	case chaos.VerdictRecovered:
		return "✅"
	case chaos.VerdictDetected:
		return "🛑"
	case chaos.VerdictManual:
		return "🔧"
	case chaos.VerdictAsWithoutFault:
		return "➖"
	case chaos.VerdictUnrecovered:
		return "❌"
	case chaos.VerdictDataLost:
		return "🔥"
	case chaos.VerdictNotReached:
		return "⏸️"
	case chaos.VerdictSkipped:
		return "⏭️"
	case chaos.VerdictError:
		return "💥"
	}
	return "❔"
}

// chaosNeedsDetail: cells a reader must look into (the fault won, needed
// a hand, or was never tried).
func chaosNeedsDetail(c *chaos.Cell) bool {
	if len(c.Helm) > 0 || c.Node != nil || len(c.ManualSteps) > 0 || len(c.FromFault) > 0 {
		return true // a cluster fault's evidence (history, times, what was run) is its point
	}
	switch c.Verdict {
	case chaos.VerdictUnrecovered, chaos.VerdictDataLost, chaos.VerdictManual, chaos.VerdictSkipped, chaos.VerdictNotReached, chaos.VerdictError:
		return true
	}
	return false
}

// chaosTarget is the migration or procedure the fault hit.
func chaosTarget(c *chaos.Cell) string {
	switch {
	case c.Migration != "" && c.Procedure != "":
		return c.Migration + " (" + c.Procedure + ")"
	case c.Migration != "":
		return c.Migration
	}
	return c.Procedure
}

// chaosStatements says how much of the interrupted script took effect,
// "" when it was not measured.
func chaosStatements(c *chaos.Cell) string {
	if c.Total <= 0 || c.Statements < 0 {
		return ""
	}
	s := fmt.Sprintf("%d of %d statements run", c.Statements, c.Total)
	if c.Effective >= 0 {
		s += fmt.Sprintf(", %d took effect", c.Effective)
	}
	return s
}

// chaosSummary counts the cells per verdict, in chaos.Verdicts order:
// "3 recovered, 1 unrecovered".
func chaosSummary(cells []chaos.Cell) string {
	n := map[string]int{}
	for _, c := range cells {
		n[c.Verdict]++
	}
	var parts []string
	for _, v := range chaos.Verdicts {
		if n[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[v], v))
			delete(n, v)
		}
	}
	for _, v := range slices.Sorted(maps.Keys(n)) { // verdicts this version does not know
		parts = append(parts, fmt.Sprintf("%d %s", n[v], v))
	}
	return strings.Join(parts, ", ")
}

// chaosReplayHint is the cell worth replaying first: the first failed
// one, else the first.
func chaosReplayHint(cells []chaos.Cell) string {
	for _, c := range cells {
		if c.Failed() && c.Replay != "" {
			return c.Replay
		}
	}
	for _, c := range cells {
		if c.Replay != "" {
			return c.Replay
		}
	}
	return ""
}

// firstLine is the first non-blank line of s, trimmed.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// ChaosMarkdown renders the chaos section alone (procedures.md of a run
// without the matrix).
func ChaosMarkdown(cells []chaos.Cell) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	writeChaosMarkdown(p, &matrix.Report{Chaos: cells})
	return b.String()
}
