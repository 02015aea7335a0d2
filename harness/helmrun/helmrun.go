// Package helmrun is a thin wrapper over helm.sh/helm/v3's action package:
// install and upgrade with wait and timeout, rollback to a revision, history,
// uninstall, and the hooks each of them ran with their logs, returned as
// values a report can render.
//
// It exists so the kind and kube backends drive the same Helm machinery an
// operator's `helm upgrade --wait` and `helm rollback` do, hooks included:
// a rollback runs the target release's pre/post-rollback hooks, never its
// pre-upgrade hooks, and Result.Hooks says exactly which hooks ran.
package helmrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/postrender"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

// Client runs Helm actions on one namespace of one cluster.
type Client struct {
	cfg       *action.Configuration
	cs        kubernetes.Interface
	namespace string
	log       *slog.Logger
}

// New returns a Client on namespace, using getter (a kubeconfig file and
// context) for every Kubernetes call; releases are stored as Secrets, as
// the helm CLI does.
func New(getter genericclioptions.RESTClientGetter, namespace string, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg := &action.Configuration{}
	debug := func(format string, v ...any) { log.Debug("helm: " + fmt.Sprintf(format, v...)) }
	if err := cfg.Init(getter, namespace, "secret", debug); err != nil {
		return nil, fmt.Errorf("helm init on namespace %s: %w", namespace, err)
	}
	cs, err := cfg.KubernetesClientSet()
	if err != nil {
		return nil, fmt.Errorf("helm: kubernetes client: %w", err)
	}
	return &Client{cfg: cfg, cs: cs, namespace: namespace, log: log}, nil
}

// Options bound one install, upgrade or rollback.
type Options struct {
	// Wait waits until the release's Deployments, StatefulSets, Pods and
	// Services are ready (helm --wait), up to Timeout.
	Wait bool
	// Timeout bounds each hook and the wait (helm --timeout); default 5m.
	Timeout time.Duration
	// Atomic (upgrade): when the upgrade fails, Helm rolls the release
	// back to the last deployed revision itself (helm --atomic; implies
	// Wait, and the rollback waits too).
	Atomic bool
	// PostRenderer (upgrade) edits the rendered manifests before Helm
	// applies them (helm --post-renderer).
	PostRenderer postrender.PostRenderer
}

func (o Options) timeout(ctx context.Context) time.Duration {
	t := o.Timeout
	if t <= 0 {
		t = 5 * time.Minute
	}
	// Rollback takes no context: the deadline is the only way to bound it.
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < t {
			t = max(left, time.Second)
		}
	}
	return t
}

// Result is what one Helm action did.
type Result struct {
	// Action is install, upgrade or rollback.
	Action   string `json:"action"`
	Release  string `json:"release"`
	Revision int    `json:"revision"`
	// Status is Helm's status of the revision (deployed, failed, ...).
	Status      string  `json:"status"`
	Description string  `json:"description,omitempty"`
	Seconds     float64 `json:"seconds"`
	// Hooks are the hooks that ran during this action, in the order they ran.
	Hooks []HookRun `json:"hooks"`
}

// HookRun is one hook execution.
type HookRun struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Events []string `json:"events"`
	// Phase is Succeeded, Failed or Running (Helm's HookPhase).
	Phase   string  `json:"phase"`
	Seconds float64 `json:"seconds"`
	// Logs are the logs of a Job hook's pods (every container, every pod).
	Logs string `json:"logs,omitempty"`
}

// HooksSummary says in one line which hooks ran, for a step's output.
func (r *Result) HooksSummary() string {
	if r == nil || len(r.Hooks) == 0 {
		return "no hook ran"
	}
	var parts []string
	for _, h := range r.Hooks {
		parts = append(parts, fmt.Sprintf("%s/%s (%s) %s", h.Kind, h.Name, strings.Join(h.Events, ","), strings.ToLower(h.Phase)))
	}
	return "hooks ran: " + strings.Join(parts, "; ")
}

// Install installs chart (a folder or archive) as release name with values.
func (c *Client) Install(ctx context.Context, name, chartPath string, values map[string]any, o Options) (*Result, error) {
	ch, err := loader.Load(chartPath)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", chartPath, err)
	}
	in := action.NewInstall(c.cfg)
	in.ReleaseName, in.Namespace = name, c.namespace
	in.Wait, in.Timeout = o.Wait, o.timeout(ctx)
	start := time.Now()
	rel, err := in.RunWithContext(ctx, ch, copyValues(values))
	res := c.result(ctx, "install", name, rel, start)
	if err != nil {
		return res, fmt.Errorf("helm install %s (chart %s): %w%s", name, chartPath, err, res.failedHookLogs())
	}
	return res, nil
}

// Upgrade upgrades release name to chart with values (values are not
// reused from the previous revision: each release states its own).
func (c *Client) Upgrade(ctx context.Context, name, chartPath string, values map[string]any, o Options) (*Result, error) {
	ch, err := loader.Load(chartPath)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", chartPath, err)
	}
	up := action.NewUpgrade(c.cfg)
	up.Namespace = c.namespace
	up.Wait, up.Timeout = o.Wait, o.timeout(ctx)
	up.Atomic, up.PostRenderer = o.Atomic, o.PostRenderer
	start := time.Now()
	rel, err := up.RunWithContext(ctx, name, ch, copyValues(values))
	res := c.result(ctx, "upgrade", name, rel, start)
	if err != nil {
		return res, fmt.Errorf("helm upgrade %s (chart %s): %w%s", name, chartPath, err, res.failedHookLogs())
	}
	return res, nil
}

// Rollback rolls release name back to revision (helm rollback NAME REVISION):
// a new revision made from that revision's chart and values.
func (c *Client) Rollback(ctx context.Context, name string, revision int, o Options) (*Result, error) {
	rb := action.NewRollback(c.cfg)
	rb.Version, rb.Wait, rb.Timeout = revision, o.Wait, o.timeout(ctx)
	start := time.Now()
	err := rb.Run(name)
	var rel *release.Release
	if last, lerr := c.cfg.Releases.Last(name); lerr == nil && last.Version > 0 {
		rel = last
	}
	res := c.result(ctx, "rollback", name, rel, start)
	if err != nil {
		return res, fmt.Errorf("helm rollback %s %d: %w%s", name, revision, err, res.failedHookLogs())
	}
	return res, nil
}

// Uninstall removes release name (helm uninstall --wait).
func (c *Client) Uninstall(ctx context.Context, name string, o Options) error {
	un := action.NewUninstall(c.cfg)
	un.Wait, un.Timeout = o.Wait, o.timeout(ctx)
	un.IgnoreNotFound = true
	if _, err := un.Run(name); err != nil {
		return fmt.Errorf("helm uninstall %s: %w", name, err)
	}
	return nil
}

// Revision is one line of `helm history`.
type Revision struct {
	Revision    int       `json:"revision"`
	Updated     time.Time `json:"updated"`
	Status      string    `json:"status"`
	Chart       string    `json:"chart"`
	AppVersion  string    `json:"appVersion"`
	Description string    `json:"description"`
}

// History lists release name's revisions, oldest first.
func (c *Client) History(name string) ([]Revision, error) {
	rels, err := action.NewHistory(c.cfg).Run(name)
	if err != nil {
		return nil, fmt.Errorf("helm history %s: %w", name, err)
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].Version < rels[j].Version })
	var out []Revision
	for _, r := range rels {
		rv := Revision{Revision: r.Version}
		if r.Info != nil {
			rv.Updated, rv.Status, rv.Description = r.Info.LastDeployed.Time, r.Info.Status.String(), r.Info.Description
		}
		if r.Chart != nil && r.Chart.Metadata != nil {
			rv.Chart = r.Chart.Metadata.Name + "-" + r.Chart.Metadata.Version
			rv.AppVersion = r.Chart.Metadata.AppVersion
		}
		out = append(out, rv)
	}
	return out, nil
}

// Since returns what Helm did to release name after revision after, one
// Result per newer revision, oldest first, each with the hooks that ran
// for it since start: after an --atomic upgrade that failed, the failed
// upgrade's revision and the automatic rollback's.
func (c *Client) Since(ctx context.Context, name string, after int, start time.Time) ([]*Result, error) {
	rels, err := action.NewHistory(c.cfg).Run(name)
	if err != nil {
		return nil, fmt.Errorf("helm history %s: %w", name, err)
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].Version < rels[j].Version })
	var out []*Result
	for _, r := range rels {
		if r.Version <= after {
			continue
		}
		act := "upgrade"
		if r.Info != nil && strings.HasPrefix(r.Info.Description, "Rollback to ") {
			act = "rollback"
		}
		res := c.result(ctx, act, name, r, start)
		res.Seconds = 0 // not known per revision
		out = append(out, res)
	}
	return out, nil
}

// Last is the newest revision of release name (0 = none).
func (c *Client) Last(name string) (int, error) {
	rels, err := action.NewHistory(c.cfg).Run(name)
	if err != nil {
		return 0, fmt.Errorf("helm history %s: %w", name, err)
	}
	last := 0
	for _, r := range rels {
		last = max(last, r.Version)
	}
	return last, nil
}

// result builds the Result of an action from the release it left, with the
// hooks that started after start and their logs.
func (c *Client) result(ctx context.Context, act, name string, rel *release.Release, start time.Time) *Result {
	res := &Result{Action: act, Release: name, Seconds: time.Since(start).Seconds(), Hooks: []HookRun{}}
	if rel == nil {
		return res
	}
	res.Revision = rel.Version
	if rel.Info != nil {
		res.Status, res.Description = rel.Info.Status.String(), rel.Info.Description
	}
	hooks := slices.Clone(rel.Hooks)
	sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].LastRun.StartedAt.Time.Before(hooks[j].LastRun.StartedAt.Time) })
	for _, h := range hooks {
		if h.LastRun.StartedAt.IsZero() || h.LastRun.StartedAt.Time.Before(start.Add(-time.Second)) {
			continue
		}
		hr := HookRun{Name: h.Name, Kind: h.Kind, Phase: h.LastRun.Phase.String()}
		for _, e := range h.Events {
			hr.Events = append(hr.Events, e.String())
		}
		if !h.LastRun.CompletedAt.IsZero() {
			hr.Seconds = h.LastRun.CompletedAt.Time.Sub(h.LastRun.StartedAt.Time).Seconds()
		}
		if h.Kind == "Job" {
			logs, err := c.JobLogs(ctx, h.Name)
			if err != nil {
				logs = "(logs unavailable: " + err.Error() + ")"
			}
			hr.Logs = logs
		}
		res.Hooks = append(res.Hooks, hr)
	}
	return res
}

func (r *Result) failedHookLogs() string {
	var b strings.Builder
	for _, h := range r.Hooks {
		if h.Phase == release.HookPhaseSucceeded.String() || h.Logs == "" {
			continue
		}
		fmt.Fprintf(&b, "\nlogs of hook %s/%s (%s):\n%s", h.Kind, h.Name, h.Phase, tail(h.Logs, 30))
	}
	return b.String()
}

// JobLogs returns the logs of every pod of Job name, oldest pod first.
func (c *Client) JobLogs(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pods, err := c.cs.CoreV1().Pods(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + name})
	if err != nil {
		return "", fmt.Errorf("list pods of job %s: %w", name, err)
	}
	sort.Slice(pods.Items, func(i, j int) bool {
		return pods.Items[i].CreationTimestamp.Before(&pods.Items[j].CreationTimestamp)
	})
	var b strings.Builder
	var errs []error
	for _, p := range pods.Items {
		for _, ct := range p.Spec.Containers {
			fmt.Fprintf(&b, "--- pod %s container %s\n", p.Name, ct.Name)
			raw, err := c.cs.CoreV1().Pods(c.namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ct.Name}).DoRaw(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("logs of pod %s: %w", p.Name, err))
				continue
			}
			b.Write(raw)
			if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\n")) {
				b.WriteByte('\n')
			}
		}
	}
	return b.String(), errors.Join(errs...)
}

// copyValues deep-copies values so Helm's coalescing cannot alter the
// caller's map (a Release is reused across installs and rollbacks).
func copyValues(v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for k, x := range v {
		out[k] = copyValue(x)
	}
	return out
}

func copyValue(x any) any {
	switch t := x.(type) {
	case map[string]any:
		return copyValues(t)
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = copyValue(e)
		}
		return s
	}
	return x
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
