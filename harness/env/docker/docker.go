// Package docker runs PostgreSQL and each release's server as containers
// with testcontainers-go, on one user-defined network, every container and
// the network labelled dev.rehearse.run=<run id>. Testcontainers' reaper
// (ryuk) is disabled: its image cannot be pulled without a registry, so the
// environment removes what it made itself on Close; a run killed with
// SIGKILL leaves containers that
//
//	docker rm -f $(docker ps -aq --filter label=dev.rehearse.run)
//
// removes. The server restarts like a pod (restart policy "always"); its
// restart count is docker's.
package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
)

// Label marks every container and network of a run.
const Label = "dev.rehearse.run"

const (
	pgUser  = "rehearse"
	pgAlias = "postgres"
)

// Options configures the docker Environment.
type Options struct {
	env.Options
	// PostgresImage runs PostgreSQL; it must honour POSTGRES_USER,
	// POSTGRES_PASSWORD and POSTGRES_DB (default: DefaultPostgresImage).
	PostgresImage string
	// UpTimeout bounds PostgreSQL's start and a server's migrate-and-listen
	// after Install or Upgrade (default 2m).
	UpTimeout time.Duration
	Logger    *slog.Logger
	// Statements loads pg_stat_statements (`-c shared_preload_libraries`;
	// the official image and kind-offline/postgres ship it) so the harness
	// can record the SQL release N runs.
	Statements bool
}

// PostgresImageEnv names an image to use when neither --postgres-image nor
// the scenario names one (CI sets it to a locally built image).
const PostgresImageEnv = "REHEARSE_POSTGRES_IMAGE"

// fallbackMajor is used when no local server binaries tell the version.
const fallbackMajor = 17

// DefaultPostgresImage is $REHEARSE_POSTGRES_IMAGE, else the official
// postgres image of the major version of the local server binaries (pgBin,
// or searched), so the docker backend runs what the local backend runs.
func DefaultPostgresImage(ctx context.Context, pgBin string) string {
	if img := os.Getenv(PostgresImageEnv); img != "" {
		return img
	}
	major := fallbackMajor
	if dir, err := local.FindBinDir(pgBin); err == nil {
		if m, err := local.ServerMajor(ctx, dir); err == nil {
			major = m
		}
	}
	return "postgres:" + strconv.Itoa(major)
}

// Environment implements env.Environment with containers.
type Environment struct {
	opts Options
	net  *testcontainers.DockerNetwork
	pg   *testcontainers.DockerContainer
	// adminDSN reaches PostgreSQL from the harness (mapped port).
	adminDSN string
	// password is the superuser's, made for this run (scram-sha-256 over
	// TCP): the port is published on loopback, where any local user could
	// otherwise enter as superuser. It is never printed; with --keep it is
	// in passFile (0600).
	password string
	passFile string

	mu           sync.Mutex
	db           string
	states       map[string]savedState
	release      *env.Release
	replicas     []*replica
	lastReplicas int
	logs         bytes.Buffer // logs of the rollout's removed containers
	copies       int
	closed       bool
}

type savedState struct {
	db       string
	release  *env.Release
	replicas int
}

var _ env.Environment = (*Environment)(nil)

// Available reports whether a docker daemon answers, with the reason when not.
func Available(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker is not available (`docker info`: %v: %s): start the docker daemon or use --backend local", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// slogAdapter sends testcontainers' chatter to the debug log.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }

// NewEnvironment creates the network and starts PostgreSQL.
func NewEnvironment(ctx context.Context, o Options) (*Environment, error) {
	// The reaper image cannot be pulled here; the environment cleans up itself.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	// Inside a container (/.dockerenv) testcontainers dials the default
	// gateway; a daemon on a local socket publishes on this machine's
	// loopback, where the ports are bound.
	if _, set := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); !set {
		if h := os.Getenv("DOCKER_HOST"); h == "" || strings.HasPrefix(h, "unix://") {
			os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PostgresImage == "" {
		o.PostgresImage = DefaultPostgresImage(ctx, "")
	}
	if o.UpTimeout <= 0 {
		o.UpTimeout = 2 * time.Minute
	}
	if o.RunID == "" {
		o.RunID = "run"
	}
	if err := Available(ctx); err != nil {
		return nil, err
	}
	tclog.SetDefault(slogAdapter{o.Logger})
	e := &Environment{opts: o, states: map[string]savedState{}, lastReplicas: 1}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("generate the PostgreSQL password: %w", err)
	}
	e.password = hex.EncodeToString(pw) // URL-safe: DSNs need no escaping
	nw, err := network.New(ctx, network.WithLabels(e.labels()))
	if err != nil {
		return nil, fmt.Errorf("create docker network: %w", err)
	}
	e.net = nw
	if err := e.startPostgres(ctx); err != nil {
		e.Close(context.Background())
		return nil, err
	}
	e.db = pgadmin.Name("rehearse", o.RunID, "app")
	if err := pgadmin.Create(ctx, e.adminDSN, e.db, ""); err != nil {
		e.Close(context.Background())
		return nil, err
	}
	return e, nil
}

func (e *Environment) labels() map[string]string { return map[string]string{Label: e.opts.RunID} }

func (e *Environment) logger() testcontainers.CustomizeRequestOption {
	return testcontainers.CustomizeRequestOption(func(req *testcontainers.GenericContainerRequest) error {
		req.Logger = slogAdapter{e.opts.Logger}
		return nil
	})
}

func (e *Environment) startPostgres(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.UpTimeout)
	defer cancel()
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(map[string]string{"POSTGRES_USER": pgUser, "POSTGRES_PASSWORD": e.password, "POSTGRES_DB": "postgres",
			// The official image's defaults, said out loud: no trust over TCP.
			"POSTGRES_HOST_AUTH_METHOD": "scram-sha-256", "POSTGRES_INITDB_ARGS": "--auth-host=scram-sha-256"}),
		testcontainers.WithExposedPorts("5432/tcp"),
		loopbackPorts("5432/tcp"),
		testcontainers.WithLabels(e.labels()),
		network.WithNetwork([]string{pgAlias}, e.net),
		// The image logs "ready to accept connections" once (no temporary
		// server during init): wait for the port, then for a real query.
		testcontainers.WithWaitStrategy(wait.ForListeningPort("5432/tcp").WithStartupTimeout(e.opts.UpTimeout)),
		e.logger(),
	}
	if e.opts.Statements {
		// Arguments starting with "-" go to postgres in the official
		// image's entrypoint and in kind-offline/postgres's.
		opts = append(opts, testcontainers.WithCmd("-c", "shared_preload_libraries=pg_stat_statements"))
	}
	c, err := testcontainers.Run(ctx, e.opts.PostgresImage, opts...)
	if c != nil {
		e.pg = c
	}
	if err != nil {
		return fmt.Errorf("start PostgreSQL container %s: %w (pull it with `docker pull %s`, or name another image with --postgres-image or spec.postgres.image)", e.opts.PostgresImage, err, e.opts.PostgresImage)
	}
	host, err := c.Host(ctx)
	if err != nil {
		return fmt.Errorf("PostgreSQL container host: %w", err)
	}
	port, err := c.MappedPort(ctx, "5432/tcp")
	if err != nil {
		return fmt.Errorf("PostgreSQL container port: %w", err)
	}
	e.adminDSN = fmt.Sprintf("postgres://%s:%s@%s/postgres?sslmode=disable", pgUser, e.password, hostPort(host, port.Port()))
	if e.opts.Keep {
		if err := e.writePassFile(host, port.Port()); err != nil {
			return err
		}
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, e.adminDSN)
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT 1")
			conn.Close(context.Background())
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("PostgreSQL container does not answer queries within %s: %w", e.opts.UpTimeout, err)
		case <-tick.C:
		}
	}
}

// loopbackPorts publishes ports on 127.0.0.1 only: docker 20.10 may give
// the IPv4 and IPv6 bindings of one port different host ports, and
// testcontainers may then dial the IPv6 one over IPv4.
func loopbackPorts(ports ...string) testcontainers.CustomizeRequestOption {
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		if hc.PortBindings == nil {
			hc.PortBindings = mobynet.PortMap{}
		}
		for _, p := range ports {
			hc.PortBindings[mobynet.MustParsePort(p)] = []mobynet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}
		}
	})
}

// freeLoopbackPort returns a port free on 127.0.0.1 right now.
func freeLoopbackPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

func hostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// Name implements env.Environment.
func (e *Environment) Name() string { return "docker" }

// writePassFile writes the pgpass entry of a kept server (--keep), so a
// person can connect after the run without the password being printed.
func (e *Environment) writePassFile(host, port string) error {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "rehearse")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write the kept server's pgpass file: %w", err)
	}
	path := filepath.Join(dir, "docker-"+e.opts.RunID+".pgpass")
	line := fmt.Sprintf("%s:%s:*:%s:%s\n", host, port, pgUser, e.password)
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		return fmt.Errorf("write the kept server's pgpass file: %w", err)
	}
	e.passFile = path
	return nil
}

// PassFile is the pgpass file (0600) of a kept server; "" without --keep.
func (e *Environment) PassFile() string { return e.passFile }

// AdminDSN implements env.Environment.
func (e *Environment) AdminDSN(context.Context) (string, error) { return e.adminDSN, nil }

// DSN implements env.Environment.
func (e *Environment) DSN(context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return pgadmin.WithDatabase(e.adminDSN, e.db)
}

// innerDSN reaches the current database from the network's containers.
func (e *Environment) innerDSN() string {
	return fmt.Sprintf("postgres://%s:%s@%s:5432/%s?sslmode=disable", pgUser, e.password, pgAlias, e.db)
}

// replica is one server container.
type replica struct {
	c    *testcontainers.DockerContainer
	url  string
	name string
}

// URL implements env.Replica.
func (r *replica) URL() string { return r.url }

// State implements env.Replica with docker's restart count and state.
func (r *replica) State(ctx context.Context) (int, string, bool) {
	ins, err := r.c.Inspect(ctx)
	if err != nil || ins.State == nil {
		return 0, fmt.Sprintf("inspect failed: %v", err), false
	}
	last := ""
	if ins.RestartCount > 0 || !ins.State.Running {
		last = fmt.Sprintf("exit status %d", ins.State.ExitCode)
	}
	return ins.RestartCount, last, ins.State.Running && !ins.State.Restarting
}

func (e *Environment) serverEnv(r env.Release, hook bool) map[string]string {
	port := r.Port
	if port == 0 {
		port = 8080
	}
	m := map[string]string{}
	for k, v := range r.Env {
		m[k] = v
	}
	m["DATABASE_URL"] = e.innerDSN()
	m["LISTEN_ADDR"] = "0.0.0.0:" + strconv.Itoa(port)
	m["MIGRATIONS_VIA_HOOK"] = strconv.FormatBool(r.ViaHook || hook)
	return m
}

// startReplica runs one server container; with waitUp it returns once the
// server answers /healthz.
func (e *Environment) startReplica(ctx context.Context, r env.Release, waitUp bool) (*replica, error) {
	if r.Image == "" {
		return nil, fmt.Errorf("release %s: no server image for the docker backend", r.Name)
	}
	port := r.Port
	if port == 0 {
		port = 8080
	}
	cport := strconv.Itoa(port) + "/tcp"
	hostPortFree, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(e.serverEnv(r, false)),
		testcontainers.WithExposedPorts(cport),
		testcontainers.WithLabels(e.labels()),
		network.WithNetwork(nil, e.net),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyAlways}
			// A fixed host port: docker gives a restarted container a new
			// ephemeral one, and the harness would lose a crashed server.
			hc.PortBindings = mobynet.PortMap{mobynet.MustParsePort(cport): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: hostPortFree}}}
		}),
		e.logger(),
	}
	if len(r.Args) > 0 {
		opts = append(opts, testcontainers.WithCmdArgs(r.Args...))
	}
	// /healthz is env.WaitUp's to wait for, which sees the container exit;
	// not listening yet is fine here.
	opts = append(opts, testcontainers.WithWaitStrategy(wait.ForListeningPort(cport).WithStartupTimeout(5*time.Second)))
	c, err := testcontainers.Run(ctx, r.Image, opts...)
	if err != nil && c != nil {
		err = nil
	}
	if err != nil {
		logs := ""
		if c != nil {
			logs = containerLogs(c)
			c.Terminate(context.Background())
		}
		return nil, fmt.Errorf("start release %s server (%s): %w\n%s", r.Name, r.Image, err, tail(logs, 20))
	}
	host, err := c.Host(ctx)
	if err != nil {
		c.Terminate(context.Background())
		return nil, fmt.Errorf("server container host: %w", err)
	}
	mp, err := e.mappedPort(ctx, c, cport)
	if err != nil {
		c.Terminate(context.Background())
		return nil, err
	}
	rp := &replica{c: c, url: "http://" + hostPort(host, mp), name: c.GetContainerID()[:12]}
	if waitUp {
		if err := env.WaitUp(ctx, rp, r.Name, e.opts.UpTimeout); err != nil {
			logs := containerLogs(c)
			c.Terminate(context.Background())
			return nil, fmt.Errorf("start release %s server (%s): %w\n%s", r.Name, r.Image, err, tail(logs, 20))
		}
	}
	return rp, nil
}

// mappedPort waits for docker to publish the port: a container restarting
// in a loop has none between its runs.
func (e *Environment) mappedPort(ctx context.Context, c *testcontainers.DockerContainer, cport string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		p, err := c.MappedPort(ctx, cport)
		if err == nil && p.Port() != "" && p.Port() != "0" {
			return p.Port(), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("server container port %s not published: %v", cport, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func containerLogs(c *testcontainers.DockerContainer) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc, err := c.Logs(ctx)
	if err != nil {
		return fmt.Sprintf("(logs unavailable: %v)\n", err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// runHook runs the release's image once with --migrate-only, as the
// chart's pre-install/pre-upgrade Job does.
func (e *Environment) runHook(ctx context.Context, r env.Release) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.UpTimeout)
	defer cancel()
	c, err := testcontainers.Run(ctx, r.Image,
		testcontainers.WithEnv(e.serverEnv(r, true)),
		testcontainers.WithLabels(e.labels()),
		network.WithNetwork(nil, e.net),
		testcontainers.WithCmdArgs(append(append([]string{}, r.Args...), "--migrate-only")...),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(e.opts.UpTimeout)),
		e.logger(),
	)
	if c == nil {
		return "", fmt.Errorf("migration hook of release %s: %w", r.Name, err)
	}
	defer c.Terminate(context.Background())
	logs := "rehearse: migration hook of release " + r.Name + "\n" + containerLogs(c)
	if err != nil {
		return logs, fmt.Errorf("migration hook of release %s: %w\n%s", r.Name, err, tail(logs, 20))
	}
	st, err := c.State(ctx)
	if err != nil {
		return logs, fmt.Errorf("migration hook of release %s: %w", r.Name, err)
	}
	if st.ExitCode != 0 {
		return logs, fmt.Errorf("migration hook (--migrate-only) of release %s exited with %d\n%s", r.Name, st.ExitCode, tail(logs, 20))
	}
	return logs, nil
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

// Rollback implements env.Environment: no hook runs.
func (e *Environment) Rollback(ctx context.Context, to env.Release) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rollout(ctx, to, false)
}

// rollout replaces the running servers by release r's (env.Rollout).
func (e *Environment) rollout(ctx context.Context, r env.Release, hooks bool) error {
	hookLogs := ""
	return env.Rollout(ctx, r, hooks, env.RolloutSteps{
		Hook: func(ctx context.Context) error {
			logs, err := e.runHook(ctx, r)
			hookLogs = logs
			return err
		},
		Stop: func(ctx context.Context) error { return e.scaleDown(ctx, 0) },
		Start: func(ctx context.Context) ([]env.Replica, error) {
			e.logs.Reset()
			e.logs.WriteString(hookLogs)
			rc := r
			e.release = &rc
			if err := e.scaleUp(ctx, max(e.lastReplicas, 1), false); err != nil {
				return nil, err
			}
			out := make([]env.Replica, len(e.replicas))
			for i, rp := range e.replicas {
				out[i] = rp
			}
			return out, nil
		},
		Logs: func() string {
			var b strings.Builder
			for _, rp := range e.replicas {
				b.WriteString(containerLogs(rp.c))
			}
			return tail(b.String(), 20)
		},
		UpTimeout: e.opts.UpTimeout,
	})
}

func (e *Environment) scaleUp(ctx context.Context, n int, waitUp bool) error {
	for len(e.replicas) < n {
		rp, err := e.startReplica(ctx, *e.release, waitUp)
		if err != nil {
			return err
		}
		e.replicas = append(e.replicas, rp)
	}
	return nil
}

// scaleDown removes replicas beyond n, keeping their logs for the rollout.
func (e *Environment) scaleDown(ctx context.Context, n int) error {
	var errs []error
	for len(e.replicas) > n {
		rp := e.replicas[len(e.replicas)-1]
		e.replicas = e.replicas[:len(e.replicas)-1]
		e.logs.WriteString(containerLogs(rp.c))
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if err := rp.c.Terminate(tctx); err != nil {
			errs = append(errs, fmt.Errorf("remove server container %s: %w", rp.name, err))
		}
		cancel()
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
	return e.scaleUp(ctx, replicas, false)
}

// pgExec runs a command in the PostgreSQL container: its client tools are
// the server's own version.
func (e *Environment) pgExec(ctx context.Context, cmd ...string) (string, error) {
	code, r, err := e.pg.Exec(ctx, cmd, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("%s in the PostgreSQL container: %w", cmd[0], err)
	}
	b, _ := io.ReadAll(r)
	if code != 0 {
		return string(b), fmt.Errorf("%s exited with %d: %s", cmd[0], code, tail(string(b), 20))
	}
	return string(b), nil
}

// Backup implements env.Environment with the container's pg_dump.
func (e *Environment) Backup(ctx context.Context, path string) error {
	e.mu.Lock()
	db := e.db
	e.mu.Unlock()
	tmp := "/tmp/rehearse-backup.dump"
	if _, err := e.pgExec(ctx, "pg_dump", "--format=custom", "--no-owner", "--no-acl", "-U", pgUser, "-f", tmp, db); err != nil {
		return fmt.Errorf("backup %s: %w", db, err)
	}
	rc, err := e.pg.CopyFileFromContainer(ctx, tmp)
	if err != nil {
		return fmt.Errorf("copy the backup out of the container: %w", err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("write backup %s: %w", path, err)
	}
	return f.Close()
}

// Restore implements env.Environment: the database is re-created empty,
// then the dump is restored with the container's pg_restore.
func (e *Environment) Restore(ctx context.Context, path string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.replicas) > 0 {
		return fmt.Errorf("restore: %d server replicas still run: scale to 0 first", len(e.replicas))
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	tmp := "/tmp/rehearse-restore.dump"
	if err := e.pg.CopyFileToContainer(ctx, path, tmp, 0o644); err != nil {
		return fmt.Errorf("copy the backup into the container: %w", err)
	}
	if err := pgadmin.Drop(ctx, e.adminDSN, e.db); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := pgadmin.Create(ctx, e.adminDSN, e.db, ""); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := e.pgExec(ctx, "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "-U", pgUser, "-d", e.db, tmp); err != nil {
		return fmt.Errorf("restore %s into %s: %w", path, e.db, err)
	}
	return nil
}

// SaveState implements env.Environment.
func (e *Environment) SaveState(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.replicas)
	if err := e.scaleDown(ctx, 0); err != nil {
		return err
	}
	db := pgadmin.Name("rehearse", e.opts.RunID, "state", name)
	if err := env.Disconnect(ctx, e.adminDSN, e.db); err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	if err := pgadmin.Create(ctx, e.adminDSN, db, e.db); err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	e.states[name] = savedState{db: db, release: e.release, replicas: n}
	if n > 0 {
		return e.scaleUp(ctx, n, true)
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
	if err := e.scaleDown(ctx, 0); err != nil {
		return err
	}
	e.copies++
	db := pgadmin.Name("rehearse", e.opts.RunID, name, strconv.Itoa(e.copies))
	if err := pgadmin.Create(ctx, e.adminDSN, db, st.db); err != nil {
		return fmt.Errorf("load state %s: %w", name, err)
	}
	old := e.db
	e.db = db
	if !e.opts.Keep && !e.isState(old) {
		if err := pgadmin.Drop(ctx, e.adminDSN, old); err != nil {
			e.opts.Logger.Warn("drop previous database", "db", old, "err", err)
		}
	}
	e.release = st.release
	e.logs.Reset()
	if st.release == nil || st.replicas == 0 {
		return nil
	}
	e.lastReplicas = st.replicas
	return e.scaleUp(ctx, st.replicas, true)
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

// KillServer implements env.ServerKiller: SIGKILL to every server
// container's main process, from the host, so docker's restart policy
// starts it again and counts the restart (`docker kill` would mark the
// container stopped by hand, and it would stay down). Needs the harness to
// run as root on the docker host, as it does in CI.
func (e *Environment) KillServer(ctx context.Context) error {
	e.mu.Lock()
	reps := append([]*replica(nil), e.replicas...)
	e.mu.Unlock()
	return env.KillEach(reps, func(r *replica) error { return r.kill(ctx) })
}

func (r *replica) kill(ctx context.Context) error {
	ins, err := r.c.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("container %s: inspect: %w", r.name, err)
	}
	if ins.State == nil || ins.State.Pid == 0 {
		return fmt.Errorf("container %s is not running", r.name)
	}
	if err := syscall.Kill(ins.State.Pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("container %s (pid %d on the docker host): %w; the harness must run as root on the docker host", r.name, ins.State.Pid, err)
	}
	return nil
}

// ServerURL implements env.Environment.
func (e *Environment) ServerURL(context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.replicas) == 0 {
		return "", errors.New("server URL: no replica is running")
	}
	return e.replicas[0].url, nil
}

// ServerLogs implements env.Environment: the logs of removed containers of
// the rollout, then those of the running ones (every restart included).
func (e *Environment) ServerLogs(context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	b.WriteString(e.logs.String())
	for _, rp := range e.replicas {
		b.WriteString(containerLogs(rp.c))
	}
	return b.String(), nil
}

// Close implements env.Environment: every container and the network are
// removed (PostgreSQL is kept with Keep).
func (e *Environment) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.scaleDown(ctx, 0)
	if e.opts.Keep {
		return err
	}
	if e.pg != nil {
		if terr := e.pg.Terminate(ctx); terr != nil {
			err = errors.Join(err, fmt.Errorf("remove PostgreSQL container: %w", terr))
		}
	}
	if e.net != nil {
		if nerr := e.net.Remove(ctx); nerr != nil {
			err = errors.Join(err, fmt.Errorf("remove network: %w", nerr))
		}
	}
	return err
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
