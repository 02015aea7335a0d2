package migrate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// sourceFile is one file of a migration folder, wherever it was read from.
type sourceFile struct {
	name string // base name
	path string // shown in errors and Script.File
	body string
}

// LoadDir reads the migration set in dir.
func LoadDir(dir string, opts Options) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations folder: %w; point --migrations at the folder holding the *.sql files", err)
	}
	var files []sourceFile
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read migration: %w", err)
		}
		files = append(files, sourceFile{name: e.Name(), path: p, body: strings.TrimPrefix(string(b), "\uFEFF")})
	}
	return build(dir, files, opts)
}

var (
	reGolangMigrate = regexp.MustCompile(`^([0-9]+)_(.*)\.(up|down)\.sql$`)
	reNumbered      = regexp.MustCompile(`^([0-9]+)_(.+)\.sql$`)
	reUpDownSuffix  = regexp.MustCompile(`\.(up|down)\.sql$`)
	reGooseUp       = regexp.MustCompile(`(?mi)^--\s*\+goose\s+up\s*$`)
	reDbmateUp      = regexp.MustCompile(`(?m)^--\s*migrate:up(\s*$|\s+\S+)`)
)

// detect tells a file's layout from its name and content ("" = no sign).
func detect(f sourceFile) Layout {
	switch {
	case reUpDownSuffix.MatchString(f.name):
		return LayoutGolangMigrate
	case reGooseUp.MatchString(f.body):
		return LayoutGoose
	case reDbmateUp.MatchString(f.body):
		return LayoutDbmate
	}
	return ""
}

func build(source string, files []sourceFile, opts Options) (*Set, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no migration files (*.sql) found; point --migrations at the folder holding them", source)
	}
	layout := opts.Layout
	switch layout {
	case "":
		var err error
		if layout, err = detectLayout(source, files); err != nil {
			return nil, err
		}
	case LayoutGolangMigrate, LayoutGoose, LayoutDbmate:
	default:
		return nil, fmt.Errorf("unknown layout %q: use one of golang-migrate, goose, dbmate (or leave it empty to detect)", layout)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })

	var ms []*Migration
	var err error
	switch layout {
	case LayoutGolangMigrate:
		ms, err = buildGolangMigrate(files)
	case LayoutGoose:
		ms, err = buildSingleFile(files, parseGoose)
	case LayoutDbmate:
		ms, err = buildSingleFile(files, parseDbmate)
	}
	if err != nil {
		return nil, err
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
	return &Set{Layout: layout, Source: source, Migrations: ms}, nil
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
	switch len(found) {
	case 1:
		for l := range found {
			return l, nil
		}
	case 0:
		return "", fmt.Errorf("%s: unknown migration layout: none of %s is named NNN_name.up.sql/.down.sql (golang-migrate) or has a '-- +goose Up' (goose) or '-- migrate:up' (dbmate) line; rename or annotate the files, or pass --layout", source, list(unknown))
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

func buildGolangMigrate(files []sourceFile) ([]*Migration, error) {
	byVersion := map[string]*Migration{}
	var order []string
	for _, f := range files {
		m := reGolangMigrate.FindStringSubmatch(f.name)
		if m == nil {
			return nil, &LoadError{File: f.path, Problem: "file name does not match the golang-migrate pattern NNN_name.up.sql / NNN_name.down.sql", Fix: "rename it, e.g. 000001_create_users.up.sql"}
		}
		version, name, dir := m[1], m[2], m[3]
		s, err := scriptOf(f.path, f.body, 1, f.body)
		if err != nil {
			return nil, err
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
				return nil, fmt.Errorf("duplicate version %s: %s and %s; renumber one of them", version, mig.Up.File, f.path)
			}
			mig.Up, mig.Version, mig.Name = s, version, name
			mig.Comment = leadingComment(f.body)
		} else {
			if mig.Down != nil {
				return nil, fmt.Errorf("duplicate version %s: %s and %s; renumber one of them", version, mig.Down.File, f.path)
			}
			mig.Down = s
		}
	}
	var ms []*Migration
	for _, k := range order {
		mig := byVersion[k]
		if mig.Up == nil {
			return nil, &LoadError{File: mig.Down.File, Problem: "down file without an up file", Fix: fmt.Sprintf("add %s_%s.up.sql or remove the down file", mig.Version, mig.Name)}
		}
		ms = append(ms, mig)
	}
	return ms, nil
}

// sectionParser turns one single-file migration into its scripts.
type sectionParser func(f sourceFile) (up, down *Script, err error)

func buildSingleFile(files []sourceFile, parse sectionParser) ([]*Migration, error) {
	var ms []*Migration
	for _, f := range files {
		m := reNumbered.FindStringSubmatch(f.name)
		if m == nil {
			return nil, &LoadError{File: f.path, Problem: "file name does not match the pattern NNN_name.sql", Fix: "rename it, e.g. 20240101120000_create_users.sql or 00001_create_users.sql"}
		}
		up, down, err := parse(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, &Migration{Version: m[1], Name: m[2], Up: up, Down: down, Comment: leadingComment(f.body)})
	}
	return ms, nil
}

// scriptOf splits text (found at line firstLine of file) into a Script.
func scriptOf(file, text string, firstLine int, section string) (*Script, error) {
	stmts, noTx, err := split(file, text, firstLine)
	if err != nil {
		return nil, err
	}
	return &Script{File: file, SQL: section, Statements: stmts, NoTransaction: noTx}, nil
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
	return strings.Contains(line, "+goose") || reDbmateDirective.MatchString(line)
}
