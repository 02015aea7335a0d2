package docker_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/docker"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}()

// pgImage is the product's default: $REHEARSE_POSTGRES_IMAGE (CI sets
// it in .ci/run), else the official image of the local binaries' major.
var pgImage = docker.DefaultPostgresImage(context.Background(), "")

// requireDocker fails in CI (where docker is part of what is tested) and
// skips loudly elsewhere when docker or the PostgreSQL image is missing.
// The sample's server images are built when missing.
func requireDocker(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") != "" {
			t.Fatalf("docker backend test cannot run in CI: %s", msg)
		}
		t.Skipf("SKIPPING the docker backend test: %s", msg)
	}
	if err := docker.Available(context.Background()); err != nil {
		missing("%v", err)
	}
	if err := exec.Command("docker", "image", "inspect", pgImage).Run(); err != nil {
		missing("image %s is missing: docker pull %s, or set %s to an image you have", pgImage, pgImage, docker.PostgresImageEnv)
	}
	for _, rel := range []string{"1.0", "1.1"} {
		if exec.Command("docker", "image", "inspect", "rehearse-sample/app:"+rel).Run() == nil {
			continue
		}
		cmd := exec.Command("make", "-f", "images.mk", "image-"+rel)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "build rehearse-sample/app:%s (make -f images.mk image-%s):\n%s", rel, rel, out)
	}
}

func TestDockerProcedures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers: not in -short")
	}
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	runID := fmt.Sprintf("t%d", time.Now().UnixNano()%1e9)
	t0 := time.Now()
	e, err := docker.NewEnvironment(ctx, docker.Options{Options: env.Options{RunID: runID}, PostgresImage: pgImage})
	require.NoError(t, err)
	t.Logf("environment up in %.1fs", time.Since(t0).Seconds())
	closed := false
	t.Cleanup(func() {
		if !closed {
			assert.NoError(t, e.Close(context.Background()))
		}
	})

	set, err := migrate.LoadDir(filepath.Join(repoRoot, "migrations"), migrate.Options{})
	require.NoError(t, err)
	base, next, err := set.Range("000003", "000011")
	require.NoError(t, err)
	bk, err := migrate.BookkeepingFor("golang-migrate")
	require.NoError(t, err)
	var progress strings.Builder
	pc := &procedure.Context{
		Env:  e,
		From: env.Release{Name: "1.0", Version: "000003", Image: "rehearse-sample/app:1.0", Port: 8080},
		To:   env.Release{Name: "1.1", Version: "000011", Image: "rehearse-sample/app:1.1", Port: 8080},
		Base: base, Next: next, Bookkeeping: bk, WorkDir: t.TempDir(), Progress: &progress,
		Checks: procedure.CheckOptions{
			Health: env.HealthOptions{Timeout: 6 * time.Second, Grace: time.Second},
			Smoke: []procedure.SmokeRequest{
				{Method: "GET", Path: "/api/v1/certificates", Expect: 200},
				{Method: "POST", Path: "/api/v1/agents", Expect: 201, Body: `{"hostname": "smoke-docker.example.com", "platform": "linux"}`},
			},
		},
	}
	defer func() {
		if t.Failed() {
			t.Logf("progress:\n%s", progress.String())
		}
	}()
	_, err = procedure.Prepare(ctx, pc, seed.New(seed.Options{Seed: 1, Rows: 40}))
	require.NoError(t, err)

	want := map[string]string{"standard": procedure.VerdictFailed, "full-restore": procedure.VerdictRecovered}
	for _, name := range []string{"standard", "full-restore"} {
		require.NoError(t, e.LoadState(ctx, procedure.StartState))
		p, err := procedure.Get(name)
		require.NoError(t, err)
		res, err := procedure.Run(ctx, p, pc)
		require.NoError(t, err)
		assert.Equal(t, want[name], res.Verdict, "%s: %v", name, res.Reasons)
		if name == "standard" {
			assert.Equal(t, procedure.StatusFail, res.Check(procedure.CheckSchemaErrors).Status, "1.0's self-check logs 42703 in its container")
		} else {
			assert.Equal(t, procedure.StatusOK, res.Check(procedure.CheckSmoke).Status, res.Check(procedure.CheckSmoke).Detail)
			assert.Equal(t, pc.Baseline.Rows(), res.WritesLost)
		}
	}
	t.Logf("progress:\n%s", progress.String())

	// Close removes every container and the network of the run.
	require.NoError(t, e.Close(ctx))
	closed = true
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+docker.Label+"="+runID).CombinedOutput()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "containers left behind")
	out, err = exec.Command("docker", "network", "ls", "-q", "--filter", "label="+docker.Label+"="+runID).CombinedOutput()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "networks left behind")
}

func TestDockerCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers: not in -short")
	}
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := docker.NewEnvironment(ctx, docker.Options{Options: env.Options{RunID: fmt.Sprintf("c%d", time.Now().UnixNano()%1e9)}, PostgresImage: pgImage})
	require.NoError(t, err)
	defer func() { assert.NoError(t, e.Close(context.Background())) }()
	// A server without its migrations folder never gets past its boot: it
	// exits and docker restarts it.
	r := env.Release{Name: "1.0", Image: "rehearse-sample/app:1.0", Port: 8080,
		Env: map[string]string{"MIGRATIONS_DIR": "/nonexistent"}}
	require.NoError(t, e.Rollback(ctx, r))
	// Recognized once the container has exited twice, not at the timeout.
	start := time.Now()
	h, err := e.ServerHealth(ctx, env.HealthOptions{Timeout: 60 * time.Second, Grace: time.Second})
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 30*time.Second, "a crash loop waited out the readiness timeout")
	assert.False(t, h.Ready)
	assert.True(t, h.CrashLoop, "%+v", h)
	assert.Contains(t, h.Detail, "without becoming ready")
	logs, err := e.ServerLogs(ctx)
	require.NoError(t, err)
	assert.Contains(t, logs, "nonexistent")

	// An upgrade to a server that dies at boot fails when it dies.
	start = time.Now()
	err = e.Upgrade(ctx, env.Release{Name: "1.1", Image: "rehearse-sample/app:1.1", Port: 8080,
		Env: map[string]string{"MIGRATIONS_DIR": "/nonexistent"}})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 30*time.Second, "an upgrade waited out the up timeout")
	assert.Contains(t, err.Error(), "before answering /healthz")
}

// A runbook's exec step runs in the server's container (docker exec), with
// the container's environment; without a running container it says so.
func TestDockerExecServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers: not in -short")
	}
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := docker.NewEnvironment(ctx, docker.Options{Options: env.Options{RunID: fmt.Sprintf("x%d", time.Now().UnixNano()%1e9)}, PostgresImage: pgImage})
	require.NoError(t, err)
	defer func() { assert.NoError(t, e.Close(context.Background())) }()
	require.NoError(t, e.Install(ctx, env.Release{Name: "1.0", Version: "000003", Image: "rehearse-sample/app:1.0", Port: 8080}))

	var ex env.ServerExecer = e
	// The image is FROM scratch: its server binary is the only command. In
	// the container it finds DATABASE_URL and MIGRATIONS_DIR, and 1.0's
	// migrations are applied already.
	out, err := ex.ExecServer(ctx, []string{"/app", "--migrate-only"})
	require.NoError(t, err, out)
	_, err = ex.ExecServer(ctx, []string{"/app", "--no-such-flag"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited with 2")
	require.NoError(t, e.Scale(ctx, 0))
	_, err = ex.ExecServer(ctx, []string{"/app", "--migrate-only"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no server container is running")
}

// TestDockerServerNeedsItsPassword: the run's PostgreSQL container takes a
// password made for the run (scram-sha-256), not a fixed one: without it,
// or with the old fixed "rehearse", a connection is refused. With --keep
// the password is in a 0600 pgpass file the run names, and the DSN it
// prints has none.
func TestDockerServerNeedsItsPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers: not in -short")
	}
	requireDocker(t)
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none")) // no ~/.pgpass fallback
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := fmt.Sprintf("pw%d", time.Now().UnixNano()%1e9)
	e, err := docker.NewEnvironment(ctx, docker.Options{Options: env.Options{RunID: id, Keep: true}, PostgresImage: pgImage})
	require.NoError(t, err)
	t.Cleanup(func() {
		// --keep leaves the container: remove this test's, by its run label.
		assert.NoError(t, e.Close(context.Background()))
		ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+docker.Label+"="+id).Output()
		for _, c := range strings.Fields(string(ids)) {
			exec.Command("docker", "rm", "-f", c).Run()
		}
		nets, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "label="+docker.Label+"="+id).Output()
		for _, n := range strings.Fields(string(nets)) {
			exec.Command("docker", "network", "rm", n).Run()
		}
		os.Remove(e.PassFile())
	})
	admin, err := e.AdminDSN(ctx)
	require.NoError(t, err)
	u, err := url.Parse(admin)
	require.NoError(t, err)
	password, _ := u.User.Password()
	require.Len(t, password, 32, "a generated password")

	for _, tc := range []struct {
		name string
		user *url.Userinfo
		ok   bool
	}{
		{"no password", url.User("rehearse"), false},
		{"the old fixed password", url.UserPassword("rehearse", "rehearse"), false},
		{"another password", url.UserPassword("rehearse", strings.Repeat("0", 32)), false},
		{"the run's password", url.UserPassword("rehearse", password), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := *u
			v.User = tc.user
			conn, err := pgx.Connect(ctx, v.String())
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			var method string
			require.NoError(t, conn.QueryRow(ctx, `SELECT current_setting('password_encryption')`).Scan(&method))
			assert.Equal(t, "scram-sha-256", method)
			conn.Close(ctx)
		})
	}

	pf := e.PassFile()
	require.NotEmpty(t, pf, "--keep names a pgpass file")
	fi, err := os.Stat(pf)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, err := os.ReadFile(pf)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%s:%s:*:rehearse:%s\n", u.Hostname(), u.Port(), password), string(b))
	dsn, err := e.DSN(ctx)
	require.NoError(t, err)
	assert.NotContains(t, pgadmin.Redact(dsn), password, "the DSN --keep prints")
	// The pgpass file lets a person in without the password on the command line.
	t.Setenv("PGPASSFILE", pf)
	v := *u
	v.User = url.User("rehearse")
	conn, err := pgx.Connect(ctx, v.String())
	require.NoError(t, err)
	conn.Close(ctx)
}
