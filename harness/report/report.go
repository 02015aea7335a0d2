// Package report renders a matrix.Report into the four files a run leaves
// behind: matrix.md (for $GITHUB_STEP_SUMMARY), matrix.html (one
// self-contained page), matrix.json (the machine-readable record) and
// junit.xml (one testcase per migration x check and per chaos cell, for
// CI test tabs).
package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// File names written by WriteAll.
const (
	MarkdownFile = "matrix.md"
	HTMLFile     = "matrix.html"
	JSONFile     = "matrix.json"
	JUnitFile    = "junit.xml"
)

// WriteAll writes every report file into dir, creating it. Each file is
// rendered in memory first so a rendering error never leaves half a file.
func WriteAll(dir string, r *matrix.Report) error {
	if r == nil {
		return errors.New("write reports: nil report")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report directory %s: %w (choose a writable --out directory)", dir, err)
	}
	writers := []struct {
		name  string
		write func(io.Writer, *matrix.Report) error
	}{
		{MarkdownFile, WriteMarkdown},
		{HTMLFile, WriteHTML},
		{JSONFile, WriteJSON},
		{JUnitFile, WriteJUnit},
	}
	for _, w := range writers {
		var buf bytes.Buffer
		if err := w.write(&buf, r); err != nil {
			return fmt.Errorf("render %s: %w", w.name, err)
		}
		path := filepath.Join(dir, w.name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write report %s in directory %s: %w (choose a writable --out directory)", w.name, dir, err)
		}
	}
	return nil
}

// migrationID is how reports and policies name a migration: version_name.
func migrationID(m *matrix.MigrationResult) string {
	if m.Name == "" {
		return m.Version
	}
	return m.Version + "_" + m.Name
}

// verdictEmoji gives each verdict a glyph that reads at a glance in a
// GitHub step summary.
func verdictEmoji(v matrix.Verdict) string {
	switch v {
	case matrix.VerdictSafe:
		return "✅"
	case matrix.VerdictRevertible:
		return "↩️"
	case matrix.VerdictLossyRevert:
		return "⚠️"
	case matrix.VerdictRestoreOnly:
		return "🛟"
	case matrix.VerdictBroken:
		return "❌"
	case matrix.VerdictNotReached:
		return "⏸️"
	}
	return "❔"
}

// statusSymbol is the per-cell glyph.
func statusSymbol(s matrix.Status) string {
	switch s {
	case matrix.StatusOK:
		return "✓"
	case matrix.StatusFail:
		return "✗"
	case matrix.StatusSkip:
		return "–"
	case matrix.StatusWarn:
		return "⚠"
	}
	return "?"
}

// emptySeeding returns the seeding entries that produced no data, so a
// report can say which cells were computed without any.
func emptySeeding(r *matrix.Report) []matrix.TableSeed {
	var out []matrix.TableSeed
	for _, s := range r.Seeding {
		if s.Error != "" || s.Rows == 0 {
			out = append(out, s)
		}
	}
	return out
}

// location renders file:line, or what there is of it.
func location(c *matrix.Check) string {
	switch {
	case c.File != "" && c.Line > 0:
		return fmt.Sprintf("%s:%d", c.File, c.Line)
	case c.File != "":
		return c.File
	case c.Line > 0:
		return fmt.Sprintf("line %d", c.Line)
	}
	return ""
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dataSourceLine is the one-line summary of --data-from: source, drift,
// sample, rows kept of the source's, masked columns ("" without a source).
func dataSourceLine(d *matrix.DataSource) string {
	if d == nil {
		return ""
	}
	kind := d.Kind + " dump"
	if d.Kind == "dsn" {
		kind = "DSN"
	}
	drift := "drift: none"
	if d.Drift != "none" {
		drift = fmt.Sprintf("drift: %d object(s), allowed", len(d.DriftObjects))
	}
	sample := "every row"
	switch {
	case d.Sample > 0 && d.SampleTables > 0:
		sample = fmt.Sprintf("sample %g (%d table(s) with their own share)", d.Sample, d.SampleTables)
	case d.Sample > 0:
		sample = fmt.Sprintf("sample %g", d.Sample)
	case d.SampleTables > 0:
		sample = fmt.Sprintf("sample: %d table(s) with their own share", d.SampleTables)
	}
	line := fmt.Sprintf("N-era data from %s %s · %s · %s: %d of %d rows in %d tables · %d masked column(s)",
		kind, d.Source, drift, sample, d.Rows, d.SourceRows, len(d.Tables), d.MaskedColumns)
	if n := len(d.UnmaskedPersonal); n > 0 {
		line += fmt.Sprintf(" · %d personal-looking column(s) without a mask rule", n)
	}
	return line
}
