package kind_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/kind"
)

// e2eCluster is one e2e test's throwaway kind cluster: the sample's server
// images built, HOME isolated so the user's kubeconfig is never touched,
// the cluster created with images loaded. teardown deletes it and checks
// that nothing is left behind.
type e2eCluster struct {
	*kind.Environment
	bins                   map[string]string
	runID, name, dir, home string
	closed                 bool
}

func newE2ECluster(t *testing.T, ctx context.Context, st *stages, nodeImage, runID string, images ...string) *e2eCluster {
	c := &e2eCluster{bins: map[string]string{}, runID: runID}
	build := t.TempDir()
	st.do("build the sample server images 1.0 and 1.1", func() {
		for _, rel := range []string{"1.0", "1.1"} {
			c.bins[rel] = buildAppImage(t, rel, build)
		}
	})
	c.home = t.TempDir()
	t.Setenv("HOME", c.home)
	t.Setenv("KUBECONFIG", "")
	st.do("create the kind cluster and load "+strings.Join(images, ", "), func() {
		e, err := kind.New(ctx, kind.Options{Options: env.Options{RunID: runID}, NodeImage: nodeImage, Images: images})
		require.NoError(t, err)
		c.Environment = e
	})
	c.name, c.dir = c.ClusterName(), filepath.Dir(c.Kubeconfig())
	t.Cleanup(func() {
		if !c.closed {
			assert.NoError(t, c.Close(context.Background()))
		}
	})
	return c
}

// teardown deletes the cluster: no cluster, node container, kubeconfig or
// temp dir of the run may remain.
func (c *e2eCluster) teardown(t *testing.T, ctx context.Context, st *stages) {
	st.do("teardown: delete the cluster", func() {
		require.NoError(t, c.Close(ctx))
		c.closed = true
	})
	clusters, err := cluster.NewProvider(cluster.ProviderWithDocker()).List()
	require.NoError(t, err)
	assert.NotContains(t, clusters, c.name)
	ps, err := exec.Command("docker", "ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster="+c.name).Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(ps)), "node containers left")
	assert.NoDirExists(t, c.dir)
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "rehearse-"+c.runID+"*"))
	assert.Empty(t, left, "temp dirs left")
	assert.NoFileExists(t, filepath.Join(c.home, ".kube", "config"))
}
