package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Report is the part of a matrix.json the comparison reads. It is declared
// here rather than imported so the corpus judges the file format users see.
type Report struct {
	Migrations []struct {
		Version string           `json:"version"`
		Name    string           `json:"name"`
		Verdict string           `json:"verdict"`
		Checks  map[string]Check `json:"checks"`
	} `json:"migrations"`
}

// Check is one check of one migration in matrix.json.
type Check struct {
	Status string `json:"status"`
	Error  string `json:"error"`
}

// Run is what the runner left for one window: the report, or why there is none.
type Run struct {
	Report *Report
	// HarnessFailure is set when rehearse exited 2 or left no matrix.json.
	HarnessFailure string
}

// ReadRun reads DIR/matrix.json, DIR/exit and DIR/stderr.log as the runner
// wrote them.
func ReadRun(dir string) Run {
	code := -1
	if b, err := os.ReadFile(filepath.Join(dir, "exit")); err == nil {
		code, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	var rep *Report
	b, err := os.ReadFile(filepath.Join(dir, "matrix.json"))
	if err == nil {
		rep = &Report{}
		if jerr := json.Unmarshal(b, rep); jerr != nil {
			return Run{HarnessFailure: fmt.Sprintf("%s: %v", filepath.Join(dir, "matrix.json"), jerr)}
		}
	}
	switch {
	case code == 2:
		return Run{Report: rep, HarnessFailure: "exit 2: " + lastLine(filepath.Join(dir, "stderr.log"))}
	case rep == nil && errors.Is(err, os.ErrNotExist):
		return Run{HarnessFailure: fmt.Sprintf("no matrix.json (exit %d): %s", code, lastLine(filepath.Join(dir, "stderr.log")))}
	case rep == nil:
		return Run{HarnessFailure: err.Error()}
	}
	return Run{Report: rep}
}

func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no stderr.log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Key names a migration as expected.yaml does: version_name, or the version
// alone when the file has no name part (sql-migrate's 0001.sql).
func Key(version, name string) string {
	if name == "" {
		return version
	}
	return version + "_" + name
}

// Outcome is how one finding fared in a run.
type Outcome string

const (
	Found      Outcome = "found"       // true defect, reported
	Missed     Outcome = "MISSED"      // true defect, not reported
	Regression Outcome = "REGRESSION"  // true defect found by the baseline (or since a later stop), not reported now
	FalseAlarm Outcome = "false-alarm" // reported, hand-checked false
	Fixed      Outcome = "fixed"       // false alarm of the baseline, no longer reported
	Quiet      Outcome = "quiet"       // foreseen false alarm, never reported (not counted)
	Unjudged   Outcome = "UNJUDGED"    // reported, not in expected.yaml: a human must judge it
)

// Line is one finding's outcome.
type Line struct {
	Check   string
	Outcome Outcome
	Why     string // from expected.yaml, or the tool's error for unjudged ones
}

// Row is one migration's comparison.
type Row struct {
	Migration string
	Expected  string // hand-checked verdict ("" when not listed)
	Actual    string // reported verdict ("" when not in the report)
	Lines     []Line
}

// WarnChecks are the checks the default policy only warns on (contract
// probes: harness/policy). Their findings are judged like the others but
// counted apart (Counts.Warn), so the precision of blocking findings stays
// comparable with the baseline, which had no such checks.
var WarnChecks = map[string]bool{"contract": true}

// Counts sum outcomes over windows.
type Counts struct {
	Found, Missed, Regressions, FalseAlarms, Fixed, Unjudged int
	HarnessFailures                                          int
	Migrations, VerdictsAgree                                int
	// Warn counts the findings of WarnChecks (Migrations, VerdictsAgree
	// and HarnessFailures stay 0 there).
	Warn *Counts
}

// warn is c's sub-count for WarnChecks, made on first use.
func (c *Counts) warn() *Counts {
	if c.Warn == nil {
		c.Warn = &Counts{}
	}
	return c.Warn
}

// Add sums other into c.
func (c *Counts) Add(o Counts) {
	c.Found += o.Found
	c.Missed += o.Missed
	c.Regressions += o.Regressions
	c.FalseAlarms += o.FalseAlarms
	c.Fixed += o.Fixed
	c.Unjudged += o.Unjudged
	c.HarnessFailures += o.HarnessFailures
	c.Migrations += o.Migrations
	c.VerdictsAgree += o.VerdictsAgree
	if o.Warn != nil {
		c.warn().Add(*o.Warn)
	}
}

// Precision is found / (found + false alarms); unjudged findings are left out.
func (c Counts) Precision() float64 { return ratio(c.Found, c.Found+c.FalseAlarms) }

// Recall is found / (found + missed), regressions included in missed.
func (c Counts) Recall() float64 { return ratio(c.Found, c.Found+c.Missed+c.Regressions) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// WindowResult is the comparison of one window.
type WindowResult struct {
	Key            string // project-window
	HarnessFailure string
	Rows           []Row
	Counts         Counts
}

// Failing lists the checks a report marks as failing (status fail).
func Failing(checks map[string]Check) map[string]string {
	out := map[string]string{}
	for name, c := range checks {
		if c.Status == "fail" {
			out[name] = c.Error
		}
	}
	return out
}

// Compare judges one window's run against its hand-checked list.
func Compare(exp ExpectedWindow, run Run) WindowResult {
	res := WindowResult{Key: exp.Project + "-" + exp.Window, HarnessFailure: run.HarnessFailure}
	if run.HarnessFailure != "" {
		res.Counts.HarnessFailures = 1
	}
	actual := map[string]int{}
	var order []string
	if run.Report != nil {
		for i, m := range run.Report.Migrations {
			key := Key(m.Version, m.Name)
			actual[key] = i
			order = append(order, key)
		}
	}
	listed := map[string]bool{}
	for _, em := range exp.Migrations {
		listed[em.Migration] = true
		row := Row{Migration: em.Migration, Expected: em.Verdict}
		failing := map[string]string{}
		if i, ok := actual[em.Migration]; ok {
			m := run.Report.Migrations[i]
			row.Actual = m.Verdict
			failing = Failing(m.Checks)
		}
		judged := map[string]bool{}
		for _, f := range em.Findings {
			judged[f.Check] = true
			_, reported := failing[f.Check]
			var o Outcome
			switch {
			case *f.Truth && reported:
				o = Found
			case *f.Truth && (f.Before == "found" || f.FoundSince != ""):
				o = Regression
			case *f.Truth:
				o = Missed
			case reported:
				o = FalseAlarm
			case f.Before == "found":
				o = Fixed
			default:
				o = Quiet
			}
			row.Lines = append(row.Lines, Line{Check: f.Check, Outcome: o, Why: f.Why})
		}
		for _, name := range sortedKeys(failing) {
			if !judged[name] {
				row.Lines = append(row.Lines, Line{Check: name, Outcome: Unjudged, Why: failing[name]})
			}
		}
		res.add(row)
	}
	for _, key := range order {
		if listed[key] {
			continue
		}
		m := run.Report.Migrations[actual[key]]
		row := Row{Migration: key, Actual: m.Verdict}
		failing := Failing(m.Checks)
		for _, name := range sortedKeys(failing) {
			row.Lines = append(row.Lines, Line{Check: name, Outcome: Unjudged, Why: failing[name]})
		}
		res.add(row)
	}
	return res
}

func (r *WindowResult) add(row Row) {
	r.Rows = append(r.Rows, row)
	r.Counts.Migrations++
	if row.Expected != "" && row.Expected == row.Actual {
		r.Counts.VerdictsAgree++
	}
	for _, l := range row.Lines {
		c := &r.Counts
		if WarnChecks[l.Check] {
			c = c.warn()
		}
		switch l.Outcome {
		case Found:
			c.Found++
		case Missed:
			c.Missed++
		case Regression:
			c.Regressions++
		case FalseAlarm:
			c.FalseAlarms++
		case Fixed:
			c.Fixed++
		case Unjudged:
			c.Unjudged++
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Print writes one window's comparison for a human.
func (r WindowResult) Print(w io.Writer) {
	fmt.Fprintf(w, "== %s\n", r.Key)
	if r.HarnessFailure != "" {
		fmt.Fprintf(w, "   HARNESS FAILURE: %s\n", r.HarnessFailure)
	}
	for _, row := range r.Rows {
		mark := "  "
		if row.Expected != row.Actual {
			mark = "≠ "
		}
		fmt.Fprintf(w, " %s%-48s expect %-12s got %s\n", mark, row.Migration, orDash(row.Expected), orDash(row.Actual))
		for _, l := range row.Lines {
			fmt.Fprintf(w, "      %-12s %-15s %s\n", l.Outcome, l.Check, oneLine(l.Why))
		}
	}
}

// PrintTotals writes the summary line a reader compares between runs.
func PrintTotals(w io.Writer, c Counts) {
	fmt.Fprintf(w, "\ntrue findings found %d, false alarms %d, misses %d (regressions %d), fixed false alarms %d, unjudged %d, harness failures %d\n",
		c.Found, c.FalseAlarms, c.Missed+c.Regressions, c.Regressions, c.Fixed, c.Unjudged, c.HarnessFailures)
	fmt.Fprintf(w, "precision %.2f, recall %.2f, verdicts as hand-checked %d/%d\n",
		c.Precision(), c.Recall(), c.VerdictsAgree, c.Migrations)
	if wc := c.Warn; wc != nil {
		fmt.Fprintf(w, "warn-by-default checks (%s), apart from the above: true found %d, false alarms %d, misses %d (regressions %d), fixed %d, unjudged %d, precision %.2f, recall %.2f\n",
			strings.Join(sortedKeys(warnNames()), ", "), wc.Found, wc.FalseAlarms, wc.Missed+wc.Regressions, wc.Regressions, wc.Fixed, wc.Unjudged, wc.Precision(), wc.Recall())
	}
}

func warnNames() map[string]string {
	out := map[string]string{}
	for k := range WarnChecks {
		out[k] = ""
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
