package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRolesBadFile: a bad --roles file stops `rehearse matrix` before any
// server starts, naming the file and line and what to do.
func TestRolesBadFile(t *testing.T) {
	migrations := map[string]string{"001_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY);\n", "001_t.down.sql": "DROP TABLE t;\n",
		"002_a.up.sql": "ALTER TABLE t ADD COLUMN a int;\n", "002_a.down.sql": "ALTER TABLE t DROP COLUMN a;\n"}
	tests := []struct {
		name, file, body string
		want             []string
	}{
		{"yaml typo", "roles.yaml", "roles:\n  - name: app\n    logn: true\n", []string{"--roles: ", "roles.yaml:2: role: field logn not found", "known keys: name, login"}},
		{"not a roles dump", "roles.sql", "CREATE ROLE app;\nCREATE TABLE t (id int);\n", []string{"--roles: ", "roles.sql:2: unexpected statement", "pg_dumpall --roles-only"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{tc.file: tc.body})
			text, code := runRoot(t, "matrix", "--migrations", writeFiles(t, migrations), "--from", "001", "--out", t.TempDir(),
				"--roles", filepath.Join(dir, tc.file), "--migrate-as", "app")
			assert.Equal(t, 2, code, text)
			for _, w := range tc.want {
				assert.Contains(t, text, w)
			}
		})
	}
}
