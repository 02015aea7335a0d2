// Package chart renders and lints a Helm chart client-side with the Helm SDK
// (what `helm template` and `helm lint` do), returning the objects as values
// that tests and the kind backend can inspect.
package chart

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"
)

// Object is one rendered Kubernetes object.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	// Hook is the helm.sh/hook annotation ("" for ordinary release objects).
	Hook string
	YAML []byte
}

// Decode unmarshals the object into a typed value, e.g. *appsv1.Deployment.
func (o Object) Decode(into any) error {
	if err := yaml.Unmarshal(o.YAML, into); err != nil {
		return fmt.Errorf("decode %s/%s: %w", o.Kind, o.Name, err)
	}
	return nil
}

// Rendered is a chart rendered with one set of values.
type Rendered struct {
	Objects []Object
	Notes   string
}

// Find returns the object of that kind and name.
func (r *Rendered) Find(kind, name string) (Object, bool) {
	for _, o := range r.Objects {
		if o.Kind == kind && o.Name == name {
			return o, true
		}
	}
	return Object{}, false
}

// Names lists "Kind/name" of every object, sorted: handy in test failures.
func (r *Rendered) Names() []string {
	out := make([]string, 0, len(r.Objects))
	for _, o := range r.Objects {
		out = append(out, o.Kind+"/"+o.Name)
	}
	sort.Strings(out)
	return out
}

// Render renders the chart in dir as `helm install --dry-run` would without
// a cluster (hooks included), with values merged over the chart's own.
func Render(ctx context.Context, dir, releaseName, namespace string, values map[string]any) (*Rendered, error) {
	chrt, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	rel, err := install.RunWithContext(ctx, chrt, values)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", dir, err)
	}
	out := &Rendered{Notes: rel.Info.Notes}
	docs := []string{rel.Manifest}
	for _, h := range rel.Hooks {
		docs = append(docs, h.Manifest)
	}
	for _, doc := range docs {
		for _, part := range strings.Split(doc, "\n---") {
			obj, ok, err := parseObject(part)
			if err != nil {
				return nil, err
			}
			if ok {
				out.Objects = append(out.Objects, obj)
			}
		}
	}
	return out, nil
}

func parseObject(doc string) (Object, bool, error) {
	body := []byte(strings.TrimSpace(doc))
	if len(bytes.TrimSpace(stripComments(body))) == 0 {
		return Object{}, false, nil
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name        string            `json:"name"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(body, &head); err != nil {
		return Object{}, false, fmt.Errorf("parse rendered object: %w\n%s", err, body)
	}
	return Object{APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name,
		Hook: head.Metadata.Annotations["helm.sh/hook"], YAML: body}, true, nil
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// LintMessage is one finding of `helm lint`.
type LintMessage struct {
	Severity string // INFO, WARNING, ERROR
	Path     string
	Text     string
}

// Lint lints the chart in dir with values, as `helm lint` does. The error
// is non-nil only when the linter found errors; all messages are returned.
func Lint(dir, namespace string, values map[string]any) ([]LintMessage, error) {
	kube, err := chartutil.ParseKubeVersion("v1.34.0")
	if err != nil {
		return nil, fmt.Errorf("parse kube version: %w", err)
	}
	linter := lint.AllWithKubeVersion(dir, values, namespace, kube)
	var msgs []LintMessage
	var errs []string
	for _, m := range linter.Messages {
		sev := [...]string{support.UnknownSev: "UNKNOWN", support.InfoSev: "INFO", support.WarningSev: "WARNING", support.ErrorSev: "ERROR"}[m.Severity]
		msgs = append(msgs, LintMessage{Severity: sev, Path: m.Path, Text: m.Err.Error()})
		if m.Severity >= support.ErrorSev {
			errs = append(errs, m.Error())
		}
	}
	if len(errs) > 0 {
		return msgs, fmt.Errorf("lint chart %s: %s", dir, strings.Join(errs, "; "))
	}
	return msgs, nil
}
