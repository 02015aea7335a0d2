package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// ErrNoBookkeeping: the database has no bookkeeping table to read or edit.
var ErrNoBookkeeping = errors.New("no bookkeeping table")

// ErrNoDown: a migration to revert has no down script.
var ErrNoDown = errors.New("no down script")

// Bookkeeping records applied migrations the way one migration tool does,
// so a rehearsed schema-revert edits the same rows a runbook would.
type Bookkeeping interface {
	Name() string  // one of BookkeepingNames
	Table() string // the table the tool keeps, "" for none
	// Ensure creates the table exactly as the tool does (no-op when it exists).
	Ensure(ctx context.Context, conn *pgx.Conn) error
	BeforeUp(ctx context.Context, conn *pgx.Conn, m *Migration) error
	AfterUp(ctx context.Context, conn *pgx.Conn, m *Migration) error
	// BeforeDown and AfterDown surround m's down; prev is the migration
	// current once m is reverted (nil = none).
	BeforeDown(ctx context.Context, conn *pgx.Conn, m, prev *Migration) error
	AfterDown(ctx context.Context, conn *pgx.Conn, m, prev *Migration) error
	// Current is the version the table records ("" = none applied) and,
	// for golang-migrate, its dirty flag. An error wrapping
	// ErrNoBookkeeping when the table does not exist.
	Current(ctx context.Context, conn *pgx.Conn) (version string, dirty bool, err error)
}

// BookkeepingNames lists the names BookkeepingFor accepts.
// "rerun-at-boot" is the clearer name of "none" (no bookkeeping table:
// the app re-runs its up files at every boot); both give the same adapter.
var BookkeepingNames = []string{"golang-migrate", "goose", "dbmate", "pop", "popx", "flyway", "sql-migrate", "rerun-at-boot", "none"}

// BookkeepingFor returns the adapter called name.
func BookkeepingFor(name string) (Bookkeeping, error) {
	switch name {
	case "golang-migrate":
		return golangMigrate{}, nil
	case "goose":
		return goose{}, nil
	case "dbmate":
		return dbmate{}, nil
	case "pop":
		return pop{}, nil
	case "popx":
		return pop{wide: true}, nil
	case "flyway":
		return flyway{started: &sync.Map{}}, nil
	case "sql-migrate":
		return sqlMigrate{}, nil
	case "none", "rerun-at-boot":
		return none{}, nil
	}
	return nil, fmt.Errorf("unknown bookkeeping %q: use one of %s", name, strings.Join(BookkeepingNames, ", "))
}

// Detect tells the bookkeeping of the database on conn from the table it
// has: goose_db_version, schema_migrations shaped by golang-migrate
// (version bigint, dirty boolean) or dbmate (version varchar),
// schema_migration (pop; popx with version_self), flyway_schema_history or
// gorp_migrations (sql-migrate).
func Detect(ctx context.Context, conn *pgx.Conn) (Bookkeeping, error) {
	rows, err := conn.Query(ctx, `
		SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.oid IN (to_regclass('schema_migrations'), to_regclass('goose_db_version'), to_regclass('schema_migration'),
		                to_regclass('flyway_schema_history'), to_regclass('gorp_migrations'))
		  AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("detect bookkeeping: %w", err)
	}
	cols := map[string]map[string]string{}
	for rows.Next() {
		var rel, col, typ string
		if err := rows.Scan(&rel, &col, &typ); err != nil {
			return nil, fmt.Errorf("detect bookkeeping: %w", err)
		}
		if cols[rel] == nil {
			cols[rel] = map[string]string{}
		}
		cols[rel][col] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("detect bookkeeping: %w", err)
	}
	var found []string
	for rel := range cols {
		found = append(found, rel)
	}
	if len(found) > 1 {
		slices.Sort(found)
		return nil, fmt.Errorf("detect bookkeeping: several bookkeeping tables exist (%s); pass --bookkeeping to say which the app uses", strings.Join(found, ", "))
	}
	sm, hasSM := cols["schema_migrations"]
	switch {
	case cols["goose_db_version"] != nil:
		return goose{}, nil
	case cols["schema_migration"] != nil:
		_, wide := cols["schema_migration"]["version_self"]
		return pop{wide: wide}, nil
	case cols["flyway_schema_history"] != nil:
		return flyway{started: &sync.Map{}}, nil
	case cols["gorp_migrations"] != nil:
		return sqlMigrate{}, nil
	case hasSM && sm["dirty"] == "boolean" && sm["version"] == "bigint":
		return golangMigrate{}, nil
	case hasSM && strings.HasPrefix(sm["version"], "character varying"):
		return dbmate{}, nil
	case hasSM:
		return nil, fmt.Errorf("detect bookkeeping: schema_migrations has columns %v, neither golang-migrate's (version bigint, dirty boolean) nor dbmate's (version varchar); pass --bookkeeping", sm)
	}
	return none{}, nil
}

// recordsInMigrationTx marks tools that write their row inside the
// migration's own transaction (goose, dbmate) when it has one.
type recordsInMigrationTx interface{ recordsInMigrationTx() }

// Up applies m's up with bk's bookkeeping, in the order and transactions the
// tool uses. hook (may be nil) runs before each statement.
func Up(ctx context.Context, conn *pgx.Conn, m *Migration, bk Bookkeeping, hook Hook) error {
	if err := bk.BeforeUp(ctx, conn, m); err != nil {
		return fmt.Errorf("bookkeeping before %s: %w", m.Up.File, err)
	}
	after := func(ctx context.Context) error { return bk.AfterUp(ctx, conn, m) }
	if _, ok := bk.(recordsInMigrationTx); ok && inTransaction(m.Up) {
		return apply(ctx, conn, m.Up, hook, after)
	}
	if err := apply(ctx, conn, m.Up, hook, nil); err != nil {
		return err
	}
	if err := after(ctx); err != nil {
		return fmt.Errorf("bookkeeping after %s: %w", m.Up.File, err)
	}
	return nil
}

// Down applies m's down with bk's bookkeeping; prev is the migration that
// is current once m is reverted (nil = none).
func Down(ctx context.Context, conn *pgx.Conn, m, prev *Migration, bk Bookkeeping, hook Hook) error {
	if m.Down == nil {
		return fmt.Errorf("revert %s: %w: only a full restore undoes it", m.ID(), ErrNoDown)
	}
	if err := bk.BeforeDown(ctx, conn, m, prev); err != nil {
		return fmt.Errorf("bookkeeping before %s: %w", m.Down.File, err)
	}
	after := func(ctx context.Context) error { return bk.AfterDown(ctx, conn, m, prev) }
	if _, ok := bk.(recordsInMigrationTx); ok && inTransaction(m.Down) {
		return apply(ctx, conn, m.Down, hook, after)
	}
	if err := apply(ctx, conn, m.Down, hook, nil); err != nil {
		return err
	}
	if err := after(ctx); err != nil {
		return fmt.Errorf("bookkeeping after %s: %w", m.Down.File, err)
	}
	return nil
}

// Migrate applies the ups of migrations in order, with bookkeeping.
func Migrate(ctx context.Context, conn *pgx.Conn, migrations []*Migration, bk Bookkeeping) error {
	if err := bk.Ensure(ctx, conn); err != nil {
		return fmt.Errorf("create %s bookkeeping table: %w", bk.Name(), err)
	}
	for _, m := range migrations {
		if err := Up(ctx, conn, m, bk, nil); err != nil {
			return err
		}
	}
	return nil
}

// Revert applies the downs of migrations (applied, in order) in reverse,
// down to an empty bookkeeping. Use RevertTo to keep a base applied.
func Revert(ctx context.Context, conn *pgx.Conn, migrations []*Migration, bk Bookkeeping) error {
	return RevertTo(ctx, conn, migrations, 0, bk)
}

// RevertTo applies the downs of applied[keep:] in reverse, leaving
// applied[:keep] in place and recorded as current.
func RevertTo(ctx context.Context, conn *pgx.Conn, applied []*Migration, keep int, bk Bookkeeping) error {
	if keep < 0 || keep > len(applied) {
		return fmt.Errorf("revert: keep %d of %d applied migrations is out of range", keep, len(applied))
	}
	for i := len(applied) - 1; i >= keep; i-- {
		var prev *Migration
		if i > 0 {
			prev = applied[i-1]
		}
		if err := Down(ctx, conn, applied[i], prev, bk, nil); err != nil {
			return err
		}
	}
	return nil
}

// tableExists resolves name through search_path, as an unqualified name
// in the tools' SQL does.
func tableExists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var ok bool
	err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return ok, nil
}

// inCurrentSchema quotes table in the current schema, as golang-migrate
// and dbmate name their table.
func inCurrentSchema(ctx context.Context, conn *pgx.Conn, table string) (string, error) {
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", fmt.Errorf("read current schema: %w", err)
	}
	return pgx.Identifier{schema, table}.Sanitize(), nil
}

func versionNumber(m *Migration) (int64, error) {
	n, err := strconv.ParseInt(m.Version, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("version %q of %s does not fit the bigint this tool records versions in (%v); a 20-digit pop/Ory version needs --layout pop (bookkeeping popx), a Flyway version --layout flyway", m.Version, m.ID(), err)
	}
	return n, nil
}

func noTable(table, tool string) error {
	return fmt.Errorf("%w %s: %s has not run on this database (or the app keeps no bookkeeping); a runbook step that reads or edits %s fails here", ErrNoBookkeeping, table, tool, table)
}

// golangMigrate mirrors github.com/golang-migrate/migrate/v4 v4.20.1
// database/postgres/postgres.go (ensureVersionTable, SetVersion, Version)
// and migrate.go runMigrations: SetVersion(target, dirty=true), run the
// file, SetVersion(target, dirty=false); the target of a down is the
// previous version, or nil (-1), which leaves the table empty.
type golangMigrate struct{}

const nilVersion = -1

func (golangMigrate) Name() string  { return "golang-migrate" }
func (golangMigrate) Table() string { return "schema_migrations" }

func (golangMigrate) Ensure(ctx context.Context, conn *pgx.Conn) error {
	var count int
	if err := conn.QueryRow(ctx, `SELECT COUNT(1) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations' LIMIT 1`).Scan(&count); err != nil {
		return fmt.Errorf("look for schema_migrations: %w", err)
	}
	if count == 1 {
		return nil
	}
	t, err := inCurrentSchema(ctx, conn, "schema_migrations")
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+t+` (version bigint not null primary key, dirty boolean not null)`)
	return err
}

func (g golangMigrate) setVersion(ctx context.Context, conn *pgx.Conn, version int64, dirty bool) error {
	t, err := inCurrentSchema(ctx, conn, "schema_migrations")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE `+t); err != nil {
			return err
		}
		// Nil version is written only when dirty (golang-migrate issue #330).
		if version >= 0 || (version == nilVersion && dirty) {
			if _, err := tx.Exec(ctx, `INSERT INTO `+t+` (version, dirty) VALUES ($1, $2)`, version, dirty); err != nil {
				return err
			}
		}
		return nil
	})
}

func (g golangMigrate) target(m *Migration) (int64, error) {
	if m == nil {
		return nilVersion, nil
	}
	return versionNumber(m)
}

func (g golangMigrate) BeforeUp(ctx context.Context, conn *pgx.Conn, m *Migration) error {
	v, err := g.target(m)
	if err != nil {
		return err
	}
	return g.setVersion(ctx, conn, v, true)
}

func (g golangMigrate) AfterUp(ctx context.Context, conn *pgx.Conn, m *Migration) error {
	v, err := g.target(m)
	if err != nil {
		return err
	}
	return g.setVersion(ctx, conn, v, false)
}

func (g golangMigrate) BeforeDown(ctx context.Context, conn *pgx.Conn, _, prev *Migration) error {
	v, err := g.target(prev)
	if err != nil {
		return err
	}
	return g.setVersion(ctx, conn, v, true)
}

func (g golangMigrate) AfterDown(ctx context.Context, conn *pgx.Conn, _, prev *Migration) error {
	v, err := g.target(prev)
	if err != nil {
		return err
	}
	return g.setVersion(ctx, conn, v, false)
}

func (golangMigrate) Current(ctx context.Context, conn *pgx.Conn) (string, bool, error) {
	ok, err := tableExists(ctx, conn, "schema_migrations")
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, noTable("schema_migrations", "golang-migrate")
	}
	var v int64
	var dirty bool
	err = conn.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&v, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read schema_migrations: %w", err)
	}
	if v == nilVersion {
		return "", dirty, nil
	}
	return strconv.FormatInt(v, 10), dirty, nil
}

// goose mirrors github.com/pressly/goose/v3 v3.30.0
// internal/dialects/postgres.go (the DDL and queries) and provider_run.go
// (the table is created with a version 0 row; an up inserts
// (version, true), a down deletes the version's rows, both inside the
// migration's transaction when it has one; the current version is
// max(version_id)).
type goose struct{}

func (goose) recordsInMigrationTx() {}

func (goose) Name() string  { return "goose" }
func (goose) Table() string { return "goose_db_version" }

func (goose) Ensure(ctx context.Context, conn *pgx.Conn) error {
	ok, err := tableExists(ctx, conn, "goose_db_version")
	if err != nil || ok {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE goose_db_version (
		id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
		version_id bigint NOT NULL,
		is_applied boolean NOT NULL,
		tstamp timestamp NOT NULL DEFAULT now()
	)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, $2)`, int64(0), true)
		return err
	})
}

func (goose) BeforeUp(context.Context, *pgx.Conn, *Migration) error { return nil }

func (goose) AfterUp(ctx context.Context, conn *pgx.Conn, m *Migration) error {
	v, err := versionNumber(m)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, $2)`, v, true)
	return err
}

func (goose) BeforeDown(context.Context, *pgx.Conn, *Migration, *Migration) error { return nil }

func (goose) AfterDown(ctx context.Context, conn *pgx.Conn, m, _ *Migration) error {
	v, err := versionNumber(m)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `DELETE FROM goose_db_version WHERE version_id=$1`, v)
	return err
}

func (goose) Current(ctx context.Context, conn *pgx.Conn) (string, bool, error) {
	ok, err := tableExists(ctx, conn, "goose_db_version")
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, noTable("goose_db_version", "goose")
	}
	var v *int64
	if err := conn.QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		return "", false, fmt.Errorf("read goose_db_version: %w", err)
	}
	if v == nil || *v == 0 {
		return "", false, nil
	}
	return strconv.FormatInt(*v, 10), false, nil
}

// dbmate mirrors github.com/amacneil/dbmate/v2 pkg/driver/postgres/postgres.go
// (CreateMigrationsTable, InsertMigration, DeleteMigration,
// SelectMigrations) and pkg/dbmate/db.go: one row per applied version, as
// written in the file name, inserted (or deleted by a down) inside the
// migration's transaction unless transaction:false.
type dbmate struct{}

func (dbmate) recordsInMigrationTx() {}

func (dbmate) Name() string  { return "dbmate" }
func (dbmate) Table() string { return "schema_migrations" }

func (dbmate) Ensure(ctx context.Context, conn *pgx.Conn) error {
	t, err := inCurrentSchema(ctx, conn, "schema_migrations")
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `create table if not exists `+t+` (version varchar primary key)`)
	return err
}

func (dbmate) BeforeUp(context.Context, *pgx.Conn, *Migration) error { return nil }

func (dbmate) AfterUp(ctx context.Context, conn *pgx.Conn, m *Migration) error {
	t, err := inCurrentSchema(ctx, conn, "schema_migrations")
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `insert into `+t+` (version) values ($1)`, m.Version)
	return err
}

func (dbmate) BeforeDown(context.Context, *pgx.Conn, *Migration, *Migration) error { return nil }

func (dbmate) AfterDown(ctx context.Context, conn *pgx.Conn, m, _ *Migration) error {
	t, err := inCurrentSchema(ctx, conn, "schema_migrations")
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `delete from `+t+` where version = $1`, m.Version)
	return err
}

func (dbmate) Current(ctx context.Context, conn *pgx.Conn) (string, bool, error) {
	ok, err := tableExists(ctx, conn, "schema_migrations")
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, noTable("schema_migrations", "dbmate")
	}
	var v string
	err = conn.QueryRow(ctx, `select version from schema_migrations order by version desc limit 1`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read schema_migrations: %w", err)
	}
	return v, false, nil
}

// none is an app that keeps no bookkeeping: its server re-runs its
// idempotent up files at every boot.
type none struct{}

func (none) Name() string                                                        { return "none" }
func (none) Table() string                                                       { return "" }
func (none) Ensure(context.Context, *pgx.Conn) error                             { return nil }
func (none) BeforeUp(context.Context, *pgx.Conn, *Migration) error               { return nil }
func (none) AfterUp(context.Context, *pgx.Conn, *Migration) error                { return nil }
func (none) BeforeDown(context.Context, *pgx.Conn, *Migration, *Migration) error { return nil }
func (none) AfterDown(context.Context, *pgx.Conn, *Migration, *Migration) error  { return nil }

func (none) Current(context.Context, *pgx.Conn) (string, bool, error) {
	return "", false, fmt.Errorf("%w schema_migrations: this app keeps none (its server re-runs its idempotent up files at boot), so a runbook step that reads or edits schema_migrations fails here", ErrNoBookkeeping)
}
