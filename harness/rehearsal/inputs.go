package rehearsal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/policy"
	"github.com/rehearse-dev/rehearse/harness/roles"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// inputs is everything a matrix run reads from the user, checked: built
// before any server starts or any binary is built, so bad input costs
// milliseconds, not a base build.
type inputs struct {
	policy     *policy.Policy
	set        *migrate.Set
	from, to   string
	base, next []*migrate.Migration
	bk         migrate.Bookkeeping
	probes     []matrix.Probe
	roles      []roles.Role
	profile    *seed.Profile
	data       *dataInputs // --data-from; nil without
	searchPath string      // normalised --search-path
	setupSQL   string      // the --setup-sql file's text
}

// checkInputs validates o and reads every file it names. Each error is an
// *InputError naming the flag or file (and line) and what to do.
func checkInputs(ctx context.Context, o MatrixOptions) (*inputs, error) {
	bad := func(err error) (*inputs, error) { return nil, &InputError{err} }
	if o.Rows < 0 {
		return bad(fmt.Errorf("--rows %d: want a positive number of rows per table", o.Rows))
	}
	if o.Parallel < 0 {
		return bad(fmt.Errorf("--parallel %d: want a positive number of cells at once (or leave it out: one per core)", o.Parallel))
	}
	if o.DSN != "" {
		if _, err := pgconn.ParseConfig(o.DSN); err != nil {
			return bad(fmt.Errorf("--dsn: %w; write it as postgres://user:password@host:port/dbname or host=... port=... dbname=... user=...", err))
		}
	}
	in := &inputs{policy: policy.Default()}
	if o.PolicyFile != "" {
		p, err := policy.Load(o.PolicyFile)
		if err != nil {
			return bad(err)
		}
		in.policy = p
	}
	var err error
	if in.set, in.from, in.to, err = loadSet(ctx, o); err != nil {
		return bad(err)
	}
	if in.base, in.next, err = in.set.Range(in.from, in.to); err != nil {
		return bad(err)
	}
	bkName := o.Bookkeeping
	if bkName == "" {
		bkName = in.set.DefaultBookkeeping()
	}
	if in.bk, err = migrate.BookkeepingFor(bkName); err != nil {
		return bad(err)
	}
	if o.OldQueries != "" {
		if in.probes, err = matrix.LoadProbes(o.OldQueries); err != nil {
			return bad(err)
		}
	}
	if o.Roles != "" {
		if in.roles, err = roles.Load(o.Roles); err != nil {
			return bad(fmt.Errorf("--roles: %w", err))
		}
	}
	if o.SearchPath != "" {
		if in.searchPath, err = pgadmin.CheckSearchPath(o.SearchPath); err != nil {
			return bad(fmt.Errorf("--search-path: %w", err))
		}
	}
	if o.SetupSQL != "" {
		b, err := os.ReadFile(o.SetupSQL)
		if err != nil {
			return bad(fmt.Errorf("--setup-sql: %w", err))
		}
		in.setupSQL = string(b)
	}
	if o.Profile != "" {
		if in.profile, err = seed.LoadProfile(o.Profile); err != nil {
			return bad(err)
		}
		window := append(append([]*migrate.Migration{}, in.base...), in.next...)
		w, err := seed.ReadWindow(window)
		if err != nil {
			return bad(fmt.Errorf("profile %s: read the migrations' tables: %w", o.Profile, err))
		}
		span := "the window"
		if len(window) > 0 {
			span = window[0].Version + ".." + window[len(window)-1].Version
		}
		if err := w.CheckProfile(in.profile, span); err != nil {
			return bad(err)
		}
	}
	if in.data, err = checkDataFrom(o, in.profile, in.bk); err != nil {
		return bad(err)
	}
	return in, nil
}

// newRunID names one run: its report folder and its database prefix. The
// random part keeps two runs started in the same second apart.
func newRunID(now time.Time) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported platforms; the nanoseconds
		// still differ between two runs.
		return now.UTC().Format("20060102-150405") + fmt.Sprintf("-%06x", now.Nanosecond()&0xffffff)
	}
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// errPrefixHeld: another live run uses the same database names.
var errPrefixHeld = errors.New("another rehearse run on this server holds the same database names")

// holdPrefix takes a session advisory lock named after the run's database
// prefix on the server and keeps it until release is called: a second run
// with the same prefix (a clash, or a copy of this run's options) refuses
// to start instead of dropping this run's databases.
func holdPrefix(ctx context.Context, adminDSN, prefix string) (release func(), err error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return nil, fmt.Errorf("connect to lock the run's database names: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", "rehearse:"+prefix).Scan(&ok); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("lock the run's database names %s_*: %w", prefix, err)
	}
	if !ok {
		conn.Close(ctx)
		return nil, fmt.Errorf("databases %s_*: %w; wait for it to finish, or start this run again (a new run gets new names)", prefix, errPrefixHeld)
	}
	// Unlock before closing: a closed connection's backend may still hold
	// the lock for a moment after Close returns.
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn.Exec(ctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", "rehearse:"+prefix)
		conn.Close(ctx)
	}, nil
}
