// Package pgtest gives tests a real PostgreSQL: one server per test package,
// started on first use by harness/env/local and stopped by Main.
//
// Use it like this:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.NewDatabase(t) // fresh empty database, dropped after the test
//		conn := pgtest.Connect(t, dsn)
//		...
//	}
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
)

var (
	once     sync.Once
	server   *local.Server
	startErr error
	mainUsed bool
	counter  atomic.Int64
	tempMu   sync.Mutex
	tempDirs []string
	opts     local.Options
)

// Option changes how the package's server starts.
type Option func(*local.Options)

// WithStatements loads pg_stat_statements into the server, for tests of
// what captures an application's statements.
func WithStatements() Option { return func(o *local.Options) { o.Statements = true } }

// Main runs the package's tests and stops the shared server afterwards.
func Main(m *testing.M, options ...Option) {
	mainUsed = true
	for _, o := range options {
		o(&opts)
	}
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	if server != nil {
		if err := server.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop postgres:", err)
		}
	}
	os.Exit(code)
}

// Server returns the package's shared server, starting it on first use.
// PostgreSQL is part of what the product needs, so a machine without it
// fails the test instead of skipping it.
func Server(t testing.TB) *local.Server {
	t.Helper()
	if !mainUsed {
		t.Fatal("pgtest: call pgtest.Main(m) from TestMain so the server is stopped")
	}
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		o := opts
		o.BinDir = os.Getenv("REHEARSE_PG_BIN")
		o.TempDir = dataParent()
		server, startErr = local.Start(ctx, o)
	})
	if startErr != nil {
		t.Fatalf("pgtest: start PostgreSQL: %v", startErr)
	}
	return server
}

// dataParent returns where the server's data directory goes:
// $REHEARSE_PG_TMPDIR when set, else /dev/shm when it is a tmpfs with room
// to spare, else the default temp dir. The server is thrown away after the
// tests, so memory loses nothing; the disk can cost a lot: ext4 mounted
// without a journal (some CI VMs) checks every inode freed in the last
// minute before it hands out a new one, so each CREATE DATABASE that follows
// DROP DATABASEs (hundreds of files each) creates its files more slowly —
// it tripled the matrix benchmark's clone time.
func dataParent() string {
	if dir, ok := os.LookupEnv("REHEARSE_PG_TMPDIR"); ok {
		return dir
	}
	const shm, tmpfsMagic, room, writable = "/dev/shm", 0x01021994, 4 << 30, 2
	var st syscall.Statfs_t
	if err := syscall.Statfs(shm, &st); err != nil || int64(st.Type) != tmpfsMagic || st.Bavail*uint64(st.Bsize) < room {
		return ""
	}
	if syscall.Access(shm, writable) != nil {
		return ""
	}
	return shm
}

// AdminDSN is the DSN of the server's postgres database.
func AdminDSN(t testing.TB) string { return Server(t).DSN("postgres") }

// NewDatabase creates a fresh empty database and drops it when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "")
}

// CloneDatabase creates a copy of database template (which must have no open
// connections) and drops it when the test ends.
func CloneDatabase(t testing.TB, template string) string {
	t.Helper()
	return newDatabase(t, template)
}

func newDatabase(t testing.TB, template string) string {
	t.Helper()
	s := Server(t)
	name := pgadmin.Name("t", fmt.Sprint(counter.Add(1)), t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pgadmin.Create(ctx, s.DSN("postgres"), name, template); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := pgadmin.Drop(ctx, s.DSN("postgres"), name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s.DSN(name)
}

// Connect opens a connection closed when the test ends.
func Connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect %s: %v", pgadmin.Redact(dsn), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs sql on dsn and fails the test on error.
func Exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: exec: %v\n%s", err, sql)
	}
}

// PackageTempDir is a temp dir shared by the package's tests (e.g. binaries
// built once per test binary) and removed by Main after the last test.
func PackageTempDir(t testing.TB, prefix string) string {
	t.Helper()
	tempMu.Lock()
	defer tempMu.Unlock()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	tempDirs = append(tempDirs, d)
	return d
}
