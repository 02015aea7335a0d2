package matrix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rehearse-dev/rehearse/harness/sqlparams"
)

// Probe is one statement release N's code runs (an old-code probe).
type Probe struct {
	// Name locates the probe: "file:line".
	Name string
	SQL  string
	// bootState is "schema" or "data" for the boot probes of
	// --bookkeeping rerun-at-boot, "" for SQL and server probes.
	bootState string
}

// LoadProbes reads a file of SQL statements separated by ";" and a newline:
// literal SQL, or normalized statements with $n placeholders as `rehearse
// capture` writes them from pg_stat_statements (runProbe binds those).
// Blank and comment-only chunks are ignored.
func LoadProbes(path string) ([]Probe, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read old-code probes: %w", err)
	}
	return ParseProbes(path, b)
}

// ParseProbes is LoadProbes on bytes; path names the probes and errors.
func ParseProbes(path string, b []byte) ([]Probe, error) {
	var probes []Probe
	line, start := 1, 1
	var cur strings.Builder
	flush := func() {
		sql := strings.TrimSpace(cur.String())
		cur.Reset()
		if sql == "" || onlyComments(sql) {
			return
		}
		probes = append(probes, Probe{Name: fmt.Sprintf("%s:%d", path, start), SQL: sql})
	}
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if cur.Len() == 0 {
			start = line
			if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "--") {
				// Point the probe's name at its first line of SQL.
				line++
				continue
			}
		}
		cur.WriteString(l)
		if strings.HasSuffix(strings.TrimRight(l, " \t\r\n"), ";") && strings.HasSuffix(l, "\n") {
			flush()
		}
		line++
	}
	flush()
	if len(probes) == 0 {
		return nil, fmt.Errorf("%s: no SQL statements found (expected statements separated by ';' and a newline)", path)
	}
	return probes, nil
}

func onlyComments(sql string) bool {
	for _, l := range strings.Split(sql, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

// ProbeOutcome is the result of one probe on one state.
type ProbeOutcome struct {
	Err      string
	SQLState string
	// Rows is the row count of a normalized statement's run (rows an
	// UPDATE hit); Bound the values its parameters were given.
	Rows  int64
	Bound string
}

// OK reports whether the probe passed.
func (o ProbeOutcome) OK() bool { return o.Err == "" }

// runProbes runs each probe in its own transaction, always rolled back, so
// probes never change the state they judge.
func runProbes(ctx context.Context, conn *pgx.Conn, probes []Probe) []ProbeOutcome {
	out := make([]ProbeOutcome, len(probes))
	for i, p := range probes {
		out[i] = runProbe(ctx, conn, p)
	}
	return out
}

// RunProbe runs one probe on conn's database in a rolled-back transaction.
// A statement with $n placeholders (a captured, normalized one) is
// prepared and run with values from the state's rows (see bind.go).
func RunProbe(ctx context.Context, conn *pgx.Conn, p Probe) ProbeOutcome {
	return runProbe(ctx, conn, p)
}

func runProbe(ctx context.Context, conn *pgx.Conn, p Probe) ProbeOutcome {
	if strings.Contains(p.SQL, "$") {
		if st, err := sqlparams.Analyze(strings.TrimSuffix(strings.TrimSpace(p.SQL), ";")); err == nil && st.Count() > 0 {
			return runBoundProbe(ctx, conn, p, st)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return outcome(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = '20s'"); err != nil {
		return outcome(err)
	}
	rows, err := tx.Query(ctx, strings.TrimSuffix(strings.TrimSpace(p.SQL), ";"))
	if err != nil {
		return outcome(err)
	}
	for rows.Next() {
	}
	rows.Close()
	return outcome(rows.Err())
}

func outcome(err error) ProbeOutcome {
	if err == nil {
		return ProbeOutcome{}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return ProbeOutcome{Err: fmt.Sprintf("ERROR: %s (SQLSTATE %s)", pgErr.Message, pgErr.Code), SQLState: pgErr.Code}
	}
	return ProbeOutcome{Err: err.Error()}
}

// NoOldCodeProbe is why the oldCode check is skipped when the run has no
// probe at all. It holds for the whole run, so the report says it once
// (Report.Notes), not in every migration's reasons.
const NoOldCodeProbe = "old code not probed: pass --old-queries FILE with the SQL release N runs, or use a scenario with N's server"

// probeHistory attributes probe failures to migrations: states[0] is the
// state before N+1's first migration, states[k] the state after migration k.
type probeHistory struct {
	probes []Probe
	states [][]ProbeOutcome
}

// judge returns the oldCode check of migration k (1-based into states).
// Only probes that pass on release N's own state (states[0]) are evidence:
// the others are release-level findings (see baseline), never blamed on a
// migration, and with none passing there is no evidence at all.
func (h *probeHistory) judge(k int, names []string) Check {
	if len(h.probes) == 0 {
		return Check{Status: StatusSkip, Error: NoOldCodeProbe}
	}
	if k >= len(h.states) || h.states[k] == nil || h.states[k-1] == nil {
		return Check{Status: StatusSkip, Error: "state not reached"}
	}
	base, before, after := h.states[0], h.states[k-1], h.states[k]
	evidence := 0
	for i := range h.probes {
		if base[i].OK() {
			evidence++
		}
	}
	if evidence == 0 {
		return Check{Status: StatusSkip, Error: fmt.Sprintf("none of the %d probes passes on release N's own state: no evidence (see the report's baseline)", len(h.probes))}
	}
	var broke []string
	var notes []string
	first := ""
	passed, baselineFails := 0, 0
	for i, p := range h.probes {
		switch {
		case !base[i].OK():
			baselineFails++
		case before[i].OK() && !after[i].OK():
			broke = append(broke, fmt.Sprintf("%s: %s\n    %s", p.Name, after[i].Err, oneLine(p.SQL)))
			if first == "" {
				first = after[i].Err
			}
		case !before[i].OK():
			notes = append(notes, fmt.Sprintf("%s already broken by %s", p.Name, h.brokenBy(i, k, names)))
		default:
			passed++
		}
	}
	if baselineFails > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d probes already fail on release N's own state: not counted (see the report's baseline)", baselineFails, len(h.probes)))
	}
	if len(broke) > 0 {
		return Check{Status: StatusFail, Error: fmt.Sprintf("%d of %d probes break: %s", len(broke), evidence, first),
			Detail: strings.Join(broke, "\n"), Notes: notes}
	}
	return Check{Status: StatusOK, Notes: append([]string{fmt.Sprintf("%d probes pass", passed)}, notes...)}
}

// brokenBy names the migration that first made probe i fail, looking at
// states before k (probes failing on state 0 are never judged).
func (h *probeHistory) brokenBy(i, k int, names []string) string {
	for j := 1; j < k; j++ {
		if h.states[j] != nil && !h.states[j][i].OK() {
			return names[j-1]
		}
	}
	return "an earlier migration"
}

// baseline lists the probes that fail on release N's own state, once.
func (h *probeHistory) baseline() []BaselineFinding {
	if len(h.states) == 0 || h.states[0] == nil {
		return nil
	}
	var out []BaselineFinding
	for i, p := range h.probes {
		o := h.states[0][i]
		if o.OK() {
			continue
		}
		f := BaselineFinding{Kind: BaselineProbe, Probe: p.Name, State: "data", Error: o.Err, SQLState: o.SQLState, SQL: oneLine(p.SQL)}
		f.Message = fmt.Sprintf("probe %s fails on release N's own state: %s", p.Name, o.Err)
		if p.bootState != "" {
			// One finding per release: a boot failing on both the schema
			// and the data is one outage, said once.
			if i > 0 && len(out) > 0 && out[len(out)-1].Kind == BaselineBoot {
				out[len(out)-1].State += "+" + p.bootState
				out[len(out)-1].Message = strings.Replace(out[len(out)-1].Message, "its own schema", "its own schema (and with data)", 1)
				continue
			}
			f.Kind, f.State, f.SQL = BaselineBoot, p.bootState, ""
			f.Message = fmt.Sprintf("release N cannot restart on its own %s: %s", p.bootState, o.Err)
		}
		out = append(out, f)
	}
	return out
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
