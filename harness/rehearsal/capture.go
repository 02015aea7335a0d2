package rehearsal

import (
	"fmt"
	"io"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/capture"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// CaptureSummary is what `rehearse run` recorded of release N's SQL.
type CaptureSummary struct {
	// Available is false when the backend's PostgreSQL could not record
	// (Problem says why); oldCode then rests on --old-queries and the
	// server probe only.
	Available  bool                `json:"available"`
	Problem    string              `json:"problem,omitempty"`
	Statements int                 `json:"statements"`
	Steps      []capture.StepCount `json:"steps,omitempty"`
}

// newRecorder prepares recording on the backend: local and docker load
// pg_stat_statements into the PostgreSQL they start; kind and kube run the
// chart's PostgreSQL, which takes no server arguments.
func (r *runner) newRecorder() *capture.Recorder {
	rec := &capture.Recorder{}
	switch r.backend {
	case "local":
		bin, err := local.FindBinDir(r.o.PGBin)
		if err == nil {
			err = local.HasStatements(bin)
		}
		if err != nil {
			rec.Problem = err.Error()
		}
	case "docker":
	default:
		rec.Problem = fmt.Sprintf("capture not available on the %s backend: the chart's PostgreSQL takes no server arguments, so pg_stat_statements cannot be loaded; "+
			"release N's statements were not recorded (take them from production with `rehearse capture` and pass them as oldQueries)", r.backend)
	}
	return rec
}

// capturedProbes turns what release N ran into old-code probes named by
// the steps that ran them.
func capturedProbes(rec *capture.Recorder) []matrix.Probe {
	var out []matrix.Probe
	for i, s := range rec.Statements() {
		out = append(out, matrix.Probe{Name: fmt.Sprintf("captured #%d (%s)", i+1, strings.Join(s.Steps, ", ")), SQL: s.Query})
	}
	return out
}

// summarize says what was recorded, for the report and the progress.
func summarize(rec *capture.Recorder, release string, progress io.Writer) (*CaptureSummary, string) {
	sum := &CaptureSummary{Available: rec.Problem == "" || len(rec.Statements()) > 0, Problem: rec.Problem,
		Statements: len(rec.Statements()), Steps: rec.Steps()}
	if !sum.Available {
		note := rec.Problem
		if !strings.HasPrefix(note, "capture not available") {
			note = "capture not available: " + note
		}
		fmt.Fprintln(progress, "WARNING: "+note)
		return sum, note
	}
	var parts []string
	for _, s := range sum.Steps {
		parts = append(parts, fmt.Sprintf("%s: %d (%d new)", s.Step, s.Statements, s.New))
	}
	note := fmt.Sprintf("oldCode: %d statements release %s ran during boot + smoke, recorded with pg_stat_statements, are probes (%s)",
		sum.Statements, release, strings.Join(parts, "; "))
	if rec.Problem != "" {
		note += "; recording stopped early: " + rec.Problem
	}
	fmt.Fprintln(progress, note)
	return sum, note
}
