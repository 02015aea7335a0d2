package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// The JUnit XML shape understood by GitHub test reporters, GitLab and
// Jenkins: testsuites > testsuite > testcase with failure/skipped.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes one testcase per migration x check. A failing check is
// a <failure>, a skipped one <skipped>; a warning passes and carries its
// reason in <system-out> so it stays visible without failing the suite.
// Chaos cells, when there are any, form a second suite, "chaos".
func WriteJUnit(w io.Writer, r *matrix.Report) error {
	suite := junitSuite{
		Name: fmt.Sprintf("rehearse %s -> %s", r.From, r.To),
		Time: seconds(r.Seconds),
		Properties: []junitProperty{
			{"from", r.From}, {"to", r.To}, {"runId", r.RunID},
			{"blocking", yesNo(r.Blocking)},
		},
	}
	if !r.StartedAt.IsZero() {
		suite.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	for i := range r.Results {
		m := &r.Results[i]
		class := "rehearse." + migrationID(m)
		for _, nc := range m.Checks.List() {
			c := nc.Check
			tc := junitCase{Classname: class, Name: nc.Name, Time: seconds(c.Seconds)}
			switch c.Status {
			case matrix.StatusFail:
				tc.Failure = &junitMessage{Message: oneLine(c.Error, "failed"), Type: c.SQLState, Body: evidence(m, c)}
				suite.Failures++
			case matrix.StatusSkip:
				tc.Skipped = &junitMessage{Message: oneLine(c.Error, "not run")}
				suite.Skipped++
			case matrix.StatusWarn:
				tc.SystemOut = "warning: " + evidence(m, c)
			}
			suite.Tests++
			suite.Cases = append(suite.Cases, tc)
		}
	}
	// Release-level findings: one testcase each, a boot failure fails (it
	// blocks by default), a probe failing on N's own state is a warning.
	for _, b := range r.Baseline {
		tc := junitCase{Classname: "rehearse.release-" + r.From, Name: b.CheckName() + " " + b.Probe, Time: "0"}
		body := b.Message + "\nstate: " + b.State + "\n"
		if b.SQL != "" {
			body += "sql: " + b.SQL + "\n"
		}
		if b.Kind == matrix.BaselineBoot {
			tc.Failure = &junitMessage{Message: oneLine(b.Message, "failed"), Type: b.SQLState, Body: body}
			suite.Failures++
		} else {
			tc.SystemOut = "warning: " + body
		}
		suite.Tests++
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{
		Name: "rehearse", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
	if len(r.Chaos) > 0 {
		cs := chaosSuite(r.Chaos)
		cs.Properties, cs.Timestamp = suite.Properties, suite.Timestamp
		doc.Tests += cs.Tests
		doc.Failures += cs.Failures
		doc.Skipped += cs.Skipped
		doc.Suites = append(doc.Suites, cs)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// evidence is the failure body: everything a reader needs without the
// HTML report.
func evidence(m *matrix.MigrationResult, c *matrix.Check) string {
	var b strings.Builder
	if c.Error != "" {
		fmt.Fprintf(&b, "%s\n", c.Error)
	}
	if c.SQLState != "" {
		fmt.Fprintf(&b, "sqlstate: %s\n", c.SQLState)
	}
	if loc := location(c); loc != "" {
		fmt.Fprintf(&b, "at: %s\n", loc)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if c.Detail != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimRight(c.Detail, "\n"))
	}
	fmt.Fprintf(&b, "verdict of %s: %s\n", migrationID(m), m.Verdict)
	return b.String()
}

// chaosSuite is one testcase per chaos cell: a fault that won
// (unrecovered, data-lost) fails, one never tried (skipped, not-reached)
// is skipped, the rest pass with what happened in <system-out>.
func chaosSuite(cells []chaos.Cell) junitSuite {
	suite := junitSuite{Name: "chaos"}
	var total float64
	for i := range cells {
		c := &cells[i]
		total += c.Seconds
		tc := junitCase{Classname: "chaos." + c.Fault, Name: c.Fault + " @ " + c.Point, Time: seconds(c.Seconds)}
		switch c.Verdict {
		case chaos.VerdictUnrecovered, chaos.VerdictDataLost, chaos.VerdictError:
			tc.Failure = &junitMessage{Message: c.Verdict + ": " + oneLine(firstLine(c.Recovery), "no recovery recorded"), Type: c.Verdict, Body: chaosEvidence(c)}
			suite.Failures++
		case chaos.VerdictSkipped, chaos.VerdictNotReached:
			why := firstLine(c.Detail)
			if why == "" {
				why = firstLine(c.Recovery)
			}
			tc.Skipped = &junitMessage{Message: c.Verdict + ": " + oneLine(why, "no reason recorded")}
			suite.Skipped++
		default:
			tc.SystemOut = chaosEvidence(c)
		}
		suite.Tests++
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Time = seconds(total)
	return suite
}

// chaosEvidence is a chaos cell's failure body or system-out.
func chaosEvidence(c *chaos.Cell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: %s\n", c.Verdict)
	if t := chaosTarget(c); t != "" {
		fmt.Fprintf(&b, "in: %s\n", t)
	}
	if c.StateFound != "" {
		fmt.Fprintf(&b, "state found: %s\n", strings.TrimRight(c.StateFound, "\n"))
	}
	if st := chaosStatements(c); st != "" {
		fmt.Fprintf(&b, "statements: %s\n", st)
	}
	if c.HalfApplied {
		b.WriteString("half-applied: yes\n")
	}
	if c.Bookkeeping != "" {
		fmt.Fprintf(&b, "bookkeeping: %s\n", c.Bookkeeping)
	}
	if c.Recovery != "" {
		fmt.Fprintf(&b, "recovery: %s\n", strings.TrimRight(c.Recovery, "\n"))
	}
	fmt.Fprintf(&b, "recovered: %s, N-era data kept: %s\n", yesNo(c.Recovered), yesNo(c.NEraKept))
	if c.Detail != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimRight(c.Detail, "\n"))
	}
	if c.Replay != "" {
		fmt.Fprintf(&b, "\nreplay: %s\n", c.Replay)
	}
	return b.String()
}

func oneLine(s, fallback string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return fallback
	}
	return s
}

func seconds(f float64) string { return fmt.Sprintf("%.3f", f) }
