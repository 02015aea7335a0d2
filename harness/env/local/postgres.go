// Package local runs PostgreSQL from the server binaries on this machine: a
// throwaway cluster in a temp dir on a free loopback port, owned by the
// harness and removed when it stops.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// TempPrefix starts the name of every temp dir the harness makes, so
// `rehearse gc` can find what an interrupted run left behind.
const TempPrefix = "rehearse-pg-"

// Superuser is the role initdb creates. Every connection, TCP or socket,
// must give its password (scram-sha-256): the server runs migrations as a
// superuser, and a superuser can run shell commands as the server's OS user
// (COPY ... TO PROGRAM), so no local user may enter without it.
const Superuser = "rehearse"

// PassFileName is the pgpass file Start writes in the server's directory.
const PassFileName = "pgpass"

// ErrNoBinaries is returned when no PostgreSQL server binaries can be found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found in --pg-bin, PATH, `pg_config --bindir` or /usr/lib/postgresql/*/bin: " +
	"install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql), pass --pg-bin DIR, or use --backend docker")

// Options configures a local server.
type Options struct {
	// BinDir holds initdb and postgres; empty means search (see FindBinDir).
	BinDir string
	// RunAs is the OS user that runs PostgreSQL when the harness is root
	// (PostgreSQL refuses to run as root). Default "nobody".
	RunAs string
	// StartTimeout bounds initdb plus start-up. Default 60s.
	StartTimeout time.Duration
	Logger       *slog.Logger
	// Settings are extra `-c name=value` server settings.
	Settings map[string]string
	// Detach lets the server outlive the harness (--keep): no parent-death
	// signal. The caller prints how to stop it.
	Detach bool
	// Statements loads pg_stat_statements (shared_preload_libraries) so the
	// harness can record the SQL an application runs. Start fails when the
	// library is not installed (check with HasStatements first).
	Statements bool
	// TempDir is where the server's temp dir (data directory and socket)
	// is made; empty means os.TempDir().
	TempDir string
}

// Server is a running PostgreSQL owned by the harness.
type Server struct {
	BinDir  string
	Dir     string
	Port    int
	Version string
	// PassFile is a pgpass file (mode 0600) with the superuser's password,
	// for the PostgreSQL client tools and for a person after --keep.
	PassFile string
	password string
	cmd      *exec.Cmd
	tool     atomic.Int64 // process group of a running initdb, for ForceCleanup
	exited   chan struct{}
	cred     *syscall.Credential
	log      *slog.Logger
	detach   bool
}

// FindBinDir returns the first directory holding initdb and postgres among
// explicit, PATH, `pg_config --bindir` and /usr/lib/postgresql/*/bin (newest
// major first).
func FindBinDir(explicit string) (string, error) {
	if explicit != "" {
		if hasServerBinaries(explicit) {
			return explicit, nil
		}
		return "", fmt.Errorf("--pg-bin %s: no initdb and postgres there: %w", explicit, ErrNoBinaries)
	}
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(globbed, func(i, j int) bool { return majorOf(globbed[i]) > majorOf(globbed[j]) })
	candidates = append(candidates, globbed...)
	for _, c := range candidates {
		if hasServerBinaries(c) {
			return c, nil
		}
	}
	return "", ErrNoBinaries
}

// HasStatements says whether the server in binDir can load
// pg_stat_statements: its library sits in the package library directory
// (Debian/Ubuntu ship it with the server; elsewhere it is the contrib
// package).
func HasStatements(binDir string) error {
	// A PATH entry may hold symlinks to the real installation.
	if real, err := filepath.EvalSymlinks(filepath.Join(binDir, "postgres")); err == nil {
		binDir = filepath.Dir(real)
	}
	libDir := filepath.Join(filepath.Dir(binDir), "lib")
	if out, err := exec.Command(filepath.Join(binDir, "pg_config"), "--pkglibdir").Output(); err == nil {
		libDir = strings.TrimSpace(string(out))
	}
	for _, ext := range []string{".so", ".dylib"} {
		if _, err := os.Stat(filepath.Join(libDir, "pg_stat_statements"+ext)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("pg_stat_statements is not installed next to the PostgreSQL server in %s (no pg_stat_statements library in %s): install the contrib package (e.g. postgresql-contrib)", binDir, libDir)
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func hasServerBinaries(dir string) bool {
	for _, b := range []string{"initdb", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// Start runs initdb in a new temp dir and starts postgres on a free
// loopback port. The caller must Stop it; the server also dies with the
// harness process (Pdeathsig) so a crash leaves at most a temp dir.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	binDir, err := FindBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	cred, err := credentialFor(opts.RunAs)
	if err != nil {
		return nil, err
	}
	if opts.Statements {
		if err := HasStatements(binDir); err != nil {
			return nil, err
		}
		settings := map[string]string{"shared_preload_libraries": "pg_stat_statements"}
		for k, v := range opts.Settings {
			settings[k] = v
		}
		opts.Settings = settings
	}
	dir, err := os.MkdirTemp(opts.TempDir, TempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s := &Server{BinDir: binDir, Dir: dir, cred: cred, log: opts.Logger, exited: make(chan struct{}), detach: opts.Detach}
	live.Store(s, dir)
	// MkdirTemp made dir 0700: it is also the socket directory, so only the
	// server's OS user (and root) can reach the socket at all.
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("hand data dir %s to uid %d: %w", dir, cred.Uid, err)
		}
	}
	if s.password, err = newPassword(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := s.initdb(ctx, data); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		err = s.startPostgres(ctx, data, opts.Settings)
		if err == nil {
			break
		}
		// A free port found by listen+close can be taken before postgres
		// binds it; try another one a few times.
		if attempt < 3 && strings.Contains(err.Error(), "could not bind") {
			continue
		}
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.loadVersion(ctx); err != nil {
		s.Stop(context.Background())
		return nil, err
	}
	if err := s.writePassFile(); err != nil {
		s.Stop(context.Background())
		return nil, err
	}
	opts.Logger.Debug("postgres started", "dir", dir, "port", s.Port, "version", s.Version)
	return s, nil
}

// initdb creates the cluster with password authentication for every
// connection: the password goes through a file only the server's OS user
// can read, never through argv (which every local user can see).
func (s *Server) initdb(ctx context.Context, data string) error {
	pwfile := filepath.Join(s.Dir, "initdb.pw")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("initdb: write password file: %w", err)
	}
	defer os.Remove(pwfile)
	if s.cred != nil {
		if err := os.Chown(pwfile, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("initdb: hand password file to uid %d: %w", s.cred.Uid, err)
		}
	}
	out, err := s.run(ctx, "initdb", "-D", data, "-U", Superuser, "--pwfile="+pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
	if err != nil && len(out) == 0 {
		return fmt.Errorf("initdb in %s: %w", data, err)
	}
	if err != nil {
		return fmt.Errorf("initdb in %s: %w\n%s", data, err, out)
	}
	return nil
}

// writePassFile writes the pgpass entry of the running server.
func (s *Server) writePassFile() error {
	path := filepath.Join(s.Dir, PassFileName)
	line := fmt.Sprintf("127.0.0.1:%d:*:%s:%s\n", s.Port, Superuser, s.password)
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	s.PassFile = path
	return nil
}

// newPassword returns 32 random hex characters: URL-safe, so DSN needs no
// escaping.
func newPassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate the server password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (s *Server) startPostgres(ctx context.Context, data string, settings map[string]string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	args := []string{"-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + s.Dir,
		"-c", "unix_socket_permissions=0700",
		"-c", "password_encryption=scram-sha-256",
		// A rehearsal database is disposable: trade durability for speed.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=128MB",
		// Every clone (FILE_COPY) checkpoints; keep few recycled WAL
		// segments (80MB by default) so they do not weigh on peak disk.
		"-c", "min_wal_size=32MB",
		"-c", "max_locks_per_transaction=256",
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}
	logPath := filepath.Join(s.Dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", logPath, err)
	}
	cmd := exec.Command(filepath.Join(s.BinDir, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	if !s.detach {
		// Dies with the harness even if it is killed without a chance to clean up.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { cmd.Wait(); logFile.Close(); close(s.exited) }()

	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited during start-up: %s", tail(logPath))
		case <-ctx.Done():
			s.kill()
			return fmt.Errorf("postgres not ready on port %d: %w: %s", port, ctx.Err(), tail(logPath))
		case <-tick.C:
		}
	}
}

func (s *Server) loadVersion(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, "SHOW server_version").Scan(&s.Version)
}

// DSN returns a connection string for database db, password included: for
// the harness's own connections only. Show PublicDSN to people and pass it
// on command lines (with Password in PGPASSWORD).
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.password, s.Port, db)
}

// PublicDSN is DSN without the password.
func (s *Server) PublicDSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.Port, db)
}

// Password is the superuser's password.
func (s *Server) Password() string { return s.password }

// PID is the postmaster's process id.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// LogPath is the server's log file.
func (s *Server) LogPath() string { return filepath.Join(s.Dir, "postgres.log") }

// Stop shuts the server down (fast mode, then kill after 10s) and removes
// its directory. It is safe to call more than once.
func (s *Server) Stop(ctx context.Context) error {
	if s == nil {
		return nil
	}
	if s.cmd != nil && s.cmd.Process != nil {
		// SIGINT is PostgreSQL's "fast shutdown".
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.kill()
		case <-ctx.Done():
			s.kill()
		}
	}
	if s.Dir == "" {
		return nil
	}
	err := os.RemoveAll(s.Dir)
	s.Dir = ""
	live.Delete(s)
	if err != nil {
		return fmt.Errorf("remove postgres dir: %w", err)
	}
	return nil
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// run executes a PostgreSQL binary as the server's OS user, in its own
// process group: initdb starts `postgres --single` children, and on ctx's
// end the whole group is killed and waited for, so none outlives the call.
// An interrupted run returns ctx's error alone: the tool's output (a FATAL
// about the signal) is noise then, and only shown when it failed on its own.
func (s *Server) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Dir = s.Dir
	err := cmd.Start()
	if err == nil {
		s.tool.Store(int64(cmd.Process.Pid))
		err = cmd.Wait()
		waitGroupGone(cmd.Process.Pid, 5*time.Second)
		s.tool.Store(0)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s stopped: %w", name, ctx.Err())
	}
	return out.Bytes(), err
}

// live holds every server of this process whose directory still exists,
// for ForceCleanup.
var live sync.Map // *Server -> its directory

// ForceCleanup is the second Ctrl-C: no orderly shutdown, but no process
// and no temp dir left either. It kills every server this process started
// (and any initdb still running) with SIGKILL, waits for them briefly, and
// removes their directories.
func ForceCleanup() {
	live.Range(func(k, v any) bool {
		s := k.(*Server)
		if pg := int(s.tool.Load()); pg > 0 {
			waitGroupGone(pg, 2*time.Second)
		}
		if s.cmd != nil && s.cmd.Process != nil {
			waitGroupGone(s.cmd.Process.Pid, 2*time.Second)
		}
		os.RemoveAll(v.(string))
		live.Delete(k)
		return true
	})
}

// waitGroupGone kills what is left of process group pgid and waits (up to
// limit) until none of it remains.
func waitGroupGone(pgid int, limit time.Duration) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	deadline := time.Now().Add(limit)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// credentialFor returns the credential to run PostgreSQL with: nil when the
// harness is not root.
func credentialFor(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if name == "" {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and user %q to run it as is unknown (set --pg-user): %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
