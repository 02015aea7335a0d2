package kind

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rehearse-dev/rehearse/harness/env"
)

var _ env.NodeRestarter = (*Environment)(nil)

// nodeReadyTimeout bounds the wait for the nodes after a restart.
const nodeReadyTimeout = 5 * time.Minute

// RestartNodes implements env.NodeRestarter: `docker restart` of every
// node container of the cluster (through the docker shim when one is in
// PATH), as a node's reboot. Everything on the node restarts: the API
// server, the kubelet, every pod's containers (PostgreSQL included, on its
// volume). It returns once the API answers and every node has posted
// Ready since the restart.
func (e *Environment) RestartNodes(ctx context.Context) (env.NodeRestart, error) {
	var out env.NodeRestart
	ns, err := e.provider.ListNodes(e.name)
	if err != nil {
		return out, fmt.Errorf("restart nodes: list nodes of %s: %w", e.name, err)
	}
	for _, n := range ns {
		out.Nodes = append(out.Nodes, n.String())
	}
	if len(out.Nodes) == 0 {
		return out, fmt.Errorf("restart nodes: cluster %s has no node container", e.name)
	}
	t0 := time.Now()
	// -t 0: the node is killed, not shut down gracefully, as in a crash or
	// a power cut; a graceful stop would let the kubelet end pods cleanly.
	cmd := exec.CommandContext(ctx, "docker", append([]string{"restart", "--time", "0"}, out.Nodes...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return out, fmt.Errorf("docker restart %s: %w: %s", strings.Join(out.Nodes, " "), err, strings.TrimSpace(string(b)))
	}
	out.RestartSeconds = time.Since(t0).Seconds()
	wctx, cancel := context.WithTimeout(ctx, nodeReadyTimeout)
	defer cancel()
	cs := e.Cluster().Clientset
	for {
		if out.APISeconds == 0 {
			rctx, rcancel := context.WithTimeout(wctx, 3*time.Second)
			_, err := cs.CoreV1().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
			rcancel()
			if err == nil {
				out.APISeconds = time.Since(t0).Seconds()
			}
		}
		if out.APISeconds > 0 {
			nodes, err := cs.CoreV1().Nodes().List(wctx, metav1.ListOptions{})
			if err == nil && allReadySince(nodes.Items, t0) {
				out.ReadySeconds = time.Since(t0).Seconds()
				e.opts.Logger.Info("kind nodes restarted", "nodes", out.Nodes, "apiSeconds", fmt.Sprintf("%.1f", out.APISeconds), "readySeconds", fmt.Sprintf("%.1f", out.ReadySeconds))
				return out, nil
			}
		}
		select {
		case <-wctx.Done():
			return out, fmt.Errorf("restart nodes %s: not every node Ready within %s of the restart (API answered: %v)", strings.Join(out.Nodes, " "), nodeReadyTimeout, out.APISeconds > 0)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// allReadySince: every node's Ready condition is true and its kubelet
// posted it after t (a Ready from before the restart is stale).
func allReadySince(nodes []corev1.Node, t time.Time) bool {
	if len(nodes) == 0 {
		return false
	}
	for _, n := range nodes {
		ok := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ok = c.Status == corev1.ConditionTrue && !c.LastHeartbeatTime.Time.Before(t.Truncate(time.Second))
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
