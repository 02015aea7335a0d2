package migrate

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
)

// LoadError is a problem in a migration file: where it is, what is wrong,
// and what to do about it.
type LoadError struct {
	File    string
	Line    int // 0 when the problem is the file as a whole
	Problem string
	Fix     string
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// split cuts sql (a chunk of file starting at line firstLine) into
// statements with the PostgreSQL parser. noTx reports a statement that
// cannot run in a transaction block.
func split(file, sql string, firstLine int) (stmts []Statement, noTx bool, err error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, false, syntaxError(file, sql, firstLine, err)
	}
	starts, err := statementStarts(sql, tree)
	if err != nil {
		return nil, false, &LoadError{File: file, Line: firstLine, Problem: "cannot scan SQL: " + err.Error(), Fix: "fix the SQL so PostgreSQL can parse it"}
	}
	for i, raw := range tree.Stmts {
		loc := int(raw.StmtLocation)
		end := len(sql)
		if raw.StmtLen > 0 {
			end = loc + int(raw.StmtLen)
		}
		start := starts[i]
		if start > end {
			start = loc
		}
		text := strings.TrimSpace(sql[start:end])
		text = strings.TrimSpace(strings.TrimSuffix(text, ";"))
		stmts = append(stmts, Statement{SQL: text, Line: firstLine + strings.Count(sql[:start], "\n")})
		if cannotRunInTx(raw.Stmt) {
			noTx = true
		}
	}
	return stmts, noTx, nil
}

// checkBlock parses a goose StatementBegin/End block, which stays one
// statement, to report syntax errors at load time, find statements that
// cannot run in a transaction, and note where each of its statements
// starts.
func checkBlock(file, sql string, firstLine int) (Statement, bool, error) {
	// Leading comment lines are dropped so the text starts at Line.
	line, off := firstLine, 0
	for _, l := range strings.SplitAfter(sql, "\n") {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "--") {
			break
		}
		line++
		off += len(l)
	}
	text := strings.TrimRightFunc(sql[off:], unicode.IsSpace)
	lead := len(text) - len(strings.TrimLeftFunc(text, unicode.IsSpace))
	text = text[lead:]
	tree, err := pg_query.Parse(text)
	if err != nil {
		return Statement{}, false, syntaxError(file, text, line, err)
	}
	noTx := false
	var parts []int
	if len(tree.Stmts) > 1 {
		starts, err := statementStarts(text, tree)
		if err != nil {
			return Statement{}, false, &LoadError{File: file, Line: line, Problem: "cannot scan SQL: " + err.Error(), Fix: "fix the SQL so PostgreSQL can parse it"}
		}
		parts = starts
	}
	for _, raw := range tree.Stmts {
		noTx = noTx || cannotRunInTx(raw.Stmt)
	}
	return Statement{SQL: text, Line: line, Parts: parts}, noTx, nil
}

// statementStarts is the offset of each statement's first real token:
// stmt_location includes the comments and blanks before a statement, and
// its line is that of its first real token.
func statementStarts(sql string, tree *pg_query.ParseResult) ([]int, error) {
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return nil, err
	}
	var starts []int
	for _, raw := range tree.Stmts {
		loc := int(raw.StmtLocation)
		start := loc
		for _, tok := range scan.Tokens {
			if int(tok.Start) < loc || tok.Token == pg_query.Token_SQL_COMMENT || tok.Token == pg_query.Token_C_COMMENT {
				continue
			}
			start = int(tok.Start)
			break
		}
		starts = append(starts, start)
	}
	return starts, nil
}

var rePLpgSQLLine = regexp.MustCompile(`(?m)^PL/pgSQL function inline_code_block line ([0-9]+)\b`)

// doBodyLine maps PostgreSQL's error context for a DO block ("PL/pgSQL
// function inline_code_block line N at ...", lines counted from the
// start of the body string) to a line offset in stmt, a statement that
// starts with DO. The context lists the innermost call first; the DO
// block's own line is the last.
func doBodyLine(stmt, where string) (int, bool) {
	ms := rePLpgSQLLine.FindAllStringSubmatch(where, -1)
	if ms == nil {
		return 0, false
	}
	n, err := strconv.Atoi(ms[len(ms)-1][1])
	if err != nil || n < 1 {
		return 0, false
	}
	scan, err := pg_query.Scan(stmt)
	if err != nil || len(scan.Tokens) == 0 || scan.Tokens[0].Token != pg_query.Token_DO {
		return 0, false
	}
	for _, tok := range scan.Tokens[1:] {
		if tok.Token != pg_query.Token_SCONST {
			continue
		}
		body := int(tok.Start)
		if strings.HasPrefix(stmt[body:], "$") {
			// Skip the opening $tag$.
			if end := strings.IndexByte(stmt[body+1:], '$'); end >= 0 {
				body += end + 2
			}
		} else {
			body++
		}
		return strings.Count(stmt[:body], "\n") + n - 1, true
	}
	return 0, false
}

func syntaxError(file, sql string, firstLine int, err error) error {
	line := firstLine
	var pe *pgparser.Error
	if errors.As(err, &pe) && pe.Cursorpos > 0 {
		line = firstLine + strings.Count(sql[:byteOffset(sql, pe.Cursorpos-1)], "\n")
	}
	return &LoadError{
		File:    file,
		Line:    line,
		Problem: "SQL syntax error: " + err.Error(),
		Fix:     "fix the statement (it must parse as PostgreSQL SQL; psql meta-commands such as \\connect are not SQL)",
	}
}

// byteOffset converts a count of characters (PostgreSQL positions count
// characters, not bytes) into a byte offset of s.
func byteOffset(s string, chars int) int {
	off := 0
	for i := 0; i < chars && off < len(s); i++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

// cannotRunInTx reports statements PostgreSQL refuses inside a
// transaction block ("cannot run inside a transaction block").
func cannotRunInTx(n *pg_query.Node) bool {
	if n == nil {
		return false
	}
	switch s := n.Node.(type) {
	case *pg_query.Node_IndexStmt:
		return s.IndexStmt.Concurrent
	case *pg_query.Node_DropStmt:
		return s.DropStmt.Concurrent
	case *pg_query.Node_ReindexStmt:
		for _, p := range s.ReindexStmt.Params {
			if d := p.GetDefElem(); d != nil && d.Defname == "concurrently" {
				return true
			}
		}
	case *pg_query.Node_VacuumStmt:
		return s.VacuumStmt.IsVacuumcmd
	case *pg_query.Node_CreatedbStmt, *pg_query.Node_DropdbStmt, *pg_query.Node_AlterSystemStmt,
		*pg_query.Node_CreateTableSpaceStmt, *pg_query.Node_DropTableSpaceStmt:
		return true
	case *pg_query.Node_AlterTableStmt:
		for _, c := range s.AlterTableStmt.Cmds {
			if pc := c.GetAlterTableCmd().GetDef().GetPartitionCmd(); pc != nil && pc.Concurrent {
				return true
			}
		}
	}
	return false
}

// isTxControl reports BEGIN/COMMIT/ROLLBACK written in a script: such a
// script manages its own transaction and must not be wrapped in ours.
func isTxControl(st Statement) bool {
	f := strings.Fields(strings.ToUpper(st.SQL))
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT":
		return true
	}
	return false
}
