package kube

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/helmrun"
)

var (
	_ env.AtomicUpgrader = (*Environment)(nil)
)

// UpgradeAtomic implements env.AtomicUpgrader: `helm upgrade --atomic
// --wait --timeout T` with the Helm SDK. When Helm rolls back, the release
// that ran before stays the current one; the revisions the upgrade made
// (the failed upgrade's, the rollback's) are read back with their hooks.
func (e *Environment) UpgradeAtomic(ctx context.Context, r env.Release, o env.AtomicOptions) (env.AtomicResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out env.AtomicResult
	if err := env.CheckUpgrade(e.current, r); err != nil {
		return out, err
	}
	if r.Chart == "" {
		return out, fmt.Errorf("upgrade to release %s: no chart (set the release's chart.path in the scenario)", r.Name)
	}
	before, err := e.helm.Last(e.opts.ReleaseName)
	if err != nil {
		return out, err
	}
	ho := helmrun.Options{Wait: true, Atomic: true, Timeout: o.Timeout}
	if ho.Timeout <= 0 {
		ho.Timeout = e.opts.HelmTimeout
	}
	if o.Unready {
		ho.PostRenderer = unreadyServer{instance: e.opts.ReleaseName, component: e.opts.Selectors.ServerComponent}
	}
	start := time.Now()
	res, upErr := e.helm.Upgrade(ctx, e.opts.ReleaseName, r.Chart, releaseValues(r, false), ho)
	out.Seconds = time.Since(start).Seconds()
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	revs, err := e.helm.Since(ctx, e.opts.ReleaseName, before, start)
	if err != nil {
		return out, err
	}
	for _, rv := range revs {
		e.record(rv)
		hr := env.HelmRevision{Revision: rv.Revision, Action: rv.Action, Status: rv.Status, Description: rv.Description, Hooks: []string{}}
		for _, h := range rv.Hooks {
			hr.Hooks = append(hr.Hooks, fmt.Sprintf("%s/%s (%s) %s", h.Kind, h.Name, strings.Join(h.Events, ","), strings.ToLower(h.Phase)))
		}
		out.Revisions = append(out.Revisions, hr)
	}
	if upErr == nil {
		e.deployed(r, res)
		return out, nil
	}
	out.Error = upErr.Error()
	if n := len(revs); n > 0 && revs[n-1].Action == "rollback" && revs[n-1].Status == "deployed" {
		out.RolledBack = true
		// The release that ran before runs again: its rollout, with no hook.
		e.hookLogs = ""
	}
	return out, nil
}

// unreadyServer is a Helm post-renderer that gives every container of the
// server Deployment's pod template a readiness probe that never passes: a
// TCP connect to port 1, where nothing listens, so the kubelet reports the
// pod unready ("connection refused") for as long as it runs. The pod
// template is annotated so `kubectl describe` shows why.
type unreadyServer struct {
	instance, component string
}

// unreadyAnnotation marks the pod template the post-renderer changed.
const unreadyAnnotation = "rehearse.dev/injected-fault"

func (u unreadyServer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	docs := splitManifests(in.String())
	out := &bytes.Buffer{}
	hit := 0
	for _, doc := range docs {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("post-render: read a rendered manifest: %w", err)
		}
		if obj != nil && u.isServer(obj) {
			if err := makeUnready(obj); err != nil {
				return nil, err
			}
			b, err := yaml.Marshal(obj)
			if err != nil {
				return nil, fmt.Errorf("post-render: %w", err)
			}
			doc = string(b)
			hit++
		}
		out.WriteString("---\n")
		out.WriteString(strings.TrimSpace(doc))
		out.WriteString("\n")
	}
	if hit == 0 {
		return nil, fmt.Errorf("post-render: no Deployment labelled app.kubernetes.io/instance=%s,app.kubernetes.io/component=%s among the chart's manifests, so no server pod can be made unready (label the server Deployment so)", u.instance, u.component)
	}
	return out, nil
}

func (u unreadyServer) isServer(obj map[string]any) bool {
	if obj["kind"] != "Deployment" {
		return false
	}
	md, _ := obj["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	return labels["app.kubernetes.io/instance"] == u.instance && labels["app.kubernetes.io/component"] == u.component
}

func makeUnready(obj map[string]any) error {
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	cs, _ := pod["containers"].([]any)
	if len(cs) == 0 {
		return fmt.Errorf("post-render: the server Deployment has no containers")
	}
	probe := map[string]any{
		"tcpSocket":        map[string]any{"port": 1},
		"periodSeconds":    2,
		"failureThreshold": 1,
		"timeoutSeconds":   1,
	}
	for _, c := range cs {
		if m, ok := c.(map[string]any); ok {
			m["readinessProbe"] = probe
		}
	}
	md, _ := tmpl["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		tmpl["metadata"] = md
	}
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	ann[unreadyAnnotation] = "readiness probe never passes (rehearse atomic-timeout)"
	return nil
}

// splitManifests splits a multi-document YAML stream at its `---` lines,
// dropping empty documents.
func splitManifests(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			out = append(out, cur.String())
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return out
}

// UpgradeInFlight implements env.NodeRestarter's wait (for the kind
// backend, which embeds this): the release's newest revision is
// pending-upgrade and a pod created for it runs (the migration hook's, or
// the new server's). It reads the API directly, never e.mu, which the
// upgrade holds.
func (e *Environment) UpgradeInFlight(ctx context.Context, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cs := e.cluster.Clientset
	sel := "owner=helm,name=" + e.opts.ReleaseName + ",status=pending-upgrade"
	for {
		secrets, err := cs.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err == nil && len(secrets.Items) > 0 {
			since := secrets.Items[0].CreationTimestamp
			pods, err := cs.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, p := range pods.Items {
					if p.CreationTimestamp.Before(&since) || p.Status.Phase != corev1.PodRunning {
						continue
					}
					what := "pod " + p.Name
					if job := p.Labels["job-name"]; job != "" {
						what = "the hook Job " + job + "'s pod " + p.Name
					} else if p.Labels["app.kubernetes.io/component"] == e.opts.Selectors.ServerComponent {
						what = "the new server pod " + p.Name
					}
					return fmt.Sprintf("Helm revision %s pending-upgrade, %s running", secrets.Items[0].Labels["version"], what), nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the upgrade did not reach a running pod within %s", timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
