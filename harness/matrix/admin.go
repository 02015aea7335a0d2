package matrix

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/migrate"
)

// A migration can remove the database the harness connects to (DROP
// DATABASE postgres WITH (FORCE), a rename, ALLOW_CONNECTIONS false): the
// migration itself succeeds, and every later step fails with a bare
// connect error. So after each up and down the harness checks that
// database from the step's own connection, and a run that fails after
// one removed it names that step.

// checkAdmin records the step when the admin database is gone after it.
func (r *runner) checkAdmin(ctx context.Context, conn *pgx.Conn, step string, m *migrate.Migration, file string) {
	r.adminOnce.Do(func() {
		if cfg, err := pgx.ParseConfig(r.cfg.AdminDSN); err == nil {
			r.adminDB = cfg.Database
		}
	})
	if r.adminDB == "" || conn == nil || conn.IsClosed() {
		return
	}
	var ok bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datallowconn)`, r.adminDB).Scan(&ok)
	if err != nil || ok {
		return // the step's connection is gone: its own error names it
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.adminLost == "" {
		r.adminLost = fmt.Sprintf("%s_%s %s (%s)", m.Version, m.Name, step, file)
	}
}

// AdminLostError is a run that failed after a migration removed the
// database the harness connects to.
type AdminLostError struct {
	Step     string // "000002_drop up (migrations/000002_drop.up.sql)"
	Database string
	Err      error
}

func (e *AdminLostError) Error() string {
	msg := fmt.Sprintf("%s removed the database the harness connects to (%q: dropped, renamed or closed to connections), so the run cannot be trusted; a migration must leave other databases alone", e.Step, e.Database)
	if e.Err != nil {
		msg += fmt.Sprintf(" (then: %v)", e.Err)
	}
	return msg
}

func (e *AdminLostError) Unwrap() error { return e.Err }

// blame wraps a run's error with the step that removed the admin
// database; a run that finished without error after such a step fails too
// (err nil): its server is not the one the run started on.
func (r *runner) blame(err error) error {
	r.mu.Lock()
	step := r.adminLost
	r.mu.Unlock()
	var already *AdminLostError
	if step == "" || errors.As(err, &already) {
		return err
	}
	return &AdminLostError{Step: step, Database: r.adminDB, Err: err}
}
