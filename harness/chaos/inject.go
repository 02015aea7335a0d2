package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// dsnFunc returns the admin DSN anew each time: on kube a crash can break
// the port-forward, and the environment makes a new one.
type dsnFunc func(ctx context.Context) (string, error)

func connectAdmin(ctx context.Context, admin dsnFunc) (*pgx.Conn, error) {
	dsn, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	return pgx.Connect(ctx, dsn)
}

// errInjected stops a script at the fault's point.
var errInjected = errors.New("fault injected")

// terminate ends session pid as an operator's pg_terminate_backend or a
// dying client would, and waits (up to 10s) until it is gone.
func terminate(ctx context.Context, admin dsnFunc, pid uint32) error {
	conn, err := connectAdmin(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to end the migration's session: %w", err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1, 10000)`, int32(pid)).Scan(&ok); err != nil {
		return fmt.Errorf("pg_terminate_backend(%d): %w", pid, err)
	}
	if !ok {
		return fmt.Errorf("pg_terminate_backend(%d): the session did not end within 10s", pid)
	}
	return nil
}

// crash kills backend pid with SIGKILL through COPY ... TO PROGRAM, which
// runs on the database's own host on every backend (process, container,
// pod). PostgreSQL takes a backend killed that way as a crash: it ends
// every session and runs crash recovery from the WAL. crash returns once
// the server accepts connections again. It needs a superuser, which the
// harness is on the servers it creates.
func crash(ctx context.Context, admin dsnFunc, pid uint32) error {
	conn, err := connectAdmin(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to crash PostgreSQL: %w", err)
	}
	// The harness's own servers run with synchronous_commit=off for speed,
	// which a crash would turn into lost commits; production does not
	// lose them. A checkpoint first puts every commit on disk, as
	// synchronous_commit=on would have, and leaves in-flight work alone.
	if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
		conn.Close(context.Background())
		return fmt.Errorf("checkpoint before crashing PostgreSQL: %w", err)
	}
	_, err = conn.Exec(ctx, fmt.Sprintf(`COPY (SELECT 1) TO PROGRAM 'kill -9 %d'`, pid))
	conn.Close(context.Background())
	if err != nil && isPermission(err) {
		return fmt.Errorf("crash PostgreSQL: COPY TO PROGRAM needs a superuser (or pg_execute_server_program): %w", err)
	}
	// The COPY itself may die with the crash; what matters is that pid is gone.
	return waitRecovered(ctx, admin, pid, time.Minute)
}

func isPermission(err error) bool {
	var pgErr interface{ SQLState() string }
	return errors.As(err, &pgErr) && pgErr.SQLState() == "42501"
}

// waitRecovered waits until a new session works and pid is gone.
func waitRecovered(ctx context.Context, admin dsnFunc, pid uint32, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		last = func() error {
			conn, err := connectAdmin(ctx, admin)
			if err != nil {
				return err
			}
			defer conn.Close(context.Background())
			var n int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, int32(pid)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("backend %d still runs", pid)
			}
			return nil
		}()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("PostgreSQL did not come back within %s after the crash: %v", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// killSession applies fault (kill-migration or kill-postgres) to the
// session pid.
func killSession(ctx context.Context, fault string, admin dsnFunc, pid uint32) error {
	if fault == KillPostgres {
		return crash(ctx, admin, pid)
	}
	return terminate(ctx, admin, pid)
}

// killDuring watches on conn for a client session of application app
// (pg_dump, pg_restore) and kills it (kill) once it has one; it returns
// when it did (true), or when stop closes first (false: the work finished
// before it was seen).
//
// With blocker set, only a session blocked by that backend counts.
func killDuring(ctx context.Context, conn *pgx.Conn, app string, blocker uint32, stop <-chan struct{}, kill func(context.Context, uint32) error) (bool, error) {
	for {
		select {
		case <-stop:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		default:
		}
		var pid int32
		err := conn.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND backend_type = 'client backend' AND ($2::int = 0 OR $2::int = ANY(pg_blocking_pids(pid))) LIMIT 1`, app, int32(blocker)).Scan(&pid)
		if err == nil {
			return true, kill(ctx, uint32(pid))
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return false, fmt.Errorf("watch %s: %w", app, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
