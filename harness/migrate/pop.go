package migrate

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// rePop is pop's migration file name (github.com/gobuffalo/pop/v6
// migrator.go mrx, the same in ory/x popx): version, name, optional
// dialect, direction, type.
var rePop = regexp.MustCompile(`^(\d+)_([^.]+)(\.[a-z0-9]+)?\.(up|down)\.(sql|fizz)$`)

// popDialects maps pop's dialect names and synonyms (pop.CanonicalDialect)
// to the canonical name.
var popDialects = map[string]string{
	"postgres": "postgres", "postgresql": "postgres", "pg": "postgres", "pgx": "postgres",
	"cockroach": "cockroach", "cockroachdb": "cockroach", "crdb": "cockroach",
	"mysql": "mysql", "mariadb": "mariadb",
	"sqlite3": "sqlite3", "sqlite": "sqlite3",
}

// popDialectFile reports a pop file name with a dialect part, which
// golang-migrate names never carry.
func popDialectFile(name string) bool {
	m := rePop.FindStringSubmatch(name)
	if m == nil || m[3] == "" || m[5] != "sql" {
		return false
	}
	_, ok := popDialects[m[3][1:]]
	return ok
}

// buildPop follows pop's file rules on PostgreSQL: files of another
// dialect are skipped, a postgres file wins over the dialect-less one of
// the same version and direction (pop sorts it first and then finds the
// version recorded), and .fizz files need pop's fizz translator, which the
// harness does not have.
func buildPop(l *loaded, files []sourceFile) error {
	type pick struct {
		f       sourceFile
		dialect string
		fizz    bool
	}
	type key struct{ version, dir string }
	chosen := map[key]*pick{}
	names := map[string]string{}
	var versions []string
	for _, f := range files {
		m := rePop.FindStringSubmatch(f.name)
		if m == nil {
			l.ignore(f, "not named VERSION_name[.dialect].up.sql / .down.sql (pop ignores it)")
			continue
		}
		version, name, dialect, dir, typ := m[1], m[2], "", m[4], m[5]
		if m[3] != "" {
			d, ok := popDialects[m[3][1:]]
			if !ok {
				l.ignore(f, fmt.Sprintf("unsupported dialect %q (pop ignores it)", m[3][1:]))
				continue
			}
			if d != "postgres" {
				l.ignore(f, "another dialect's file (pop runs only the postgres and dialect-less files on PostgreSQL)")
				continue
			}
			dialect = d
		}
		k := key{version, dir}
		if prev := chosen[k]; prev != nil {
			switch {
			case prev.dialect == dialect:
				return fmt.Errorf("duplicate version %s: %s and %s; renumber one of them", version, prev.f.path, f.path)
			case prev.dialect == "postgres":
				l.ignore(f, "the postgres file of the same version runs instead")
				continue
			default:
				l.ignore(prev.f, "the postgres file of the same version runs instead")
			}
		}
		chosen[k] = &pick{f: f, dialect: dialect, fizz: typ == "fizz"}
		if _, seen := names[version]; !seen {
			versions = append(versions, version)
			names[version] = name
		}
		if dir == "up" {
			names[version] = name
		}
	}
	for _, v := range versions {
		up, down := chosen[key{v, "up"}], chosen[key{v, "down"}]
		if up == nil {
			return &LoadError{File: down.f.path, Problem: "down file without an up file", Fix: fmt.Sprintf("add %s_%s.up.sql or remove the down file", v, names[v])}
		}
		if up.fizz || (down != nil && down.fizz) {
			var fz []string
			for _, p := range []*pick{up, down} {
				if p != nil && p.fizz {
					fz = append(fz, p.f.path)
				}
			}
			l.unrunnable = append(l.unrunnable, Unrunnable{Version: v, Files: fz, Reason: "fizz migrations need pop's fizz translator; write them as .postgres.up.sql / .down.sql (soda generate sql)"})
			continue
		}
		mig := &Migration{Version: v, Name: names[v]}
		for _, p := range []*pick{up, down} {
			if p == nil {
				continue
			}
			body, err := p.f.text()
			if err != nil {
				return err
			}
			s, err := scriptOf(p.f.path, body, 1, body)
			if err != nil {
				return err
			}
			if p == up {
				mig.Up, mig.Comment = s, leadingComment(body)
			} else {
				mig.Down = s
			}
		}
		l.ms = append(l.ms, mig)
	}
	return nil
}

// pop mirrors github.com/gobuffalo/pop/v6 (migrator.go UpTo, Down,
// CreateSchemaMigrations; schema_migrations.go and fizz's postgres
// translator for the DDL): schema_migration(version varchar(14)) with a
// unique index; each migration and its row insert (or delete, for a down)
// in one transaction. wide is Ory's fork (github.com/ory/x popx
// migrator.go createTransactionalMigrationTable): version varchar(48)
// plus version_self, for 20-digit versions pop's table cannot hold.
type pop struct{ wide bool }

func (pop) recordsInMigrationTx() {}

func (p pop) Name() string {
	if p.wide {
		return "popx"
	}
	return "pop"
}

func (pop) Table() string { return "schema_migration" }

func (p pop) Ensure(ctx context.Context, conn *pgx.Conn) error {
	ok, err := tableExists(ctx, conn, "schema_migration")
	if err != nil || ok {
		return err
	}
	ddl := []string{
		"CREATE TABLE \"schema_migration\" (\n\"version\" VARCHAR (14) NOT NULL,\nPRIMARY KEY(\"version\")\n)",
		`CREATE UNIQUE INDEX "schema_migration_version_idx" ON "schema_migration" (version)`,
	}
	if p.wide {
		ddl = []string{
			`CREATE TABLE schema_migration (version VARCHAR (48) NOT NULL, version_self INT NOT NULL DEFAULT 0)`,
			`CREATE UNIQUE INDEX schema_migration_version_idx ON schema_migration (version)`,
			`CREATE INDEX schema_migration_version_self_idx ON schema_migration (version_self)`,
		}
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, q := range ddl {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

func (pop) BeforeUp(context.Context, *pgx.Conn, *Migration) error { return nil }

func (p pop) AfterUp(ctx context.Context, conn *pgx.Conn, m *Migration) error {
	if !p.wide && len(m.Version) > 14 {
		return fmt.Errorf("version %s has %d digits, more than pop's schema_migration.version varchar(14) holds (pop fails the same way); Ory projects use popx's wider table: pass --bookkeeping popx", m.Version, len(m.Version))
	}
	_, err := conn.Exec(ctx, `insert into schema_migration (version) values ($1)`, m.Version)
	return err
}

func (pop) BeforeDown(context.Context, *pgx.Conn, *Migration, *Migration) error { return nil }

func (pop) AfterDown(ctx context.Context, conn *pgx.Conn, m, _ *Migration) error {
	_, err := conn.Exec(ctx, `delete from schema_migration where version = $1`, m.Version)
	return err
}

// Current is the highest recorded version (pop itself counts rows).
func (p pop) Current(ctx context.Context, conn *pgx.Conn) (string, bool, error) {
	ok, err := tableExists(ctx, conn, "schema_migration")
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, noTable("schema_migration", p.Name())
	}
	vs, err := textColumn(ctx, conn, `SELECT version FROM schema_migration`)
	if err != nil {
		return "", false, fmt.Errorf("read schema_migration: %w", err)
	}
	return maxVersion(vs), false, nil
}

// textColumn reads the one text column of query.
func textColumn(ctx context.Context, conn *pgx.Conn, query string) ([]string, error) {
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// maxVersion is the highest of vs by number ("" for none).
func maxVersion(vs []string) string {
	best := ""
	for _, v := range vs {
		if best == "" || compareVersions(v, best) > 0 {
			best = v
		}
	}
	return strings.TrimSpace(best)
}
