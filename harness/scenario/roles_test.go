package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/scenario"
)

// TestRolesSpec: spec.roles must load (its errors keep their own file:line)
// and spec.migrateAs must be one of its roles.
func TestRolesSpec(t *testing.T) {
	const roles = "roles:\n  - name: migrator\n    login: true\n  - name: app\n"
	tests := []struct {
		name, spec, roles string
		want              []string // "" = loads
	}{
		{"roles and migrateAs", "  roles: roles.yaml\n  migrateAs: migrator\n", roles, nil},
		{"missing roles file", "  roles: nowhere.yaml\n", "", []string{"s.yaml:17: spec.roles: read roles file: open"}},
		{"bad roles file", "  roles: roles.yaml\n", "roles:\n  - name: app\n    logn: true\n",
			[]string{"s.yaml:17: spec.roles: ", "roles.yaml:2: role: field logn not found"}},
		{"migrateAs not a production role", "  roles: roles.yaml\n  migrateAs: root\n", roles,
			[]string{`s.yaml:18: spec.migrateAs: role "root" is not in roles.yaml: add it there`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, valid+tc.spec)
			if tc.roles != "" {
				require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "roles.yaml"), []byte(tc.roles), 0o644))
			}
			s, err := scenario.Load(path)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "migrator", s.Spec.MigrateAs)
				assert.Equal(t, "roles.yaml", s.Spec.Roles)
				return
			}
			require.Error(t, err)
			msg := strings.ReplaceAll(err.Error(), path, "s.yaml")
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

// TestSearchPathSpec: spec.searchPath loads as given; a name the options
// string cannot carry is refused at its line.
func TestSearchPathSpec(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []string // nil = loads
	}{
		{"app schema first", "  searchPath: app,public\n", nil},
		{"blank in a name", "  searchPath: \"my app\"\n", []string{`s.yaml:17: spec.searchPath: search path "my app": schema name "my app" holds a blank`}},
		{"empty name", "  searchPath: app,,public\n", []string{"s.yaml:17: spec.searchPath: ", "empty schema name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, valid+tc.spec)
			s, err := scenario.Load(path)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "app,public", s.Spec.SearchPath)
				return
			}
			require.Error(t, err)
			msg := strings.ReplaceAll(err.Error(), path, "s.yaml")
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}
