package rehearsal

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rehearse-dev/rehearse/harness/scenario"
)

// TestRolesReachTheMatrix: spec.roles (relative to the scenario file) and
// spec.migrateAs reach the matrix; --roles and --migrate-as override them.
func TestRolesReachTheMatrix(t *testing.T) {
	s := &scenario.Scenario{Dir: "/scenarios", Spec: scenario.Spec{Roles: "prod-roles.sql", MigrateAs: "migrator"}}
	tests := []struct {
		name            string
		o               RunOptions
		roles, migrator string
	}{
		{"from the scenario", RunOptions{}, filepath.Join("/scenarios", "prod-roles.sql"), "migrator"},
		{"flags override", RunOptions{Roles: "/tmp/r.yaml", MigrateAs: "deployer"}, "/tmp/r.yaml", "deployer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := matrixOptionsFor(s, tc.o)
			assert.Equal(t, tc.roles, m.Roles)
			assert.Equal(t, tc.migrator, m.MigrateAs)
		})
	}
}
