// Package migrate reads migration sets (golang-migrate, goose, dbmate, pop,
// Flyway and sql-migrate layouts, from a folder or a git ref), applies their
// up and down scripts to PostgreSQL, and keeps each tool's bookkeeping table
// the way the tool does.
package migrate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Layout names how a migration folder is laid out.
type Layout string

const (
	LayoutGolangMigrate Layout = "golang-migrate" // NNN_name.up.sql + NNN_name.down.sql
	LayoutGoose         Layout = "goose"          // NNN_name.sql with -- +goose Up / Down
	LayoutDbmate        Layout = "dbmate"         // NNN_name.sql with -- migrate:up / down
	LayoutPop           Layout = "pop"            // NNN_name[.dialect].up.sql / .down.sql (gobuffalo/pop, ory/x popx)
	LayoutFlyway        Layout = "flyway"         // V1.1__name.sql + U1.1__name.sql
	LayoutSQLMigrate    Layout = "sql-migrate"    // NNN_name.sql with -- +migrate Up / Down
)

// Layouts lists the layouts LoadDir and LoadGit understand.
var Layouts = []Layout{LayoutGolangMigrate, LayoutGoose, LayoutDbmate, LayoutPop, LayoutFlyway, LayoutSQLMigrate}

// LayoutNames is Layouts as strings, for flags and messages.
func LayoutNames() []string {
	out := make([]string, len(Layouts))
	for i, l := range Layouts {
		out[i] = string(l)
	}
	return out
}

// Statement is one SQL statement of a script.
type Statement struct {
	SQL  string
	Line int // 1-based line in the script's File where the statement starts
	// Parts are the byte offsets in SQL of the statements of a goose or
	// sql-migrate StatementBegin/End block that holds several (nil
	// otherwise), so an error names the one that failed.
	Parts []int
}

// Script is the up or the down of a migration.
type Script struct {
	File string // path as given by the user, or "REF:path" for git
	SQL  string // the whole section text
	// Statements are split with the PostgreSQL parser; a goose
	// StatementBegin/End block is one statement.
	Statements []Statement
	// NoTransaction: the tool runs the statements one by one, outside a
	// transaction (goose NO TRANSACTION, dbmate transaction:false, or a
	// statement PostgreSQL refuses in a transaction block).
	NoTransaction bool
	// Invalid is why the SQL does not parse (Statements is then empty).
	// A window that runs the script is refused with it; one that never
	// runs it (a base migration's down, a file after --to) only notes it.
	Invalid *LoadError
}

// Migration is one version of a set.
type Migration struct {
	Version string // as the tool stores it, e.g. "000004", "20240101120000" or Flyway's "1.1"
	Name    string // e.g. "order_currency"
	Up      *Script
	Down    *Script // nil when there is no down file or section
	// Comment is the leading comment of the up script, without "-- ".
	Comment string
}

// ID is "version_name", as in the file names ("version" when the file
// name has no name, e.g. sql-migrate's 0001.sql).
func (m *Migration) ID() string {
	if m.Name == "" {
		return m.Version
	}
	return m.Version + "_" + m.Name
}

// Set is a migration set, sorted by version numerically.
type Set struct {
	Layout     Layout
	Source     string // the folder, or "REF:path"
	Migrations []*Migration
	// Ignored are the folder's files the tool ignores too, each as
	// "name: why" (a report lists them, so nothing is skipped silently).
	Ignored []string
	// Unrunnable are migrations the tool runs but the harness cannot
	// (goose Go migrations, pop .fizz files): Range refuses a window that
	// reaches them.
	Unrunnable []Unrunnable
}

// Unrunnable is a migration the harness sees but cannot run.
type Unrunnable struct {
	Version string // "" = every window (e.g. a Flyway repeatable migration)
	Files   []string
	Reason  string
}

// IgnoredNote says, in one line for a report, which files the layout's
// tool ignores and why, grouped by reason ("" when none).
func (s *Set) IgnoredNote() string {
	if len(s.Ignored) == 0 {
		return ""
	}
	var reasons []string
	byReason := map[string][]string{}
	for _, ig := range s.Ignored {
		name, why, _ := strings.Cut(ig, ": ")
		if _, ok := byReason[why]; !ok {
			reasons = append(reasons, why)
		}
		byReason[why] = append(byReason[why], name)
	}
	parts := make([]string, len(reasons))
	for i, why := range reasons {
		parts[i] = fmt.Sprintf("%s: %s", why, strings.Join(byReason[why], ", "))
	}
	return fmt.Sprintf("%d file(s) of %s not run, as %s does not run them either. %s", len(s.Ignored), s.Source, s.Layout, strings.Join(parts, ". "))
}

// DefaultBookkeeping is the bookkeeping of the layout's own tool. A pop
// set with versions longer than pop's varchar(14) is Ory's popx, whose
// table holds them.
func (s *Set) DefaultBookkeeping() string {
	if s.Layout == LayoutPop {
		for _, m := range s.Migrations {
			if len(m.Version) > 14 {
				return "popx"
			}
		}
	}
	return string(s.Layout)
}

// Options tune loading.
type Options struct {
	Layout Layout // "" = detect from the files
}

// Index returns the position of version in s, or -1. Versions compare
// numerically, so "4" finds "000004" (golang-migrate stores 4).
func (s *Set) Index(version string) int {
	v, ok := normVersion(version)
	if !ok {
		return -1
	}
	for i, m := range s.Migrations {
		if n, _ := normVersion(m.Version); n == v {
			return i
		}
	}
	return -1
}

// Range splits s at from and to: base holds the versions <= from (release N),
// next the versions in (from, to] (what N+1 adds). from "" or "0" means
// nothing applied; to "" means the last version.
func (s *Set) Range(from, to string) (base, next []*Migration, err error) {
	if len(s.Migrations) == 0 {
		return nil, nil, fmt.Errorf("%s: the migration set is empty", s.Source)
	}
	for _, v := range []string{from, to} {
		if err := s.unrunnableVersion(v); err != nil {
			return nil, nil, err
		}
	}
	fi := -1
	if from != "" && from != "0" {
		if fi = s.Index(from); fi < 0 {
			return nil, nil, fmt.Errorf("--from %s: no such migration in %s (versions: %s); use one of them, or 0 for an empty database", from, s.Source, s.versionSpan())
		}
	}
	ti := len(s.Migrations) - 1
	if to != "" {
		if ti = s.Index(to); ti < 0 {
			return nil, nil, fmt.Errorf("--to %s: no such migration in %s (versions: %s); use one of them", to, s.Source, s.versionSpan())
		}
	}
	if ti < fi {
		return nil, nil, fmt.Errorf("--to %s comes before --from %s in %s: swap them", to, from, s.Source)
	}
	// With no --to the window is the whole folder, whatever comes last.
	last := ""
	if to != "" {
		last = s.Migrations[ti].Version
	}
	if err := s.checkRunnable(last); err != nil {
		return nil, nil, err
	}
	base, next = s.Migrations[:fi+1], s.Migrations[fi+1:ti+1]
	if err := checkParsed(base, next); err != nil {
		return nil, nil, err
	}
	return base, next, nil
}

// checkParsed refuses SQL that does not parse in a file the window runs:
// release N's ups (they build its schema) and N+1's ups and downs.
func checkParsed(base, next []*Migration) error {
	var scripts []*Script
	for _, m := range base {
		scripts = append(scripts, m.Up)
	}
	for _, m := range next {
		scripts = append(scripts, m.Up, m.Down)
	}
	for _, sc := range scripts {
		if sc != nil && sc.Invalid != nil {
			return sc.Invalid
		}
	}
	return nil
}

// UnparsedNote says, in one line for a report, which files do not parse
// but are not run by the window from..to (release N's downs, files after
// --to), so they did not stop the run ("" when none; call it once Range
// accepted the window). They are defects all the same: a rollback past
// --from would fail on them.
func (s *Set) UnparsedNote(from, to string) string {
	var msgs []string
	for _, m := range s.Migrations {
		for _, sc := range []*Script{m.Up, m.Down} {
			if sc != nil && sc.Invalid != nil {
				msgs = append(msgs, sc.Invalid.Error())
			}
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	return fmt.Sprintf("%d file(s) outside the window %s..%s do not parse and were not run: %s", len(msgs), from, to, strings.Join(msgs, "; "))
}

// unrunnableVersion refuses --from or --to naming a migration the harness
// cannot run.
func (s *Set) unrunnableVersion(v string) error {
	key, ok := normVersion(v)
	if !ok {
		return nil
	}
	for _, u := range s.Unrunnable {
		if k, _ := normVersion(u.Version); u.Version != "" && k == key {
			return fmt.Errorf("%s: version %s is %s (%s); end the window before it", s.Source, v, strings.Join(u.Files, ", "), u.Reason)
		}
	}
	return nil
}

// checkRunnable refuses a window up to version to ("" = all) that holds a migration
// the harness cannot run: skipping it would make every later verdict
// wrong (a SQL migration needing its table fails, blamed on itself).
func (s *Set) checkRunnable(to string) error {
	var files []string
	var reasons []string
	for _, u := range s.Unrunnable {
		if u.Version != "" && to != "" && compareVersions(u.Version, to) > 0 {
			continue
		}
		files = append(files, u.Files...)
		if !slices.Contains(reasons, u.Reason) {
			reasons = append(reasons, u.Reason)
		}
	}
	if len(files) == 0 {
		return nil
	}
	return fmt.Errorf("%s: cannot run %s (%s); rehearse a window that excludes them (--to before their versions), or move them out of a copy of the folder if the SQL migrations do not depend on them", s.Source, strings.Join(files, ", "), strings.Join(reasons, "; "))
}

func (s *Set) versionSpan() string {
	ms := s.Migrations
	if len(ms) == 1 {
		return ms[0].Version
	}
	return ms[0].Version + ".." + ms[len(ms)-1].Version
}

// versionParts splits a version into its numbers without leading zeros:
// "000004" -> [4], Flyway's "1.10" or "1_10" -> [1 10]; trailing zero parts
// are dropped, as Flyway treats 1.0 as 1. ok is false for anything else.
func versionParts(v string) ([]string, bool) {
	if v == "" {
		return nil, false
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '_' })
	if len(parts) == 0 || strings.Trim(v, "0123456789._") != "" || strings.HasPrefix(v, ".") || strings.HasPrefix(v, "_") {
		return nil, false
	}
	for i, p := range parts {
		p = strings.TrimLeft(p, "0")
		if p == "" {
			p = "0"
		}
		parts[i] = p
	}
	for len(parts) > 1 && parts[len(parts)-1] == "0" {
		parts = parts[:len(parts)-1]
	}
	return parts, true
}

// compareVersions orders versions as numbers of any length, part by part
// (no int64 overflow for 20-digit versions, 1.10 after 1.9).
func compareVersions(a, b string) int {
	pa, _ := versionParts(a)
	pb, _ := versionParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if c := cmp.Compare(len(x), len(y)); c != 0 {
			return c
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// normVersion is the canonical form of a version ("4" for "000004", "1.1"
// for "1_1" or "1.01"), so equal versions have equal keys.
func normVersion(v string) (string, bool) {
	parts, ok := versionParts(v)
	if !ok {
		return "", false
	}
	return strings.Join(parts, "."), true
}

// versionLess orders versions numerically.
func versionLess(a, b string) bool { return compareVersions(a, b) < 0 }
