package matrix

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/sqlparams"
)

// A normalized statement ($1 placeholders, as pg_stat_statements keeps
// them) is replayed like the application runs it: PREPAREd on the state,
// its parameter types read from pg_prepared_statements, then EXECUTEd with
// values drawn from the state's own rows where a parameter meets a column
// (so `UPDATE ... WHERE id = $1` hits a real row), else a typed default.

const probeStmt = "rehearse_probe"

// runBoundProbe runs p (whose SQL has st's placeholders) in a rolled-back
// transaction.
func runBoundProbe(ctx context.Context, conn *pgx.Conn, p Probe, st *sqlparams.Statement) ProbeOutcome {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sql := strings.TrimSuffix(strings.TrimSpace(p.SQL), ";")
	// PREPARE is where a renamed column or a changed type shows: the
	// statement no longer plans on this state.
	if _, err := conn.Exec(ctx, "PREPARE "+probeStmt+" AS "+sql); err != nil {
		return outcome(err)
	}
	defer conn.Exec(context.Background(), "DEALLOCATE "+probeStmt)
	var types []string
	if err := conn.QueryRow(ctx, "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = $1", probeStmt).Scan(&types); err != nil {
		return outcome(fmt.Errorf("read the parameter types of %s: %w", p.Name, err))
	}
	args := bindValues(ctx, conn, st, types)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return outcome(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = '20s'"); err != nil {
		return outcome(err)
	}
	exec := "EXECUTE " + probeStmt
	if len(args) > 0 {
		exec += "(" + strings.Join(args, ", ") + ")"
	}
	tag, err := tx.Exec(ctx, exec)
	if err != nil {
		return outcome(err)
	}
	return ProbeOutcome{Rows: tag.RowsAffected(), Bound: strings.Join(args, ", ")}
}

// bindValues returns one SQL expression per parameter, typed. Parameters
// meeting columns of the same table take their values from one row of it,
// so `WHERE a = $1 AND b = $2` matches that row.
func bindValues(ctx context.Context, conn *pgx.Conn, st *sqlparams.Statement, types []string) []string {
	args := make([]string, len(types))
	byTable := map[string][]int{} // table -> indexes into st.Params
	var tables []string
	for i, prm := range st.Params {
		if i >= len(types) || prm.Column == "" {
			continue
		}
		tbl := tableWith(ctx, conn, prm.Tables, prm.Column)
		if tbl == "" {
			continue
		}
		if prm.Use == sqlparams.Insert && isUnique(ctx, conn, tbl, prm.Column) {
			// A copy of an existing key would only test the unique index.
			args[i] = freshValue(ctx, conn, tbl, prm.Column, types[i], prm.Number)
			continue
		}
		if _, ok := byTable[tbl]; !ok {
			tables = append(tables, tbl)
		}
		byTable[tbl] = append(byTable[tbl], i)
	}
	for _, tbl := range tables {
		idx := byTable[tbl]
		cols := make([]string, len(idx))
		notNull := make([]string, len(idx))
		for j, i := range idx {
			c := pgx.Identifier{st.Params[i].Column}.Sanitize()
			cols[j] = c + "::text"
			notNull[j] = c + " IS NOT NULL"
		}
		vals := make([]*string, len(idx))
		dest := make([]any, len(idx))
		for j := range vals {
			dest[j] = &vals[j]
		}
		// A row with every value set, else any row: LIMIT 1 without a sort
		// stays cheap on big tables.
		sel := fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), tbl)
		err := conn.QueryRow(ctx, sel+" WHERE "+strings.Join(notNull, " AND ")+" LIMIT 1").Scan(dest...)
		if err != nil {
			err = conn.QueryRow(ctx, sel+" LIMIT 1").Scan(dest...)
		}
		if err != nil {
			continue // empty table or unreadable: typed defaults below
		}
		for j, i := range idx {
			if vals[j] != nil {
				args[i] = literal(*vals[j], types[i])
			}
		}
	}
	for i := range args {
		if args[i] == "" {
			args[i] = typedDefault(types[i])
		}
	}
	return args
}

// tableWith returns the first of tables (as a quoted regclass) that has
// column, "" when none does (a CTE name, a column of a subquery).
func tableWith(ctx context.Context, conn *pgx.Conn, tables []string, column string) string {
	for _, t := range tables {
		rel := pgx.Identifier(strings.Split(t, ".")).Sanitize()
		var name string
		err := conn.QueryRow(ctx, `SELECT a.attrelid::regclass::text FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, rel, column).Scan(&name)
		if err == nil {
			return name
		}
	}
	return ""
}

func isUnique(ctx context.Context, conn *pgx.Conn, table, column string) bool {
	var unique bool
	_ = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND a.attname = $2)`, table, column).Scan(&unique)
	return unique
}

// freshValue is a value no row of table has in column: max + n for
// numbers, a new UUID, a random text otherwise.
func freshValue(ctx context.Context, conn *pgx.Conn, table, column, typ string, n int) string {
	switch {
	case numericType(typ):
		var v *string
		q := fmt.Sprintf("SELECT (coalesce(max(%s), 0) + %d)::text FROM %s", pgx.Identifier{column}.Sanitize(), n, table)
		if conn.QueryRow(ctx, q).Scan(&v) == nil && v != nil {
			return literal(*v, typ)
		}
		return typedDefault(typ)
	case typ == "uuid":
		return "gen_random_uuid()"
	case textType(typ):
		return "('rehearse-' || substr(md5(random()::text), 1, 10))::" + typ
	}
	return typedDefault(typ)
}

// typedDefault is a plain valid value of type typ, NULL for types it
// does not know.
func typedDefault(typ string) string {
	switch {
	case strings.HasSuffix(typ, "[]"):
		return "'{}'::" + typ
	case numericType(typ):
		return "1::" + typ
	case typ == "boolean":
		return "false"
	case textType(typ):
		return "'rehearse'::" + typ
	case typ == "uuid":
		return "gen_random_uuid()"
	case strings.HasPrefix(typ, "timestamp"), typ == "date", strings.HasPrefix(typ, "time"):
		return "now()::" + typ
	case typ == "json" || typ == "jsonb":
		return "'{}'::" + typ
	case typ == "bytea":
		return "''::bytea"
	case typ == "interval":
		return "'1 day'::interval"
	}
	return "NULL::" + typ
}

func numericType(typ string) bool {
	switch typ {
	case "smallint", "integer", "bigint", "numeric", "real", "double precision", "money":
		return true
	}
	return strings.HasPrefix(typ, "numeric(")
}

func textType(typ string) bool {
	return typ == "text" || typ == "name" || typ == "citext" || strings.HasPrefix(typ, "character")
}

func literal(v, typ string) string {
	return "'" + strings.ReplaceAll(v, "'", "''") + "'::" + typ
}
