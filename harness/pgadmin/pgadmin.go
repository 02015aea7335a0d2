// Package pgadmin creates, clones and drops databases on a server the
// harness owns. Cloning (CREATE DATABASE ... TEMPLATE) is how every state of
// a rehearsal is built once and reused.
package pgadmin

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// WithDatabase returns dsn with its database replaced by db. dsn is a URL
// (postgres://...) or keyword/value ("host=... dbname=..."), as libpq and
// pgx accept both; the result keeps the form.
func WithDatabase(dsn, db string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// url.Parse's error quotes the whole DSN, password included.
			return "", fmt.Errorf("parse DSN %s: not a valid URL (percent-encode @ : / %% in the password)", Redact(dsn))
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		return "", fmt.Errorf("parse DSN: %w", err)
	}
	// A later keyword wins in keyword/value form: append dbname.
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(db)
	return strings.TrimSpace(dsn) + " dbname='" + quoted + "'", nil
}

// Create creates database name, as a copy of template when template is not
// empty. The template must have no other connections.
// Clones use FILE_COPY where the server has it (15+): measured 3x faster
// than the default WAL_LOG on a 100k-row template (BenchmarkClone).
func Create(ctx context.Context, adminDSN, name, template string) error {
	return CreateWithStrategy(ctx, adminDSN, name, template, "auto")
}

// CreateWithStrategy is Create with an explicit CREATE DATABASE strategy
// (PostgreSQL 15+: WAL_LOG or FILE_COPY; "" = the server's default; "auto" =
// FILE_COPY when the server supports it).
func CreateWithStrategy(ctx context.Context, adminDSN, name, template, strategy string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("connect to create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if strategy == "auto" && template != "" {
		strategy = autoStrategy(ctx, conn)
	}
	return create(ctx, conn, name, template, strategy)
}

// autoStrategy is FILE_COPY where the server has it (15+), else the
// server's default.
func autoStrategy(ctx context.Context, conn *pgx.Conn) string {
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err == nil && num >= 150000 {
		return "FILE_COPY"
	}
	return ""
}

func create(ctx context.Context, conn *pgx.Conn, name, template, strategy string) error {
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
		if strategy != "" {
			sql += " STRATEGY " + strategy
		}
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		if template != "" {
			return fmt.Errorf("clone database %s from %s: %w", name, template, err)
		}
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Drop drops database name if it exists, closing its connections first.
func Drop(ctx context.Context, adminDSN, name string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("connect to drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	return drop(ctx, conn, name)
}

func drop(ctx context.Context, conn *pgx.Conn, name string) error {
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// Pool creates and drops databases on a few admin connections kept open:
// a run that clones hundreds of states would otherwise pay a new backend
// and an authentication for each CREATE and DROP. Safe for concurrent use.
type Pool struct {
	dsn  string
	idle chan *pgx.Conn

	strategyOnce sync.Once
	strategy     string // "auto", resolved on the first clone
}

// NewPool returns a pool on adminDSN keeping at most size idle connections.
func NewPool(adminDSN string, size int) *Pool {
	return &Pool{dsn: adminDSN, idle: make(chan *pgx.Conn, max(size, 1))}
}

// Create is the package's Create on a pooled connection.
func (p *Pool) Create(ctx context.Context, name, template string) error {
	return p.Do(ctx, "create database "+name, func(conn *pgx.Conn) error {
		strategy := ""
		if template != "" {
			p.strategyOnce.Do(func() { p.strategy = autoStrategy(ctx, conn) })
			strategy = p.strategy
		}
		waitSessionsGone(ctx, conn, template)
		return create(ctx, conn, name, template, strategy)
	})
}

// Drop is the package's Drop on a pooled connection.
func (p *Pool) Drop(ctx context.Context, name string) error {
	return p.Do(ctx, "drop database "+name, func(conn *pgx.Conn) error {
		waitSessionsGone(ctx, conn, name)
		return drop(ctx, conn, name)
	})
}

// waitSessionsGone waits, briefly, until no session is on database db. A
// client's Close does not wait for its backend to exit, and CREATE
// DATABASE (for its template) and DROP DATABASE re-check a database they
// find in use only every 100 ms: right after the last Close, a pooled
// connection would hit that every time (a fresh one spent the time
// connecting). A session that stays is left to the statement's own error.
func waitSessionsGone(ctx context.Context, conn *pgx.Conn, db string) {
	if db == "" {
		return
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", db).Scan(&n); err != nil || n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// Do runs fn on an idle connection to the admin database, or a new one, and
// keeps it for the next call unless it broke (a migration may terminate the
// admin database's sessions) or the pool is full. fn must leave it idle: no
// open transaction, no changed setting.
func (p *Pool) Do(ctx context.Context, what string, fn func(*pgx.Conn) error) error {
	var conn *pgx.Conn
	select {
	case conn = <-p.idle:
	default:
	}
	if conn != nil {
		err := fn(conn)
		if !conn.IsClosed() {
			p.keep(conn)
			return err
		}
		// Its session was ended while it was idle: try once on a new one.
	}
	conn, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", what, err)
	}
	err = fn(conn)
	p.keep(conn)
	return err
}

func (p *Pool) keep(conn *pgx.Conn) {
	if conn.IsClosed() || conn.PgConn().TxStatus() != 'I' {
		conn.Close(context.Background())
		return
	}
	select {
	case p.idle <- conn:
	default:
		conn.Close(context.Background())
	}
}

// Close closes the idle connections.
func (p *Pool) Close() {
	for {
		select {
		case conn := <-p.idle:
			conn.Close(context.Background())
		default:
			return
		}
	}
}

// Name makes a valid database name from parts (lower case, at most 63
// bytes). A longer name keeps its first 54 bytes and ends in a hash of the
// whole: cutting it short would give "run_d_10" and "run_d_11" of a long
// run ID the same name.
func Name(parts ...string) string {
	s := strings.ToLower(strings.Join(parts, "_"))
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 63 {
		h := fnv.New32a()
		h.Write(b)
		b = fmt.Appendf(b[:54], "_%08x", h.Sum32())
	}
	return string(b)
}

// CheckSearchPath validates a search_path given as schema names separated
// by commas (e.g. "identity_api, public") and returns it normalised.
// Names with blanks or backslashes are refused: the libpq options string
// that carries the path would need escapes few drivers agree on.
func CheckSearchPath(path string) (string, error) {
	parts := strings.Split(path, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
			return "", fmt.Errorf("search path %q: empty schema name; give schema names separated by commas, e.g. app,public", path)
		case strings.ContainsAny(p, " \t\r\n\\'"):
			return "", fmt.Errorf("search path %q: schema name %q holds a blank, backslash or quote; rename the schema or leave the option out", path, p)
		}
		parts[i] = p
	}
	return strings.Join(parts, ","), nil
}

// WithSearchPath returns dsn with search_path set for every session it
// opens, as an app whose connection string sets it: `options=-c
// search_path=...`, which libpq, pgx and lib/pq all pass to the server, so
// databases derived with WithDatabase keep it.
func WithSearchPath(dsn, path string) (string, error) {
	path, err := CheckSearchPath(path)
	if err != nil {
		return "", err
	}
	opt := "-c search_path=" + path
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// url.Parse's error quotes the whole DSN, password included.
			return "", fmt.Errorf("parse DSN %s: not a valid URL (percent-encode @ : / %% in the password)", Redact(dsn))
		}
		q := u.Query()
		if old := q.Get("options"); old != "" {
			opt = old + " " + opt
		}
		q.Set("options", opt)
		// Blanks as %20, not "+": libpq does not read "+" as a blank.
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
		return u.String(), nil
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("parse DSN: %w", err)
	}
	if old := cfg.RuntimeParams["options"]; old != "" {
		opt = old + " " + opt
	}
	// A later keyword wins in keyword/value form: append options.
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(opt)
	return strings.TrimSpace(dsn) + " options='" + quoted + "'", nil
}
