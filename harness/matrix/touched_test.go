package matrix_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// touchedBase: a statement trigger on t rewrites every row of audit, so a
// migration that names only t changes audit's data.
const touchedBase = `CREATE TABLE t (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE audit (id serial PRIMARY KEY, note text NOT NULL);
CREATE TABLE other (id serial PRIMARY KEY, v text);
CREATE FUNCTION t_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE audit SET note = note || '!'; RETURN NULL; END $$;
CREATE TRIGGER t_audit AFTER UPDATE ON t FOR EACH STATEMENT EXECUTE FUNCTION t_audit();
`

// TestFingerprintsOnlyWhereTouched: fingerprints are taken again only for
// the tables a step can have changed, measured whoever named them. A
// trigger on t that writes audit (never named by the migrations) makes
// audit fingerprinted again, and the change it made is found: the down's
// trigger breaks N-era data (nEraKept fails on audit), the up's trigger
// makes the up a data change. A step that changes no data (an index)
// reuses every fingerprint, and its checks still pass.
func TestFingerprintsOnlyWhereTouched(t *testing.T) {
	set := writeFileSet(t, map[string]string{
		"000001_base.up.sql":           touchedBase,
		"000001_base.down.sql":         "DROP TABLE t, audit, other;\nDROP FUNCTION t_audit();\n",
		"000002_down_fires.up.sql":     "ALTER TABLE t ADD COLUMN c text;\n",
		"000002_down_fires.down.sql":   "UPDATE t SET name = name WHERE false;\nALTER TABLE t DROP COLUMN c;\n",
		"000003_up_fires.up.sql":       "UPDATE t SET name = name WHERE false;\n",
		"000003_up_fires.down.sql":     "SELECT 1;\n",
		"000004_index_only.up.sql":     "CREATE INDEX other_v ON other (v);\n",
		"000004_index_only.down.sql":   "DROP INDEX other_v;\n",
		"000005_insert_other.up.sql":   "INSERT INTO other (v) VALUES ('x');\n",
		"000005_insert_other.down.sql": "DELETE FROM other WHERE v = 'x';\n",
	})
	rep := runGrouped(t, set, "000001", "000005", matrix.GroupingPerMigration, nil, seed.Options{})

	fingerprinted := func(c matrix.TableCounts) []string {
		var out []string
		for _, s := range c.Tables {
			out = append(out, strings.SplitN(s, ":", 2)[0])
		}
		return out
	}
	tests := []struct {
		migration string
		// Tables fingerprinted again after the up and after the down.
		afterUp, afterDown []string
		nEraKept           matrix.Status
		nEraKeptNames      string
		class              string
	}{
		{"000002", []string{"public.t"}, []string{"public.audit", "public.t"}, matrix.StatusFail, "public.audit", schema.ClassAddColumn},
		{"000003", []string{"public.audit"}, nil, matrix.StatusFail, "public.audit", schema.ClassBackfill},
		{"000004", nil, nil, matrix.StatusOK, "", ""},
		{"000005", []string{"public.other"}, []string{"public.other"}, matrix.StatusOK, "", schema.ClassBackfill},
	}
	for _, tc := range tests {
		t.Run(tc.migration, func(t *testing.T) {
			r := result(t, rep, tc.migration)
			fp := r.Fingerprints
			assert.Equal(t, tc.afterUp, fingerprinted(fp.AfterUp), "after up: %v", fp.AfterUp.Tables)
			assert.Equal(t, tc.afterDown, fingerprinted(fp.AfterDown), "after down: %v", fp.AfterDown.Tables)
			assert.Equal(t, 3, fp.AfterUp.Fingerprinted+fp.AfterUp.Reused)
			assert.Equal(t, 3, fp.State.Fingerprinted+fp.State.Reused)
			require.Equal(t, tc.nEraKept, r.Checks.NEraKept.Status, describe(r))
			if tc.nEraKeptNames != "" {
				assert.Contains(t, r.Checks.NEraKept.Detail, tc.nEraKeptNames, describe(r))
			}
			if tc.class != "" {
				assert.Equal(t, tc.class, r.Class, describe(r))
			}
			// Measured, not a guess from "UPDATE ... WHERE false".
			for _, n := range r.Checks.Up.Notes {
				assert.NotContains(t, n, "changed no row of the seeded data", describe(r))
			}
		})
	}
	// The index step wrote nothing: every fingerprint reused.
	r4 := result(t, rep, "000004").Fingerprints
	assert.Equal(t, matrix.TableCounts{Reused: 3}, r4.AfterUp)
	assert.Equal(t, matrix.TableCounts{Reused: 3}, r4.AfterDown)
}
