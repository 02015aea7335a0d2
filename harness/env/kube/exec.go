package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/rehearse-dev/rehearse/harness/env"
)

var _ env.ServerExecer = (*Environment)(nil)

// ExecServer implements env.ServerExecer with a pod exec (`kubectl exec`)
// in the first running server pod of the current rollout.
func (e *Environment) ExecServer(ctx context.Context, command []string) (string, error) {
	if len(command) == 0 {
		return "", errors.New("exec in the server: no command")
	}
	_, pods, err := e.currentPods(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning || len(p.Spec.Containers) == 0 {
			continue
		}
		var out bytes.Buffer
		stderr, err := execIn(ctx, e.cluster.Config, e.cluster.Clientset, e.ns, p.Name, p.Spec.Containers[0].Name, command, nil, &out)
		return out.String() + stderr, err
	}
	return "", fmt.Errorf("exec in the server: no server pod is running (%d pods in the rollout; scale it up first)", len(pods))
}
