package local_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	repoRoot = func() string {
		_, file, _, _ := runtime.Caller(0)
		return filepath.Join(filepath.Dir(file), "..", "..", "..")
	}()
	buildMu sync.Mutex
	built   = map[string]string{}
	binDir  string
)

// sampleRelease builds the sample app of release name once per test binary.
func sampleRelease(t *testing.T, name string) env.Release {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	bin, ok := built[name]
	if !ok {
		if binDir == "" {
			binDir = pgtest.PackageTempDir(t, "rehearse-env-test-*")
		}
		bin = filepath.Join(binDir, "app-"+name)
		cmd := exec.Command("go", "build", "-ldflags", "-X main.release="+name, "-o", bin, "./fixtures/app")
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "build the sample app %s:\n%s", name, out)
		built[name] = bin
	}
	return env.Release{Name: name, Binary: bin, Args: []string{"--migrations", filepath.Join(repoRoot, "migrations")}}
}

func newEnv(t *testing.T) *local.Environment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := local.NewEnvironment(ctx, local.EnvOptions{Options: env.Options{RunID: fmt.Sprintf("t%d", time.Now().UnixNano()%1e9)}, Server: pgtest.Server(t)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Close(context.Background())) })
	return e
}

func schemaVersion(t *testing.T, e env.Environment) (int64, bool) {
	t.Helper()
	ctx := context.Background()
	dsn, err := e.DSN(ctx)
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v int64
	var dirty bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT version, dirty FROM schema_migrations").Scan(&v, &dirty))
	return v, dirty
}

func exec1(t *testing.T, e env.Environment, sql string) {
	t.Helper()
	dsn, err := e.DSN(context.Background())
	require.NoError(t, err)
	pgtest.Exec(t, dsn, sql)
}

var quick = env.HealthOptions{Timeout: 15 * time.Second, Grace: time.Second}

func TestInstallUpgradeRollbackRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r10, r11 := sampleRelease(t, "1.0"), sampleRelease(t, "1.1")
	e := newEnv(t)

	require.NoError(t, e.Install(ctx, r10))
	h, err := e.ServerHealth(ctx, quick)
	require.NoError(t, err)
	require.True(t, h.Ready, "1.0 on its own schema: %+v", h)
	v, _ := schemaVersion(t, e)
	assert.EqualValues(t, 3, v)

	backup := filepath.Join(t.TempDir(), "before.dump")
	require.NoError(t, e.Backup(ctx, backup))

	require.NoError(t, e.Upgrade(ctx, r11))
	v, _ = schemaVersion(t, e)
	assert.EqualValues(t, 11, v, "1.1 migrates at boot")
	exec1(t, e, "INSERT INTO renewal_policies (name) VALUES ('after-backup')")
	require.NoError(t, e.SaveState(ctx, "up"))

	// 1.0 on 1.1's schema: the server starts but never becomes ready.
	require.NoError(t, e.LoadState(ctx, "up"))
	require.NoError(t, e.Rollback(ctx, r10))
	h, err = e.ServerHealth(ctx, env.HealthOptions{Timeout: 2 * time.Second, Grace: time.Second})
	require.NoError(t, err)
	assert.False(t, h.Ready)
	assert.False(t, h.CrashLoop, "a server that stays up unready is not a crash loop")
	assert.Contains(t, h.Detail, "503")
	logs, err := e.ServerLogs(ctx)
	require.NoError(t, err)
	assert.Contains(t, logs, "42703", "1.0's self-check names the renamed column")

	// Full restore on a fresh copy: 1.0 works again and the N+1 table is gone.
	require.NoError(t, e.LoadState(ctx, "up"))
	require.NoError(t, e.Scale(ctx, 0))
	require.NoError(t, e.Restore(ctx, backup))
	require.NoError(t, e.Rollback(ctx, r10))
	h, err = e.ServerHealth(ctx, quick)
	require.NoError(t, err)
	assert.True(t, h.Ready, "%+v", h)
	v, _ = schemaVersion(t, e)
	assert.EqualValues(t, 3, v)
	dsn, err := e.DSN(ctx)
	require.NoError(t, err)
	var exists bool
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	require.NoError(t, conn.QueryRow(ctx, "SELECT to_regclass('renewal_policies') IS NOT NULL").Scan(&exists))
	conn.Close(ctx)
	assert.False(t, exists, "restore into an empty database leaves nothing of N+1 behind")

	// The saved state itself is untouched by the procedures on its copies.
	require.NoError(t, e.LoadState(ctx, "up"))
	v, _ = schemaVersion(t, e)
	assert.EqualValues(t, 11, v)
	url, err := e.ServerURL(ctx)
	require.NoError(t, err)
	assert.Contains(t, url, "http://127.0.0.1:")
}

func TestViaHookMigratesBeforeTheServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r10 := sampleRelease(t, "1.0")
	r10.ViaHook = true
	e := newEnv(t)
	require.NoError(t, e.Install(ctx, r10))
	v, dirty := schemaVersion(t, e)
	assert.EqualValues(t, 3, v)
	assert.False(t, dirty)
	logs, err := e.ServerLogs(ctx)
	require.NoError(t, err)
	assert.Contains(t, logs, "migration hook of release 1.0")
}

func TestCrashLoopIsDetected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name   string
		script string
	}{
		{"exits at once", "#!/bin/sh\necho 'FATAL: cannot start' >&2\nexit 1\n"},
		{"exits after a while", "#!/bin/sh\nsleep 0.3\nexit 3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "server")
			require.NoError(t, os.WriteFile(bin, []byte(tt.script), 0o755))
			e := newEnv(t)
			require.NoError(t, e.Rollback(ctx, env.Release{Name: "crash", Binary: bin}))
			// Recognized when the server has exited twice (about a second
			// with the restart back-off), not at the readiness timeout.
			start := time.Now()
			h, err := e.ServerHealth(ctx, env.HealthOptions{Timeout: 30 * time.Second, Grace: time.Second})
			require.NoError(t, err)
			assert.Less(t, time.Since(start), 10*time.Second, "a crash loop waited out the readiness timeout")
			assert.False(t, h.Ready)
			assert.True(t, h.CrashLoop, "%+v", h)
			assert.GreaterOrEqual(t, h.Restarts, 1)
			assert.Contains(t, h.Detail, "exit status")
			assert.Contains(t, h.Detail, "without becoming ready")
		})
	}
}

func TestInstallFailsWhenTheServerDiesAtBoot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r10 := sampleRelease(t, "1.0")
	e := newEnv(t)
	// A dirty bookkeeping row makes golang-migrate (and so the app) refuse to boot.
	exec1(t, e, "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (2, true)")
	err := e.Install(ctx, r10)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dirty")
}

func TestRestoreRefusesWhileServing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newEnv(t)
	require.NoError(t, e.Install(ctx, sampleRelease(t, "1.0")))
	err := e.Restore(ctx, "/nonexistent.dump")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scale to 0 first")
}

// TestOneExitIsNotACrashLoopYet: a server whose first start fails (a start
// race) and whose restart works is watched until ready, not failed at its
// first exit; the restart is still reported.
func TestOneExitIsNotACrashLoopYet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app := sampleRelease(t, "1.0")
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	script := fmt.Sprintf("#!/bin/sh\nif [ ! -e %[1]s/started ]; then touch %[1]s/started; echo 'database not up yet' >&2; exit 1; fi\nexec %[2]s \"$@\"\n", dir, app.Binary)
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	e := newEnv(t)
	r := app
	r.Binary = bin
	require.NoError(t, e.Rollback(ctx, r))
	h, err := e.ServerHealth(ctx, env.HealthOptions{Timeout: 60 * time.Second, Grace: time.Second})
	require.NoError(t, err)
	assert.Greater(t, h.ReadySeconds, 0.0, "%+v", h)
	assert.Equal(t, 1, h.Restarts)
	assert.Contains(t, h.Detail, "ready, but restarted 1 times")
}
