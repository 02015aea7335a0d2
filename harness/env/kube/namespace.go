package kube

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// RunLabel marks everything a rehearsal creates (namespaces here, docker
// containers in the docker backend); its value is the run id.
const RunLabel = "dev.rehearse.run"

// PrepareNamespace makes namespace name ready for run runID. A namespace
// that does not exist is created and labelled RunLabel=runID (created is
// true: the run may delete it). One that exists is used only when owned is
// true (the user said it is theirs to use): rehearse never installs into,
// nor later deletes, a namespace it did not create.
func PrepareNamespace(ctx context.Context, cs kubernetes.Interface, name, runID string, owned bool) (created bool, err error) {
	if name == "" {
		return false, fmt.Errorf("namespace: empty name")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{RunLabel: runID}}}
	_, err = cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err == nil {
		return true, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return false, fmt.Errorf("create namespace %s: %w", name, err)
	}
	if owned {
		return false, nil
	}
	existing, gerr := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	hint := ""
	if gerr == nil {
		if v, ok := existing.Labels[RunLabel]; ok {
			hint = fmt.Sprintf(" (it is labelled %s=%s: a leftover of another run; `rehearse gc --kubeconfig ...` removes it)", RunLabel, v)
		}
	}
	return false, fmt.Errorf("namespace %s already exists and this run did not create it%s: rehearse installs only into a namespace it creates; pass another --namespace, or --namespace-owned if %s is yours to use (rehearse then uninstalls its release but leaves the namespace)", name, hint, name)
}

// DeleteNamespace deletes namespace name if it carries RunLabel=runID and
// waits until it is gone (up to the context's deadline or 3 minutes).
func DeleteNamespace(ctx context.Context, cs kubernetes.Interface, name, runID string) error {
	ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.Labels[RunLabel] != runID {
		return fmt.Errorf("delete namespace %s: refused: it is not labelled %s=%s (this run did not create it)", name, RunLabel, runID)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	// Nothing in a run's namespace needs a graceful stop, and a terminating
	// namespace admits no new pods: its pods go at once, instead of after
	// their grace period (PostgreSQL's waits for its clients).
	zero := int64(0)
	if err := cs.CoreV1().Pods(name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
		slog.Default().Debug("delete the pods of a deleted namespace at once", "namespace", name, "err", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("delete namespace %s: still terminating: %w", name, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
