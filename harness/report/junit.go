package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

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
	doc := junitSuites{
		Name: "rehearse", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []junitSuite{suite},
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

func oneLine(s, fallback string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return fallback
	}
	return s
}

func seconds(f float64) string { return fmt.Sprintf("%.3f", f) }
