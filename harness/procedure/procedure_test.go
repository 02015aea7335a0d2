package procedure_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	repoRoot = func() string {
		_, file, _, _ := runtime.Caller(0)
		return filepath.Join(filepath.Dir(file), "..", "..")
	}()
	buildMu sync.Mutex
	built   = map[string]string{}
)

// sampleServer builds the sample app of release name once per test binary.
func sampleServer(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[name]; ok {
		return bin
	}
	bin := filepath.Join(pgtest.PackageTempDir(t, "rehearse-procedure-test-*"), "app-"+name)
	cmd := exec.Command("go", "build", "-ldflags", "-X main.release="+name, "-o", bin, "./fixtures/app")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build the sample app %s:\n%s", name, out)
	built[name] = bin
	return bin
}

// sampleSmoke is what scenarios/sample-*.yaml send.
var sampleSmoke = []procedure.SmokeRequest{
	{Name: "list certificates", Method: "GET", Path: "/api/v1/certificates", Expect: 200},
	{Name: "list agents", Method: "GET", Path: "/api/v1/agents", Expect: 200},
	{Name: "list audit events", Method: "GET", Path: "/api/v1/audit-events", Expect: 200},
	{Name: "create agent", Method: "POST", Path: "/api/v1/agents", Expect: 201, Save: "agent",
		Body: `{"hostname": "smoke-${unique}.example.com", "platform": "linux"}`},
	{Name: "create certificate", Method: "POST", Path: "/api/v1/certificates", Expect: 201,
		Body: `{"serial_number": "SMOKE-${unique}", "common_name": "smoke.example.com", "owner_email": "smoke@example.com", "agent_id": "${agent.id}", "not_before": "2025-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z"}`},
}

type rehearsal struct {
	pc *procedure.Context
	e  *local.Environment
}

// prepare installs from, seeds, upgrades to `to` and saves the state every
// procedure starts from, on the shared test PostgreSQL.
func prepare(t *testing.T, migrations, from, to string) *rehearsal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := filepath.Join(repoRoot, migrations)
	set, err := migrate.LoadDir(dir, migrate.Options{})
	require.NoError(t, err)
	versions := map[string]string{"1.0": "000003", "1.1": "000011", "1.2": "000018"}
	if migrations != "migrations" {
		versions = map[string]string{"1.0": "000003", "1.1": set.Migrations[len(set.Migrations)-1].Version}
	}
	base, next, err := set.Range(versions[from], versions[to])
	require.NoError(t, err)
	bk, err := migrate.BookkeepingFor("golang-migrate")
	require.NoError(t, err)
	e, err := local.NewEnvironment(ctx, local.EnvOptions{
		Options: env.Options{RunID: fmt.Sprintf("p%d", time.Now().UnixNano()%1e9)},
		Server:  pgtest.Server(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Close(context.Background())) })
	release := func(name string) env.Release {
		return env.Release{Name: name, Version: versions[name], Binary: sampleServer(t, name), Args: []string{"--migrations", dir}}
	}
	var progress strings.Builder
	pc := &procedure.Context{
		Env: e, From: release(from), To: release(to), Base: base, Next: next, Bookkeeping: bk,
		WorkDir: t.TempDir(), Progress: &progress,
		Checks: procedure.CheckOptions{
			Health: env.HealthOptions{Timeout: 4 * time.Second, Grace: time.Second},
			Smoke:  sampleSmoke,
		},
	}
	_, err = procedure.Prepare(ctx, pc, seed.New(seed.Options{Seed: 1, Rows: 40}))
	require.NoError(t, err, "progress:\n%s", progress.String())
	require.Positive(t, pc.Baseline.Rows(), "the seeder wrote N+1-era rows")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("progress:\n%s", progress.String())
		}
	})
	return &rehearsal{pc: pc, e: e}
}

// run performs procedure name on a fresh copy of the post-upgrade state;
// before runs on that copy first.
func (r *rehearsal) run(t *testing.T, name string, before func(dsn string)) *procedure.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, r.e.LoadState(ctx, procedure.StartState))
	if before != nil {
		dsn, err := r.e.DSN(ctx)
		require.NoError(t, err)
		before(dsn)
	}
	p, err := procedure.Get(name)
	require.NoError(t, err)
	r.pc.Checks.Unique = fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	res, err := procedure.Run(ctx, p, r.pc)
	require.NoError(t, err)
	return res
}

func status(res *procedure.Result, check string) string {
	if c := res.Check(check); c != nil {
		return c.Status
	}
	return "missing"
}

func describe(res *procedure.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %v\n", res.Name, res.Verdict, res.Reasons)
	for _, s := range res.Steps {
		fmt.Fprintf(&b, "  step %s: %s %s %s\n", s.Name, s.Status, s.Output, s.Error)
	}
	for _, c := range res.Checks {
		fmt.Fprintf(&b, "  check %s: %s %s\n%s\n", c.Name, c.Status, c.Summary, c.Detail)
	}
	return b.String()
}

// The sample's releases: what its deliberate defects must make each
// procedure say.
func TestSampleProcedures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sample app: not in -short")
	}
	tests := []struct {
		from, to string
		// want: procedure -> verdict; failedStep: procedure -> the step that fails.
		want       map[string]string
		failedStep map[string]string
	}{
		{
			from: "1.0", to: "1.1",
			want: map[string]string{"standard": procedure.VerdictFailed, "schema-revert": procedure.VerdictFailed, "full-restore": procedure.VerdictRecovered},
			// 000008's down narrows common_name back over the longer names 1.1 wrote (22001).
			failedStep: map[string]string{"schema-revert": "down 000008_widen_certificates_common_name"},
		},
		{
			from: "1.1", to: "1.2",
			want: map[string]string{"standard": procedure.VerdictFailed, "schema-revert": procedure.VerdictFailed, "full-restore": procedure.VerdictRecovered},
			// 000018 has no down file at all.
			failedStep: map[string]string{"schema-revert": "down 000018_drop_certificates_key_algorithm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.from+"-to-"+tt.to, func(t *testing.T) {
			r := prepare(t, "migrations", tt.from, tt.to)
			for _, name := range procedure.Names {
				res := r.run(t, name, nil)
				require.Equal(t, tt.want[name], res.Verdict, describe(res))
				if step := tt.failedStep[name]; step != "" {
					require.NotNil(t, res.FailedStep(), describe(res))
					assert.Equal(t, step, res.FailedStep().Name, describe(res))
				}
				switch name {
				case "standard":
					// N's server starts but its self-check fails on the renamed/dropped objects.
					assert.Equal(t, procedure.StatusFail, status(res, procedure.CheckServerReady), describe(res))
					assert.Equal(t, procedure.StatusFail, status(res, procedure.CheckSchemaErrors), describe(res))
					assert.Equal(t, procedure.StatusSkip, status(res, procedure.CheckSmoke))
					assert.Zero(t, res.WritesLost, "a standard rollback keeps every row")
				case "full-restore":
					assert.Equal(t, procedure.StatusOK, status(res, procedure.CheckServerReady), describe(res))
					assert.Equal(t, procedure.StatusOK, status(res, procedure.CheckSmoke), describe(res))
					assert.Equal(t, procedure.StatusOK, status(res, procedure.CheckNEraKept), describe(res))
					assert.Equal(t, procedure.StatusWarn, status(res, procedure.CheckNextEraLost), describe(res))
					assert.Equal(t, r.pc.Baseline.Rows(), res.WritesLost, "every write after the backup is lost")
				}
				for _, s := range res.Steps {
					assert.GreaterOrEqual(t, s.Seconds, 0.0)
				}
			}
		})
	}
}

// Correct down files on production-like data: every procedure recovers,
// and schema-revert loses what N+1 added (reported, not hidden).
func TestAdditiveReleaseRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sample app: not in -short")
	}
	r := prepare(t, "harness/procedure/testdata/additive", "1.0", "1.1")
	for _, name := range procedure.Names {
		res := r.run(t, name, nil)
		require.Equal(t, procedure.VerdictRecovered, res.Verdict, describe(res))
		assert.Equal(t, procedure.StatusOK, status(res, procedure.CheckSmoke), describe(res))
		assert.Equal(t, procedure.StatusOK, status(res, procedure.CheckSchemaErrors), describe(res))
		assert.Equal(t, procedure.StatusOK, status(res, procedure.CheckBootSchema), describe(res))
		switch name {
		case "standard":
			assert.Zero(t, res.WritesLost, describe(res))
		case "schema-revert":
			assert.Equal(t, procedure.StatusWarn, status(res, procedure.CheckNextEraLost), describe(res))
			assert.Contains(t, res.Check(procedure.CheckNextEraLost).Detail, "renewal_policies", describe(res))
			assert.Contains(t, res.Steps[len(res.Steps)-2].Output, `records version "3"`, describe(res))
		}
	}
}

func TestDegradedWhenOldCodeCannotWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sample app: not in -short")
	}
	r := prepare(t, "harness/procedure/testdata/degraded", "1.0", "1.1")
	res := r.run(t, "standard", nil)
	require.Equal(t, procedure.VerdictDegraded, res.Verdict, describe(res))
	assert.Equal(t, procedure.StatusOK, status(res, procedure.CheckServerReady), describe(res))
	smoke := res.Check(procedure.CheckSmoke)
	assert.Equal(t, procedure.StatusFail, smoke.Status)
	assert.Contains(t, smoke.Summary, "create agent")
}

func TestCrashLoopingServerFails(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sample app: not in -short")
	}
	r := prepare(t, "harness/procedure/testdata/additive", "1.0", "1.1")
	// A dirty bookkeeping row makes release 1.0's golang-migrate refuse to
	// boot: the server exits, is restarted, exits again.
	res := r.run(t, "standard", func(dsn string) {
		conn, err := pgx.Connect(context.Background(), dsn)
		require.NoError(t, err)
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), "UPDATE schema_migrations SET dirty = true")
		require.NoError(t, err)
	})
	require.Equal(t, procedure.VerdictFailed, res.Verdict, describe(res))
	ready := res.Check(procedure.CheckServerReady)
	assert.Contains(t, ready.Summary, "crash loop", describe(res))
}

func TestGetUnknownProcedure(t *testing.T) {
	_, err := procedure.Get("yolo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "standard, schema-revert, full-restore")
}
