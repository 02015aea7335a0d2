// Package capture reads the statements a running release executes from
// pg_stat_statements: normalized texts ($1 placeholders, no values), with
// their call and row counts. They become old-code probes: what release N
// really runs, replayed on every state of the matrix.
package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/sqlparams"
)

// Statement is one normalized statement of the target database.
type Statement struct {
	Query   string
	Calls   int64
	Rows    int64
	QueryID int64
	// Steps are what made the application run it (rehearse run: "boot",
	// "smoke: list agents"); empty for `rehearse capture`.
	Steps []string
}

// Skipped counts what Read left out, by reason.
type Skipped struct {
	Utility     int // SET, BEGIN, DDL, COPY, ...
	CatalogOnly int // reads only pg_catalog / information_schema, or no table at all
	Harness     int // the harness's own (its schema, pg_stat_statements itself)
	Unparsable  int // the parser of this build rejects the text
	Hidden      int // "<insufficient privilege>": another role's statement
}

// ErrNotAvailable wraps every "pg_stat_statements cannot be read here".
var ErrNotAvailable = errors.New("pg_stat_statements is not available")

const enableHint = "add pg_stat_statements to shared_preload_libraries in postgresql.conf " +
	"(ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', then restart the server; " +
	"on a managed service set it in the parameter group), then run CREATE EXTENSION pg_stat_statements; in the database"

const insufficient = "<insufficient privilege>"

// Read returns the statements pg_stat_statements recorded for database
// (empty: the connection's), most called first. conn may be connected to
// any database of the server where the extension is installed.
func Read(ctx context.Context, conn *pgx.Conn, database string) ([]Statement, Skipped, error) {
	var sk Skipped
	view, toplevel, err := view(ctx, conn)
	if err != nil {
		return nil, sk, err
	}
	if database == "" {
		database = conn.Config().Database
	}
	q := `SELECT coalesce(s.queryid, 0), coalesce(s.query, ''), s.calls, s.rows
FROM ` + view + ` s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = $1`
	if toplevel {
		// Statements run inside functions are the function's business.
		q += " AND s.toplevel"
	}
	rows, err := conn.Query(ctx, q, database)
	if err != nil {
		return nil, sk, explain(err)
	}
	byText := map[string]*Statement{}
	var order []string
	for rows.Next() {
		var s Statement
		if err := rows.Scan(&s.QueryID, &s.Query, &s.Calls, &s.Rows); err != nil {
			rows.Close()
			return nil, sk, fmt.Errorf("read pg_stat_statements: %w", err)
		}
		s.Query = strings.TrimSuffix(strings.TrimSpace(s.Query), ";")
		if !keep(s.Query, &sk) {
			continue
		}
		// The same text under several roles or queryids is one probe.
		if prev, ok := byText[s.Query]; ok {
			prev.Calls += s.Calls
			prev.Rows += s.Rows
			continue
		}
		byText[s.Query] = &s
		order = append(order, s.Query)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, sk, explain(err)
	}
	if len(order) == 0 && sk.Hidden > 0 {
		var role string
		if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil {
			role = conn.Config().User
		}
		return nil, sk, fmt.Errorf("%w: role %q sees %d statements as %q: it needs GRANT pg_read_all_stats TO %s (read-only; it shows statement texts and statistics, no table data)",
			ErrNotAvailable, role, sk.Hidden, insufficient, quoteIdent(role))
	}
	out := make([]Statement, 0, len(order))
	for _, q := range order {
		out = append(out, *byText[q])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Calls != out[j].Calls {
			return out[i].Calls > out[j].Calls
		}
		return out[i].Query < out[j].Query
	})
	return out, sk, nil
}

// Reset clears pg_stat_statements (the harness's own server only).
func Reset(ctx context.Context, conn *pgx.Conn) error {
	v, _, err := view(ctx, conn)
	if err != nil {
		return err
	}
	nsp := strings.TrimSuffix(v, ".pg_stat_statements")
	if _, err := conn.Exec(ctx, "SELECT "+nsp+".pg_stat_statements_reset()"); err != nil {
		return fmt.Errorf("reset pg_stat_statements: %w", explain(err))
	}
	return nil
}

// view finds the extension's view in the connection's database and
// whether it has the toplevel column (PostgreSQL 14+).
func view(ctx context.Context, conn *pgx.Conn) (string, bool, error) {
	var nsp string
	err := conn.QueryRow(ctx, `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'`).Scan(&nsp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, fmt.Errorf("%w: the extension is not installed in database %q: %s", ErrNotAvailable, conn.Config().Database, enableHint)
	}
	if err != nil {
		return "", false, fmt.Errorf("look for pg_stat_statements: %w", err)
	}
	v := quoteIdent(nsp) + ".pg_stat_statements"
	var toplevel bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'toplevel' AND NOT attisdropped)`, v).Scan(&toplevel)
	if err != nil {
		return "", false, fmt.Errorf("read pg_stat_statements' columns: %w", err)
	}
	return v, toplevel, nil
}

// explain turns "must be loaded via shared_preload_libraries" into how to
// fix it.
func explain(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.Contains(pgErr.Message, "shared_preload_libraries") {
		return fmt.Errorf("%w: %s: %s", ErrNotAvailable, pgErr.Message, enableHint)
	}
	return fmt.Errorf("read pg_stat_statements: %w", err)
}

// keep says whether a statement is application SQL worth replaying.
func keep(q string, sk *Skipped) bool {
	if q == insufficient {
		sk.Hidden++
		return false
	}
	if strings.Contains(q, "pg_stat_statements") {
		sk.Harness++
		return false
	}
	st, err := sqlparams.Analyze(q)
	if err != nil {
		sk.Unparsable++
		return false
	}
	if !st.DML() {
		sk.Utility++
		return false
	}
	user := 0
	for _, rel := range st.Relations {
		nsp, name, ok := strings.Cut(rel, ".")
		if !ok {
			nsp, name = "", rel
		}
		switch {
		case nsp == schema.HarnessSchema:
			sk.Harness++
			return false
		case nsp == "pg_catalog" || nsp == "information_schema" || nsp == "" && strings.HasPrefix(name, "pg_"):
		default:
			user++
		}
	}
	if user == 0 {
		sk.CatalogOnly++
		return false
	}
	return true
}

// Header describes a captured file.
type Header struct {
	Database string
	Server   string // PostgreSQL version
	At       time.Time
	Skipped  Skipped
}

// Write writes stmts as a probes file that `--old-queries` reads: each
// statement ends with ";" and a newline, preceded by a comment with its
// call and row counts.
func Write(w io.Writer, h Header, stmts []Statement) error {
	var b strings.Builder
	fmt.Fprintf(&b, "-- rehearse capture: %d statements of database %q from pg_stat_statements", len(stmts), h.Database)
	if h.Server != "" {
		fmt.Fprintf(&b, " (PostgreSQL %s)", h.Server)
	}
	if !h.At.IsZero() {
		fmt.Fprintf(&b, ", %s", h.At.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n-- Statement texts only: constants are $n placeholders; no table data or parameter values are in this file.\n")
	sk := h.Skipped
	fmt.Fprintf(&b, "-- Left out: %d utility, %d catalog-only, %d harness, %d unparsable, %d hidden (<insufficient privilege>).\n",
		sk.Utility, sk.CatalogOnly, sk.Harness, sk.Unparsable, sk.Hidden)
	for _, s := range stmts {
		fmt.Fprintf(&b, "\n-- calls: %d rows: %d queryid: %d\n", s.Calls, s.Rows, s.QueryID)
		if len(s.Steps) > 0 {
			fmt.Fprintf(&b, "-- steps: %s\n", strings.Join(s.Steps, ", "))
		}
		b.WriteString(s.Query + ";\n")
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write captured statements: %w", err)
	}
	return nil
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// FromDSN connects to dsn, reads its database's statements and writes them
// to w: what `rehearse capture` does. It returns how many it wrote.
func FromDSN(ctx context.Context, dsn string, w io.Writer) (int, Skipped, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, Skipped{}, fmt.Errorf("connect to --dsn: %w", err)
	}
	defer conn.Close(context.Background())
	stmts, sk, err := Read(ctx, conn, "")
	if err != nil {
		return 0, sk, err
	}
	h := Header{Database: conn.Config().Database, At: time.Now(), Skipped: sk}
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&h.Server)
	return len(stmts), sk, Write(w, h, stmts)
}
