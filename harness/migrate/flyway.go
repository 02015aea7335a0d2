package migrate

import (
	"context"
	"fmt"
	"hash/crc32"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	// Flyway's default SQL migration names (prefixes V, U, R, B; separator
	// "__"; suffix .sql). Versions use "." or "_" between parts.
	reFlywayAny       = regexp.MustCompile(`^[VUBR]([0-9][0-9._]*?)?__.+\.sql$`)
	reFlywayVersioned = regexp.MustCompile(`^([VUB])([0-9][0-9._]*?)__(.+)\.sql$`)
)

// buildFlyway reads V (versioned) files with their U (undo) files.
// Repeatable (R__) and baseline (B) migrations change the schema on
// Flyway's own terms the harness does not rehearse: they are refused, not
// skipped. Other files are ignored, as Flyway does with names it does not
// parse (callbacks such as afterMigrate.sql are among them and not run).
func buildFlyway(l *loaded, files []sourceFile) error {
	byVersion := map[string]*Migration{}
	undo := map[string]sourceFile{}
	for _, f := range files {
		if strings.HasPrefix(f.name, "R__") && strings.HasSuffix(f.name, ".sql") {
			l.unrunnable = append(l.unrunnable, Unrunnable{Files: []string{f.path}, Reason: "Flyway repeatable migrations (R__) are not rehearsed"})
			continue
		}
		m := reFlywayVersioned.FindStringSubmatch(f.name)
		if m == nil {
			l.ignore(f, "not named V<version>__<description>.sql or U<version>__<description>.sql (Flyway does not migrate it)")
			continue
		}
		prefix, version, name := m[1], m[2], m[3]
		key, ok := normVersion(version)
		if !ok {
			l.ignore(f, "version "+version+" is not numbers separated by . or _")
			continue
		}
		switch prefix {
		case "B":
			l.unrunnable = append(l.unrunnable, Unrunnable{Version: version, Files: []string{f.path}, Reason: "Flyway baseline migrations (B) are not rehearsed"})
			continue
		case "U":
			if prev, dup := undo[key]; dup {
				return fmt.Errorf("duplicate undo version %s: %s and %s; renumber one of them", version, prev.path, f.path)
			}
			undo[key] = f
			continue
		}
		if prev := byVersion[key]; prev != nil {
			return fmt.Errorf("duplicate version %s: %s and %s; renumber one of them", version, prev.Up.File, f.path)
		}
		body, err := f.text()
		if err != nil {
			return err
		}
		s, err := scriptOf(f.path, body, 1, body)
		if err != nil {
			return err
		}
		// Flyway stores "1.1" for V1_1__: "_" reads as ".".
		mig := &Migration{Version: strings.ReplaceAll(version, "_", "."), Name: name, Up: s, Comment: leadingComment(body)}
		byVersion[key] = mig
		l.ms = append(l.ms, mig)
	}
	for key, f := range undo {
		mig := byVersion[key]
		if mig == nil {
			return &LoadError{File: f.path, Problem: "undo file without a versioned migration", Fix: "add the V file of the same version or remove the U file"}
		}
		body, err := f.text()
		if err != nil {
			return err
		}
		if mig.Down, err = scriptOf(f.path, body, 1, body); err != nil {
			return err
		}
	}
	return nil
}

// flyway mirrors Flyway's schema history table on PostgreSQL
// (flyway-database-postgresql createMetaDataTable.sql): one row per
// applied migration, installed_rank counting up, written after the
// migration's transaction commits. An undo records an UNDO_SQL row for the
// undone version, as Flyway Teams' `flyway undo` does; Current replays the
// rows in installed_rank order (SQL applies a version, UNDO_SQL removes it).
type flyway struct{ started *sync.Map }

func (flyway) Name() string  { return "flyway" }
func (flyway) Table() string { return "flyway_schema_history" }

func (flyway) Ensure(ctx context.Context, conn *pgx.Conn) error {
	ok, err := tableExists(ctx, conn, "flyway_schema_history")
	if err != nil || ok {
		return err
	}
	t, err := inCurrentSchema(ctx, conn, "flyway_schema_history")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, q := range []string{
			`CREATE TABLE ` + t + ` (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
)`,
			`ALTER TABLE ` + t + ` ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank")`,
			`CREATE INDEX "flyway_schema_history_s_idx" ON ` + t + ` ("success")`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

type flywayRun struct {
	conn    *pgx.Conn
	version string
}

func (f flyway) start(conn *pgx.Conn, m *Migration) {
	if f.started != nil {
		f.started.Store(flywayRun{conn, m.Version}, time.Now())
	}
}

// elapsed is the milliseconds since start, as execution_time holds.
func (f flyway) elapsed(conn *pgx.Conn, m *Migration) int {
	if f.started == nil {
		return 0
	}
	v, ok := f.started.LoadAndDelete(flywayRun{conn, m.Version})
	if !ok {
		return 0
	}
	return int(time.Since(v.(time.Time)).Milliseconds())
}

func (f flyway) record(ctx context.Context, conn *pgx.Conn, m *Migration, s *Script, typ string) error {
	t, err := inCurrentSchema(ctx, conn, "flyway_schema_history")
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `INSERT INTO `+t+` (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
		SELECT coalesce(max(installed_rank), 0) + 1, $1, $2, $3, $4, $5, current_user, $6, true FROM `+t,
		m.Version, strings.ReplaceAll(m.Name, "_", " "), typ, path.Base(s.File), flywayChecksum(s.SQL), f.elapsed(conn, m))
	return err
}

func (f flyway) BeforeUp(_ context.Context, conn *pgx.Conn, m *Migration) error {
	f.start(conn, m)
	return nil
}

func (f flyway) AfterUp(ctx context.Context, conn *pgx.Conn, m *Migration) error {
	return f.record(ctx, conn, m, m.Up, "SQL")
}

func (f flyway) BeforeDown(_ context.Context, conn *pgx.Conn, m, _ *Migration) error {
	f.start(conn, m)
	return nil
}

func (f flyway) AfterDown(ctx context.Context, conn *pgx.Conn, m, _ *Migration) error {
	s := m.Down
	if s == nil {
		// A runbook edit without an undo file: record it against the V file.
		s = m.Up
	}
	return f.record(ctx, conn, m, s, "UNDO_SQL")
}

func (flyway) Current(ctx context.Context, conn *pgx.Conn) (string, bool, error) {
	ok, err := tableExists(ctx, conn, "flyway_schema_history")
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, noTable("flyway_schema_history", "flyway")
	}
	rows, err := conn.Query(ctx, `SELECT version, type, success FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank`)
	if err != nil {
		return "", false, fmt.Errorf("read flyway_schema_history: %w", err)
	}
	applied := map[string]string{}
	failed := false
	var version, typ string
	var success bool
	_, err = pgx.ForEachRow(rows, []any{&version, &typ, &success}, func() error {
		key, _ := normVersion(version)
		switch {
		case !success:
			failed = true
		case typ == "UNDO_SQL":
			delete(applied, key)
		default:
			applied[key] = version
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("read flyway_schema_history: %w", err)
	}
	var vs []string
	for _, v := range applied {
		vs = append(vs, v)
	}
	// A failed row is Flyway's "dirty": repair is needed before migrate.
	return maxVersion(vs), failed, nil
}

// flywayChecksum is Flyway's ChecksumCalculator: CRC32 over the file's
// lines without their line breaks (and without a BOM), as a signed int.
func flywayChecksum(text string) int32 {
	text = strings.TrimPrefix(text, "\uFEFF")
	h := crc32.NewIEEE()
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return 0
	}
	for _, line := range strings.Split(text, "\n") {
		h.Write([]byte(line))
	}
	return int32(h.Sum32())
}
