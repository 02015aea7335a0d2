// Package kind is the environment backend that creates a throwaway kind
// cluster with sigs.k8s.io/kind's Go API, loads each release's images into
// its nodes (what `kind load docker-image` does), and runs the kube
// backend's Helm-driven operations on it. The cluster is named
// rehearse-<short run id>, its kubeconfig is the run's own file (never
// ~/.kube/config), and Close deletes it unless Keep.
//
// kind's library shells out to `docker`. On hosts that refuse
// `docker run --privileged`, a folder with a `docker` wrapper that works
// around it must come first in PATH: set REHEARSE_DOCKER_SHIM to it (or
// Options.DockerShim) and the backend prepends it to this process's PATH.
package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/kube"
)

// ClusterPrefix starts the name of every cluster the backend creates;
// `rehearse gc` deletes clusters named so.
const ClusterPrefix = "rehearse-"

// DockerShimEnv names the environment variable holding a directory to put
// first in PATH before kind runs docker.
const DockerShimEnv = "REHEARSE_DOCKER_SHIM"

// DefaultNodeImage is kind's own node image for this kind version.
var DefaultNodeImage = defaults.Image

// Options configure a kind Environment.
type Options struct {
	env.Options
	// NodeImage is the node image (default DefaultNodeImage). It must exist
	// locally: on a machine without a registry kind cannot pull it.
	NodeImage string
	// Images are loaded into the nodes once the cluster is up (e.g. the
	// PostgreSQL image); each release's Image is loaded before its install
	// or upgrade.
	Images []string
	// DockerShim is put first in PATH (default: $REHEARSE_DOCKER_SHIM).
	DockerShim string
	// ReuseCluster names a cluster to run in and keep: created when missing,
	// left in place on Close, so a nightly job pays cluster create and image
	// load once across scenarios. The name gets ClusterPrefix when it lacks
	// it, so `rehearse gc` still removes it. The run uses its own namespace
	// (rehearse-<run id>), deleted on Close.
	ReuseCluster string
	// WaitForReady bounds the wait for the control plane (default 3m).
	WaitForReady time.Duration
	// ReleaseName, HelmTimeout and ReadyTimeout: see kube.Options.
	ReleaseName  string
	HelmTimeout  time.Duration
	ReadyTimeout time.Duration
	Logger       *slog.Logger
}

// Stage is one timed stage of the backend (cluster create, image load).
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Environment is a kind cluster running the kube backend.
type Environment struct {
	*kube.Environment
	opts       Options
	provider   *cluster.Provider
	name       string
	dir        string
	kubeconfig string

	mu      sync.Mutex
	loaded  map[string]string // image -> docker image ID loaded
	stages  []Stage
	closed  bool
	deleted bool
	reused  bool // ReuseCluster: never deleted by this run
}

var _ env.Environment = (*Environment)(nil)

// New creates the cluster, loads o.Images and prepares the namespace. On
// any error, everything created so far is deleted.
func New(ctx context.Context, o Options) (_ *Environment, err error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RunID == "" {
		return nil, errors.New("kind environment: RunID is required (it names the cluster)")
	}
	if o.NodeImage == "" {
		o.NodeImage = DefaultNodeImage
	}
	if o.WaitForReady <= 0 {
		o.WaitForReady = 3 * time.Minute
	}
	if err := UseDockerShim(o.DockerShim); err != nil {
		return nil, err
	}
	if _, err := imageID(ctx, o.NodeImage); err != nil {
		return nil, fmt.Errorf("kind node image %s is not in the local docker: %w (kind would try to pull it; build it, e.g. make node-image, or pass --node-image)", o.NodeImage, err)
	}
	for _, img := range o.Images {
		if _, err := imageID(ctx, img); err != nil {
			return nil, fmt.Errorf("image %s to load into the cluster is not in the local docker: %w", img, err)
		}
	}
	e := &Environment{opts: o, name: ClusterName(o.RunID), loaded: map[string]string{}}
	if o.ReuseCluster != "" {
		if e.name, err = ReuseClusterName(o.ReuseCluster); err != nil {
			return nil, err
		}
		e.reused = true
	}
	e.provider = cluster.NewProvider(cluster.ProviderWithLogger(kindLogger{o.Logger}), cluster.ProviderWithDocker())
	if e.dir, err = os.MkdirTemp("", "rehearse-"+o.RunID+"-"); err != nil {
		return nil, fmt.Errorf("kind environment: work dir: %w", err)
	}
	e.kubeconfig = filepath.Join(e.dir, "kubeconfig")
	defer func() {
		if err != nil {
			e.opts.Keep = false
			if cerr := e.Close(context.WithoutCancel(ctx)); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
	}()
	if err := e.createOrReuse(o); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create kind cluster %s: %w", e.name, err)
	}
	if err := e.LoadImages(ctx, o.Images...); err != nil {
		return nil, err
	}
	// A throwaway cluster is the run's alone: one fixed namespace, removed
	// with the cluster. A reused one gets the run's own namespace, deleted
	// on Close, so runs can share the cluster.
	ns := "rehearse"
	if e.reused {
		ns = ""
	}
	e.Environment, err = kube.New(ctx, kube.Options{
		Options:       o.Options,
		Kubeconfig:    e.kubeconfig,
		Namespace:     ns,
		ReleaseName:   o.ReleaseName,
		HelmTimeout:   o.HelmTimeout,
		ReadyTimeout:  o.ReadyTimeout,
		WorkDir:       e.dir,
		Backend:       "kind",
		KeepNamespace: !e.reused,
		Logger:        o.Logger,
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// createOrReuse creates the cluster, or with ReuseCluster connects to it
// when it exists (writing the run's kubeconfig for it).
func (e *Environment) createOrReuse(o Options) error {
	t0 := time.Now()
	if e.reused {
		existing, err := e.provider.List()
		if err != nil {
			return fmt.Errorf("list kind clusters: %w", err)
		}
		if !createCluster(existing, e.name) {
			cfg, err := e.provider.KubeConfig(e.name, false)
			if err != nil {
				return fmt.Errorf("kubeconfig of kind cluster %s (--reuse-cluster): %w", e.name, err)
			}
			if err := os.WriteFile(e.kubeconfig, []byte(cfg), 0o600); err != nil {
				return fmt.Errorf("write kubeconfig of kind cluster %s: %w", e.name, err)
			}
			o.Logger.Info("reusing kind cluster", "name", e.name, "kubeconfig", e.kubeconfig)
			e.stage("cluster reuse", t0)
			return nil
		}
	}
	o.Logger.Info("creating kind cluster", "name", e.name, "image", o.NodeImage, "kubeconfig", e.kubeconfig, "reuse", e.reused)
	err := e.provider.Create(e.name,
		cluster.CreateWithNodeImage(o.NodeImage),
		cluster.CreateWithKubeconfigPath(e.kubeconfig),
		cluster.CreateWithWaitForReady(o.WaitForReady),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	e.stage("cluster create", t0)
	if err != nil {
		return fmt.Errorf("create kind cluster %s (node image %s): %w", e.name, o.NodeImage, err)
	}
	return nil
}

// createCluster says whether cluster name must be created: it is not among
// the existing ones.
func createCluster(existing []string, name string) bool {
	for _, n := range existing {
		if n == name {
			return false
		}
	}
	return true
}

// ReuseClusterName is the cluster --reuse-cluster NAME runs in: NAME with
// ClusterPrefix added when missing (so `rehearse gc` finds it), in the
// characters kind and DNS accept.
func ReuseClusterName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if !strings.HasPrefix(n, ClusterPrefix) {
		n = ClusterPrefix + n
	}
	if !reuseName.MatchString(n) || len(n) > 40 {
		return "", fmt.Errorf("--reuse-cluster %q: want letters, digits and dashes, starting and ending with a letter or digit, at most %d characters with the %q prefix (e.g. --reuse-cluster nightly)",
			name, 40, ClusterPrefix)
	}
	return n, nil
}

var reuseName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// ClusterName is the cluster name of run runID: rehearse-<short id>, in
// the characters kind and DNS accept.
func ClusterName(runID string) string {
	id := strings.Trim(nonName.ReplaceAllString(strings.ToLower(runID), "-"), "-")
	if len(id) > 20 {
		id = strings.TrimRight(id[:20], "-")
	}
	if id == "" {
		id = "run"
	}
	return ClusterPrefix + id
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// Name implements env.Environment.
func (e *Environment) Name() string { return "kind" }

// ClusterName is the kind cluster's name.
func (e *Environment) ClusterName() string { return e.name }

// Kubeconfig is the run's own kubeconfig file.
func (e *Environment) Kubeconfig() string { return e.kubeconfig }

// Stages are the backend's timed stages so far.
func (e *Environment) Stages() []Stage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Stage(nil), e.stages...)
}

func (e *Environment) stage(name string, t0 time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stage{Name: name, Seconds: time.Since(t0).Seconds()}
	e.stages = append(e.stages, s)
	e.opts.Logger.Info("kind stage", "stage", name, "seconds", fmt.Sprintf("%.1f", s.Seconds))
}

// Install implements env.Environment: r's image is loaded, then the kube
// backend installs the chart.
func (e *Environment) Install(ctx context.Context, r env.Release) error {
	if err := e.loadRelease(ctx, r); err != nil {
		return err
	}
	return e.Environment.Install(ctx, r)
}

// Upgrade implements env.Environment: r's image is loaded, then the kube
// backend upgrades the chart.
func (e *Environment) Upgrade(ctx context.Context, r env.Release) error {
	if err := e.loadRelease(ctx, r); err != nil {
		return err
	}
	return e.Environment.Upgrade(ctx, r)
}

func (e *Environment) loadRelease(ctx context.Context, r env.Release) error {
	if r.Image == "" {
		return nil
	}
	if err := e.LoadImages(ctx, r.Image); err != nil {
		return fmt.Errorf("release %s: %w", r.Name, err)
	}
	return nil
}

// LoadImages loads local docker images into every node, as `kind load
// docker-image` does: images a node already has (same ID) are skipped, the
// others saved with `docker save` into one archive imported on each node.
func (e *Environment) LoadImages(ctx context.Context, images ...string) error {
	t0 := time.Now()
	ids := map[string]string{}
	var todo []string
	e.mu.Lock()
	for _, img := range images {
		id, err := imageID(ctx, img)
		if err != nil {
			e.mu.Unlock()
			return fmt.Errorf("load image %s: not in the local docker: %w", img, err)
		}
		if e.loaded[img] != id && ids[img] == "" {
			todo = append(todo, img)
		}
		ids[img] = id
	}
	e.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	all, err := e.provider.ListInternalNodes(e.name)
	if err != nil {
		return fmt.Errorf("load images: list nodes of %s: %w", e.name, err)
	}
	var targets []nodes.Node
	for _, n := range all {
		for _, img := range todo {
			if got, err := nodeImageID(n, img); err != nil || got != ids[img] {
				targets = append(targets, n)
				break
			}
		}
	}
	if len(targets) > 0 {
		tar := filepath.Join(e.dir, "images.tar")
		defer os.Remove(tar)
		if out, err := exec.CommandContext(ctx, "docker", append([]string{"save", "-o", tar}, todo...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("docker save %s: %w: %s", strings.Join(todo, " "), err, bytes.TrimSpace(out))
		}
		errs := make([]error, len(targets))
		var wg sync.WaitGroup
		for i, n := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := os.Open(tar)
				if err != nil {
					errs[i] = err
					return
				}
				defer f.Close()
				if err := nodeutils.LoadImageArchive(n, f); err != nil {
					errs[i] = fmt.Errorf("node %s: %w", n.String(), err)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("load images %s: %w", strings.Join(todo, " "), err)
		}
	}
	e.mu.Lock()
	for _, img := range todo {
		e.loaded[img] = ids[img]
	}
	e.mu.Unlock()
	e.stage("image load "+strings.Join(todo, " "), t0)
	return nil
}

// Close implements env.Environment: the kube backend's port-forwards are
// stopped, then (unless Keep) the cluster is deleted and the run's
// directory removed. With Keep, the kubeconfig path is logged.
func (e *Environment) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	var errs []error
	if e.Environment != nil {
		errs = append(errs, e.Environment.Close(ctx))
	}
	if e.reused {
		e.opts.Logger.Info("kind cluster kept for reuse (--reuse-cluster)", "name", e.name,
			"delete", "rehearse gc, or kind delete cluster --name "+e.name)
		if e.dir != "" && !e.opts.Keep {
			if err := os.RemoveAll(e.dir); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", e.dir, err))
			}
		}
		return errors.Join(errs...)
	}
	if e.opts.Keep {
		e.opts.Logger.Warn("kind cluster kept (--keep)", "name", e.name, "kubeconfig", e.kubeconfig,
			"delete", "rehearse gc, or kind delete cluster --name "+e.name)
		return errors.Join(errs...)
	}
	t0 := time.Now()
	if err := e.provider.Delete(e.name, e.kubeconfig); err != nil {
		errs = append(errs, fmt.Errorf("delete kind cluster %s: %w", e.name, err))
	}
	e.stage("cluster delete", t0)
	if e.dir != "" {
		if err := os.RemoveAll(e.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", e.dir, err))
		}
	}
	return errors.Join(errs...)
}

// UseDockerShim prepends dir (default $REHEARSE_DOCKER_SHIM; nothing when
// both are empty) to this process's PATH, once.
func UseDockerShim(dir string) error {
	if dir == "" {
		dir = os.Getenv(DockerShimEnv)
	}
	if dir == "" {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("%s=%s: %w", DockerShimEnv, dir, err)
	}
	if _, err := os.Stat(filepath.Join(abs, "docker")); err != nil {
		return fmt.Errorf("docker shim %s: %w (set %s to the folder holding the shim's docker script)", abs, err, DockerShimEnv)
	}
	path := os.Getenv("PATH")
	if first, _, _ := strings.Cut(path, string(os.PathListSeparator)); first == abs {
		return nil
	}
	return os.Setenv("PATH", abs+string(os.PathListSeparator)+path)
}

// imageID is the local docker image ID of image.
func imageID(ctx context.Context, image string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("docker image inspect %s: %w: %s", image, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// KillServer implements env.ServerKiller: every running server container's
// task gets SIGKILL from the node's containerd (`ctr task kill` in the
// node), so the kubelet restarts it and counts the restart, as after a
// crash.
func (e *Environment) KillServer(ctx context.Context) error {
	cs, err := e.ServerContainers(ctx)
	if err != nil {
		return fmt.Errorf("kill server: %w", err)
	}
	return env.KillEach(cs, func(c kube.ServerContainer) error {
		// ctr ships in every kind node image; crictl not in all of them.
		out, err := exec.CommandContext(ctx, "docker", "exec", c.Node, "ctr", "--namespace", "k8s.io", "task", "kill", "--signal", "SIGKILL", c.ID).CombinedOutput()
		if err != nil {
			return fmt.Errorf("container of pod %s on node %s: %w: %s", c.Pod, c.Node, err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}
