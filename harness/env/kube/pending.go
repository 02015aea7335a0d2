package kube

import (
	"context"
	"fmt"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/helmrun"
)

var _ env.HelmLockClearer = (*Environment)(nil)

// ClearPendingRelease implements env.HelmLockClearer.
func (e *Environment) ClearPendingRelease(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	hist, err := e.helm.History(e.opts.ReleaseName)
	if err != nil {
		return "", fmt.Errorf("read the release's lock: %w", err)
	}
	if len(hist) == 0 || !strings.HasPrefix(hist[len(hist)-1].Status, "pending") {
		return "", nil
	}
	pending := hist[len(hist)-1]
	if e.current == nil {
		return "", fmt.Errorf("release %s is %s at revision %d and no earlier release of this environment ran", e.opts.ReleaseName, pending.Status, pending.Revision)
	}
	rev, ok := e.revisions[e.current.Name]
	if !ok {
		return "", fmt.Errorf("release %s is %s at revision %d: no revision of this environment deployed release %s", e.opts.ReleaseName, pending.Status, pending.Revision, e.current.Name)
	}
	step := fmt.Sprintf("helm rollback %s %d (revision %d was left %s)", e.opts.ReleaseName, rev, pending.Revision, pending.Status)
	res, err := e.helm.Rollback(ctx, e.opts.ReleaseName, rev, helmrun.Options{Timeout: e.opts.HelmTimeout})
	e.record(res)
	if err != nil {
		return "", fmt.Errorf("clear the pending release: %w", err)
	}
	if err := e.ensureReplicas(ctx); err != nil {
		return "", err
	}
	return step, nil
}
