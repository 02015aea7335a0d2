package roles_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/roles"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestLoad(t *testing.T) {
	tests := []struct {
		name, file, text string
		want             []roles.Role
	}{
		{"pg_dumpall --roles-only", "dumpall.sql", "", []roles.Role{
			{Name: "roles_test_owner", Line: 16},
			{Name: "roles_test_migrator", Login: true, Inherit: true, MemberOf: []string{"roles_test_owner"}, Line: 18},
			{Name: "roles_test_App", Login: true, Inherit: true, Line: 20},
		}},
		{"yaml", "roles.yaml", `roles:
  - name: app
    login: true
    memberOf: [readers]
  - name: readers
    inherit: false
`, []roles.Role{
			{Name: "app", Login: true, Inherit: true, MemberOf: []string{"readers"}, Line: 2},
			{Name: "readers", Line: 5},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			if tc.text != "" {
				path = filepath.Join(t.TempDir(), tc.file)
				require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o644))
			}
			got, err := roles.Load(path)
			require.NoError(t, err)
			for i := range tc.want {
				tc.want[i].File = path
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestLoadErrors: a bad roles file says which file and line, and what to do.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file, text, want string
	}{
		{"yaml unknown key", "r.yaml", "roles:\n  - name: app\n    logn: true\n",
			"r.yaml:2: role: field logn not found in type roles.yamlRole; known keys: name, login"},
		{"yaml without name", "r.yaml", "roles:\n  - login: true\n", "r.yaml:2: role without a name; add `name: <role>`"},
		{"yaml not a list", "r.yaml", "roles: app\n", "r.yaml:1: cannot unmarshal !!str `app`"},
		{"yaml twice", "r.yaml", "roles:\n  - name: a\n  - name: a\n", "r.yaml:3: role a is declared twice (first at line 2); keep one"},
		{"sql table grant", "r.sql", "CREATE ROLE a;\n\nGRANT SELECT ON t TO a;\n",
			`r.sql:3: not a role membership (GRANT role TO role) in "GRANT SELECT ON t TO a;"; a roles file is the output of ` + "`pg_dumpall --roles-only`"},
		{"sql unknown option", "r.sql", "CREATE ROLE a;\nALTER ROLE a WITH LOGIN SPARKLY;\n", "r.sql:2: unknown role option SPARKLY in"},
		{"sql other statement", "r.sql", "-- hi\nCREATE TABLE t (id int);\n", `r.sql:2: unexpected statement in "CREATE TABLE t (id int);"`},
		{"empty", "r.sql", "-- nothing\n", "r.sql: no roles in the file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o644))
			_, err := roles.Load(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), filepath.Join(dir, tc.want))
		})
	}
}

// TestEnsure: missing roles are created (with memberships), matching ones
// are used, differing ones are refused; Drop removes only what was made.
func TestEnsure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := pgtest.AdminDSN(t)
	conn := pgtest.Connect(t, admin)
	pgtest.Exec(t, admin, `DROP ROLE IF EXISTS roles_test_migrator, "roles_test_App", roles_test_owner, roles_test_pre; CREATE ROLE roles_test_pre LOGIN`)
	t.Cleanup(func() {
		pgtest.Exec(t, admin, `DROP ROLE IF EXISTS roles_test_migrator, "roles_test_App", roles_test_owner, roles_test_pre`)
	})
	rs, err := roles.Load(filepath.Join("testdata", "dumpall.sql"))
	require.NoError(t, err)
	pre := roles.Role{Name: "roles_test_pre", Login: true, Inherit: true, File: "x.yaml", Line: 7}
	created, err := roles.Ensure(ctx, conn, append(rs, pre))
	require.NoError(t, err)
	assert.Equal(t, []string{"roles_test_owner", "roles_test_migrator", "roles_test_App"}, created, "roles_test_pre existed and matches")
	var member bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_has_role('roles_test_migrator', 'roles_test_owner', 'MEMBER')`).Scan(&member))
	assert.True(t, member)

	again, err := roles.Ensure(ctx, conn, rs)
	require.NoError(t, err)
	assert.Empty(t, again, "a second run creates nothing")

	differs := pre
	differs.Login = false
	differs.MemberOf = []string{"roles_test_owner"}
	_, err = roles.Ensure(ctx, conn, []roles.Role{differs})
	require.Error(t, err)
	assert.Equal(t, "x.yaml:7: role roles_test_pre already exists on the server and differs from production's: LOGIN on the server, NOLOGIN in production; member of [] on the server, [roles_test_owner] in production; drop or fix it there, or point the harness at a server without it", err.Error())

	require.NoError(t, roles.Drop(ctx, conn, created))
	for _, name := range []string{"roles_test_owner", "roles_test_migrator", "roles_test_App", "roles_test_pre"} {
		ok, err := roles.Exists(ctx, conn, name)
		require.NoError(t, err)
		assert.Equal(t, name == "roles_test_pre", ok, name)
	}
}
