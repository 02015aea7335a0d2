package matrix_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// writeFileSet writes golang-migrate files (name -> SQL) and loads them.
func writeFileSet(t *testing.T, files map[string]string) *migrate.Set {
	t.Helper()
	dir := t.TempDir()
	for name, sql := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644))
	}
	set, err := migrate.LoadDir(dir, migrate.Options{})
	require.NoError(t, err)
	return set
}

// runGrouped runs the matrix over set from..to with a release grouping.
func runGrouped(t *testing.T, set *migrate.Set, from, to, grouping string, releases []matrix.ReleaseBound, opts seed.Options) *matrix.Report {
	t.Helper()
	bk, err := migrate.BookkeepingFor(string(set.Layout))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if opts.Rows == 0 {
		opts.Seed, opts.Rows = 1, 60
	}
	rep, err := matrix.Run(ctx, matrix.Config{
		AdminDSN:        pgtest.AdminDSN(t),
		Prefix:          "m_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(t.Name())),
		Set:             set,
		From:            from,
		To:              to,
		Bookkeeping:     bk,
		Releases:        releases,
		ReleaseGrouping: grouping,
		Seeder:          seed.New(opts),
		Parallel:        2,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return rep
}

// TestReleaseEndConstraints: step 2 drops a CHECK, step 3 of the same
// release adds a wider one. Rows written after step 2 are what the release's
// code writes, so they satisfy step 3's CHECK: its up passes (no false
// broken) and its down works on data. Each migration as its own release
// exploits step 2's relaxation fully, and step 3's up fails.
func TestReleaseEndConstraints(t *testing.T) {
	set := writeFileSet(t, map[string]string{
		"000001_t.up.sql":         "CREATE TABLE t (id serial PRIMARY KEY, status text NOT NULL CONSTRAINT t_status_check CHECK (status IN ('a', 'b')));\n",
		"000001_t.down.sql":       "DROP TABLE t;\n",
		"000002_relax.up.sql":     "ALTER TABLE t DROP CONSTRAINT t_status_check;\n",
		"000002_relax.down.sql":   "ALTER TABLE t ADD CONSTRAINT t_status_check CHECK (status IN ('a', 'b'));\n",
		"000003_tighten.up.sql":   "ALTER TABLE t ADD CONSTRAINT t_status_check2 CHECK (status IN ('a', 'b', 'c'));\n",
		"000003_tighten.down.sql": "ALTER TABLE t DROP CONSTRAINT t_status_check2;\n",
	})
	tests := []struct {
		grouping   string
		up3        matrix.Status
		downOnData matrix.Status
		verdict3   matrix.Verdict
		groups     int
	}{
		{matrix.GroupingWindow, matrix.StatusOK, matrix.StatusOK, "", 1},
		{matrix.GroupingPerMigration, matrix.StatusFail, matrix.StatusSkip, matrix.VerdictBroken, 2},
	}
	for _, tc := range tests {
		t.Run(tc.grouping, func(t *testing.T) {
			rep := runGrouped(t, set, "000001", "000003", tc.grouping, nil, seed.Options{})
			require.NotNil(t, rep.Releases)
			assert.Equal(t, tc.grouping, rep.Releases.Grouping)
			assert.Len(t, rep.Releases.Groups, tc.groups)
			r3 := result(t, rep, "000003")
			assert.Equal(t, tc.up3, r3.Checks.Up.Status, describe(r3))
			assert.Equal(t, tc.downOnData, r3.Checks.DownOnData.Status, describe(r3))
			if tc.verdict3 != "" {
				assert.Equal(t, tc.verdict3, r3.Verdict, describe(r3))
			} else {
				assert.NotEqual(t, matrix.VerdictBroken, r3.Verdict, describe(r3))
				// The relaxation that survives ('c') is still exploited:
				// step 2's down cannot restore the narrower CHECK.
				r2 := result(t, rep, "000002")
				assert.Equal(t, matrix.StatusFail, r2.Checks.DownOnData.Status, describe(r2))
				assert.Contains(t, r2.Checks.DownOnData.Error, "t_status_check")
			}
		})
	}
}

// TestOlderReleaseData: release A adds column c (on an existing table and
// on a table it creates), release B drops both; their downs re-add the
// columns empty. The values were written before release B shipped, so
// B's nEraKept fails naming the column. With the window as one release
// u's rows are the release's own (new data), so u.d is not named.
func TestOlderReleaseData(t *testing.T) {
	set := writeFileSet(t, map[string]string{
		"000001_t.up.sql":           "CREATE TABLE t (id serial PRIMARY KEY, name text NOT NULL);\n",
		"000001_t.down.sql":         "DROP TABLE t;\n",
		"000002_add_c.up.sql":       "ALTER TABLE t ADD COLUMN c text;\nCREATE TABLE u (id serial PRIMARY KEY, d text);\n",
		"000002_add_c.down.sql":     "DROP TABLE u;\nALTER TABLE t DROP COLUMN c;\n",
		"000003_drop_c.up.sql":      "ALTER TABLE t DROP COLUMN c;\nALTER TABLE u DROP COLUMN d;\n",
		"000003_drop_c.down.sql":    "ALTER TABLE t ADD COLUMN c text;\nALTER TABLE u ADD COLUMN d text;\n",
		"000004_unrelated.up.sql":   "CREATE INDEX t_name ON t (name);\n",
		"000004_unrelated.down.sql": "DROP INDEX t_name;\n",
	})
	releases := []matrix.ReleaseBound{{Name: "1.0", Last: "000001"}, {Name: "A", Last: "000002"}, {Name: "B", Last: "000004"}}
	tests := []struct {
		name     string
		grouping string
		kept     matrix.Status
	}{
		{"releases.yaml", matrix.GroupingReleasesFile, matrix.StatusFail},
		{"window", matrix.GroupingWindow, matrix.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := runGrouped(t, set, "000001", "000004", tc.grouping, releases, seed.Options{})
			r3 := result(t, rep, "000003")
			if tc.grouping == matrix.GroupingReleasesFile {
				require.Len(t, rep.Releases.Groups, 2)
				assert.Equal(t, []string{"000003_drop_c", "000004_unrelated"}, rep.Releases.Groups[1].Migrations)
				assert.Equal(t, matrix.StatusFail, r3.Checks.NEraKept.Status, describe(r3))
				assert.Contains(t, r3.Checks.NEraKept.Error, "older than release B")
				assert.Contains(t, r3.Checks.NEraKept.Detail, "public.u.d")
				assert.Contains(t, r3.Checks.NEraKept.Detail, "public.t.c")
				assert.Equal(t, matrix.VerdictRestoreOnly, r3.Verdict, describe(r3))
				return
			}
			// u's rows are all the window's own: its column d is new data.
			assert.NotContains(t, r3.Checks.NEraKept.Error+r3.Checks.NEraKept.Detail, "public.u.d", describe(r3))
		})
	}
}

// TestFKDropNotNull: N+1 makes a FOREIGN KEY column nullable; its rows get
// NULLs like any other column's, so a down that sets NOT NULL again fails
// on data.
func TestFKDropNotNull(t *testing.T) {
	set := writeFileSet(t, map[string]string{
		"000001_t.up.sql":          "CREATE TABLE parent (id serial PRIMARY KEY, name text);\nCREATE TABLE child (id serial PRIMARY KEY, parent_id int NOT NULL REFERENCES parent);\n",
		"000001_t.down.sql":        "DROP TABLE child;\nDROP TABLE parent;\n",
		"000002_nullable.up.sql":   "ALTER TABLE child ALTER COLUMN parent_id DROP NOT NULL;\n",
		"000002_nullable.down.sql": "ALTER TABLE child ALTER COLUMN parent_id SET NOT NULL;\n",
	})
	rep := runGrouped(t, set, "000001", "000002", "", nil, seed.Options{})
	r := result(t, rep, "000002")
	assert.Equal(t, matrix.StatusFail, r.Checks.DownOnData.Status, describe(r))
	assert.Equal(t, "23502", r.Checks.DownOnData.SQLState, describe(r))
	assert.Equal(t, matrix.VerdictRestoreOnly, r.Verdict, describe(r))
}

// TestDataMigrationWhere: a data migration deletes the rows its WHERE
// selects and its down cannot bring them back. The seeder writes rows the
// WHERE selects, so the loss is measured; without them (a WHERE no seeded
// row can match) the cell says "not rehearsed on matching data" instead of
// "data intact".
func TestDataMigrationWhere(t *testing.T) {
	tests := []struct {
		name  string
		where string
		check string
		kept  matrix.Status
	}{
		{"stale rows seeded", "status = 'stale'", "CHECK (status <> '')", matrix.StatusFail},
		{"no seeded row can match", "status = 'stale'", "CHECK (status IN ('new', 'done'))", matrix.StatusWarn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := writeFileSet(t, map[string]string{
				"000001_t.up.sql":       "CREATE TABLE t (id serial PRIMARY KEY, status text NOT NULL " + tc.check + ");\n",
				"000001_t.down.sql":     "DROP TABLE t;\n",
				"000002_purge.up.sql":   "DELETE FROM t WHERE " + tc.where + ";\n",
				"000002_purge.down.sql": "-- the deleted rows cannot come back\n",
			})
			_, window, err := set.Range("000001", "000002")
			require.NoError(t, err)
			rep := runGrouped(t, set, "000001", "000002", "", nil, seed.Options{Seed: 1, Rows: 60, Hints: seed.HintsFrom(window)})
			r := result(t, rep, "000002")
			assert.Equal(t, tc.kept, r.Checks.NEraKept.Status, describe(r))
			if tc.kept == matrix.StatusFail {
				assert.Contains(t, r.Checks.NEraKept.Error, "public.t", describe(r))
				assert.Equal(t, matrix.VerdictRestoreOnly, r.Verdict, describe(r))
				return
			}
			assert.Contains(t, r.Checks.NEraKept.Error, "not rehearsed on matching data", describe(r))
			assert.Contains(t, r.Checks.NEraKept.Error, "000002_purge.up.sql:1", describe(r))
			assert.NotContains(t, strings.Join(r.Reasons, "; "), "data intact")
		})
	}
}

// TestLaterCastDomain: a text column a later migration casts to jsonb (or
// int) is seeded with values of that type, N-era rows included, so the
// cast passes on seeded data, and the report says why.
func TestLaterCastDomain(t *testing.T) {
	tests := []struct{ col, typ, using string }{
		{"text", "jsonb", "details::jsonb"},
		{"text", "integer", "details::integer"},
		{"text", "uuid", "details::uuid"},
		{"character(6)", "integer", "details::integer"}, // a real project's film_length
	}
	for _, tc := range tests {
		t.Run(tc.col+" to "+tc.typ, func(t *testing.T) {
			set := writeFileSet(t, map[string]string{
				"000001_t.up.sql":      "CREATE TABLE audit (id serial PRIMARY KEY, details " + tc.col + ");\n",
				"000001_t.down.sql":    "DROP TABLE audit;\n",
				"000002_cast.up.sql":   "ALTER TABLE audit ALTER COLUMN details TYPE " + tc.typ + " USING " + tc.using + ";\n",
				"000002_cast.down.sql": "ALTER TABLE audit ALTER COLUMN details TYPE " + tc.col + ";\n",
			})
			_, window, err := set.Range("000001", "000002")
			require.NoError(t, err)
			for _, hints := range []*seed.Hints{seed.HintsFrom(window), nil} {
				rep := runGrouped(t, set, "000001", "000002", "", nil, seed.Options{Seed: 1, Rows: 60, Hints: hints})
				r := result(t, rep, "000002")
				if hints == nil {
					// Without the hint the column holds text: the cast fails,
					// which is what the hint is for.
					assert.Equal(t, matrix.StatusFail, r.Checks.Up.Status, describe(r))
					continue
				}
				assert.Equal(t, matrix.StatusOK, r.Checks.Up.Status, describe(r))
				assert.Equal(t, matrix.StatusOK, r.Checks.DownOnData.Status, describe(r))
				require.NotEmpty(t, rep.SeedingNotes)
				assert.Contains(t, rep.SeedingNotes[0], "public.audit.details seeded as ")
				assert.Contains(t, rep.SeedingNotes[0], "because 000002 casts it")
			}
		})
	}
}

// TestReleasesBadInput: a releases.yaml release ending at a version the
// folder does not have is an error that names the release and the fix.
func TestReleasesBadInput(t *testing.T) {
	set := writeFileSet(t, map[string]string{
		"000001_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY);\n", "000001_t.down.sql": "DROP TABLE t;\n",
		"000002_a.up.sql": "ALTER TABLE t ADD COLUMN a int;\n", "000002_a.down.sql": "ALTER TABLE t DROP COLUMN a;\n",
	})
	tests := []struct {
		name     string
		grouping string
		releases []matrix.ReleaseBound
		want     string
	}{
		{"unknown last", "", []matrix.ReleaseBound{{Name: "2.0", Last: "000009"}}, `release "2.0" ends at version 000009, which is not a migration`},
		{"unknown grouping", "by-moon", nil, `unknown release grouping "by-moon"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := matrix.Run(context.Background(), matrix.Config{
				AdminDSN: "postgres://unused", Set: set, From: "000001", To: "000002",
				Releases: tc.releases, ReleaseGrouping: tc.grouping, Seeder: seed.New(seed.Options{}),
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestSeedingUpdateSkipsUserTriggers: the seeder fills a new column on
// existing rows with an UPDATE; the app's BEFORE UPDATE trigger
// (updated_at = now()) must not move N-era values, or a plain DROP COLUMN
// down would be blamed for changing them.
func TestSeedingUpdateSkipsUserTriggers(t *testing.T) {
	set := writeFileSet(t, map[string]string{
		"000001_users.up.sql": `CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = clock_timestamp(); RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
`,
		"000001_users.down.sql":   "DROP TABLE users;\nDROP FUNCTION touch();\n",
		"000002_add_bio.up.sql":   "ALTER TABLE users ADD COLUMN bio text;\n",
		"000002_add_bio.down.sql": "ALTER TABLE users DROP COLUMN bio;\n",
	})
	rep := runGrouped(t, set, "000001", "000002", "", nil, seed.Options{})
	r := result(t, rep, "000002")
	assert.Equal(t, matrix.StatusOK, r.Checks.NEraKept.Status, describe(r))
	assert.Equal(t, matrix.StatusWarn, r.Checks.NextEraLoss.Status, "the bio values are lost\n%s", describe(r))
}

// Rows the N+1 era writes through a partitioned table are N+1-era in the
// partition they land in too: a correct add/drop column on a partitioned
// table loses only new values, and a down that deletes older rows from one
// partition is still caught.
func TestPartitionedTableEras(t *testing.T) {
	base := `CREATE TABLE events (id bigint NOT NULL, day int NOT NULL, kind text NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE events_a PARTITION OF events FOR VALUES FROM (0) TO (50);
CREATE TABLE events_b PARTITION OF events FOR VALUES FROM (50) TO (100) PARTITION BY HASH (id);
CREATE TABLE events_b1 PARTITION OF events_b FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE events_b2 PARTITION OF events_b FOR VALUES WITH (MODULUS 2, REMAINDER 1);`
	for _, tt := range []struct {
		name, down string
		verdict    matrix.Verdict
		nEraKept   matrix.Status
	}{
		{"correct down", "ALTER TABLE events DROP COLUMN seen_at;", matrix.VerdictLossyRevert, matrix.StatusOK},
		{"down deleting older rows of a partition", "ALTER TABLE events DROP COLUMN seen_at; DELETE FROM events_b1 WHERE id % 3 = 0;", matrix.VerdictRestoreOnly, matrix.StatusFail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := writeFileSet(t, map[string]string{
				"000001_events.up.sql":   base,
				"000001_events.down.sql": "DROP TABLE events;",
				"000002_seen.up.sql":     "ALTER TABLE events ADD COLUMN seen_at timestamptz;",
				"000002_seen.down.sql":   tt.down,
			})
			rep := runGrouped(t, set, "000001", "000002", "", nil, seed.Options{})
			eras := map[string]bool{}
			for _, ts := range rep.Seeding {
				if ts.Table == "public.events" {
					eras[ts.Era] = true
					assert.Empty(t, ts.Error, "%s-era rows inside the partitions' bounds", ts.Era)
					assert.Positive(t, ts.Rows, ts.Era)
				}
			}
			assert.Equal(t, map[string]bool{"n": true, "next": true}, eras)
			r := result(t, rep, "000002")
			assert.Equal(t, tt.verdict, r.Verdict, describe(r))
			assert.Equal(t, tt.nEraKept, r.Checks.NEraKept.Status, describe(r))
			assert.Equal(t, matrix.StatusWarn, r.Checks.NextEraLoss.Status, "the seen_at values are lost\n%s", describe(r))
		})
	}
}
