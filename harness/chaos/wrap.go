package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/env"
)

// faultyEnv is the environment with one fault wired into a method; every
// other method is the real one.
type faultyEnv struct {
	env.Environment
	fault string
	// landed records that the fault happened (a fault whose moment never
	// comes is "not reached", not "recovered").
	landed bool
	why    string // why it did not land
	err    error  // a failure of the injection itself
	// health bounds the wait for the server to be up before it is killed.
	health env.HealthOptions
	// deletePod deletes PostgreSQL's pod (kill-postgres-pod).
	deletePod func(context.Context) error
}

// Backup breaks the dump as the fault says.
func (f *faultyEnv) Backup(ctx context.Context, path string) error {
	switch f.fault {
	case BackupFail:
		f.landed = true
		return fmt.Errorf("pg_dump exited with status 1 (injected fault %s)", BackupFail)
	case BackupEmpty, BackupTruncated:
		if err := f.Environment.Backup(ctx, path); err != nil {
			return err
		}
		f.landed = true
		f.err = breakDump(path, f.fault)
		return nil
	case KillPostgresPod:
		return f.during(ctx, "pg_dump", func() error { return f.Environment.Backup(ctx, path) })
	}
	return f.Environment.Backup(ctx, path)
}

// during runs work (a backup or restore run by application app) while a
// watcher kills PostgreSQL (crash, or its pod deleted) once app's session
// shows up. The watcher connects before work starts: a cluster backend
// holds its own lock while a backup or restore runs.
func (f *faultyEnv) during(ctx context.Context, app string, work func() error) error {
	dsn, err := f.Environment.AdminDSN(ctx)
	if err != nil {
		return err
	}
	watch, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to watch %s: %w", app, err)
	}
	kill := func(ctx context.Context, pid uint32) error {
		if f.fault == KillPostgresPod {
			return f.deletePod(ctx)
		}
		return crash(ctx, f.Environment.AdminDSN, pid)
	}
	// pg_dump starts by locking every table it dumps (ACCESS SHARE): a
	// table held ACCESS EXCLUSIVE holds it there, so the fault lands while
	// it runs, not by luck before it finishes (pg_restore writes into new
	// tables, so it is only watched for).
	var blocker uint32
	var hold *pgx.Conn
	if app == "pg_dump" {
		if hold, err = holdATable(ctx, f.Environment); err != nil {
			watch.Close(context.Background())
			return err
		}
		if hold != nil {
			blocker = hold.PgConn().PID()
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer watch.Close(context.Background())
		f.landed, f.err = killDuring(wctx, watch, app, blocker, stop, kill)
		if hold != nil {
			// Released however the watch ended, so pg_dump never waits forever.
			hold.Close(context.Background())
		}
	}()
	err = work()
	close(stop)
	<-done
	return err
}

// Restore crashes PostgreSQL (or deletes its pod) while pg_restore runs.
func (f *faultyEnv) Restore(ctx context.Context, path string) error {
	if f.fault != KillPostgres && f.fault != KillPostgresPod {
		return f.Environment.Restore(ctx, path)
	}
	return f.during(ctx, "pg_restore", func() error { return f.Environment.Restore(ctx, path) })
}

// Rollback starts release N, then (crash-loop) kills its server once.
func (f *faultyEnv) Rollback(ctx context.Context, to env.Release) error {
	return f.killAfter(ctx, CrashLoop, f.Environment.Rollback(ctx, to))
}

// Upgrade rolls release N+1 out, then (ready-timeout) kills its server so
// the rollout does not stay ready.
func (f *faultyEnv) Upgrade(ctx context.Context, to env.Release) error {
	return f.killAfter(ctx, ReadyTimeout, f.Environment.Upgrade(ctx, to))
}

// killAfter kills the server after a rollout that succeeded, when the
// fault is the one that does.
func (f *faultyEnv) killAfter(ctx context.Context, fault string, rolloutErr error) error {
	if rolloutErr != nil || f.fault != fault {
		return rolloutErr
	}
	return f.killServer(ctx)
}

// killServer waits until the server is ready (a server that never comes up
// has nothing to crash: the fault does not land), then kills it.
func (f *faultyEnv) killServer(ctx context.Context) error {
	k, ok := f.Environment.(env.ServerKiller)
	if !ok {
		return fmt.Errorf("the %s backend cannot kill the server", f.Name())
	}
	h, err := f.Environment.ServerHealth(ctx, env.HealthOptions{Timeout: f.health.Timeout})
	if err != nil {
		f.err = err
		return nil
	}
	if !h.Ready {
		f.why = "the server never became ready: " + h.Detail
		return nil
	}
	if err := k.KillServer(ctx); err != nil {
		f.err = err
		return nil
	}
	f.landed = true
	return nil
}

// breakDump empties the dump at path, or cuts it in half.
func breakDump(path, fault string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("break the dump: %w", err)
	}
	size := int64(0)
	if fault == BackupTruncated {
		size = fi.Size() / 2
	}
	if err := os.Truncate(path, size); err != nil {
		return fmt.Errorf("break the dump: %w", err)
	}
	return nil
}

// holdATable takes ACCESS EXCLUSIVE on one table of the current database
// in a transaction left open on the returned connection (nil: no table).
func holdATable(ctx context.Context, e env.Environment) (*pgx.Conn, error) {
	dsn, err := e.DSN(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to hold a table: %w", err)
	}
	var table string
	err = conn.QueryRow(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE '\_rehearse%' ORDER BY 1 LIMIT 1`).Scan(&table)
	if errors.Is(err, pgx.ErrNoRows) {
		conn.Close(context.Background())
		return nil, nil
	}
	if err == nil {
		_, err = conn.Exec(ctx, `BEGIN; LOCK TABLE `+table+` IN ACCESS EXCLUSIVE MODE`)
	}
	if err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("hold a table for pg_dump to wait on: %w", err)
	}
	return conn, nil
}
