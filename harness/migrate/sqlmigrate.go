package migrate

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

var reSQLMigrateAnnotation = regexp.MustCompile(`^--\s*\+migrate\s+(\S+)(.*)$`)

// parseSQLMigrate follows sql-migrate's sqlparse rules
// (github.com/rubenv/sql-migrate sqlparse/sqlparse.go): "-- +migrate Up"
// and "-- +migrate Down" sections, each optionally "notransaction",
// "-- +migrate StatementBegin/End" blocks kept as one statement.
func parseSQLMigrate(f sourceFile, body string) (up, down *Script, err error) {
	var upSec, downSec section
	var cur *section
	inBlock, upNoTx, downNoTx := false, false, false
	fail := func(ln int, problem, fix string) (*Script, *Script, error) {
		return nil, nil, &LoadError{File: f.path, Line: ln, Problem: problem, Fix: fix}
	}
	for i, line := range strings.SplitAfter(body, "\n") {
		ln := i + 1
		t := strings.TrimSpace(line)
		if m := reSQLMigrateAnnotation.FindStringSubmatch(t); m != nil {
			noTx := slices.Contains(strings.Fields(m[2]), "notransaction")
			switch m[1] {
			case "Up", "Down":
				sec := &upSec
				if m[1] == "Down" {
					sec = &downSec
					downNoTx = noTx
				} else {
					upNoTx = noTx
				}
				if sec.present {
					return fail(ln, "duplicate '-- +migrate "+m[1]+"' line", "keep one "+m[1]+" section per file")
				}
				if inBlock {
					return fail(ln, "'-- +migrate "+m[1]+"' inside a StatementBegin block", "close the block with '-- +migrate StatementEnd' first")
				}
				cur, sec.present = sec, true
			case "StatementBegin":
				if cur == nil || inBlock {
					return fail(ln, "'-- +migrate StatementBegin' outside an Up/Down section or inside another block", "put it after '-- +migrate Up' or '-- +migrate Down', and close the previous block")
				}
				inBlock = true
				cur.cut()
				cur.sql.WriteString(line)
			case "StatementEnd":
				if !inBlock {
					return fail(ln, "'-- +migrate StatementEnd' without a StatementBegin", "add '-- +migrate StatementBegin' before the statement")
				}
				inBlock = false
				cur.cut()
				cur.sql.WriteString(line)
			default:
				return fail(ln, fmt.Sprintf("unknown sql-migrate command %q", m[1]), "use Up, Down, StatementBegin or StatementEnd (case matters)")
			}
			continue
		}
		if cur == nil {
			if t == "" || strings.HasPrefix(t, "--") {
				continue
			}
			return fail(ln, "SQL before '-- +migrate Up'", "start the file with a '-- +migrate Up' line")
		}
		cur.add(line, ln, inBlock)
	}
	if !upSec.present {
		return fail(0, "no '-- +migrate Up' line", "start the up section with a '-- +migrate Up' line")
	}
	if inBlock {
		return fail(0, "missing '-- +migrate StatementEnd'", "close every StatementBegin block")
	}
	if up, err = upSec.script(f.path, upNoTx); err != nil {
		return nil, nil, err
	}
	if down, err = downSec.script(f.path, downNoTx); err != nil {
		return nil, nil, err
	}
	return up, down, nil
}

// sqlMigrate mirrors github.com/rubenv/sql-migrate migrate.go (ExecMax,
// MigrationRecord) with gorp's PostgreSQL DDL: gorp_migrations(id text
// primary key, applied_at timestamptz), one row per applied file keyed by
// its file name, inserted (or deleted by a down) inside the migration's
// transaction unless notransaction.
type sqlMigrate struct{}

func (sqlMigrate) recordsInMigrationTx() {}

func (sqlMigrate) Name() string  { return "sql-migrate" }
func (sqlMigrate) Table() string { return "gorp_migrations" }

func (sqlMigrate) Ensure(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `create table if not exists "gorp_migrations" ("id" text not null primary key, "applied_at" timestamp with time zone) `)
	return err
}

// sqlMigrateID is the row's id: the migration's file name.
func sqlMigrateID(m *Migration) string { return path.Base(m.Up.File) }

func (sqlMigrate) BeforeUp(context.Context, *pgx.Conn, *Migration) error { return nil }

func (sqlMigrate) AfterUp(ctx context.Context, conn *pgx.Conn, m *Migration) error {
	_, err := conn.Exec(ctx, `insert into "gorp_migrations" ("id","applied_at") values ($1,$2)`, sqlMigrateID(m), time.Now())
	return err
}

func (sqlMigrate) BeforeDown(context.Context, *pgx.Conn, *Migration, *Migration) error { return nil }

func (sqlMigrate) AfterDown(ctx context.Context, conn *pgx.Conn, m, _ *Migration) error {
	_, err := conn.Exec(ctx, `delete from "gorp_migrations" where "id"=$1`, sqlMigrateID(m))
	return err
}

// Current is the version (the leading number) of the highest recorded id.
func (sqlMigrate) Current(ctx context.Context, conn *pgx.Conn) (string, bool, error) {
	ok, err := tableExists(ctx, conn, "gorp_migrations")
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, noTable("gorp_migrations", "sql-migrate")
	}
	ids, err := textColumn(ctx, conn, `SELECT id FROM gorp_migrations`)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", false, fmt.Errorf("read gorp_migrations: %w", err)
	}
	var vs []string
	for _, id := range ids {
		if m := reLeadingNumber.FindStringSubmatch(id); m != nil {
			vs = append(vs, m[1])
		}
	}
	return maxVersion(vs), false, nil
}
