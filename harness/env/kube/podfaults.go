package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rehearse-dev/rehearse/harness/env"
)

var _ env.PodDeleter = (*Environment)(nil)

// HookComponent is the app.kubernetes.io/component of the chart's
// migration hook Job's pods.
const HookComponent = "migrate"

// deleteGrace is the grace period of a pod deletion. A grace of 0 is a
// force deletion: the API object goes at once while the kubelet still
// stops the container, so nothing tells when the process is dead, and a
// StatefulSet may start the replacement on the same volume meanwhile. With
// 1s the kubelet sends SIGTERM, then SIGKILL (after its 2s minimum), and
// the object goes only once the containers are dead.
const deleteGrace = int64(1)

// HookPods implements env.PodDeleter. It reads the API only (no lock):
// it is called while Upgrade waits for the hook.
func (e *Environment) HookPods(ctx context.Context) ([]env.Pod, error) {
	sel := e.selector(HookComponent)
	pods, err := e.cluster.Clientset.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list the migration hook's pods (%s): %w", sel, err)
	}
	var out []env.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			out = append(out, env.Pod{Name: p.Name, IP: p.Status.PodIP})
		}
	}
	return out, nil
}

// DeletePod implements env.PodDeleter.
func (e *Environment) DeletePod(ctx context.Context, name string) error {
	pods := e.cluster.Clientset.CoreV1().Pods(e.ns)
	p, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("delete pod %s: %w", name, err)
	}
	grace := deleteGrace
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", name, err)
	}
	return e.waitDead(ctx, name, p.UID)
}

// waitDead waits until pod name (of uid) is gone or every container of it
// has terminated (a Job's pod keeps its object while the Job controller
// holds its tracking finalizer).
func (e *Environment) waitDead(ctx context.Context, name string, uid types.UID) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		p, err := e.cluster.Clientset.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err), err == nil && p.UID != uid:
			return nil
		case err == nil && terminated(p):
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s: its containers still run 2m after its deletion (%v)", name, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func terminated(p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	if len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Terminated == nil {
			return false
		}
	}
	return true
}

// DeleteDatabasePod implements env.PodDeleter. It takes no lock either:
// it may run while a backup or restore (which hold it) is under way; the
// cached connection details notice the new pod by its UID.
func (e *Environment) DeleteDatabasePod(ctx context.Context) (string, error) {
	sel := e.selector(e.opts.Selectors.DatabaseComponent)
	pods := e.cluster.Clientset.CoreV1().Pods(e.ns)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return "", fmt.Errorf("find the PostgreSQL pod (%s): %w", sel, err)
	}
	var old *corev1.Pod
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp == nil {
			old = &list.Items[i]
			break
		}
	}
	if old == nil {
		return "", fmt.Errorf("no PostgreSQL pod labelled %s in namespace %s", sel, e.ns)
	}
	t0 := time.Now()
	if err := e.DeletePod(ctx, old.Name); err != nil {
		return "", err
	}
	dead := time.Since(t0)
	ctx, cancel := context.WithTimeout(ctx, e.opts.ReadyTimeout)
	defer cancel()
	for {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err == nil {
			for i := range list.Items {
				p := &list.Items[i]
				if p.UID != old.UID && p.DeletionTimestamp == nil && podReady(p) {
					return fmt.Sprintf("pod %s deleted (dead after %.1fs); its controller started %s on the same volume, ready %.1fs after the deletion", old.Name, dead.Seconds(), p.Name, time.Since(t0).Seconds()), nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("PostgreSQL pod %s deleted, but no new one was ready within %s (%v)", old.Name, e.opts.ReadyTimeout, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
