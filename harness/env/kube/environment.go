// Package kube is the environment backend for a Kubernetes cluster: the
// release's chart installed, upgraded and rolled back with the Helm SDK
// (harness/helmrun), PostgreSQL reached through a client-go port-forward on
// 127.0.0.1, pg_dump/pg_restore/psql run inside the PostgreSQL pod through
// exec (as the runbook does), the server scaled through the Deployment's
// scale subresource, readiness read from pod conditions and restarts from
// container statuses, logs read from the API.
//
// It runs against an existing cluster (--kubeconfig/--context) in a
// namespace it creates and labels dev.rehearse.run=<run id>; it refuses a
// namespace it did not create unless NamespaceOwned is set. The kind backend
// (harness/env/kind) creates a throwaway cluster and runs this on it.
//
// The chart is found by the standard labels: the server is the Deployment,
// and PostgreSQL the pod, labelled app.kubernetes.io/instance=<release> and
// app.kubernetes.io/component=server|postgresql (Selectors changes them).
// The database user, password and name are read from the PostgreSQL
// container's POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB, the convention of
// the official image. Saved states are copies made with CREATE DATABASE ...
// TEMPLATE on the cluster's PostgreSQL; LoadState puts the saved release
// back with `helm rollback <saved revision>`.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/helmrun"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
)

// Selectors say how the chart labels its parts.
type Selectors struct {
	// ServerComponent and DatabaseComponent are the values of
	// app.kubernetes.io/component (default "server" and "postgresql").
	ServerComponent   string
	DatabaseComponent string
}

// Options configure a kube Environment.
type Options struct {
	env.Options
	// Kubeconfig and Context select the cluster; "" = kubectl's defaults.
	Kubeconfig string
	Context    string
	// Namespace to create (default "rehearse-<run id>").
	Namespace string
	// NamespaceOwned allows using a namespace that already exists; it is
	// then left in place on Close (the release and its volumes are removed).
	NamespaceOwned bool
	// ReleaseName is the Helm release name (default "app").
	ReleaseName string
	// HelmTimeout bounds each hook and each --wait (default 5m).
	HelmTimeout time.Duration
	// ReadyTimeout bounds the waits for pods this backend does itself
	// (database pod, rollouts after LoadState; default 3m).
	ReadyTimeout time.Duration
	Selectors    Selectors
	// WorkDir holds temporary files (default: a new temp dir rehearse-*).
	WorkDir string
	// Backend is the name Name returns (default "kube"; kind sets "kind").
	Backend string
	// KeepNamespace leaves the namespace and release on Close; the kind
	// backend sets it because deleting the cluster removes everything.
	KeepNamespace bool
	Logger        *slog.Logger
}

// Environment implements env.Environment on a Kubernetes cluster.
type Environment struct {
	opts    Options
	cluster *Cluster
	helm    *helmrun.Client
	ns      string
	created bool
	ownDir  bool

	mu sync.Mutex
	// revisions maps a release name to the Helm revision that deployed it.
	revisions map[string]int
	current   *env.Release
	// lastReplicas is the replica count a rollback restores when the chart
	// left the server at 0.
	lastReplicas int
	states       map[string]savedState
	db           *dbInfo
	pgFwd        *forward
	srvFwd       map[string]*forward
	// hookLogs are the hook Job logs of the current rollout.
	hookLogs string
	actions  []*helmrun.Result
	backups  int
	closed   bool
}

type savedState struct {
	db       string
	release  *env.Release
	revision int
	replicas int
	// unready: a fault's state (SaveFaultState), whose server may never
	// become ready again; loading it does not wait for the rollout.
	unready bool
}

var _ env.Environment = (*Environment)(nil)

// New connects to the cluster and prepares the namespace (see
// PrepareNamespace). Close undoes it.
func New(ctx context.Context, o Options) (*Environment, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RunID == "" {
		return nil, errors.New("kube environment: RunID is required (it names and labels the namespace)")
	}
	if o.Namespace == "" {
		o.Namespace = "rehearse-" + strings.ToLower(o.RunID)
	}
	if o.ReleaseName == "" {
		o.ReleaseName = "app"
	}
	if o.Backend == "" {
		o.Backend = "kube"
	}
	if o.HelmTimeout <= 0 {
		o.HelmTimeout = 5 * time.Minute
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 3 * time.Minute
	}
	if o.Selectors.ServerComponent == "" {
		o.Selectors.ServerComponent = "server"
	}
	if o.Selectors.DatabaseComponent == "" {
		o.Selectors.DatabaseComponent = "postgresql"
	}
	e := &Environment{opts: o, ns: o.Namespace, revisions: map[string]int{}, states: map[string]savedState{}, srvFwd: map[string]*forward{}, lastReplicas: 1}
	if o.WorkDir == "" {
		dir, err := os.MkdirTemp("", "rehearse-"+o.RunID+"-")
		if err != nil {
			return nil, fmt.Errorf("kube environment: work dir: %w", err)
		}
		e.opts.WorkDir, e.ownDir = dir, true
	}
	cl, err := Connect(o.Kubeconfig, o.Context, e.ns, e.opts.WorkDir+"/kube-cache")
	if err != nil {
		e.removeDir()
		return nil, err
	}
	e.cluster = cl
	if e.created, err = PrepareNamespace(ctx, cl.Clientset, e.ns, o.RunID, o.NamespaceOwned); err != nil {
		e.removeDir()
		return nil, err
	}
	if e.helm, err = helmrun.New(cl.Getter, e.ns, o.Logger); err != nil {
		_ = e.Close(context.Background())
		return nil, err
	}
	o.Logger.Info("kube environment ready", "namespace", e.ns, "created", e.created, "server", cl.Config.Host)
	return e, nil
}

// Name implements env.Environment.
func (e *Environment) Name() string { return e.opts.Backend }

// Namespace is the namespace the release runs in.
func (e *Environment) Namespace() string { return e.ns }

// Cluster is the connection the environment uses.
func (e *Environment) Cluster() *Cluster { return e.cluster }

// Helm is the Helm client on the environment's namespace.
func (e *Environment) Helm() *helmrun.Client { return e.helm }

// ReleaseName is the Helm release name.
func (e *Environment) ReleaseName() string { return e.opts.ReleaseName }

// Actions lists the Helm actions run so far (install, upgrades, rollbacks),
// with their revisions and the hooks each ran.
func (e *Environment) Actions() []*helmrun.Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*helmrun.Result(nil), e.actions...)
}

// LastAction says in one line what the last Helm action did, for a step's
// output: revision numbers and the hooks that ran.
func (e *Environment) LastAction() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.actions) == 0 {
		return ""
	}
	a := e.actions[len(e.actions)-1]
	return fmt.Sprintf("helm %s %s -> revision %d (%s, %.1fs); %s", a.Action, a.Release, a.Revision, a.Status, a.Seconds, a.HooksSummary())
}

// Install implements env.Environment: `helm install --wait`. With
// r.ViaHook the chart's migration Job runs as a post-install hook (the
// bundled database does not exist before install), so the release is
// installed without --wait and the server's rollout is awaited after it.
func (e *Environment) Install(ctx context.Context, r env.Release) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := env.CheckInstall(e.current, r); err != nil {
		return err
	}
	if r.Chart == "" {
		return fmt.Errorf("install release %s: no chart (set the release's chart.path in the scenario)", r.Name)
	}
	vals := releaseValues(r, true)
	res, err := e.helm.Install(ctx, e.opts.ReleaseName, r.Chart, vals, helmrun.Options{Wait: !r.ViaHook, Timeout: e.opts.HelmTimeout})
	e.record(res)
	if err != nil {
		return fmt.Errorf("install release %s: %w", r.Name, err)
	}
	if r.ViaHook {
		if err := e.waitRollout(ctx, e.opts.HelmTimeout); err != nil {
			return fmt.Errorf("install release %s: %w", r.Name, err)
		}
	}
	e.deployed(r, res)
	return nil
}

// Upgrade implements env.Environment: `helm upgrade --wait`, the release's
// pre-upgrade hooks (the migration Job with r.ViaHook) included.
func (e *Environment) Upgrade(ctx context.Context, r env.Release) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := env.CheckUpgrade(e.current, r); err != nil {
		return err
	}
	if r.Chart == "" {
		return fmt.Errorf("upgrade to release %s: no chart (set the release's chart.path in the scenario)", r.Name)
	}
	start := time.Now()
	res, err := e.helm.Upgrade(ctx, e.opts.ReleaseName, r.Chart, releaseValues(r, false), helmrun.Options{Wait: true, Timeout: e.opts.HelmTimeout})
	e.record(res)
	if err != nil {
		return fmt.Errorf("upgrade to release %s: %w", r.Name, err)
	}
	e.deployed(r, res)
	return e.freshIfKept(ctx, start)
}

// freshIfKept starts new server pods when the upgrade kept pods from
// before it (its template was applied by a failed earlier attempt, so
// Kubernetes reuses that ReplicaSet and its pods) and they had restarted
// (e.g. a node restart): with their restart history, the health check
// would take them for a crash loop. An upgrade is a fresh start, as a
// rollback to the running release is.
func (e *Environment) freshIfKept(ctx context.Context, start time.Time) error {
	_, pods, err := e.currentPods(ctx)
	if err != nil {
		return nil
	}
	for i := range pods {
		if pods[i].CreationTimestamp.Time.Before(start.Truncate(time.Second)) && readPod(&pods[i]).restarts > 0 {
			e.opts.Logger.Info("the upgrade kept server pods that had restarted; starting new ones", "pod", pods[i].Name)
			return e.restartRollout(ctx)
		}
	}
	return nil
}

// Rollback implements env.Environment: `helm rollback <release> <revision
// that deployed to>`, without --wait (readiness is ServerHealth's question).
// Helm runs the target's pre/post-rollback hooks only: never a migration
// Job. If the chart leaves the server at 0 replicas (it was scaled down
// before), it is scaled back to the last count, as an operator would.
func (e *Environment) Rollback(ctx context.Context, to env.Release) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	rev, ok := e.revisions[to.Name]
	if !ok {
		return fmt.Errorf("rollback to release %s: no revision of this environment deployed it", to.Name)
	}
	same := e.current != nil && e.current.Name == to.Name
	res, err := e.helm.Rollback(ctx, e.opts.ReleaseName, rev, helmrun.Options{Timeout: e.opts.HelmTimeout})
	e.record(res)
	if err != nil {
		return fmt.Errorf("rollback to release %s (revision %d): %w", to.Name, rev, err)
	}
	rc := to
	e.current = &rc
	e.hookLogs = hookLogText(res)
	if err := e.ensureReplicas(ctx); err != nil {
		return err
	}
	if same {
		// Rolling back to the release that runs changes no pod template,
		// so Kubernetes keeps the pods, crash history included. A rollback
		// is a fresh start elsewhere; here too, as `kubectl rollout restart`.
		return e.restartRollout(ctx)
	}
	return nil
}

func (e *Environment) ensureReplicas(ctx context.Context) error {
	d, err := e.serverDeployment(ctx)
	if err != nil {
		return err
	}
	if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
		e.opts.Logger.Info("the chart left the server at 0 replicas; scaling it back", "replicas", e.lastReplicas)
		return e.scale(ctx, e.lastReplicas)
	}
	return nil
}

func (e *Environment) record(res *helmrun.Result) {
	if res != nil {
		e.actions = append(e.actions, res)
		e.opts.Logger.Info("helm "+res.Action, "release", res.Release, "revision", res.Revision, "status", res.Status, "seconds", fmt.Sprintf("%.1f", res.Seconds), "hooks", res.HooksSummary())
	}
}

func (e *Environment) deployed(r env.Release, res *helmrun.Result) {
	rc := r
	e.current = &rc
	e.revisions[r.Name] = res.Revision
	e.hookLogs = hookLogText(res)
}

func hookLogText(res *helmrun.Result) string {
	var b strings.Builder
	for _, h := range res.Hooks {
		fmt.Fprintf(&b, "rehearse: helm %s hook %s/%s (%s) %s\n%s", res.Action, h.Kind, h.Name, strings.Join(h.Events, ","), h.Phase, h.Logs)
	}
	return b.String()
}

// releaseValues are r's chart values with migrations.viaHook set from
// r.ViaHook; on install, a hook release's Job runs post-install (the
// bundled database only exists once the release's objects do).
func releaseValues(r env.Release, install bool) map[string]any {
	vals := deepCopy(r.Values)
	if !r.ViaHook {
		return vals
	}
	mig, _ := vals["migrations"].(map[string]any)
	if mig == nil {
		mig = map[string]any{}
		vals["migrations"] = mig
	}
	mig["viaHook"] = true
	if _, set := mig["hooks"]; install && !set {
		mig["hooks"] = "post-install,pre-upgrade"
	}
	return vals
}

func deepCopy(v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for k, x := range v {
		if m, ok := x.(map[string]any); ok {
			out[k] = deepCopy(m)
		} else {
			out[k] = x
		}
	}
	return out
}

// Scale implements env.Environment through the Deployment's scale
// subresource; scaling to 0 returns once every server pod is gone.
func (e *Environment) Scale(ctx context.Context, replicas int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if replicas < 0 {
		return fmt.Errorf("scale to %d replicas: want 0 or more", replicas)
	}
	if e.current == nil {
		return fmt.Errorf("scale to %d replicas: nothing installed", replicas)
	}
	if replicas > 0 {
		e.lastReplicas = replicas
	}
	e.hookLogs = ""
	return e.scale(ctx, replicas)
}

// AdminDSN implements env.Environment: the maintenance database through
// the port-forward.
func (e *Environment) AdminDSN(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dsn(ctx, "postgres")
}

// DSN implements env.Environment: the chart's database through the
// port-forward.
func (e *Environment) DSN(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	db, err := e.database(ctx)
	if err != nil {
		return "", err
	}
	return e.dsn(ctx, db.database)
}

// Backup implements env.Environment: pg_dump runs in the PostgreSQL pod
// into a file there, which is then copied out to path and removed.
func (e *Environment) Backup(ctx context.Context, path string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	db, err := e.database(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	e.backups++
	remote := fmt.Sprintf("/tmp/rehearse-backup-%d.dump", e.backups)
	if _, err := e.dbExec(ctx, db, nil, nil, "pg_dump", "--format=custom", "--no-owner", "--no-acl", "--file="+remote, "--username="+db.user, "--dbname="+db.database); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer e.dbExec(context.WithoutCancel(ctx), db, nil, nil, "rm", "-f", remote) //nolint:errcheck // best effort
	if err := e.copyOut(ctx, db, remote, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore implements env.Environment: the dump is copied into the
// PostgreSQL pod, the database dropped and re-created empty by psql, then
// pg_restore run there. The server must be scaled to 0.
func (e *Environment) Restore(ctx context.Context, path string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if n, err := e.serverPodCount(ctx); err != nil {
		return fmt.Errorf("restore: %w", err)
	} else if n > 0 {
		return fmt.Errorf("restore: %d server pods still run: scale to 0 first", n)
	}
	db, err := e.database(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	e.backups++
	remote := fmt.Sprintf("/tmp/rehearse-restore-%d.dump", e.backups)
	if err := e.copyIn(ctx, db, path, remote); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer e.dbExec(context.WithoutCancel(ctx), db, nil, nil, "rm", "-f", remote) //nolint:errcheck // best effort
	if err := e.recreateDatabase(ctx, db, db.database, ""); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := e.dbExec(ctx, db, nil, nil, "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--username="+db.user, "--dbname="+db.database, remote); err != nil {
		return fmt.Errorf("restore %s: %w", path, err)
	}
	return nil
}

// recreateDatabase drops name and creates it again, empty or as a copy of
// template, with psql in the pod.
func (e *Environment) recreateDatabase(ctx context.Context, db *dbInfo, name, template string) error {
	create := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " OWNER " + pgx.Identifier{db.user}.Sanitize()
	if template != "" {
		create += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	for _, sql := range []string{"DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)", create} {
		if err := e.psql(ctx, db, "postgres", sql); err != nil {
			return err
		}
	}
	return nil
}

func (e *Environment) psql(ctx context.Context, db *dbInfo, database, sql string) error {
	_, err := e.dbExec(ctx, db, nil, nil, "psql", "--no-psqlrc", "--set=ON_ERROR_STOP=1", "--username="+db.user, "--dbname="+database, "--command="+sql)
	return err
}

// SaveState implements env.Environment: the server is scaled to 0 (a
// template must have no connections), the database copied with CREATE
// DATABASE ... TEMPLATE, and the server scaled back.
func (e *Environment) SaveState(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.current == nil {
		return fmt.Errorf("save state %s: nothing installed", name)
	}
	db, err := e.database(ctx)
	if err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	n, err := e.replicas(ctx)
	if err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	if err := e.scale(ctx, 0); err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	copyName := pgadmin.Name("rehearse", "state", name)
	if err := e.terminate(ctx, db, db.database); err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	if err := e.recreateDatabase(ctx, db, copyName, db.database); err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	rel := *e.current
	e.states[name] = savedState{db: copyName, release: &rel, revision: e.revisions[rel.Name], replicas: n}
	return e.scale(ctx, n)
}

// SaveFaultState implements env.FaultStateSaver: SaveState, but loading
// it does not wait for the rollout.
func (e *Environment) SaveFaultState(ctx context.Context, name string) error {
	if err := e.SaveState(ctx, name); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.states[name]
	st.unready = true
	e.states[name] = st
	return nil
}

// LoadState implements env.Environment: server to 0, the database
// replaced by a copy of the saved one, the saved release put back with
// `helm rollback` when another one runs, the replicas restored, and the
// rollout awaited.
func (e *Environment) LoadState(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.states[name]
	if !ok {
		return fmt.Errorf("load state %s: no such saved state", name)
	}
	db, err := e.database(ctx)
	if err != nil {
		return fmt.Errorf("load state %s: %w", name, err)
	}
	if err := e.scale(ctx, 0); err != nil {
		return fmt.Errorf("load state %s: %w", name, err)
	}
	if err := e.recreateDatabase(ctx, db, db.database, st.db); err != nil {
		return fmt.Errorf("load state %s: %w", name, err)
	}
	if e.current == nil || e.current.Name != st.release.Name {
		res, err := e.helm.Rollback(ctx, e.opts.ReleaseName, st.revision, helmrun.Options{Timeout: e.opts.HelmTimeout})
		e.record(res)
		if err != nil {
			return fmt.Errorf("load state %s: put release %s back: %w", name, st.release.Name, err)
		}
	}
	rel := *st.release
	e.current = &rel
	e.hookLogs = ""
	if st.replicas > 0 {
		e.lastReplicas = st.replicas
	}
	if err := e.scale(ctx, st.replicas); err != nil {
		return fmt.Errorf("load state %s: %w", name, err)
	}
	if st.replicas == 0 {
		return nil
	}
	if st.unready {
		e.opts.Logger.Info("a fault's state: not waiting for the server's rollout", "state", name)
		return nil
	}
	if err := e.waitRollout(ctx, e.opts.ReadyTimeout); err != nil {
		return fmt.Errorf("load state %s: %w", name, err)
	}
	return nil
}

// terminate closes every other session on database, so it can be a template.
func (e *Environment) terminate(ctx context.Context, db *dbInfo, database string) error {
	return e.psql(ctx, db, "postgres", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '"+strings.ReplaceAll(database, "'", "''")+"' AND pid <> pg_backend_pid()")
}

// ServerURL implements env.Environment: a port-forward to a ready server
// pod of the current rollout (or any running one).
func (e *Environment) ServerURL(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.serverURL(ctx)
}

// Close implements env.Environment: port-forwards stopped; unless Keep or
// KeepNamespace, a namespace this run created is deleted, or in an owned
// namespace the release is uninstalled and its volumes and saved states
// deleted; the work dir is removed.
func (e *Environment) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.closeForward()
	for _, f := range e.srvFwd {
		f.close()
	}
	var errs []error
	if !e.opts.Keep && !e.opts.KeepNamespace && e.cluster != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if e.created {
			errs = append(errs, DeleteNamespace(ctx, e.cluster.Clientset, e.ns, e.opts.RunID))
		} else if e.helm != nil {
			errs = append(errs, e.helm.Uninstall(ctx, e.opts.ReleaseName, helmrun.Options{Wait: true, Timeout: 3 * time.Minute}))
			errs = append(errs, e.deleteVolumes(ctx))
		}
	}
	if !e.opts.Keep {
		e.removeDir()
	}
	return errors.Join(errs...)
}

func (e *Environment) removeDir() {
	if e.ownDir {
		if err := os.RemoveAll(e.opts.WorkDir); err != nil {
			e.opts.Logger.Warn("remove work dir", "dir", e.opts.WorkDir, "err", err)
		}
	}
}

// WorkDir is the environment's temporary directory.
func (e *Environment) WorkDir() string { return e.opts.WorkDir }
