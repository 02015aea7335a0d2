package matrix

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rehearse-dev/rehearse/harness/roles"
)

// Which role runs what. With Config.MigrateAs, every up, down, boot and
// probe runs as that role (SET SESSION AUTHORIZATION on the connection), as
// production's migration tool and code do; release N's base migrations too,
// so the objects are owned as in production. The harness's own superuser
// keeps setup (databases, roles, seeding, bookkeeping of release N's era
// rows) and measurement (snapshots, fingerprints).

// setupRoles creates production's roles (Config.Roles) that the server
// lacks, remembering which it made, and checks that MigrateAs exists.
func (r *runner) setupRoles(ctx context.Context) error {
	if len(r.cfg.Roles) == 0 && r.cfg.MigrateAs == "" {
		return nil
	}
	conn, err := pgx.Connect(ctx, r.cfg.AdminDSN)
	if err != nil {
		return fmt.Errorf("connect to create roles: %w", err)
	}
	defer conn.Close(context.Background())
	created, err := roles.Ensure(ctx, conn, r.cfg.Roles)
	r.mu.Lock()
	r.createdRoles = created
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if r.cfg.MigrateAs != "" {
		ok, err := roles.Exists(ctx, conn, r.cfg.MigrateAs)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("--migrate-as %s: no such role on the server; list it in --roles (production's roles, e.g. the output of pg_dumpall --roles-only)", r.cfg.MigrateAs)
		}
	}
	return nil
}

// dropRoles drops the roles setupRoles made; their databases are gone.
func (r *runner) dropRoles() {
	r.mu.Lock()
	created := r.createdRoles
	r.mu.Unlock()
	if len(created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.cfg.AdminDSN)
	if err != nil {
		r.cfg.Logger.Warn("drop roles", "roles", created, "err", err)
		return
	}
	defer conn.Close(context.Background())
	if err := roles.Drop(ctx, conn, created); err != nil {
		r.cfg.Logger.Warn("drop roles", "roles", created, "err", err)
	}
}

// ownDatabase makes the migrating role the owner of a database the harness
// made, as production's migrator owns its database (and, from PostgreSQL
// 15, through pg_database_owner, its public schema).
func (r *runner) ownDatabase(ctx context.Context, db string) error {
	if r.cfg.MigrateAs == "" {
		return nil
	}
	conn, err := pgx.Connect(ctx, r.cfg.AdminDSN)
	if err != nil {
		return fmt.Errorf("connect to give %s to %s: %w", db, r.cfg.MigrateAs, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER TO "+pgx.Identifier{r.cfg.MigrateAs}.Sanitize()); err != nil {
		return fmt.Errorf("give database %s to %s: %w", db, r.cfg.MigrateAs, err)
	}
	return nil
}

// as runs fn with conn switched to the migrating role; the harness's
// superuser is back when it returns. what ("up", "down", "boot") names the
// script in the note a refused privilege gets.
func (r *runner) as(ctx context.Context, conn *pgx.Conn, what string, fn func() error) error {
	role := r.cfg.MigrateAs
	if role == "" {
		return fn()
	}
	if _, err := conn.Exec(ctx, "SET SESSION AUTHORIZATION "+pgx.Identifier{role}.Sanitize()); err != nil {
		return fmt.Errorf("switch to role %s: %w", role, err)
	}
	err := fn()
	if _, rerr := conn.Exec(context.WithoutCancel(ctx), "RESET SESSION AUTHORIZATION"); rerr != nil && err == nil {
		err = fmt.Errorf("switch back from role %s: %w", role, rerr)
	}
	var pgErr *pgconn.PgError
	if err != nil && errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return &privilegeError{role: role, what: what, message: pgErr.Message, err: err}
	}
	return err
}

// privilegeError is a script the migrating role was not allowed to run
// (SQLSTATE 42501): production, running as the same role, meets it too.
type privilegeError struct {
	role, what, message string
	err                 error
}

func (e *privilegeError) Error() string { return e.err.Error() }
func (e *privilegeError) Unwrap() error { return e.err }

func (e *privilegeError) note() string {
	return fmt.Sprintf("runs as %s, which lacks the privilege (%s): in production this %s fails the same way", e.role, e.message, e.what)
}

// privilegeNote is the note of err when it is a privilegeError, else "".
func privilegeNote(err error) string {
	var pe *privilegeError
	if errors.As(err, &pe) {
		return pe.note()
	}
	return ""
}

// probe runs release N's SQL probes as the migrating role.
func (r *runner) probe(ctx context.Context, conn *pgx.Conn) ([]ProbeOutcome, error) {
	var out []ProbeOutcome
	err := r.as(ctx, conn, "probe", func() error {
		out = runProbes(ctx, conn, r.cfg.Probes)
		return nil
	})
	return out, err
}
