package kind_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/kind"
	"github.com/rehearse-dev/rehearse/harness/env/kube"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// The cluster faults of the upgrade, on one throwaway kind cluster with the
// chart's migration hook: Helm's own `helm upgrade --atomic` whose new pods
// the kubelet never finds ready (Helm rolls back by itself), and the node
// restarted while the upgrade's hook runs. Verdicts, Helm's history and
// the node's times are measured; nothing is left behind.
func TestKindAtomicAndNodeRestart(t *testing.T) {
	nodeImage, pgImage := requireKind(t)
	st := &stages{t: t, start: time.Now()}
	defer func() { t.Log(st.summary()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	bins := map[string]string{}
	build := t.TempDir()
	st.do("build the sample server images 1.0 and 1.1", func() {
		for _, rel := range []string{"1.0", "1.1"} {
			bins[rel] = buildAppImage(t, rel, build)
		}
	})
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")

	runID := fmt.Sprintf("e2eatomic%d", time.Now().UnixNano()%1e6)
	sm := loadSample(t, true, bins)
	var e *kind.Environment
	st.do("create the kind cluster and load the images", func() {
		var err error
		e, err = kind.New(ctx, kind.Options{
			Options:   env.Options{RunID: runID},
			NodeImage: nodeImage,
			Images:    []string{pgImage, sm.from.Image, sm.to.Image},
		})
		require.NoError(t, err)
	})
	name, dir := e.ClusterName(), filepath.Dir(e.Kubeconfig())
	closed := false
	t.Cleanup(func() {
		if !closed {
			assert.NoError(t, e.Close(context.Background()))
		}
	})

	var progress strings.Builder
	t.Cleanup(func() { t.Logf("progress:\n%s", progress.String()) })
	pc := &procedure.Context{
		Env: e, From: sm.from, To: sm.to, Base: sm.base, Next: sm.next, Bookkeeping: sm.bk,
		WorkDir: t.TempDir(), Progress: &progress, SavePreUpgrade: true,
		Checks: procedure.CheckOptions{Health: env.HealthOptions{Timeout: 40 * time.Second, Grace: 3 * time.Second}, Smoke: sm.smoke, Unique: runID},
	}
	st.do("install 1.0 (hook), seed, back up, upgrade to 1.1, seed", func() {
		_, err := procedure.Prepare(ctx, pc, seed.New(seed.Options{Seed: sm.s.Spec.Data.Seed, Rows: sm.s.Spec.Data.Rows}))
		require.NoError(t, err, "progress:\n%s", progress.String())
	})
	clean := map[string]*procedure.Result{}
	st.do("procedure standard without fault", func() {
		require.NoError(t, e.LoadState(ctx, procedure.StartState))
		res, err := procedure.Run(ctx, procedure.Standard(), pc)
		require.NoError(t, err)
		clean["standard"] = res
		t.Logf("standard: %s %v", res.Verdict, res.Reasons)
	})

	plan := []chaos.Injection{
		{Fault: chaos.AtomicTimeout, Point: chaos.Point{Phase: chaos.PhaseUpgrade}},
		{Fault: chaos.RestartNode, Point: chaos.Point{Phase: chaos.PhaseUpgrade}},
	}
	cells := map[string]chaos.Cell{}
	st.do("chaos: atomic-timeout and restart-node", func() {
		out, err := chaos.Run(ctx, chaos.Config{PC: pc, Plan: plan, Clean: clean, Progress: &progress})
		require.NoError(t, err)
		for _, c := range out {
			cells[c.Fault] = c
			t.Logf("cell %s@%s: %s (%.1fs)\n  state: %s\n  recovery: %s\n  detail: %s", c.Fault, c.Point, c.Verdict, c.Seconds, c.StateFound, c.Recovery, c.Detail)
		}
	})

	// Helm's --atomic: the upgrade's revision failed after its migration
	// Job ran; Helm's own rollback deployed release N again, with no hook.
	at := cells[chaos.AtomicTimeout]
	require.NotEqual(t, chaos.VerdictError, at.Verdict, at.Detail)
	require.Len(t, at.Helm, 2, "the upgrade's revision and the rollback's: %+v", at.Helm)
	up, rb := at.Helm[0], at.Helm[1]
	assert.Equal(t, "upgrade", up.Action)
	assert.Equal(t, "failed", up.Status)
	assert.Contains(t, up.Description, "failed")
	job := ""
	for _, h := range up.Hooks {
		if strings.HasPrefix(h, "Job/") {
			job = h
		}
	}
	assert.Contains(t, job, "pre-upgrade", "the migration Job ran on the upgrade: %v", up.Hooks)
	assert.Contains(t, job, "succeeded", up.Hooks)
	assert.Equal(t, "rollback", rb.Action)
	assert.Equal(t, "deployed", rb.Status)
	assert.Equal(t, up.Revision+1, rb.Revision)
	assert.True(t, strings.HasPrefix(rb.Description, "Rollback to "), rb.Description)
	assert.Empty(t, rb.Hooks, "no hook runs on Helm's automatic rollback")
	// The Job migrated before the rollout failed: the schema stays N+1's.
	assert.Contains(t, at.StateFound, "as after an uninterrupted upgrade", at.StateFound)
	assert.Contains(t, at.Bookkeeping, fmt.Sprintf("%q", strings.TrimLeft(sm.to.Version, "0")))
	assert.NotContains(t, at.Bookkeeping, "dirty")
	assert.True(t, at.NEraKept)
	// Helm's rollback is the standard procedure done by Helm: it ends as
	// the standard procedure does without the fault.
	want := chaos.VerdictAsWithoutFault
	if clean["standard"].Verdict == procedure.VerdictRecovered {
		want = chaos.VerdictRecovered
	}
	assert.Equal(t, want, at.Verdict, "%s\n%s", at.Recovery, at.Detail)

	// The node restarted mid-upgrade: timed; the re-run upgrade recovers.
	rn := cells[chaos.RestartNode]
	require.NotEqual(t, chaos.VerdictError, rn.Verdict, rn.Detail)
	require.NotNil(t, rn.Node, rn.Detail)
	assert.Equal(t, []string{name + "-control-plane"}, rn.Node.Nodes)
	assert.Greater(t, rn.Node.APISeconds, 0.0)
	assert.GreaterOrEqual(t, rn.Node.ReadySeconds, rn.Node.APISeconds)
	assert.Contains(t, rn.StateFound, "restarted while")
	assert.True(t, rn.NEraKept)
	assert.Contains(t, []string{chaos.VerdictRecovered, chaos.VerdictManual}, rn.Verdict, "%s\n%s\n%s", rn.StateFound, rn.Recovery, rn.Detail)

	// On an existing cluster (kube) the nodes are not the harness's:
	// restart-node is skipped with the reason.
	st.do("kube backend: restart-node skipped", func() {
		ke, err := kube.New(ctx, kube.Options{Options: env.Options{RunID: runID + "-kube"}, Kubeconfig: e.Kubeconfig()})
		require.NoError(t, err)
		defer func() { assert.NoError(t, ke.Close(context.Background())) }()
		kpc := *pc
		kpc.Env = ke
		out, err := chaos.Run(ctx, chaos.Config{PC: &kpc, Plan: plan[1:]})
		require.NoError(t, err)
		require.Len(t, out, 1)
		assert.Equal(t, chaos.VerdictSkipped, out[0].Verdict)
		assert.Contains(t, out[0].Detail, "cannot reach the cluster's nodes")
	})

	st.do("teardown: delete the cluster", func() {
		require.NoError(t, e.Close(ctx))
		closed = true
	})
	clusters, err := cluster.NewProvider(cluster.ProviderWithDocker()).List()
	require.NoError(t, err)
	assert.NotContains(t, clusters, name)
	ps, err := exec.Command("docker", "ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster="+name).Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(ps)), "node containers left")
	assert.NoDirExists(t, dir)
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "rehearse-"+runID+"*"))
	assert.Empty(t, left, "temp dirs left")
	assert.NoFileExists(t, filepath.Join(home, ".kube", "config"))
}
