package migrate

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sourceFile is one file of a migration folder, wherever it was read from.
type sourceFile struct {
	name string // base name
	path string // shown in errors and Script.File
	body string // raw, BOM included; "" for files no layout reads
}

// readable tells which files' contents a layout may need: migrations and
// the files the harness must refuse (goose Go migrations, fizz).
func readable(name string) bool {
	switch path.Ext(name) {
	case ".sql", ".go", ".fizz":
		return true
	}
	return false
}

// LoadDir reads the migration set in dir.
func LoadDir(dir string, opts Options) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations folder: %w; point --migrations at the folder holding the migration files", err)
	}
	var files []sourceFile
	for _, e := range entries {
		if e.IsDir() && strings.HasSuffix(e.Name(), ".sql") && !strings.HasPrefix(e.Name(), ".") {
			// Skipping it would blame its partner ("down file without an up file").
			return nil, &LoadError{File: filepath.Join(dir, e.Name()), Problem: "is a directory, not a migration file", Fix: "move it out of the migrations folder or rename it"}
		}
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f := sourceFile{name: e.Name(), path: p}
		if readable(e.Name()) {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read migration: %w", err)
			}
			f.body = string(b)
		}
		files = append(files, f)
	}
	return build(dir, files, opts)
}

var (
	reGolangMigrate = regexp.MustCompile(`^([0-9]+)_(.*)\.(up|down)\.sql$`)
	reNumbered      = regexp.MustCompile(`^([0-9]+)_(.+)\.sql$`)
	reLeadingNumber = regexp.MustCompile(`^([0-9]+)(.*)\.sql$`)
	reUpDownSuffix  = regexp.MustCompile(`\.(up|down)\.sql$`)
	reGooseUp       = regexp.MustCompile(`(?mi)^--\s*\+goose\s+up\s*$`)
	reDbmateUp      = regexp.MustCompile(`(?m)^--\s*migrate:up(\s*$|\s+\S+)`)
	reSQLMigrateUp  = regexp.MustCompile(`(?m)^--\s*\+migrate\s+Up\b`)
	reGoMigration   = regexp.MustCompile(`^([0-9]+)_.+\.go$`)
)

// detect tells a file's layout from its name and content ("" = no sign).
func detect(f sourceFile) Layout {
	switch {
	case strings.HasSuffix(f.name, ".fizz"):
		return LayoutPop
	case popDialectFile(f.name):
		return LayoutPop
	case reFlywayAny.MatchString(f.name):
		return LayoutFlyway
	case reUpDownSuffix.MatchString(f.name):
		return LayoutGolangMigrate
	case !strings.HasSuffix(f.name, ".sql"):
		return ""
	case reGooseUp.MatchString(f.body):
		return LayoutGoose
	case reDbmateUp.MatchString(f.body):
		return LayoutDbmate
	case reSQLMigrateUp.MatchString(f.body):
		return LayoutSQLMigrate
	}
	return ""
}

// loaded is what a layout's builder makes of a folder.
type loaded struct {
	ms         []*Migration
	ignored    []string
	unrunnable []Unrunnable
}

func (l *loaded) ignore(f sourceFile, why string) {
	l.ignored = append(l.ignored, f.name+": "+why)
}

func build(source string, files []sourceFile, opts Options) (*Set, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no migration files found; point --migrations at the folder holding them", source)
	}
	layout := opts.Layout
	if layout == "" {
		var err error
		if layout, err = detectLayout(source, files); err != nil {
			return nil, err
		}
	} else if !slices.Contains(Layouts, layout) {
		return nil, fmt.Errorf("unknown layout %q: use one of %s (or leave it empty to detect)", layout, strings.Join(LayoutNames(), ", "))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })

	var l loaded
	var err error
	switch layout {
	case LayoutGolangMigrate:
		err = buildGolangMigrate(&l, files)
	case LayoutGoose:
		err = buildSingleFile(&l, files, parseGoose, "goose")
	case LayoutDbmate:
		err = buildSingleFile(&l, files, parseDbmate, "dbmate")
	case LayoutSQLMigrate:
		err = buildSingleFile(&l, files, parseSQLMigrate, "sql-migrate")
	case LayoutPop:
		err = buildPop(&l, files)
	case LayoutFlyway:
		err = buildFlyway(&l, files)
	}
	if err != nil {
		return nil, err
	}
	ms := l.ms
	if layout == LayoutGolangMigrate || layout == LayoutGoose {
		// Both tools keep versions as 64-bit integers and refuse longer ones.
		for _, m := range ms {
			if _, err := strconv.ParseInt(m.Version, 10, 64); err != nil {
				return nil, &LoadError{File: m.Up.File, Problem: fmt.Sprintf("version %s does not fit the 64-bit integer %s keeps versions in", m.Version, layout), Fix: "a folder with 20-digit versions and .postgres. files is pop's (Ory): pass --layout pop"}
			}
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return versionLess(ms[i].Version, ms[j].Version) })
	if layout == LayoutGoose && len(ms) > 0 {
		// goose keeps version 0 for its initial row and refuses it.
		if n, _ := normVersion(ms[0].Version); n == "0" {
			return nil, &LoadError{File: ms[0].Up.File, Problem: "goose migration version must be greater than zero", Fix: "renumber it, e.g. 00001_" + ms[0].Name + ".sql"}
		}
	}
	for i := 1; i < len(ms); i++ {
		a, b := ms[i-1], ms[i]
		if !versionLess(a.Version, b.Version) {
			return nil, fmt.Errorf("duplicate version %s: %s and %s; renumber one of them", b.Version, a.Up.File, b.Up.File)
		}
	}
	if len(ms) == 0 && len(l.unrunnable) == 0 {
		return nil, fmt.Errorf("%s: no %s migrations found (ignored: %s); point --migrations at the folder holding them, or pass --layout", source, layout, list(l.ignored))
	}
	return &Set{Layout: layout, Source: source, Migrations: ms, Ignored: l.ignored, Unrunnable: l.unrunnable}, nil
}

func detectLayout(source string, files []sourceFile) (Layout, error) {
	found := map[Layout][]string{}
	var unknown []string
	for _, f := range files {
		if l := detect(f); l != "" {
			found[l] = append(found[l], f.name)
		} else {
			unknown = append(unknown, f.name)
		}
	}
	// pop's dialect-less files are named like golang-migrate's: one
	// dialect or fizz file makes the folder pop's.
	if len(found[LayoutPop]) > 0 && len(found[LayoutGolangMigrate]) > 0 {
		found[LayoutPop] = append(found[LayoutPop], found[LayoutGolangMigrate]...)
		delete(found, LayoutGolangMigrate)
	}
	switch len(found) {
	case 1:
		for l := range found {
			return l, nil
		}
	case 0:
		if !slices.ContainsFunc(files, func(f sourceFile) bool { return strings.HasSuffix(f.name, ".sql") }) {
			return "", fmt.Errorf("%s: no migration files (*.sql) found (only %s); point --migrations at the folder holding them", source, list(unknown))
		}
		return "", fmt.Errorf("%s: unknown migration layout: none of %s is named NNN_name.up.sql/.down.sql (golang-migrate, pop) or V1__name.sql (Flyway) or has a '-- +goose Up' (goose), '-- migrate:up' (dbmate) or '-- +migrate Up' (sql-migrate) line; rename or annotate the files, or pass --layout", source, list(unknown))
	}
	var parts []string
	for _, l := range Layouts {
		if names := found[l]; len(names) > 0 {
			parts = append(parts, fmt.Sprintf("%s (%s)", l, list(names)))
		}
	}
	return "", fmt.Errorf("%s: mixed migration layouts: %s; keep one layout per folder, or pass --layout", source, strings.Join(parts, ", "))
}

// list shows up to 3 names and how many more there are.
func list(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}

// text is f's content once checked readable, without a UTF-8 BOM.
func (f sourceFile) text() (string, error) {
	if i := strings.IndexByte(f.body, 0); i >= 0 {
		return "", &LoadError{File: f.path, Line: lineAt(f.body, i), Problem: fmt.Sprintf("NUL byte at byte offset %d", i), Fix: "remove it (the file is binary or corrupt; PostgreSQL would cut the SQL there)"}
	}
	if !utf8.ValidString(f.body) {
		i := 0
		for i < len(f.body) {
			r, size := utf8.DecodeRuneInString(f.body[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return "", &LoadError{File: f.path, Line: lineAt(f.body, i), Problem: fmt.Sprintf("invalid UTF-8 at byte offset %d", i), Fix: "save the file as UTF-8"}
	}
	return strings.TrimPrefix(f.body, "\uFEFF"), nil
}

// lineAt is the 1-based line holding byte offset off of s.
func lineAt(s string, off int) int { return strings.Count(s[:off], "\n") + 1 }

func buildGolangMigrate(l *loaded, files []sourceFile) error {
	byVersion := map[string]*Migration{}
	var order []string
	for _, f := range files {
		m := reGolangMigrate.FindStringSubmatch(f.name)
		if m == nil {
			// golang-migrate skips what its pattern does not parse.
			l.ignore(f, "not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it)")
			continue
		}
		version, name, dir := m[1], m[2], m[3]
		body, err := f.text()
		if err != nil {
			return err
		}
		s, err := scriptOf(f.path, body, 1, body)
		if err != nil {
			return err
		}
		key, _ := normVersion(version)
		mig := byVersion[key]
		if mig == nil {
			mig = &Migration{Version: version, Name: name}
			byVersion[key] = mig
			order = append(order, key)
		}
		if dir == "up" {
			if mig.Up != nil {
				return fmt.Errorf("duplicate version %s: %s and %s; renumber one of them", version, mig.Up.File, f.path)
			}
			mig.Up, mig.Version, mig.Name = s, version, name
			mig.Comment = leadingComment(body)
		} else {
			if mig.Down != nil {
				return fmt.Errorf("duplicate version %s: %s and %s; renumber one of them", version, mig.Down.File, f.path)
			}
			mig.Down = s
		}
	}
	for _, k := range order {
		mig := byVersion[k]
		if mig.Up == nil {
			return &LoadError{File: mig.Down.File, Problem: "down file without an up file", Fix: fmt.Sprintf("add %s_%s.up.sql or remove the down file", mig.Version, mig.Name)}
		}
		l.ms = append(l.ms, mig)
	}
	return nil
}

// sectionParser turns one single-file migration into its scripts.
type sectionParser func(f sourceFile, body string) (up, down *Script, err error)

// buildSingleFile reads goose, dbmate and sql-migrate folders: one
// NNN_name.sql file per migration. Other files are ignored and listed;
// goose's Go migrations cannot run here and are refused when a window
// reaches them.
func buildSingleFile(l *loaded, files []sourceFile, parse sectionParser, tool string) error {
	for _, f := range files {
		if tool == "goose" && strings.HasSuffix(f.name, ".go") && !strings.HasSuffix(f.name, "_test.go") {
			if m := reGoMigration.FindStringSubmatch(f.name); m != nil {
				l.unrunnable = append(l.unrunnable, Unrunnable{Version: m[1], Files: []string{f.path}, Reason: "goose Go migrations run only inside a goose binary built with them"})
				continue
			}
		}
		m := reNumbered.FindStringSubmatch(f.name)
		if m == nil && tool == "sql-migrate" {
			// sql-migrate orders by the leading number alone: 0001.sql
			// and 0002-init.sql are its migrations too.
			if n := reLeadingNumber.FindStringSubmatch(f.name); n != nil {
				m = []string{n[0], n[1], strings.TrimLeft(n[2], "_-. ")}
			}
		}
		if m == nil {
			if strings.HasSuffix(f.name, ".sql") && tool == "sql-migrate" {
				// sql-migrate runs every .sql file, ordered by its number.
				return &LoadError{File: f.path, Problem: "sql-migrate runs every .sql file, but this one has no leading number to order it by", Fix: "rename it, e.g. 20240101120000_" + f.name + ", or move it out of the folder"}
			}
			l.ignore(f, fmt.Sprintf("not named NNN_name.sql (%s ignores it)", tool))
			continue
		}
		body, err := f.text()
		if err != nil {
			return err
		}
		up, down, err := parse(f, body)
		if err != nil {
			return err
		}
		l.ms = append(l.ms, &Migration{Version: m[1], Name: m[2], Up: up, Down: down, Comment: leadingComment(body)})
	}
	return nil
}

// scriptOf splits text (found at line firstLine of file) into a Script.
// SQL that does not parse is kept as an invalid script: only a window
// that runs it is refused (Set.Range).
func scriptOf(file, text string, firstLine int, section string) (*Script, error) {
	stmts, noTx, err := split(file, text, firstLine)
	if err != nil {
		return invalidScript(file, section, err)
	}
	return &Script{File: file, SQL: section, Statements: stmts, NoTransaction: noTx}, nil
}

// invalidScript keeps a script whose SQL does not parse, or returns err
// when it is not a problem of the SQL itself.
func invalidScript(file, section string, err error) (*Script, error) {
	var le *LoadError
	if !errors.As(err, &le) {
		return nil, err
	}
	return &Script{File: file, SQL: section, Invalid: le}, nil
}

// leadingComment is the first run of "--" comment lines of a file, without
// the dashes, skipping the tools' own annotations.
func leadingComment(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		t := strings.TrimSpace(l)
		if t == "" {
			if len(out) > 0 {
				break
			}
			continue
		}
		if !strings.HasPrefix(t, "--") {
			break
		}
		if isAnnotation(t) {
			if len(out) > 0 {
				break
			}
			continue
		}
		t = strings.TrimPrefix(t, "--")
		t = strings.TrimPrefix(t, " ")
		out = append(out, strings.TrimRight(t, " \t\r"))
	}
	return strings.Join(out, "\n")
}

func isAnnotation(line string) bool {
	return strings.Contains(line, "+goose") || strings.Contains(line, "+migrate") || reDbmateDirective.MatchString(line)
}

// ParseScript splits the SQL text of file (a runbook's SQL, not a
// migration) into statements with the PostgreSQL parser; a syntax error
// names file and line.
func ParseScript(file, text string) (*Script, error) {
	s, err := scriptOf(file, text, 1, text)
	if err != nil {
		return nil, err
	}
	// A runbook's SQL always runs: SQL that does not parse is an error
	// now, not a note for later as for migration files outside a window.
	if s.Invalid != nil {
		return nil, s.Invalid
	}
	return s, nil
}
