package migrate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitRepo makes a repository whose tag v1 has migrations 1-2 of
// testdata/golang-migrate under migrations/ and whose HEAD has all of them.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPED LOUDLY: git is not installed, LoadGit cannot be tested; install git")
	}
	repo := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	copyFiles := func(names ...string) {
		t.Helper()
		require.NoError(t, os.MkdirAll(filepath.Join(repo, "migrations"), 0o755))
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join("testdata/golang-migrate", n))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(repo, "migrations", n), b, 0o644))
		}
	}
	run("init", "-q")
	copyFiles("000001_create_users.up.sql", "000001_create_users.down.sql", "000002_add_email.up.sql", "000002_add_email.down.sql")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "migrations", "README.md"), []byte("not SQL"), 0o644))
	run("add", ".")
	run("commit", "-q", "-m", "release 1")
	run("tag", "v1")
	copyFiles("000003_index_email.up.sql", "000003_index_email.down.sql", "000004_audit.up.sql")
	run("add", ".")
	run("commit", "-q", "-m", "release 2")
	// A change in the work tree that no ref has: LoadGit must not see it.
	require.NoError(t, os.WriteFile(filepath.Join(repo, "migrations", "000005_wip.up.sql"), []byte("SELECT 1;"), 0o644))
	return repo
}

func TestLoadGit(t *testing.T) {
	repo := gitRepo(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		repoDir  string
		ref, dir string
		versions []string
		source   string
	}{
		{name: "tag", repoDir: repo, ref: "v1", dir: "migrations", versions: []string{"000001", "000002"}, source: "v1:migrations"},
		{name: "HEAD", repoDir: repo, ref: "HEAD", dir: "migrations", versions: []string{"000001", "000002", "000003", "000004"}, source: "HEAD:migrations"},
		{name: "relative ref", repoDir: repo, ref: "HEAD~1", dir: "migrations/", versions: []string{"000001", "000002"}, source: "HEAD~1:migrations"},
		{name: "absolute folder", repoDir: repo, ref: "v1", dir: filepath.Join(repo, "migrations"), versions: []string{"000001", "000002"}},
		{name: "from a subfolder", repoDir: filepath.Join(repo, "migrations"), ref: "v1", dir: ".", versions: []string{"000001", "000002"}, source: "v1:."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadGit(ctx, tc.repoDir, tc.ref, tc.dir, Options{})
			require.NoError(t, err)
			assert.Equal(t, LayoutGolangMigrate, s.Layout)
			var got []string
			for _, m := range s.Migrations {
				got = append(got, m.Version)
			}
			assert.Equal(t, tc.versions, got)
			// golang-migrate ignores the README; the set lists it.
			assert.Equal(t, []string{"README.md: not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it)"}, s.Ignored)
			if tc.source != "" {
				assert.Equal(t, tc.source, s.Source)
				assert.Equal(t, tc.source+"/000001_create_users.up.sql", s.Migrations[0].Up.File)
			}
			assert.Equal(t, "Creates the users table.\nN-era rows live here.", s.Migrations[0].Comment)
			assert.Equal(t, []Statement{{Line: 2, SQL: "ALTER TABLE users ADD COLUMN email text"}, {Line: 5, SQL: "UPDATE users SET email = name || '@example.com'"}}, s.Migrations[1].Up.Statements)
		})
	}
}

func TestLoadGitBadInput(t *testing.T) {
	repo := gitRepo(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		repoDir  string
		ref, dir string
		errs     []string
	}{
		{name: "unknown ref", repoDir: repo, ref: "v9.9.9", dir: "migrations", errs: []string{`git ref "v9.9.9": not found`, "git tag", "fetch-depth: 0"}},
		{name: "empty ref", repoDir: repo, ref: "", dir: "migrations", errs: []string{"git ref is empty"}},
		{name: "folder missing at ref", repoDir: repo, ref: "v1", dir: "db/migrations", errs: []string{"v1:db/migrations: no such folder at v1"}},
		{name: "not a repository", repoDir: t.TempDir(), ref: "HEAD", dir: "migrations", errs: []string{"is not inside a git repository", "not a git repository"}},
		{name: "folder outside the repository", repoDir: repo, ref: "v1", dir: "../elsewhere", errs: []string{"outside the git repository"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadGit(ctx, tc.repoDir, tc.ref, tc.dir, Options{})
			require.Error(t, err)
			for _, e := range tc.errs {
				assert.Contains(t, err.Error(), e)
			}
		})
	}
}
