// Package env is the seam between what a rehearsal does and where it runs:
// one Environment interface, one sub-package per backend (local, docker;
// kind and kube later), in the shape of kind's providers.
//
// An Environment owns one PostgreSQL server and the app server of one
// release at a time. It works on one "current" database; procedures each
// run on their own copy of a saved state (SaveState/LoadState), which on
// local and docker is CREATE DATABASE ... TEMPLATE and on a cluster would be
// a dump and restore. Differences from a plain "install/upgrade/rollback"
// API, and why:
//   - AdminDSN: the matrix builds its own databases on the same server, so
//     it measures on the PostgreSQL the procedures run on.
//   - ServerURL: the checks send smoke requests to the server.
//   - Install/Upgrade start the server and return once the process is up
//     (and, in boot mode, has migrated); readiness is ServerHealth's job, so
//     a release whose server never becomes ready is an observation, not an
//     error of the environment.
//   - ServerLogs returns the logs of the current rollout only (every replica
//     and every restart since the last Install/Upgrade/Rollback/Scale), so a
//     scan for schema errors blames the release that is running.
package env

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Release is one version of the app as the backends deploy it.
type Release struct {
	// Name is the release name, e.g. "1.1".
	Name string
	// Version is the last migration version the release ships.
	Version string
	// Binary is the server executable (local backend).
	Binary string
	// Args and Env are passed to the server (local: process; docker:
	// container command and environment). DATABASE_URL and LISTEN_ADDR are
	// set by the backend.
	Args []string
	Env  map[string]string
	// Image is the server image (docker, kind, kube).
	Image string
	// Port is the port the server listens on inside its container (default 8080).
	Port int
	// ViaHook: migrations run as a separate one-shot `--migrate-only` before
	// install and upgrade (the chart's pre-install/pre-upgrade Job), never at
	// boot and never on rollback, as with helm.
	ViaHook bool
	// Chart and Values are the Helm chart and its values (kind, kube).
	Chart  string
	Values map[string]any
}

// HealthOptions bound a health observation.
type HealthOptions struct {
	// Timeout is how long the server may take to become ready.
	Timeout time.Duration
	// Grace is how long it must then stay ready, without a restart.
	Grace time.Duration
}

// Health is what a health observation saw.
type Health struct {
	// Ready is true when every replica became ready within the timeout and
	// stayed ready, without restarting, for the grace period.
	Ready bool `json:"ready"`
	// ReadySeconds is how long the first readiness took.
	ReadySeconds float64 `json:"readySeconds"`
	// Restarts counts server restarts seen during the rollout.
	Restarts int `json:"restarts"`
	// CrashLoop is true when the server exited and was restarted: a server
	// that keeps dying is a failure even if it answers in between.
	CrashLoop bool `json:"crashLoop"`
	// Detail says why it is not ready: the last /readyz answer, or how the
	// process exited.
	Detail string `json:"detail,omitempty"`
}

// Environment is a place a rehearsal runs: a PostgreSQL and the app server.
// Every method that waits takes a context and gives up when it ends.
type Environment interface {
	// Name is the backend's name: "local", "docker", ...
	Name() string
	// AdminDSN connects to the server's maintenance database, reachable
	// from the harness.
	AdminDSN(ctx context.Context) (string, error)
	// DSN connects to the current database, reachable from the harness.
	DSN(ctx context.Context) (string, error)

	// Install starts release r on an empty database; with r.ViaHook the
	// migration hook runs first.
	Install(ctx context.Context, r Release) error
	// Upgrade replaces the running release with r (hook first with ViaHook).
	Upgrade(ctx context.Context, r Release) error
	// Rollback puts release `to` back, like `helm rollback`: no hook runs,
	// but a migrate-at-boot server migrates with its own files when it starts.
	Rollback(ctx context.Context, to Release) error
	// Scale sets the number of server replicas; 0 stops the server.
	Scale(ctx context.Context, replicas int) error

	// Backup writes `pg_dump --format=custom --no-owner --no-acl` of the
	// current database to path on the harness's machine.
	Backup(ctx context.Context, path string) error
	// Restore replaces the current database by the dump at path (an empty
	// database of the same name, then pg_restore). Scale to 0 first.
	Restore(ctx context.Context, path string) error

	// SaveState keeps a copy of the current database, with the release and
	// replica count running, under name.
	SaveState(ctx context.Context, name string) error
	// LoadState makes a fresh copy of saved state name the current database
	// and restarts the release and replicas that ran when it was saved.
	LoadState(ctx context.Context, name string) error

	// ServerHealth waits for the server to become ready and watches it for
	// the grace period. An error means the observation itself failed.
	ServerHealth(ctx context.Context, o HealthOptions) (Health, error)
	// ServerURL is the base URL of a server replica, reachable from the harness.
	ServerURL(ctx context.Context) (string, error)
	// ServerLogs returns the logs of the current rollout (see package doc).
	ServerLogs(ctx context.Context) (string, error)

	// Close removes everything the environment made. It is safe to call
	// more than once and must be called on success, failure and interrupt.
	Close(ctx context.Context) error
}

// ServerKiller is a backend that can crash the app server: every replica's
// process gets SIGKILL and its supervisor (the harness's, Docker's restart
// policy) starts it again, as after a crash. Chaos faults that need it are
// reported as skipped on backends without it.
type ServerKiller interface {
	KillServer(ctx context.Context) error
}

// ServerExecer is a backend that can run a command where a runbook's
// `kubectl exec` / `docker exec` would: in a running server replica's
// container or pod (local: a process on the harness with the server's
// environment). It returns the command's output (stdout and stderr); an
// error when it cannot run or exits non-zero, with that output. Runbook
// `exec` steps fail with a clear reason on backends without it.
type ServerExecer interface {
	ExecServer(ctx context.Context, command []string) (string, error)
}

// Forker is a backend that can make an independent environment next to
// itself: on kind and kube a namespace of its own on the same cluster, with
// its own PostgreSQL and release. Procedures then run in parallel, each in
// a fork (the cluster's nodes do the waiting: pod starts, readiness). The
// fork shares nothing with its parent but the cluster and images; Close
// removes what it made (the caller closes forks before the parent).
type Forker interface {
	Fork(ctx context.Context, name string) (Environment, error)
}

// KillEach implements ServerKiller over a backend's replicas (copied
// under its lock): kill each one; none running is an error.
func KillEach[R any](reps []R, kill func(R) error) error {
	if len(reps) == 0 {
		return fmt.Errorf("kill server: no replica is running")
	}
	for _, r := range reps {
		if err := kill(r); err != nil {
			return fmt.Errorf("kill server: %w", err)
		}
	}
	return nil
}

// Options are common to every backend.
type Options struct {
	// RunID names and labels what the environment makes, so a leftover can
	// be traced to its run.
	RunID string
	// Keep leaves the database server running on Close (its DSN is printed
	// by the CLI); the app servers are always stopped.
	Keep bool
}

// Disconnect ends every session on database db (but the caller's), so it
// can serve as a CREATE DATABASE template: a client that left a connection
// open must not make a snapshot fail.
func Disconnect(ctx context.Context, adminDSN, db string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("connect to end sessions on %s: %w", db, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db); err != nil {
		return fmt.Errorf("end sessions on %s: %w", db, err)
	}
	return nil
}

// CheckInstall refuses to install r over an installed release.
func CheckInstall(installed *Release, r Release) error {
	if installed != nil {
		return fmt.Errorf("install release %s: release %s is already installed (use Upgrade)", r.Name, installed.Name)
	}
	return nil
}

// CheckUpgrade refuses to upgrade to r when nothing is installed.
func CheckUpgrade(installed *Release, r Release) error {
	if installed == nil {
		return fmt.Errorf("upgrade to release %s: nothing installed (use Install)", r.Name)
	}
	return nil
}

// PodDeleter is a cluster backend: it can delete the chart's pods through
// the Kubernetes API, as an eviction or an operator would. The cluster
// chaos faults (kill-hook, kill-postgres-pod) need it and are reported as
// skipped on backends without it.
type PodDeleter interface {
	// HookPods lists the pods of the chart's migration hook Job that run
	// now, with their IPs (the client address their sessions show in
	// pg_stat_activity). It must not wait on a rollout in progress.
	HookPods(ctx context.Context) ([]Pod, error)
	// DeletePod deletes pod name and returns once its containers are
	// dead (not only once the API object is marked for deletion).
	DeletePod(ctx context.Context, name string) error
	// DeleteDatabasePod deletes PostgreSQL's pod and returns once its
	// controller has started a new one and it is ready; it says what
	// happened (pod names, seconds).
	DeleteDatabasePod(ctx context.Context) (string, error)
}

// Pod is one pod as PodDeleter lists it.
type Pod struct {
	Name, IP string
}
