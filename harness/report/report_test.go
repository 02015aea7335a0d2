package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

const nastyDetail = "table certificates: column serial differs\n<script>alert(\"x\")</script> & 'quotes' | pipe\n```\nnested fence\n```"

// sampleReport has one migration per verdict, a failing check with
// multi-line, HTML-special evidence, a warning, skips and findings.
func sampleReport() *matrix.Report {
	ok := func(s float64) matrix.Check { return matrix.Check{Status: matrix.StatusOK, Seconds: s} }
	allOK := func() matrix.Checks {
		return matrix.Checks{Up: ok(0.5), OldCode: ok(0.1), Contract: ok(0.05), DownPristine: ok(0.2), SchemaRestored: ok(0.01),
			DownOnData: ok(1.25), NEraKept: ok(0.3), NextEraLoss: ok(0.3), RoundTrip: ok(0.7)}
	}
	skipAll := func(why string) matrix.Checks {
		var c matrix.Checks
		for _, nc := range c.List() {
			*nc.Check = matrix.Check{Status: matrix.StatusSkip, Error: why}
		}
		return c
	}

	lossy := allOK()
	lossy.NextEraLoss = matrix.Check{Status: matrix.StatusWarn, Error: "column certificates.note lost (120 rows)", Seconds: 0.2}
	restore := allOK()
	restore.DownOnData = matrix.Check{
		Status: matrix.StatusFail, Error: `column "serial" contains null values`, SQLState: "23502",
		File: "migrations/000006_serial_not_null.down.sql", Line: 3, Detail: nastyDetail, Seconds: 2.5,
		Notes: []string{"N+1 wrote NULLs <here>"},
	}
	broken := skipAll("no down file")
	broken.Up = ok(0.4)
	broken.DownPristine = matrix.Check{Status: matrix.StatusFail, Error: "missing 000007_drop_agents.down.sql"}

	return &matrix.Report{
		SchemaVersion: matrix.SchemaVersion, Tool: "rehearse test", RunID: "20260101-abc",
		From: "000003", To: "000008", Layout: "golang-migrate", Bookkeeping: "golang-migrate",
		PostgreSQL: "15.8", Seed: 42, Rows: 1000,
		StartedAt: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), Seconds: 12.5,
		Stats: &matrix.Stats{Clones: 11, InPlace: 10, PeakDatabases: 4, DataStateBytes: 58720256},
		Results: []matrix.MigrationResult{
			{Version: "000004", Name: "order_currency", Class: "add-column", Verdict: matrix.VerdictSafe, Checks: allOK()},
			{Version: "000005", Name: "add_index", Class: "add-index", Verdict: matrix.VerdictRevertible, Checks: allOK()},
			{Version: "000006", Name: "drop_note", Class: "drop-column", Verdict: matrix.VerdictLossyRevert, Checks: lossy},
			{Version: "000007", Name: "serial_not_null", Class: "drop-constraint", Verdict: matrix.VerdictRestoreOnly,
				Reasons: []string{"down fails on N+1-era data"}, Checks: restore, Comment: "re-adds NOT NULL <over> NULLs"},
			{Version: "000008", Name: "drop_agents", Class: "drop-table", Verdict: matrix.VerdictBroken,
				Reasons: []string{"no down file"}, Checks: broken},
			{Version: "000009", Name: "later", Class: "add-table", Verdict: matrix.VerdictNotReached, Checks: skipAll("not reached")},
		},
		Seeding: []matrix.TableSeed{
			{Table: "certificates", Era: "n", Rows: 1000},
			{Table: "agents", Era: "next", After: "000008", Rows: 0},
			{Table: "audit_events", Era: "n", Error: "cannot satisfy CHECK (kind <> '')"},
		},
		Findings: []matrix.Finding{
			{Migration: "000007_serial_not_null", Check: "downOnData", Action: "block", Reason: "downOnData failed: 23502"},
			{Migration: "000008_drop_agents", Verdict: "broken", Action: "block", Reason: "verdict broken"},
			{Migration: "000006_drop_note", Verdict: "lossy-revert", Action: "warn", Reason: "verdict lossy-revert", Waiver: "accepted <loss>"},
		},
		Blocking: true,
		Notes:    []string{"no bookkeeping table: runbook DELETE would fail"},
	}
}

func TestWriteAllWritesFourFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports", "run1")
	require.NoError(t, WriteAll(dir, sampleReport()))
	for _, name := range []string{MarkdownFile, HTMLFile, JSONFile, JUnitFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.NotEmpty(t, b, name)
	}
}

func TestWriteAllUnwritableDir(t *testing.T) {
	parent := t.TempDir()
	// A file where a directory should be fails for root too (chmod would not).
	blocker := filepath.Join(parent, "not-a-dir")
	require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o644))
	dir := filepath.Join(blocker, "out")
	err := WriteAll(dir, sampleReport())
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "--out")
}

func TestJSONRoundTrip(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, r))
	assert.True(t, strings.HasPrefix(buf.String(), "{\n  \"schemaVersion\": 1,"), "indented, schemaVersion first: %.60s", buf.String())

	var back matrix.Report
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, *r, back)

	// The documented keys are there under the struct's tag names.
	var raw map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &raw))
	migs := raw["migrations"].([]any)
	require.Len(t, migs, 6)
	checks := migs[3].(map[string]any)["checks"].(map[string]any)
	for _, name := range matrix.CheckNames {
		assert.Contains(t, checks, name)
	}
	assert.Equal(t, "fail", checks["downOnData"].(map[string]any)["status"])
	assert.Equal(t, map[string]any{"clones": 11.0, "inPlace": 10.0, "peakDatabases": 4.0, "dataStateBytes": 58720256.0}, raw["stats"])
}

// decodeJUnit writes r as JUnit and reads it back.
func decodeJUnit(t *testing.T, r *matrix.Report) junitSuites {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteJUnit(&buf, r))
	var doc junitSuites
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &doc), buf.String())
	return doc
}

func TestJUnitStructure(t *testing.T) {
	doc := decodeJUnit(t, sampleReport())
	require.Len(t, doc.Suites, 1)
	s := doc.Suites[0]
	assert.Equal(t, 6*len(matrix.CheckNames), s.Tests)
	assert.Equal(t, 6*len(matrix.CheckNames), len(s.Cases))
	assert.Equal(t, 2, s.Failures, "downOnData of 000007 and downPristine of 000008")
	assert.Equal(t, (len(matrix.CheckNames)-2)+len(matrix.CheckNames), s.Skipped, "000008's skips but up and downPristine, and all of 000009")
	assert.Equal(t, s.Tests, doc.Tests)

	var found bool
	for _, c := range s.Cases {
		assert.Regexp(t, `^rehearse\.\d{6}_\w+$`, c.Classname)
		assert.Contains(t, matrix.CheckNames, c.Name)
		if c.Classname == "rehearse.000007_serial_not_null" && c.Name == "downOnData" {
			found = true
			require.NotNil(t, c.Failure)
			assert.Equal(t, `column "serial" contains null values`, c.Failure.Message)
			assert.Equal(t, "23502", c.Failure.Type)
			assert.Contains(t, c.Failure.Body, nastyDetail, "detail survives XML escaping intact")
			assert.Contains(t, c.Failure.Body, "migrations/000006_serial_not_null.down.sql:3")
			assert.Equal(t, "2.500", c.Time)
		}
		if c.Classname == "rehearse.000006_drop_note" && c.Name == "nextEraLoss" {
			assert.Nil(t, c.Failure)
			assert.Contains(t, c.SystemOut, "column certificates.note lost")
		}
	}
	assert.True(t, found, "failing testcase present")
}

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, sampleReport()))
	page := buf.String()

	// No external resources of any kind.
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)\s(src|href)\s*=`),
		regexp.MustCompile(`(?i)https?://`),
		regexp.MustCompile(`(?i)@import|url\(`),
	} {
		assert.NotRegexp(t, re, page)
	}
	// Evidence is escaped, never live markup.
	assert.NotContains(t, page, `<script>alert`)
	assert.Contains(t, page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;quotes&#39;`)
	assert.NotContains(t, page, "<over>")
	assert.Equal(t, 1, strings.Count(page, "<script>"), "only the page's own script")

	// Every verdict is coloured and every cell expandable.
	for _, v := range matrix.Verdicts {
		assert.Contains(t, page, `<tr class="v-`+string(v)+`">`)
	}
	assert.Equal(t, 6*(len(matrix.CheckNames)+1), strings.Count(page, "<details>"))
	assert.Contains(t, page, "2.50s")
	assert.Contains(t, page, "Blocking findings")
	assert.Contains(t, page, "accepted &lt;loss&gt;")
	assert.Contains(t, page, "audit_events")
}

func TestMarkdownLayout(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf, sampleReport()))
	md := buf.String()
	lines := strings.Split(md, "\n")

	assert.Equal(t, "## rehearse: 000003 → 000008", lines[0])
	assert.Contains(t, md, "blocking: **yes**")
	assert.Contains(t, md, "`20260101-abc`")
	assert.Contains(t, md, "\nDatabases: 11 clones, 10 cells on their state itself, at most 4 at once; largest data state 56.0 MiB\n")

	// Table: header + separator + one row per migration, same column count.
	var table []string
	for _, l := range lines {
		if strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "|---") {
			table = append(table, l)
		}
	}
	require.Len(t, table, 2+6)
	cols := strings.Count(table[0], "|")
	assert.Equal(t, 3+len(matrix.CheckNames)+1, cols)
	for _, row := range table {
		assert.Equal(t, cols, strings.Count(row, "|")-strings.Count(row, `\|`), row)
	}
	assert.Contains(t, table[2], "✅ safe")
	assert.Contains(t, table[6], "❌ broken")
	assert.Contains(t, table[5], "| ✗ |")

	// Findings, then evidence with the detail fenced by a fence longer than its own.
	blk := strings.Index(md, "### Blocking findings")
	ev := strings.Index(md, "### Failing and warning checks")
	require.True(t, blk > 0 && ev > blk)
	assert.Contains(t, md, "- ⛔ `000007_serial_not_null`: downOnData failed: 23502\n")
	assert.Contains(t, md, "- ⚠ `000006_drop_note`: verdict lossy-revert (waiver: accepted \\<loss>)")
	assert.Contains(t, md, "- sqlstate: `23502`")
	assert.Contains(t, md, "- at: `migrations/000006_serial_not_null.down.sql:3`")
	assert.Contains(t, md, "````\n"+nastyDetail+"\n````")
	assert.Contains(t, md, "#### ⚠ `000006_drop_note` · nextEraLoss")

	// Run notes and tables without data.
	assert.Contains(t, md, "### Notes\n\n- no bookkeeping table: runbook DELETE would fail")
	assert.Contains(t, md, "`agents` (era next, after 000008): 0 rows")
	assert.Contains(t, md, "`audit_events` (era n): cannot satisfy CHECK (kind <> '')")
	assert.NotContains(t, md, "`certificates` (era")
}

// TestMarkdownEscapesWithoutEntities: text that could open HTML is escaped
// with backslashes, so the raw file reads as written and never shows an
// entity; what merely looks like an entity in the input stays literal.
func TestMarkdownEscapesWithoutEntities(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rename a -> b", "rename a -> b"},
		{"kind <> ''", "kind <> ''"},
		{"x < 3 && y > 2", "x < 3 && y > 2"},
		{"<script>alert('x')</script>", `\<script>alert('x')\</script>`},
		{"<!-- hidden -->", `\<!-- hidden -->`},
		{"literal &amp; and &#39;", `literal \&amp; and &\#39;`},
		{"> quoted", `\> quoted`},
		{"a | b", `a \| b`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, mdInline(tt.in))
		})
	}
	r := sampleReport()
	r.Notes = append(r.Notes, "old code not probed -> pass --old-queries", "O'Brien & co <b>")
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf, r))
	md := buf.String()
	for _, entity := range []string{"&gt;", "&lt;", "&amp;", "&#39;", "&#34;", "&quot;"} {
		assert.NotContains(t, md, entity)
	}
	assert.Contains(t, md, "- old code not probed -> pass --old-queries\n")
	assert.Contains(t, md, "- O'Brien & co \\<b>\n")
}

func TestMarkdownNoFindings(t *testing.T) {
	r := sampleReport()
	r.Findings, r.Blocking, r.Notes, r.Seeding = nil, false, nil, nil
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf, r))
	md := buf.String()
	assert.Contains(t, md, "blocking: no")
	assert.Contains(t, md, "### Blocking findings\n\nNone.")
	assert.NotContains(t, md, "### Notes")
	assert.NotContains(t, md, "### Tables without data")
}

func TestMarkdownClipsLongDetail(t *testing.T) {
	r := sampleReport()
	r.Results[3].Checks.DownOnData.Detail = strings.Repeat("- column x differs\n", 500)
	var md bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, r))
	assert.Contains(t, md.String(), "\n… 440 more lines: see matrix.html\n")
	assert.Equal(t, 60, strings.Count(md.String(), "- column x differs\n"))

	var page bytes.Buffer
	require.NoError(t, WriteHTML(&page, r))
	assert.Equal(t, 500, strings.Count(page.String(), "- column x differs\n"), "HTML keeps it whole")

	assert.Equal(t, "short", clip("short", 60, 8<<10))
	long := strings.Repeat("x", 5000) + "\n" + strings.Repeat("y", 5000)
	assert.Equal(t, strings.Repeat("x", 5000)+"\n… 1 more lines: see matrix.html", clip(long, 60, 8<<10))
}

// TestBaselineInEveryWriter: release-level findings appear once in each
// writer (a boot failure fails in JUnit, a probe is a warning).
func TestBaselineInEveryWriter(t *testing.T) {
	r := sampleReport()
	r.Baseline = []matrix.BaselineFinding{
		{Kind: matrix.BaselineBoot, Probe: "release N's boot on the schema", State: "schema+data",
			Message: `release N cannot restart on its own schema (and with data): relation "items" already exists <x>`, SQLState: "42P07"},
		{Kind: matrix.BaselineProbe, Probe: "old.sql:3", State: "data", Message: "probe old.sql:3 fails on release N's own state: no such table", SQL: "SELECT 1 FROM gone"},
	}
	tests := []struct {
		name  string
		write func(io.Writer, *matrix.Report) error
		want  []string
	}{
		{"markdown", WriteMarkdown, []string{"### Release 000003 on its own state", "cannot restart on its own schema (and with data)", "(baselineBoot, state: schema+data)", "`SELECT 1 FROM gone`"}},
		{"html", WriteHTML, []string{"<h2>Release 000003 on its own state</h2>", "already exists &lt;x&gt;", "baselineProbe"}},
		{"junit", WriteJUnit, []string{`classname="rehearse.release-000003" name="baselineBoot release N&#39;s boot on the schema"`, `<failure message="release N cannot restart`, "warning: probe old.sql:3"}},
		{"json", WriteJSON, []string{`"baseline": [`, `"kind": "boot"`, `"state": "schema+data"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, tc.write(&buf, r))
			for _, w := range tc.want {
				assert.Contains(t, buf.String(), w)
			}
		})
	}
}

// TestDataSourceLine: a --data-from run says where its N-era data came
// from in matrix.json (dataSource), and in one line of matrix.md and the
// HTML header; a run without a source has neither.
func TestDataSourceLine(t *testing.T) {
	tables := []matrix.DataSourceTable{
		{Table: "public.accounts", SourceRows: 1000, Rows: 120, Masked: []string{"email"}},
		{Table: "public.events", SourceRows: 3000, Rows: 300},
	}
	tests := []struct {
		name string
		ds   *matrix.DataSource
		want string
	}{
		{"none", nil, ""},
		{"sampled dump", &matrix.DataSource{Kind: "custom", Source: "prod.dump", Drift: "none", Sample: 0.1,
			SourceRows: 4000, Rows: 420, Tables: tables, MaskedColumns: 1},
			"N-era data from custom dump prod.dump · drift: none · sample 0.1: 420 of 4000 rows in 2 tables · 1 masked column(s)"},
		{"drifted DSN, every row, personal columns", &matrix.DataSource{Kind: "dsn", Source: "postgres://ro:***@db/prod", Drift: "allowed",
			DriftObjects: []string{"column accounts.legacy"}, SourceRows: 4000, Rows: 4000, Tables: tables, UnmaskedPersonal: []string{"public.accounts.phone (name)"}},
			"N-era data from DSN postgres://ro:***@db/prod · drift: 1 object(s), allowed · every row: 4000 of 4000 rows in 2 tables · 0 masked column(s) · 1 personal-looking column(s) without a mask rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleReport()
			r.DataSource = tt.ds
			var md, html, js bytes.Buffer
			require.NoError(t, WriteMarkdown(&md, r))
			require.NoError(t, WriteHTML(&html, r))
			require.NoError(t, WriteJSON(&js, r))
			var back matrix.Report
			require.NoError(t, json.Unmarshal(js.Bytes(), &back))
			assert.Equal(t, tt.ds, back.DataSource)
			if tt.want == "" {
				assert.NotContains(t, md.String(), "N-era data from")
				assert.NotContains(t, js.String(), `"dataSource"`)
				return
			}
			assert.Contains(t, md.String(), "\n"+mdInline(tt.want)+"\n\n")
			assert.Contains(t, html.String(), tt.want)
			assert.Contains(t, js.String(), `"dataSource": {`)
		})
	}
}
