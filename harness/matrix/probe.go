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

// probeHistory attributes probe failures to migrations: states[0] is the
// state before N+1's first migration, states[k] the state after migration k.
type probeHistory struct {
	probes []Probe
	states [][]ProbeOutcome
}

// judge returns the oldCode check of migration k (1-based into states).
func (h *probeHistory) judge(k int, names []string) Check {
	if len(h.probes) == 0 {
		return Check{Status: StatusSkip, Error: "no old-code probe: pass --old-queries FILE with the SQL release N runs, or use a scenario with N's server"}
	}
	if k >= len(h.states) || h.states[k] == nil {
		return Check{Status: StatusSkip, Error: "state not reached"}
	}
	before, after := h.states[k-1], h.states[k]
	var broke []string
	var notes []string
	first := ""
	passed := 0
	for i, p := range h.probes {
		switch {
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
	if len(broke) > 0 {
		return Check{Status: StatusFail, Error: fmt.Sprintf("%d of %d probes break: %s", len(broke), len(h.probes), first),
			Detail: strings.Join(broke, "\n"), Notes: notes}
	}
	return Check{Status: StatusOK, Notes: append([]string{fmt.Sprintf("%d probes pass", passed)}, notes...)}
}

// brokenBy names the migration (or "release N itself") that first made
// probe i fail, looking at states before k.
func (h *probeHistory) brokenBy(i, k int, names []string) string {
	if !h.states[0][i].OK() {
		return "release N itself (fails before any new migration: " + h.states[0][i].Err + ")"
	}
	for j := 1; j < k; j++ {
		if !h.states[j][i].OK() {
			return names[j-1]
		}
	}
	return "an earlier migration"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
