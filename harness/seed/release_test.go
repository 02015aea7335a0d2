package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
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

// TestNextInRelease: a step drops a CHECK; a later step of the same release
// adds a wider one. The step's N+1-era rows satisfy the release's end (no
// value the wider CHECK rejects) and still exploit what survives ('c').
// Without the release's end (Next), the rows break the later CHECK.
func TestNextInRelease(t *testing.T) {
	const base = `CREATE TABLE t (id serial PRIMARY KEY, status text NOT NULL CONSTRAINT t_status_check CHECK (status IN ('a', 'b')), note text);`
	const relax = `ALTER TABLE t DROP CONSTRAINT t_status_check;`
	const tighten = `ALTER TABLE t ADD CONSTRAINT t_status_check2 CHECK (status IN ('a', 'b', 'c')); ALTER TABLE t ALTER COLUMN note SET NOT NULL;`
	tests := []struct {
		name        string
		withEnd     bool
		wantRejects bool
	}{
		{"release end", true, false},
		{"step alone", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			dsn := schemaDB(t, base)
			s := New(Options{Seed: 5, Rows: 100, Logger: testLogger()})
			before := take(t, dsn)
			_, err := s.Base(ctx, dsn, before, nil)
			require.NoError(t, err)
			pgtest.Exec(t, dsn, relax)
			after := take(t, dsn)
			var end *schema.Snapshot
			if tc.withEnd {
				endDSN := schemaDB(t, base+relax+tighten)
				end = take(t, endDSN)
			}
			_, err = s.NextInRelease(ctx, dsn, "step2", before, after, end)
			require.NoError(t, err)
			next := `FROM t r WHERE ` + era.IsNextEra(after.Tables["public.t"], "r")
			require.Positive(t, queryInt(t, dsn, `SELECT count(*) `+next))
			rejected := queryInt(t, dsn, `SELECT count(*) `+next+` AND (status NOT IN ('a', 'b', 'c') OR note IS NULL)`)
			if tc.wantRejects {
				assert.Positive(t, rejected, "without the release's end the relaxation is exploited fully")
				return
			}
			assert.Zero(t, rejected, "rows the release's later CHECK / NOT NULL reject")
			assert.Positive(t, queryInt(t, dsn, `SELECT count(*) `+next+` AND status = 'c'`), "the surviving relaxation is exploited")
			// N-era rows may hold NULL notes (release N allowed them): only
			// the CHECK is re-run here.
			require.NoError(t, execErr(t, dsn, `ALTER TABLE t ADD CONSTRAINT t_status_check2 CHECK (status IN ('a', 'b', 'c'))`), "the later CHECK passes on the seeded rows")
		})
	}
}

// TestHintsDomainAndPin: a later cast declares a text column's domain for
// N-era rows; a profile pin on the column wins over it.
func TestHintsDomainAndPin(t *testing.T) {
	h := HintsFrom([]*migrate.Migration{{Version: "000015", Name: "cast", Up: &migrate.Script{File: "000015_cast.up.sql",
		Statements: []migrate.Statement{{SQL: "ALTER TABLE audit ALTER COLUMN details TYPE jsonb USING details::jsonb", Line: 1}}}}})
	pin, err := ParseProfile("p.yaml", []byte("tables:\n  audit:\n    columns:\n      details: {values: ['not json']}\n"))
	require.NoError(t, err)
	tests := []struct {
		name    string
		profile *Profile
		castOK  bool
		notes   int
	}{
		{"domain from the cast", nil, true, 1},
		{"profile pin wins", pin, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := schemaDB(t, `CREATE TABLE audit (id serial PRIMARY KEY, details text)`)
			res, err := New(Options{Seed: 2, Rows: 80, Hints: h, Profile: tc.profile, Logger: testLogger()}).Base(testCtx(t), dsn, take(t, dsn), nil)
			require.NoError(t, err)
			require.Len(t, res.Notes, tc.notes)
			if tc.notes > 0 {
				assert.Equal(t, "public.audit.details seeded as jsonb because 000015 casts it", res.Notes[0])
			}
			castErr := execErr(t, dsn, "ALTER TABLE audit ALTER COLUMN details TYPE jsonb USING details::jsonb")
			assert.Equal(t, tc.castOK, castErr == nil, "cast: %v", castErr)
		})
	}
}
