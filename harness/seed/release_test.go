package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompositeFKOverlap: a composite FOREIGN KEY that shares a column with
// a single-column one holds on every seeded row, whichever is declared
// first (the seeder loads with FK triggers off, so nothing else checks).
func TestCompositeFKOverlap(t *testing.T) {
	tests := []struct{ name, tasks string }{
		{"single first", `CREATE TABLE tasks (id serial PRIMARY KEY,
	tenant_id int NOT NULL REFERENCES tenants,
	project_id int NOT NULL,
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id))`},
		{"composite first", `CREATE TABLE tasks (id serial PRIMARY KEY,
	project_id int,
	tenant_id int NOT NULL,
	CONSTRAINT a_composite FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id),
	CONSTRAINT z_single FOREIGN KEY (tenant_id) REFERENCES tenants)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := schemaDB(t, `CREATE TABLE tenants (id int PRIMARY KEY, name text);
CREATE TABLE projects (tenant_id int NOT NULL REFERENCES tenants, id int NOT NULL, PRIMARY KEY (tenant_id, id));
`+tc.tasks)
			s := New(Options{Seed: 3, Rows: 80, Logger: testLogger()})
			res, err := s.Base(testCtx(t), dsn, take(t, dsn), nil)
			require.NoError(t, err)
			requireAllFilled(t, res, 1)
			assert.Positive(t, queryInt(t, dsn, `SELECT count(*) FROM tasks WHERE project_id IS NOT NULL`))
			assert.Zero(t, queryInt(t, dsn, `SELECT count(*) FROM tasks k WHERE project_id IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.tenant_id = k.tenant_id AND p.id = k.project_id)`), "rows violating the composite FK")
			assert.Zero(t, queryInt(t, dsn, `SELECT count(*) FROM tasks k WHERE NOT EXISTS (SELECT 1 FROM tenants n WHERE n.id = k.tenant_id)`), "rows violating the single FK")
		})
	}
}
