package env

import (
	"context"
	"time"
)

// AtomicUpgrader is a backend whose upgrade is a Helm release (kind, kube):
// it can run `helm upgrade --atomic --wait --timeout T`, where Helm itself
// rolls the release back when the rollout fails. Chaos's atomic-timeout
// rehearses that rollback; backends without Helm report it as skipped.
type AtomicUpgrader interface {
	// UpgradeAtomic upgrades to r with --atomic. A failed and rolled-back
	// upgrade is an observation (AtomicResult.Error), not an error; an
	// error means the harness could not run or read the upgrade.
	UpgradeAtomic(ctx context.Context, r Release, o AtomicOptions) (AtomicResult, error)
}

// AtomicOptions shape one `helm upgrade --atomic`.
type AtomicOptions struct {
	// Timeout is --timeout: it bounds each hook and the wait for the
	// rollout, and then the automatic rollback's own wait.
	Timeout time.Duration
	// Unready injects a readiness failure: every container of the
	// server's pod template gets a readiness probe that never passes (a
	// post-renderer edits the rendered manifests, as a kustomize
	// post-renderer would), so the new pods start but never become ready,
	// whatever the chart. The kubelet fails them; Helm's wait times out.
	Unready bool
}

// AtomicResult is what Helm did during one `helm upgrade --atomic`.
type AtomicResult struct {
	// Error is Helm's error ("" = the upgrade succeeded).
	Error string `json:"error,omitempty"`
	// RolledBack: Helm's automatic rollback ran and its revision is deployed.
	RolledBack bool `json:"rolledBack"`
	// Revisions are the revisions this upgrade made, oldest first: the
	// upgrade's, then the rollback's.
	Revisions []HelmRevision `json:"revisions"`
	Seconds   float64        `json:"seconds"`
}

// HelmRevision is one line of `helm history` with the hooks that ran for it.
type HelmRevision struct {
	Revision    int    `json:"revision"`
	Action      string `json:"action"` // upgrade or rollback
	Status      string `json:"status"`
	Description string `json:"description"`
	// Hooks says which hooks ran, e.g. "Job/app-migrate (pre-upgrade) succeeded".
	Hooks []string `json:"hooks"`
}

// NodeRestarter is a backend that can restart the cluster's nodes (kind:
// docker restart of the node containers). Chaos's restart-node needs it;
// on other backends the harness cannot reach the nodes and reports skipped.
type NodeRestarter interface {
	// UpgradeInFlight waits until an Upgrade started by another goroutine
	// is at work in the cluster (Helm's revision pending and a pod of the
	// upgrade running: the migration hook's or the new server's) and
	// says what runs. It must not wait on the backend's own lock.
	UpgradeInFlight(ctx context.Context, timeout time.Duration) (string, error)
	// RestartNodes restarts every node and returns once the API answers
	// and every node reports Ready again, with the times measured.
	RestartNodes(ctx context.Context) (NodeRestart, error)
}

// NodeRestart is what one restart of the nodes took.
type NodeRestart struct {
	Nodes []string `json:"nodes"`
	// RestartSeconds is the restart itself (the node stopped and started),
	// APISeconds until the API server answered again, ReadySeconds until
	// every node reported Ready again; all from the restart's start.
	RestartSeconds float64 `json:"restartSeconds"`
	APISeconds     float64 `json:"apiSeconds"`
	ReadySeconds   float64 `json:"readySeconds"`
}

// HelmLockClearer is a backend whose release Helm locks while an action
// runs (kind, kube). A client cut off mid-action (a node restart, a killed
// helm) leaves the newest revision pending-install/upgrade/rollback, and
// every later upgrade refuses with "another operation
// (install/upgrade/rollback) is in progress".
type HelmLockClearer interface {
	// ClearPendingRelease does what operators do about it: when the
	// newest revision is pending, `helm rollback` to the revision of the
	// release that ran before (Helm's rollback does not check the lock).
	// It returns the command run, or "" when nothing was pending.
	ClearPendingRelease(ctx context.Context) (step string, err error)
}

// FaultStateSaver is a backend whose LoadState waits for the server to roll
// out (kind, kube). A fault's state may hold a server that never becomes
// ready again; saved this way, loading it starts the server without waiting,
// and the procedure run from it measures readiness itself.
type FaultStateSaver interface {
	SaveFaultState(ctx context.Context, name string) error
}
