package kind_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/kind"
	"github.com/rehearse-dev/rehearse/harness/env/kube"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/helmrun"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/scenario"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}()

// offlineNodeImage is what ../shared/kind-offline/build-node-image makes.
const offlineNodeImage = "kind-offline/node:v1.34.4"

// stages prints each stage's time as the test goes, and all of them at the end.
type stages struct {
	t     *testing.T
	start time.Time
	lines []string
}

func (s *stages) do(name string, f func()) {
	s.t.Helper()
	t0 := time.Now()
	f()
	line := fmt.Sprintf("%-55s %6.1fs", name, time.Since(t0).Seconds())
	s.lines = append(s.lines, line)
	s.t.Log("stage: " + line)
}

func (s *stages) summary() string {
	return "stage times:\n  " + strings.Join(s.lines, "\n  ") + fmt.Sprintf("\n  %-55s %6.1fs", "total", time.Since(s.start).Seconds())
}

// requireKind returns the node and PostgreSQL images. Without docker or
// the images the test skips, loudly, except under CI where it fails: CI
// must build them (make node-image images, see docs/kind.md).
func requireKind(t *testing.T) (nodeImage, pgImage string) {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIPPED: the kind end-to-end test creates a cluster (minutes): not in -short")
	}
	nodeImage = os.Getenv("REHEARSE_KIND_NODE_IMAGE")
	if nodeImage == "" {
		nodeImage = offlineNodeImage
		if exec.Command("docker", "image", "inspect", nodeImage).Run() != nil {
			nodeImage = kind.DefaultNodeImage
		}
	}
	pgImage = os.Getenv("REHEARSE_POSTGRES_IMAGE")
	if pgImage == "" {
		pgImage = "kind-offline/postgres:15"
	}
	var missing []string
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		missing = append(missing, fmt.Sprintf("docker does not answer (%v: %s; run ../shared/kind-offline/start-docker)", err, strings.TrimSpace(string(out))))
	} else {
		for _, img := range []string{nodeImage, pgImage} {
			if exec.Command("docker", "image", "inspect", img).Run() != nil {
				missing = append(missing, "image "+img+" is not in the local docker (make node-image, or ../shared/kind-offline/build-postgres-image)")
			}
		}
	}
	if len(missing) > 0 {
		msg := "the kind end-to-end test cannot run: " + strings.Join(missing, "; ")
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: this test must run in CI)")
		}
		t.Skip("SKIPPED: " + msg)
	}
	if os.Getenv(kind.DockerShimEnv) == "" {
		// The layout CI and this machine share: ../shared beside the clone.
		shim := filepath.Join(repoRoot, "..", "shared", "kind-offline", "docker-shim")
		if _, err := os.Stat(filepath.Join(shim, "docker")); err == nil {
			t.Setenv(kind.DockerShimEnv, shim)
		}
	}
	return nodeImage, pgImage
}

// buildAppImage builds the sample server of release rel and its FROM
// scratch image rehearse-sample/app:<rel> (fixtures/app/Dockerfile), in a
// temporary build context; it returns the static binary.
func buildAppImage(t *testing.T, rel, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin", "app-"+rel)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.release="+rel, "-o", bin, "./fixtures/app")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build the sample server %s:\n%s", rel, out)
	if _, err := os.Stat(filepath.Join(dir, "migrations")); os.IsNotExist(err) {
		out, err := exec.Command("cp", "-r", filepath.Join(repoRoot, "migrations"), filepath.Join(dir, "migrations")).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	img := exec.Command("docker", "build", "-q", "-f", filepath.Join(repoRoot, "fixtures", "app", "Dockerfile"),
		"--build-arg", "RELEASE="+rel, "-t", "rehearse-sample/app:"+rel, dir)
	img.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	out, err = img.CombinedOutput()
	require.NoError(t, err, "docker build rehearse-sample/app:%s:\n%s", rel, out)
	return bin
}

type sample struct {
	s          *scenario.Scenario
	from, to   env.Release
	base, next []*migrate.Migration
	bk         migrate.Bookkeeping
	smoke      []procedure.SmokeRequest
	bins       map[string]string
}

func loadSample(t *testing.T, viaHook bool, bins map[string]string) *sample {
	t.Helper()
	s, err := scenario.Load(filepath.Join(repoRoot, "scenarios", "sample-1.0-to-1.1.yaml"))
	require.NoError(t, err)
	migDir := s.Abs(s.Spec.Migrations.Path)
	set, err := migrate.LoadDir(migDir, migrate.Options{})
	require.NoError(t, err)
	base, next, err := set.Range(s.Spec.Releases.From.Version, s.Spec.Releases.To.Version)
	require.NoError(t, err)
	bk, err := migrate.BookkeepingFor(s.Spec.Migrations.Bookkeeping)
	require.NoError(t, err)
	release := func(sr scenario.Release, hook bool) env.Release {
		var args []string
		for _, a := range sr.Server.Args {
			args = append(args, strings.ReplaceAll(a, "${MIGRATIONS}", migDir))
		}
		return env.Release{
			Name: sr.Name, Version: sr.Version, Image: sr.Server.Image, Port: sr.Server.Port,
			Binary: bins[sr.Name], Args: args, ViaHook: hook,
			Chart: s.Abs(sr.Chart.Path), Values: sr.Chart.Values,
		}
	}
	var smoke []procedure.SmokeRequest
	for _, r := range s.Spec.Smoke {
		smoke = append(smoke, procedure.SmokeRequest{Name: r.Name, Method: r.Method, Path: r.Path, Body: r.Body, Expect: r.Expect, Save: r.Save})
	}
	// Both releases migrate the same way: through the chart's hook Job
	// (N's runs post-install, N+1's pre-upgrade), or at the server's boot.
	return &sample{s: s, from: release(s.Spec.Releases.From, viaHook), to: release(s.Spec.Releases.To, viaHook),
		base: base, next: next, bk: bk, smoke: smoke, bins: bins}
}

// outcome is what the test compares between backends.
type outcome struct {
	Verdict    string
	FailedStep string
	FromFault  []chaos.ProcedureRun
}

func rehearse(t *testing.T, st *stages, label string, e env.Environment, sm *sample, health env.HealthOptions, faults ...chaos.Injection) map[string]outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	var progress strings.Builder
	pc := &procedure.Context{
		Env: e, From: sm.from, To: sm.to, Base: sm.base, Next: sm.next, Bookkeeping: sm.bk,
		WorkDir: t.TempDir(), Progress: &progress, SavePreUpgrade: len(faults) > 0, // upgrade faults start there
		Checks: procedure.CheckOptions{Health: health, Smoke: sm.smoke},
	}
	t.Cleanup(func() { t.Logf("%s progress:\n%s", label, progress.String()) })
	st.do(label+": install "+sm.from.Name+", seed, back up, upgrade to "+sm.to.Name+", seed", func() {
		_, err := procedure.Prepare(ctx, pc, seed.New(seed.Options{Seed: sm.s.Spec.Data.Seed, Rows: sm.s.Spec.Data.Rows}))
		require.NoError(t, err, "progress:\n%s", progress.String())
	})
	out := map[string]outcome{}
	clean := map[string]*procedure.Result{}
	// The scenario's procedures: the built-ins and the one it declares.
	for i, spec := range sm.s.ProcedureSpecs() {
		name := spec.Name
		st.do(label+": procedure "+name, func() {
			require.NoError(t, e.LoadState(ctx, procedure.StartState))
			p := spec.Procedure()
			pc.Checks.Unique = fmt.Sprintf("%s-%d-%d", label, i, time.Now().UnixNano()%1e6)
			res, err := procedure.Run(ctx, p, pc)
			require.NoError(t, err)
			o := outcome{Verdict: res.Verdict}
			if fs := res.FailedStep(); fs != nil {
				o.FailedStep = fs.Name
			}
			out[name] = o
			clean[name] = res
			t.Logf("%s %s: %s %v", label, name, res.Verdict, res.Reasons)
			for _, s := range res.Steps {
				t.Logf("  step %-45s %-4s %5.1fs %s %s", s.Name, s.Status, s.Seconds, s.Output, firstLine(s.Error))
			}
		})
	}
	if len(faults) > 0 {
		st.do(label+": chaos", func() {
			cells, err := chaos.Run(ctx, chaos.Config{PC: pc, Plan: faults, Clean: clean, Progress: &progress})
			require.NoError(t, err)
			for _, c := range cells {
				out["chaos "+c.Fault+"@"+c.Point] = outcome{Verdict: c.Verdict, FromFault: c.FromFault}
				t.Logf("%s chaos %s@%s: %s: %s; %s\n%s", label, c.Fault, c.Point, c.Verdict, c.StateFound, c.Recovery, c.Detail)
			}
		})
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// The headline: a throwaway kind cluster, the chart installed, upgraded
// (once through the migration hook, once at boot) and rolled back by every
// procedure with the real Helm machinery; the verdicts equal the local
// backend's; nothing is left behind.
func TestKindRehearsal(t *testing.T) {
	nodeImage, pgImage := requireKind(t)
	st := &stages{t: t, start: time.Now()}
	defer func() { t.Log(st.summary()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	// The user's kubeconfig must never be touched: HOME points at an empty
	// folder while the cluster exists.
	runID := fmt.Sprintf("e2e%d", time.Now().UnixNano()%1e6)
	c := newE2ECluster(t, ctx, st, nodeImage, runID, pgImage)
	e, bins, name, home := c.Environment, c.bins, c.name, c.home
	for _, s := range e.Stages() {
		t.Logf("kind stage: %-40s %5.1fs", s.Name, s.Seconds)
	}
	assert.True(t, strings.HasPrefix(name, kind.ClusterPrefix), name)
	assert.NoFileExists(t, filepath.Join(home, ".kube", "config"), "kind wrote the user's kubeconfig")
	kc, err := os.ReadFile(e.Kubeconfig())
	require.NoError(t, err)
	assert.Contains(t, string(kc), "kind-"+name)

	health := env.HealthOptions{Timeout: 40 * time.Second, Grace: 3 * time.Second}
	sm := loadSample(t, false, bins)
	hookSample := loadSample(t, true, bins)

	// The hook variant runs on the same cluster through the kube backend,
	// in a namespace of its own: the existing-cluster path, for real.
	var hookOut map[string]outcome
	var hookEnv *kube.Environment
	st.do("kube backend on the cluster: namespace for the hook variant", func() {
		hookEnv, err = kube.New(ctx, kube.Options{Options: env.Options{RunID: runID + "-hook"}, Kubeconfig: e.Kubeconfig()})
		require.NoError(t, err)
	})
	t.Cleanup(func() { assert.NoError(t, hookEnv.Close(context.Background())) })
	st.do("load the sample images 1.0 and 1.1", func() {
		require.NoError(t, e.LoadImages(ctx, sm.from.Image, sm.to.Image))
	})

	// PostgreSQL crashed in its pod during schema-revert's first down.
	// Release 1.0's server container stopped by the node's runtime after
	// full-restore's rollback: the kubelet restarts it, the checks see it.
	faults := []chaos.Injection{
		{Fault: chaos.KillPostgres, Point: chaos.Point{Phase: chaos.PhaseDown, Version: "000011", After: 0}},
		{Fault: chaos.CrashLoop, Point: chaos.Point{Phase: chaos.PhaseRollback, Procedure: "full-restore"}},
	}
	bootOut := rehearse(t, st, "kind boot", e, sm, health, faults...)
	hookOut = rehearse(t, st, "kube hook", hookEnv, hookSample, health)

	checkHelm(t, e.Actions(), false)
	checkHelm(t, hookEnv.Actions(), true)
	hist, err := hookEnv.Helm().History(hookEnv.ReleaseName())
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(hist), 5, "install, upgrade, and a rollback per procedure and state load")
	assert.Equal(t, "deployed", hist[len(hist)-1].Status)

	for _, v := range []struct {
		label  string
		sm     *sample
		got    map[string]outcome
		faults []chaos.Injection
	}{{"local boot", sm, bootOut, faults}, {"local hook", hookSample, hookOut, nil}} {
		le, err := local.NewEnvironment(ctx, local.EnvOptions{Options: env.Options{RunID: runID + strings.ReplaceAll(v.label, " ", "")}, Server: pgtest.Server(t)})
		require.NoError(t, err)
		want := rehearse(t, st, v.label, le, v.sm, env.HealthOptions{Timeout: 8 * time.Second, Grace: 2 * time.Second}, v.faults...)
		assert.NoError(t, le.Close(context.Background()))
		assert.Equal(t, want, v.got, "%s: the cluster gives the local backend's verdicts", v.label)
	}
	// What the sample's defects must give (as on the local backend).
	assert.Equal(t, procedure.VerdictRecovered, bootOut["full-restore"].Verdict)
	assert.Equal(t, procedure.VerdictFailed, bootOut["standard"].Verdict)
	assert.Equal(t, procedure.VerdictRecovered, bootOut["restore-and-verify"].Verdict, "the scenario's declared procedure")
	// schema-revert stops at 000008's down with or without the crash.
	assert.Equal(t, chaos.VerdictAsWithoutFault, bootOut["chaos kill-postgres@down:000011:0"].Verdict)
	assert.Equal(t, chaos.VerdictRecovered, bootOut["chaos crash-loop@rollback:full-restore"].Verdict)

	hookNS := hookEnv.Namespace()
	// A fork (a procedure lane of `rehearse run`): a namespace of its own,
	// labelled with the run, deleted on Close.
	st.do("kube backend fork: namespace created and deleted", func() {
		f, err := hookEnv.Fork(ctx, "p1")
		require.NoError(t, err)
		fk := f.(*kube.Environment)
		assert.Equal(t, hookNS+"-p1", fk.Namespace())
		ns, err := e.Cluster().Clientset.CoreV1().Namespaces().Get(ctx, fk.Namespace(), metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, runID+"-hook", ns.Labels[kube.RunLabel])
		require.NoError(t, f.Close(ctx))
		_, err = e.Cluster().Clientset.CoreV1().Namespaces().Get(ctx, fk.Namespace(), metav1.GetOptions{})
		assert.Error(t, err, "namespace %s is gone", fk.Namespace())
	})
	st.do("kube backend close (namespace deleted)", func() {
		require.NoError(t, hookEnv.Close(ctx))
		_, err := e.Cluster().Clientset.CoreV1().Namespaces().Get(ctx, hookNS, metav1.GetOptions{})
		assert.Error(t, err, "namespace %s is gone", hookNS)
	})
	c.teardown(t, ctx, st)
}

// checkHelm checks the Helm timeline: the migration Job ran as a
// pre-upgrade hook (with its logs) in hook mode, never in boot mode, and
// never on a rollback.
func checkHelm(t *testing.T, actions []*helmrun.Result, viaHook bool) {
	t.Helper()
	require.GreaterOrEqual(t, len(actions), 3)
	for i, want := range []struct{ action, event string }{{"install", "post-install"}, {"upgrade", "pre-upgrade"}} {
		a := actions[i]
		assert.Equal(t, want.action, a.Action)
		assert.Equal(t, i+1, a.Revision)
		if !viaHook {
			assert.Empty(t, a.Hooks, a.HooksSummary())
			continue
		}
		require.Len(t, a.Hooks, 2, a.HooksSummary())
		job := a.Hooks[1]
		assert.Equal(t, "Job", job.Kind)
		assert.Equal(t, []string{want.event}, intersect(job.Events, want.event), a.HooksSummary())
		assert.Equal(t, "Succeeded", job.Phase)
		assert.NotEmpty(t, job.Logs, "the migration Job's logs are kept for the report")
	}
	for _, a := range actions[2:] {
		assert.Equal(t, "rollback", a.Action)
		assert.Empty(t, a.Hooks, "no hook runs on rollback: %s", a.HooksSummary())
	}
}

func intersect(s []string, want string) []string {
	for _, x := range s {
		if x == want {
			return []string{want}
		}
	}
	return nil
}
