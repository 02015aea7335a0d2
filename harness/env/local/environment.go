package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
)

// EnvOptions configures the local Environment.
type EnvOptions struct {
	env.Options
	// Postgres configures the PostgreSQL server the environment starts.
	Postgres Options
	// Server, when set, is a running PostgreSQL to use instead of starting
	// one (tests share pgtest's); Close leaves it running.
	Server *Server
	// UpTimeout bounds how long a server may take to migrate and answer
	// /healthz after Install or Upgrade (default 2m).
	UpTimeout time.Duration
	Logger    *slog.Logger
}

// Environment runs PostgreSQL from local binaries and each release's server
// as local processes on free loopback ports. It implements env.Environment.
type Environment struct {
	opts       EnvOptions
	pg         *Server
	ownsServer bool

	mu       sync.Mutex
	db       string // current database
	dbs      []string
	states   map[string]savedState
	release  *env.Release
	replicas []*replica
	// lastReplicas is the replica count a rollback restores.
	lastReplicas int
	logs         *logBuffer
	copies       int
	closed       bool
}

type savedState struct {
	db       string
	release  *env.Release
	replicas int
}

var _ env.Environment = (*Environment)(nil)

// NewEnvironment starts PostgreSQL and creates the (empty) app database.
func NewEnvironment(ctx context.Context, o EnvOptions) (*Environment, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.UpTimeout <= 0 {
		o.UpTimeout = 2 * time.Minute
	}
	if o.RunID == "" {
		o.RunID = "run"
	}
	if o.Postgres.Logger == nil {
		o.Postgres.Logger = o.Logger
	}
	pg, owned := o.Server, false
	if pg == nil {
		var err error
		if pg, err = Start(ctx, o.Postgres); err != nil {
			return nil, err
		}
		owned = true
	}
	e := &Environment{opts: o, pg: pg, ownsServer: owned, states: map[string]savedState{}, logs: &logBuffer{}, lastReplicas: 1}
	e.db = e.dbName("app")
	if err := e.createDB(ctx, e.db, ""); err != nil {
		e.Close(context.Background())
		return nil, err
	}
	return e, nil
}

// Name implements env.Environment.
func (e *Environment) Name() string { return "local" }

// Postgres is the PostgreSQL server the environment runs.
func (e *Environment) Postgres() *Server { return e.pg }

func (e *Environment) dbName(parts ...string) string {
	return pgadmin.Name(append([]string{"rehearse", e.opts.RunID}, parts...)...)
}

func (e *Environment) createDB(ctx context.Context, name, template string) error {
	if err := pgadmin.Create(ctx, e.pg.DSN("postgres"), name, template); err != nil {
		return err
	}
	e.dbs = append(e.dbs, name)
	return nil
}

// AdminDSN implements env.Environment.
func (e *Environment) AdminDSN(context.Context) (string, error) { return e.pg.DSN("postgres"), nil }

// PassFile is the pgpass file of the environment's server (see Server.PassFile).
func (e *Environment) PassFile() string { return e.pg.PassFile }

// DSN implements env.Environment.
func (e *Environment) DSN(context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pg.DSN(e.db), nil
}

// Install implements env.Environment.
func (e *Environment) Install(ctx context.Context, r env.Release) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := env.CheckInstall(e.release, r); err != nil {
		return err
	}
	return e.rollout(ctx, r, true)
}

// Upgrade implements env.Environment.
func (e *Environment) Upgrade(ctx context.Context, r env.Release) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := env.CheckUpgrade(e.release, r); err != nil {
		return err
	}
	return e.rollout(ctx, r, true)
}

// Rollback implements env.Environment. It returns once the servers are
// started; whether they become ready is ServerHealth's question.
func (e *Environment) Rollback(ctx context.Context, to env.Release) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rollout(ctx, to, false)
}

// rollout replaces the running servers by release r's (env.Rollout).
func (e *Environment) rollout(ctx context.Context, r env.Release, hooks bool) error {
	if r.Binary == "" {
		return fmt.Errorf("release %s: no server binary for the local backend", r.Name)
	}
	logs := &logBuffer{}
	return env.Rollout(ctx, r, hooks, env.RolloutSteps{
		Hook: func(ctx context.Context) error { return e.runHook(ctx, r, logs) },
		Stop: e.stopReplicas,
		Start: func(context.Context) ([]env.Replica, error) {
			rc := r
			e.release = &rc
			e.logs = logs
			if err := e.startReplicas(max(e.lastReplicas, 1)); err != nil {
				return nil, err
			}
			return e.envReplicas(), nil
		},
		Logs:      func() string { return tailText(e.logs.String(), 20) },
		UpTimeout: e.opts.UpTimeout,
	})
}

func (e *Environment) envReplicas() []env.Replica {
	out := make([]env.Replica, len(e.replicas))
	for i, rp := range e.replicas {
		out[i] = rp
	}
	return out
}

// runHook runs the release's server with --migrate-only, as the chart's
// pre-install/pre-upgrade Job does.
func (e *Environment) runHook(ctx context.Context, r env.Release, logs *logBuffer) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.UpTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Binary, append(append([]string{}, r.Args...), "--migrate-only")...)
	cmd.Env = serverEnv(r, map[string]string{"DATABASE_URL": e.pg.DSN(e.db), "MIGRATIONS_VIA_HOOK": "true"})
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	logs.Write([]byte("rehearse: migration hook of release " + r.Name + "\n"))
	logs.Write(out.Bytes())
	if err != nil {
		return fmt.Errorf("migration hook (--migrate-only) of release %s: %w\n%s", r.Name, err, tailText(out.String(), 20))
	}
	return nil
}

func (e *Environment) startReplicas(n int) error {
	for len(e.replicas) < n {
		rp, err := startReplica(*e.release, e.pg.DSN(e.db), e.logs)
		if err != nil {
			return fmt.Errorf("start release %s server: %w", e.release.Name, err)
		}
		e.replicas = append(e.replicas, rp)
	}
	return nil
}

func (e *Environment) stopReplicas(ctx context.Context) error {
	return e.scaleDown(ctx, 0)
}

func (e *Environment) scaleDown(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var errs []error
	for len(e.replicas) > n {
		rp := e.replicas[len(e.replicas)-1]
		errs = append(errs, rp.halt(ctx))
		e.replicas = e.replicas[:len(e.replicas)-1]
	}
	return errors.Join(errs...)
}

// Scale implements env.Environment.
func (e *Environment) Scale(ctx context.Context, replicas int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if replicas < 0 {
		return fmt.Errorf("scale to %d replicas: want 0 or more", replicas)
	}
	if replicas > 0 {
		if e.release == nil {
			return fmt.Errorf("scale to %d replicas: nothing installed", replicas)
		}
		e.lastReplicas = replicas
	}
	if err := e.scaleDown(ctx, replicas); err != nil {
		return err
	}
	if e.release == nil {
		return nil
	}
	return e.startReplicas(replicas)
}

// Backup implements env.Environment.
func (e *Environment) Backup(ctx context.Context, path string) error {
	e.mu.Lock()
	db := e.db
	e.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	out, err := e.pgTool(ctx, "pg_dump", "--format=custom", "--no-owner", "--no-acl", "--file", path, "--dbname", e.pg.PublicDSN(db))
	if err != nil {
		return fmt.Errorf("pg_dump %s: %w\n%s", db, err, out)
	}
	return nil
}

// Restore implements env.Environment: the current database is dropped and
// re-created empty, then the dump restored, so objects the dump does not
// know (tables N+1 added) cannot survive as they would with --clean.
func (e *Environment) Restore(ctx context.Context, path string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.replicas) > 0 {
		return fmt.Errorf("restore: %d server replicas still run: scale to 0 first", len(e.replicas))
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	admin := e.pg.DSN("postgres")
	if err := pgadmin.Drop(ctx, admin, e.db); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := pgadmin.Create(ctx, admin, e.db, ""); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	out, err := e.pgTool(ctx, "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--dbname", e.pg.PublicDSN(e.db), path)
	if err != nil {
		return fmt.Errorf("pg_restore %s into %s: %w\n%s", path, e.db, err, out)
	}
	return nil
}

// pgTool runs a PostgreSQL client tool of the server's version.
func (e *Environment) pgTool(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	path, err := e.toolPath(name)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	// The password goes in the environment, which only this user can read,
	// never on the command line.
	cmd.Env = append(os.Environ(), "PGPASSWORD="+e.pg.Password())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return tailText(out.String(), 20), err
}

// SaveState implements env.Environment. The servers stop for the copy:
// CREATE DATABASE ... TEMPLATE needs the template without connections.
func (e *Environment) SaveState(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.replicas)
	if err := e.stopReplicas(ctx); err != nil {
		return err
	}
	db := e.dbName("state", name)
	if err := env.Disconnect(ctx, e.pg.DSN("postgres"), e.db); err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	if err := e.createDB(ctx, db, e.db); err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	e.states[name] = savedState{db: db, release: e.release, replicas: n}
	if n > 0 {
		return e.startReplicas(n)
	}
	return nil
}

// LoadState implements env.Environment.
func (e *Environment) LoadState(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.states[name]
	if !ok {
		return fmt.Errorf("load state %s: no such saved state", name)
	}
	if err := e.stopReplicas(ctx); err != nil {
		return err
	}
	e.copies++
	db := e.dbName(name, fmt.Sprint(e.copies))
	if err := e.createDB(ctx, db, st.db); err != nil {
		return fmt.Errorf("load state %s: %w", name, err)
	}
	old := e.db
	e.db = db
	if !e.opts.Keep && !e.isState(old) {
		if err := pgadmin.Drop(ctx, e.pg.DSN("postgres"), old); err != nil {
			e.opts.Logger.Warn("drop previous database", "db", old, "err", err)
		}
	}
	e.release = st.release
	e.logs = &logBuffer{}
	if st.release == nil || st.replicas == 0 {
		return nil
	}
	e.lastReplicas = st.replicas
	if err := e.startReplicas(st.replicas); err != nil {
		return err
	}
	for _, rp := range e.replicas {
		if err := env.WaitUp(ctx, rp, rp.release.Name, e.opts.UpTimeout); err != nil {
			return fmt.Errorf("load state %s: %w\n%s", name, err, tailText(e.logs.String(), 20))
		}
	}
	return nil
}

func (e *Environment) isState(db string) bool {
	for _, st := range e.states {
		if st.db == db {
			return true
		}
	}
	return false
}

// ServerHealth implements env.Environment.
func (e *Environment) ServerHealth(ctx context.Context, o env.HealthOptions) (env.Health, error) {
	e.mu.Lock()
	reps := make([]env.Replica, len(e.replicas))
	for i, rp := range e.replicas {
		reps[i] = rp
	}
	e.mu.Unlock()
	return env.ObserveHealth(ctx, reps, o)
}

// KillServer implements env.ServerKiller.
func (e *Environment) KillServer(context.Context) error {
	e.mu.Lock()
	reps := append([]*replica(nil), e.replicas...)
	e.mu.Unlock()
	return env.KillEach(reps, (*replica).kill)
}

// ServerURL implements env.Environment.
func (e *Environment) ServerURL(context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.replicas) == 0 {
		return "", errors.New("server URL: no replica is running")
	}
	return e.replicas[0].url(), nil
}

// ServerLogs implements env.Environment.
func (e *Environment) ServerLogs(context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.logs.String(), nil
}

// Close implements env.Environment: servers stopped, then PostgreSQL
// stopped and its directory removed (unless Keep).
func (e *Environment) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.stopReplicas(ctx)
	if e.opts.Keep {
		return err
	}
	if !e.ownsServer {
		// Someone else's server: drop what this environment made.
		for _, db := range e.dbs {
			err = errors.Join(err, pgadmin.Drop(ctx, e.pg.DSN("postgres"), db))
		}
		return err
	}
	return errors.Join(err, e.pg.Stop(ctx))
}

// toolPath finds a client tool next to the server binaries, next to what
// they link to, in the Debian folder of the server's major, or in PATH.
func (e *Environment) toolPath(name string) (string, error) {
	dirs := []string{e.pg.BinDir}
	if real, err := filepath.EvalSymlinks(filepath.Join(e.pg.BinDir, "postgres")); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	if major, _, ok := strings.Cut(e.pg.Version, "."); ok {
		dirs = append(dirs, filepath.Join("/usr/lib/postgresql", major, "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found next to the PostgreSQL server (%s) nor in PATH: install the PostgreSQL client of the server's version", name, e.pg.BinDir)
}

func tailText(s string, lines int) string {
	b := []byte(s)
	n := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' && i != len(b)-1 {
			n++
			if n == lines {
				return string(b[i+1:])
			}
		}
	}
	return s
}
