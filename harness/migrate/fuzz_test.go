package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLayouts are the layouts build accepts; "" detects.
var fuzzLayouts = append([]Layout{""}, Layouts...)

// FuzzBuild feeds two migration files (names and bodies) to the loader
// behind LoadDir and LoadGit, under every layout: it must never panic, and
// an error must name the folder or a file so the user knows where to look.
func FuzzBuild(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.sql")
	for i, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Base(p), string(b), "002_next.sql", "SELECT 1;\n", uint8(i))
	}
	f.Add("001_a.up.sql", "CREATE TABLE a (id int);\n", "001_a.down.sql", "DROP TABLE a;\n", uint8(1))
	f.Add("001_a.sql", "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n", "002_b.sql", "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;\n-- +goose StatementEnd\n", uint8(2))
	f.Add("20240101000000_a.sql", "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON a (id);\n-- migrate:down\nDROP INDEX i;\n", "x.sql", "", uint8(3))
	f.Fuzz(func(t *testing.T, name1, body1, name2, body2 string, layout uint8) {
		files := []sourceFile{{name: name1, path: "dir/" + name1, body: body1}}
		if name2 != name1 {
			files = append(files, sourceFile{name: name2, path: "dir/" + name2, body: body2})
		}
		set, err := build("dir", files, Options{Layout: fuzzLayouts[int(layout)%len(fuzzLayouts)]})
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, "dir") && !strings.Contains(msg, "layout") {
				t.Fatalf("error names neither the folder nor a file: %v", err)
			}
			return
		}
		for _, m := range set.Migrations {
			if m.Version == "" {
				t.Fatalf("migration without a version: %+v", m)
			}
		}
	})
}

// FuzzSplit: the statement splitter on any SQL never panics, and a syntax
// error names the file and a line.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"SELECT 1;\nSELECT 2;\n",
		"CREATE INDEX CONCURRENTLY i ON t (a);\n",
		"DO $$ BEGIN PERFORM 1; END $$;\n",
		"ALTER TABLE t ADD COLUMN;\n",
		"BEGIN;\nSELECT 'a;b';\nCOMMIT;\n",
		"-- only a comment\n",
		"SELECT E'\\xff';\n",
	} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, sql string, firstLine int) {
		if firstLine < 1 || firstLine > 1<<20 {
			firstLine = 1
		}
		stmts, _, err := split("f.sql", sql, firstLine)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.sql") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, st := range stmts {
			if st.Line < firstLine {
				t.Fatalf("statement line %d before the chunk's first line %d", st.Line, firstLine)
			}
		}
	})
}
