package matrix_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// mig is one migration of a fixture written by writeSet.
type mig struct{ name, up, down string }

// writeSet writes migs as golang-migrate files (000001_name.up.sql, ...)
// into a temporary folder and loads them; a mig without down has no down
// file.
func writeSet(t *testing.T, migs []mig) *migrate.Set {
	t.Helper()
	dir := t.TempDir()
	for i, m := range migs {
		base := filepath.Join(dir, fmt.Sprintf("%06d_%s", i+1, m.name))
		require.NoError(t, os.WriteFile(base+".up.sql", []byte(m.up), 0o644))
		if m.down != "" {
			require.NoError(t, os.WriteFile(base+".down.sql", []byte(m.down), 0o644))
		}
	}
	set, err := migrate.LoadDir(dir, migrate.Options{})
	require.NoError(t, err)
	return set
}

// result is the row of the migration named or versioned key.
func result(t *testing.T, rep *matrix.Report, key string) matrix.MigrationResult {
	t.Helper()
	for _, r := range rep.Results {
		if r.Name == key || r.Version == key {
			return r
		}
	}
	require.Failf(t, "no result", "migration %s not in the report", key)
	return matrix.MigrationResult{}
}

const itemsBase = `CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name varchar(20) NOT NULL,
    status text NOT NULL,
    qty integer NOT NULL DEFAULT 0
);`

// TestGuardIsNotBroken: an up whose own RAISE EXCEPTION rejects the seeded
// data is a guard (up warn, verdict from the other checks), while the same
// guard rejecting an empty schema, or a plain SQL error on data, is broken.
func TestGuardIsNotBroken(t *testing.T) {
	guard := `DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM items WHERE status NOT IN ('new', 'done')) THEN
        RAISE EXCEPTION 'items.status has values other than new/done: clean them first';
    END IF;
END $$;
ALTER TABLE items ADD CONSTRAINT items_status_check CHECK (status IN ('new', 'done'));`
	tests := []struct {
		name, up    string
		wantUp      matrix.Status
		wantVerdict matrix.Verdict
		wantText    string
	}{
		{"guard on data", guard, matrix.StatusWarn, matrix.VerdictRevertible, "items.status has values other than new/done"},
		{"guard on an empty schema too", `DO $$ BEGIN RAISE EXCEPTION 'never'; END $$;`, matrix.StatusFail, matrix.VerdictBroken, "never"},
		{"SQL error on data", `ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE (name);`, matrix.StatusFail, matrix.VerdictBroken, "23505"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := writeSet(t, []mig{
				{"base", itemsBase, "DROP TABLE items;"},
				{"guarded", tc.up, "ALTER TABLE items DROP CONSTRAINT IF EXISTS items_status_check; ALTER TABLE items DROP CONSTRAINT IF EXISTS items_name_key;"},
			})
			rep := runMatrix(t, set, "000001", "000002", "", "")
			res := result(t, rep, "guarded")
			ctx := describe(res)
			assert.Equal(t, tc.wantUp, res.Checks.Up.Status, ctx)
			assert.Equal(t, tc.wantVerdict, res.Verdict, ctx)
			assert.Contains(t, res.Checks.Up.Error+" "+res.Checks.Up.SQLState, tc.wantText, ctx)
			if tc.wantUp == matrix.StatusWarn {
				assert.Contains(t, strings.Join(res.Checks.Up.Notes, "\n"), "items.status", "the note names the column to pin\n%s", ctx)
				assert.Contains(t, strings.Join(res.Reasons, "\n"), "guard", ctx)
				assert.Equal(t, matrix.StatusOK, res.Checks.DownPristine.Status, ctx)
			}
		})
	}
}

// TestNoBlankMatrix: after an up fails on data, the five later migrations
// are all measured: pristine checks on the pristine chain, data checks on
// a data chain re-seeded from the schema after the failing up, with a note.
func TestNoBlankMatrix(t *testing.T) {
	migs := []mig{
		{"base", itemsBase, "DROP TABLE items;"},
		{"unique_name", "ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE (name);", "ALTER TABLE items DROP CONSTRAINT items_name_key;"},
	}
	for i := 1; i <= 5; i++ {
		migs = append(migs, mig{fmt.Sprintf("add_c%d", i), fmt.Sprintf("ALTER TABLE items ADD COLUMN c%d text;", i), fmt.Sprintf("ALTER TABLE items DROP COLUMN c%d;", i)})
	}
	set := writeSet(t, migs)
	rep := runMatrix(t, set, "000001", "000007", "", "")
	failed := result(t, rep, "unique_name")
	assert.Equal(t, matrix.VerdictBroken, failed.Verdict, describe(failed))
	assert.Equal(t, matrix.StatusOK, failed.Checks.DownPristine.Status, "pristine checks of the failing migration still run\n%s", describe(failed))
	for i := 1; i <= 5; i++ {
		res := result(t, rep, fmt.Sprintf("add_c%d", i))
		ctx := describe(res)
		assert.NotEqual(t, matrix.VerdictNotReached, res.Verdict, ctx)
		for _, name := range []string{matrix.CheckUp, matrix.CheckDownPristine, matrix.CheckSchemaRestored, matrix.CheckRoundTrip, matrix.CheckDownOnData, matrix.CheckNEraKept} {
			assert.Equal(t, matrix.StatusOK, res.Checks.Get(name).Status, "%s\n%s", name, ctx)
		}
		assert.Equal(t, matrix.StatusWarn, res.Checks.NextEraLoss.Status, "the down drops a column N+1 wrote into\n%s", ctx)
		assert.Contains(t, strings.Join(res.Reasons, "\n"), "data chain re-seeded after 000002_unique_name's up failed on data", ctx)
		assert.Contains(t, strings.Join(res.Checks.Up.Notes, "\n"), "re-seeded", ctx)
	}
	reseeded := false
	for _, s := range rep.Seeding {
		if strings.Contains(s.After, "re-seeded after 000002_unique_name") && s.Rows > 0 {
			reseeded = true
		}
	}
	assert.True(t, reseeded, "the seeding section says the chain was re-seeded: %+v", rep.Seeding)
}

// TestContractOnReseededChain: the contract probes address release N's rows
// by key; a data chain re-seeded after a failing up holds other rows, so a
// probe finding no row there is not judged (it was a false "break" on a
// real project), while the migrations after it are still probed.
func TestContractOnReseededChain(t *testing.T) {
	set := writeSet(t, []mig{
		{"base", `CREATE TABLE items (id uuid PRIMARY KEY, name varchar(20) NOT NULL, qty integer NOT NULL DEFAULT 0);`, "DROP TABLE items;"},
		{"unique_name", "ALTER TABLE items ADD COLUMN note text; ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE (name);",
			"ALTER TABLE items DROP CONSTRAINT items_name_key; ALTER TABLE items DROP COLUMN note;"},
		{"add_c1", "ALTER TABLE items ADD COLUMN c1 text;", "ALTER TABLE items DROP COLUMN c1;"},
	})
	rep := runMatrix(t, set, "000001", "000003", "", "")
	failed := result(t, rep, "unique_name")
	require.Equal(t, matrix.VerdictBroken, failed.Verdict, describe(failed))
	for _, name := range []string{"unique_name", "add_c1"} {
		res := result(t, rep, name)
		c := res.Checks.Contract
		assert.NotEqual(t, matrix.StatusFail, c.Status, "%s\n%s", c.Detail, describe(res))
	}
	assert.Contains(t, strings.Join(failed.Checks.Contract.Notes, "\n"), "which the data chain re-seeded", describe(failed))
}

// TestNotReachedOnlyWhenNoStateExists: an up failing on an empty schema too
// leaves no later state: later migrations are not-reached.
func TestNotReachedOnlyWhenNoStateExists(t *testing.T) {
	set := writeSet(t, []mig{
		{"base", itemsBase, "DROP TABLE items;"},
		{"bad_sql", "ALTER TABLE nope ADD COLUMN x int;", "SELECT 1;"},
		{"after", "ALTER TABLE items ADD COLUMN c text;", "ALTER TABLE items DROP COLUMN c;"},
	})
	rep := runMatrix(t, set, "000001", "000003", "", "")
	assert.Equal(t, matrix.VerdictBroken, result(t, rep, "bad_sql").Verdict)
	assert.Equal(t, matrix.VerdictNotReached, result(t, rep, "after").Verdict)
}

// TestRolesArePartOfTheState: a role created by an up does not fail on the
// data chain because the pristine chain created it first, and a down that
// forgets DROP ROLE is caught by schemaRestored.
func TestRolesArePartOfTheState(t *testing.T) {
	const grant = "CREATE ROLE app_reader;\nGRANT SELECT ON items TO app_reader;\nGRANT UPDATE (status) ON items TO app_reader;"
	tests := []struct {
		name, up, down string
		wantVerdict    matrix.Verdict
		wantRestored   matrix.Status
		wantRoundTrip  matrix.Status
		wantRestoreErr string
	}{
		{"down drops the role", "CREATE ROLE app_reader;", "DROP ROLE app_reader;", matrix.VerdictRevertible, matrix.StatusOK, matrix.StatusOK, ""},
		{"down forgets DROP ROLE", "CREATE ROLE app_reader;", "SELECT 1;", matrix.VerdictRestoreOnly, matrix.StatusFail, matrix.StatusFail, "role app_reader still exists"},
		// Grants make every clone of a state depend on the role: the down's
		// DROP ROLE must still work on each.
		{"granted role dropped", grant, "REVOKE ALL ON items FROM app_reader;\nDROP ROLE app_reader;", matrix.VerdictRevertible, matrix.StatusOK, matrix.StatusOK, ""},
		{"granted role kept", grant, "REVOKE ALL ON items FROM app_reader;", matrix.VerdictRestoreOnly, matrix.StatusFail, matrix.StatusFail, "role app_reader still exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := writeSet(t, []mig{
				{"base", itemsBase, "DROP TABLE items;"},
				{"create_role", tc.up, tc.down},
				{"after", "ALTER TABLE items ADD COLUMN c text;", "ALTER TABLE items DROP COLUMN c;"},
			})
			rep := runMatrix(t, set, "000001", "000003", "", "")
			res := result(t, rep, "create_role")
			ctx := describe(res)
			assert.Equal(t, matrix.StatusOK, res.Checks.Up.Status, "no false failure on the data chain\n%s", ctx)
			assert.NotContains(t, strings.Join(res.Checks.Up.Notes, "\n"), "passes on an empty schema", ctx)
			assert.Equal(t, tc.wantVerdict, res.Verdict, ctx)
			assert.Equal(t, matrix.StatusOK, res.Checks.DownOnData.Status, ctx)
			assert.Equal(t, tc.wantRestored, res.Checks.SchemaRestored.Status, ctx)
			assert.Equal(t, tc.wantRoundTrip, res.Checks.RoundTrip.Status, ctx)
			if tc.wantRestoreErr != "" {
				assert.Contains(t, res.Checks.SchemaRestored.Error, tc.wantRestoreErr, ctx)
			}
			after := result(t, rep, "after")
			assert.Equal(t, matrix.StatusOK, after.Checks.Up.Status, describe(after))
			assert.Equal(t, matrix.StatusOK, after.Checks.DownOnData.Status, describe(after))
		})
	}
	// The run cleaned up after itself: no app_reader left on the server.
	conn := adminConn(t)
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_roles WHERE rolname = 'app_reader'").Scan(&n))
	assert.Zero(t, n, "the run's roles are dropped at the end")
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'm\_testroles%'`).Scan(&n))
	assert.Zero(t, n, "the roles moved out of the way are dropped too")
}

// TestNoEvidenceIsNotSafe: with old-code probes that all fail on release
// N's own state, no migration is safe; oldCode is skipped with the reason
// and the failures are reported once, at run level.
func TestNoEvidenceIsNotSafe(t *testing.T) {
	tests := []struct{ name, probes string }{
		{"probes of another schema", "SELECT id FROM no_such_table;\nSELECT missing_column FROM items;\n"},
		{"junk", "this is not sql;\nneither is this;\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := writeSet(t, []mig{
				{"base", itemsBase, "DROP TABLE items;"},
				{"add_note", "ALTER TABLE items ADD COLUMN note text;", "ALTER TABLE items DROP COLUMN note;"},
			})
			file := filepath.Join(t.TempDir(), "old.sql")
			require.NoError(t, os.WriteFile(file, []byte(tc.probes), 0o644))
			rep := runMatrix(t, set, "000001", "000002", file, "")
			res := result(t, rep, "add_note")
			ctx := describe(res)
			assert.NotEqual(t, matrix.VerdictSafe, res.Verdict, ctx)
			assert.Equal(t, matrix.StatusSkip, res.Checks.OldCode.Status, ctx)
			assert.Contains(t, res.Checks.OldCode.Error, "none of the 2 probes passes on release N's own state: no evidence", ctx)
			require.Len(t, rep.Baseline, 2)
			for _, b := range rep.Baseline {
				assert.Equal(t, matrix.BaselineProbe, b.Kind)
				assert.NotEmpty(t, b.Error)
			}
		})
	}
}

// TestBaselineBoot: with --bookkeeping rerun-at-boot, a release whose boot
// already fails on its own schema is one release-level finding and no
// migration is blamed; a boot that first fails after a migration is blamed
// on it, and the next one says "already broken by".
func TestBaselineBoot(t *testing.T) {
	t.Run("non-rerunnable baseline", func(t *testing.T) {
		set := writeSet(t, []mig{
			{"base", itemsBase, "DROP TABLE items;"},
			{"add_note", "ALTER TABLE items ADD COLUMN note text;", "ALTER TABLE items DROP COLUMN note;"},
			{"add_tag", "ALTER TABLE items ADD COLUMN tag text;", "ALTER TABLE items DROP COLUMN tag;"},
		})
		rep := runMatrix(t, set, "000001", "000003", "", "rerun-at-boot")
		require.Len(t, rep.Baseline, 1, "%+v", rep.Baseline)
		b := rep.Baseline[0]
		assert.Equal(t, matrix.BaselineBoot, b.Kind)
		assert.Equal(t, "schema+data", b.State)
		assert.Contains(t, b.Message, "release N cannot restart on its own schema")
		assert.Contains(t, b.Error, "already exists")
		for _, res := range rep.Results {
			assert.NotEqual(t, matrix.StatusFail, res.Checks.OldCode.Status, "no migration is blamed\n%s", describe(res))
			assert.NotEqual(t, matrix.VerdictSafe, res.Verdict, "a failing boot is no evidence\n%s", describe(res))
		}
	})
	t.Run("first failure blamed once", func(t *testing.T) {
		set := writeSet(t, []mig{
			{"base", "CREATE TABLE IF NOT EXISTS items (id bigserial PRIMARY KEY, code text NOT NULL);\nCREATE UNIQUE INDEX IF NOT EXISTS items_code_key ON items (code);", "DROP TABLE items;"},
			{"drop_unique", "DROP INDEX items_code_key;", "CREATE UNIQUE INDEX items_code_key ON items (code);"},
			{"add_note", "ALTER TABLE items ADD COLUMN note text;", "ALTER TABLE items DROP COLUMN note;"},
		})
		rep := runMatrix(t, set, "000001", "000003", "", "none")
		assert.Empty(t, rep.Baseline)
		first := result(t, rep, "drop_unique")
		assert.Equal(t, matrix.StatusFail, first.Checks.OldCode.Status, describe(first))
		later := result(t, rep, "add_note")
		assert.NotEqual(t, matrix.StatusFail, later.Checks.OldCode.Status, describe(later))
		assert.Contains(t, strings.Join(later.Checks.OldCode.Notes, "\n"), "already broken by 000002_drop_unique", describe(later))
	})
}

func adminConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgtest.AdminDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// A down that does not re-attach the partition its up detached leaves the
// parent without those rows: schemaRestored says so.
func TestPartitionDetach(t *testing.T) {
	base := `CREATE TABLE events (id bigint NOT NULL, day int NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE events_a PARTITION OF events FOR VALUES FROM (0) TO (50);
CREATE TABLE events_b PARTITION OF events FOR VALUES FROM (50) TO (100);`
	for _, tt := range []struct {
		name, down string
		restored   matrix.Status
	}{
		{"re-attached", "ALTER TABLE events ATTACH PARTITION events_b FOR VALUES FROM (50) TO (100);", matrix.StatusOK},
		{"forgotten", "SELECT 1;", matrix.StatusFail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := writeSet(t, []mig{
				{"events", base, "DROP TABLE events;"},
				{"detach", "ALTER TABLE events DETACH PARTITION events_b;", tt.down},
			})
			r := result(t, runGrouped(t, set, "000001", "000002", "", nil, seed.Options{}), "000002")
			assert.Equal(t, tt.restored, r.Checks.SchemaRestored.Status, describe(r))
			assert.Equal(t, tt.restored, r.Checks.NEraKept.Status, "the parent's rows come back with the partition\n%s", describe(r))
		})
	}
}
