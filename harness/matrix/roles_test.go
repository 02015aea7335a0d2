package matrix_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/roles"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// TestMigrateAs runs testdata/roles with production's roles: as the
// migrator (which owns the tables it created), as the superuser, and checks
// what each sees. 000002's down grants the app UPDATE and DELETE it never
// had; 000003's down grants the migrator what it has as owner; 000004 needs
// a superuser.
func TestMigrateAs(t *testing.T) {
	dir := filepath.Join("testdata", "roles")
	set, err := migrate.LoadDir(filepath.Join(dir, "migrations"), migrate.Options{})
	require.NoError(t, err)
	rs, err := roles.Load(filepath.Join(dir, "roles.sql"))
	require.NoError(t, err)
	tests := []struct {
		name      string
		migrateAs string
		// restored is schemaRestored's status per migration, and what its
		// error must say when it fails.
		restored map[string]string
		up4      string
		note4    string
	}{
		{"as the migrator", "matrix_roles_migrator", map[string]string{
			"000002": "fail: matrix_roles_app gains UPDATE, DELETE",
			"000003": "ok",
		}, "fail", "runs as matrix_roles_migrator, which lacks the privilege (permission denied to create event trigger \"audit_ddl\"): in production this up fails the same way"},
		{"as the superuser", "", map[string]string{
			"000002": "fail: matrix_roles_app gains UPDATE, DELETE",
			"000003": "fail: matrix_roles_migrator gains SELECT, INSERT, UPDATE, DELETE",
		}, "ok", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := runMatrixAs(t, set, rs, tc.migrateAs)
			assert.Equal(t, tc.migrateAs, rep.MigrateAs)
			byVersion := map[string]matrix.MigrationResult{}
			for _, res := range rep.Results {
				byVersion[res.Version] = res
			}
			for v, want := range tc.restored {
				res := byVersion[v]
				status, msg, _ := strings.Cut(want, ": ")
				assert.Equal(t, status, string(res.Checks.SchemaRestored.Status), "%s\n%s", v, describe(res))
				if msg != "" {
					assert.Contains(t, res.Checks.SchemaRestored.Error, msg, v)
					assert.Contains(t, res.Checks.SchemaRestored.Error, "privileges", v)
				}
			}
			up4 := byVersion["000004"].Checks.Up
			assert.Equal(t, tc.up4, string(up4.Status), describe(byVersion["000004"]))
			if tc.note4 != "" {
				assert.Equal(t, "42501", up4.SQLState)
				assert.Contains(t, up4.Notes, tc.note4)
			}
		})
	}
	// The run created the roles and dropped them at its end.
	conn := pgtest.Connect(t, pgtest.AdminDSN(t))
	for _, r := range rs {
		ok, err := roles.Exists(context.Background(), conn, r.Name)
		require.NoError(t, err)
		assert.False(t, ok, "role %s left behind", r.Name)
	}
}

// TestMigrateAsUnknownRole: --migrate-as a role neither on the server nor
// in --roles is refused before anything runs.
func TestMigrateAsUnknownRole(t *testing.T) {
	set, err := migrate.LoadDir(filepath.Join("testdata", "roles", "migrations"), migrate.Options{})
	require.NoError(t, err)
	_, err = matrix.Run(context.Background(), matrixConfig(t, set, nil, "matrix_roles_nobody"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--migrate-as matrix_roles_nobody: no such role on the server; list it in --roles")
}

func matrixConfig(t *testing.T, set *migrate.Set, rs []roles.Role, as string) matrix.Config {
	bk, err := migrate.BookkeepingFor(string(set.Layout))
	require.NoError(t, err)
	return matrix.Config{
		AdminDSN:    pgtest.AdminDSN(t),
		Prefix:      "m_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_", ".", "_", " ", "_").Replace(t.Name())),
		Set:         set,
		From:        "000001",
		To:          set.Migrations[len(set.Migrations)-1].Version,
		Bookkeeping: bk,
		Seeder:      seed.New(seed.Options{Seed: 1, Rows: 30}),
		Roles:       rs,
		MigrateAs:   as,
		Parallel:    2,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func runMatrixAs(t *testing.T, set *migrate.Set, rs []roles.Role, as string) *matrix.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := matrix.Run(ctx, matrixConfig(t, set, rs, as))
	require.NoError(t, err)
	return rep
}

// TestRolesPreExistingKept: a production role the server already has (and
// that matches) is used, not recorded as created, and not dropped at the
// end; the roles the run made are.
func TestRolesPreExistingKept(t *testing.T) {
	admin := pgtest.AdminDSN(t)
	pgtest.Exec(t, admin, `DROP ROLE IF EXISTS matrix_roles_pre; CREATE ROLE matrix_roles_pre LOGIN`)
	t.Cleanup(func() { pgtest.Exec(t, admin, `DROP ROLE IF EXISTS matrix_roles_pre`) })
	set, err := migrate.LoadDir(filepath.Join("testdata", "roles", "migrations"), migrate.Options{})
	require.NoError(t, err)
	rs, err := roles.Load(filepath.Join("testdata", "roles", "roles.sql"))
	require.NoError(t, err)
	rs = append(rs, roles.Role{Name: "matrix_roles_pre", Login: true, Inherit: true, File: "roles.yaml", Line: 9})
	rep := runMatrixAs(t, set, rs, "matrix_roles_migrator")
	assert.Equal(t, []string{"matrix_roles_migrator", "matrix_roles_app"}, rep.RolesCreated)
	conn := pgtest.Connect(t, admin)
	for name, want := range map[string]bool{"matrix_roles_pre": true, "matrix_roles_migrator": false, "matrix_roles_app": false} {
		ok, err := roles.Exists(context.Background(), conn, name)
		require.NoError(t, err)
		assert.Equal(t, want, ok, name)
	}
}
