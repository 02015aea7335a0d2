// Package migrate reads migration sets (golang-migrate, goose and dbmate
// layouts, from a folder or a git ref), applies their up and down scripts to
// PostgreSQL, and keeps each tool's bookkeeping table the way the tool does.
package migrate

import (
	"fmt"
	"strings"
)

// Layout names how a migration folder is laid out.
type Layout string

const (
	LayoutGolangMigrate Layout = "golang-migrate" // NNN_name.up.sql + NNN_name.down.sql
	LayoutGoose         Layout = "goose"          // NNN_name.sql with -- +goose Up / Down
	LayoutDbmate        Layout = "dbmate"         // NNN_name.sql with -- migrate:up / down
)

// Layouts lists the layouts LoadDir and LoadGit understand.
var Layouts = []Layout{LayoutGolangMigrate, LayoutGoose, LayoutDbmate}

// Statement is one SQL statement of a script.
type Statement struct {
	SQL  string
	Line int // 1-based line in the script's File where the statement starts
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
}

// Migration is one version of a set.
type Migration struct {
	Version string // as written, e.g. "000004" or "20240101120000"
	Name    string // e.g. "order_currency"
	Up      *Script
	Down    *Script // nil when there is no down file or section
	// Comment is the leading comment of the up script, without "-- ".
	Comment string
}

// ID is "version_name", as in the file names.
func (m *Migration) ID() string { return m.Version + "_" + m.Name }

// Set is a migration set, sorted by version numerically.
type Set struct {
	Layout     Layout
	Source     string // the folder, or "REF:path"
	Migrations []*Migration
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
	return s.Migrations[:fi+1], s.Migrations[fi+1 : ti+1], nil
}

func (s *Set) versionSpan() string {
	ms := s.Migrations
	if len(ms) == 1 {
		return ms[0].Version
	}
	return ms[0].Version + ".." + ms[len(ms)-1].Version
}

// normVersion strips leading zeros so versions compare as numbers of any
// length (timestamps overflow nothing this way).
func normVersion(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	v = strings.TrimLeft(v, "0")
	if v == "" {
		v = "0"
	}
	return v, true
}

// versionLess orders digit strings numerically.
func versionLess(a, b string) bool {
	na, _ := normVersion(a)
	nb, _ := normVersion(b)
	if len(na) != len(nb) {
		return len(na) < len(nb)
	}
	return na < nb
}
