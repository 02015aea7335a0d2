package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ApplyError is a statement of a script that failed.
type ApplyError struct {
	File      string
	Line      int // file line of the error (the statement's line, moved to PostgreSQL's error position when it gives one)
	Statement string
	SQLState  string // "" when the error did not come from PostgreSQL (e.g. a broken connection)
	Severity  string // PostgreSQL's severity: ERROR, or FATAL when the server ended the session
	Message   string // PostgreSQL's message, e.g. `column "a" contains null values`
	Detail    string // PostgreSQL's DETAIL, e.g. "Key (email)=(a@b) is duplicated."
	Err       error
}

func (e *ApplyError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.SQLState == "" {
		return fmt.Sprintf("%s: %s", loc, e.Message)
	}
	sev := e.Severity
	if sev == "" {
		sev = "ERROR"
	}
	s := fmt.Sprintf("%s: %s: %s (SQLSTATE %s)", loc, sev, e.Message, e.SQLState)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *ApplyError) Unwrap() error { return e.Err }

// Hook runs before statement i of a script, and once more with i equal to
// the statement count after the last one (inside the script's transaction,
// before its commit): a fault injector can kill the connection there. An
// error stops the script and is returned wrapped.
type Hook func(i int, st Statement) error

// Apply runs s on conn: in one transaction, unless s.NoTransaction (then
// statement by statement, as the tools do) or s manages its own
// transaction with BEGIN/COMMIT.
func Apply(ctx context.Context, conn *pgx.Conn, s *Script) error {
	return ApplyStatements(ctx, conn, s, nil)
}

// ApplyStatements is Apply with a hook called before each statement.
func ApplyStatements(ctx context.Context, conn *pgx.Conn, s *Script, hook Hook) error {
	return apply(ctx, conn, s, hook, nil)
}

// inTransaction reports whether Apply wraps s in its own transaction.
func inTransaction(s *Script) bool {
	if s.NoTransaction {
		return false
	}
	for _, st := range s.Statements {
		if isTxControl(st) {
			return false
		}
	}
	return true
}

// apply runs s; beforeCommit, when s runs in a transaction, runs inside
// it after the last statement (goose and dbmate record the version there).
func apply(ctx context.Context, conn *pgx.Conn, s *Script, hook Hook, beforeCommit func(context.Context) error) error {
	if s == nil {
		return errors.New("apply: no script (the migration has no such file or section)")
	}
	if s.Invalid != nil {
		return s.Invalid
	}
	if !inTransaction(s) {
		for i, st := range s.Statements {
			if err := runStatement(ctx, conn, s, i, st, hook); err != nil {
				return err
			}
		}
		return afterLast(s, hook)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return &ApplyError{File: s.File, Message: "begin transaction: " + err.Error(), Err: err}
	}
	for i, st := range s.Statements {
		if err := runStatement(ctx, conn, s, i, st, hook); err != nil {
			rollback(ctx, tx)
			return err
		}
	}
	if err := afterLast(s, hook); err != nil {
		rollback(ctx, tx)
		return err
	}
	if beforeCommit != nil {
		if err := beforeCommit(ctx); err != nil {
			rollback(ctx, tx)
			return fmt.Errorf("bookkeeping of %s: %w", s.File, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		// A deferred constraint fails at commit: name the file, no line.
		return applyError(s, Statement{}, err)
	}
	return nil
}

func runStatement(ctx context.Context, conn *pgx.Conn, s *Script, i int, st Statement, hook Hook) error {
	if hook != nil {
		if err := hook(i, st); err != nil {
			return &ApplyError{File: s.File, Line: st.Line, Statement: st.SQL, Message: fmt.Sprintf("before statement %d: %v", i+1, err), Err: err}
		}
	}
	if part, err := execStatement(ctx, conn, st); err != nil {
		return applyErrorIn(s, st, part, err)
	}
	return nil
}

// execStatement runs st; for a block of several statements, part is the index of
// the one that failed: each statement of a simple-protocol query returns
// its own result, so the results read before the error count those done.
func execStatement(ctx context.Context, conn *pgx.Conn, st Statement) (part int, err error) {
	if len(st.Parts) < 2 {
		_, err := conn.Exec(ctx, st.SQL)
		return 0, err
	}
	mrr := conn.PgConn().Exec(ctx, st.SQL)
	done := 0
	for mrr.NextResult() {
		if _, err := mrr.ResultReader().Close(); err != nil {
			break
		}
		done++
	}
	if err := mrr.Close(); err != nil {
		return min(done, len(st.Parts)-1), err
	}
	return 0, nil
}

func afterLast(s *Script, hook Hook) error {
	if hook == nil {
		return nil
	}
	n := len(s.Statements)
	if err := hook(n, Statement{}); err != nil {
		return &ApplyError{File: s.File, Message: fmt.Sprintf("after statement %d: %v", n, err), Err: err}
	}
	return nil
}

func applyError(s *Script, st Statement, err error) *ApplyError { return applyErrorIn(s, st, 0, err) }

// applyErrorIn places the error at its own line: PostgreSQL's position
// when it gives one, else the failed part of a block, moved to the line
// inside a DO body that PostgreSQL's context names.
func applyErrorIn(s *Script, st Statement, part int, err error) *ApplyError {
	ae := &ApplyError{File: s.File, Line: st.Line, Statement: st.SQL, Message: err.Error(), Err: err}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return ae
	}
	ae.SQLState, ae.Severity, ae.Message, ae.Detail = pgErr.Code, pgErr.Severity, pgErr.Message, pgErr.Detail
	if st.SQL == "" {
		return ae
	}
	if pgErr.Position > 0 {
		ae.Line += strings.Count(st.SQL[:byteOffset(st.SQL, int(pgErr.Position)-1)], "\n")
		return ae
	}
	start := 0
	if part < len(st.Parts) {
		start = st.Parts[part]
	}
	ae.Line += strings.Count(st.SQL[:start], "\n")
	if off, ok := doBodyLine(st.SQL[start:], pgErr.Where); ok {
		ae.Line += off
	}
	return ae
}

// rollback ends a failed transaction even when ctx is already cancelled;
// a dead connection makes it fail, which changes nothing for the caller.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}
