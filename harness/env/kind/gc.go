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
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/rehearse-dev/rehearse/harness/env/kube"
)

// GCOptions configure GC.
type GCOptions struct {
	// DryRun lists what would be deleted without deleting it.
	DryRun bool
	// OlderThan spares temp dirs modified more recently (0 = none spared).
	OlderThan time.Duration
	// Kubeconfig or Context, when set, also deletes the namespaces labelled
	// dev.rehearse.run in that cluster (the kube backend's leftovers).
	Kubeconfig, Context string
	// TempDir is where temp dirs are looked for (default os.TempDir()).
	TempDir string
	Logger  *slog.Logger
}

// GCReport lists what GC deleted (or, with DryRun, would delete).
type GCReport struct {
	Clusters   []string `json:"clusters"`
	Containers []string `json:"containers"`
	TempDirs   []string `json:"tempDirs"`
	Namespaces []string `json:"namespaces"`
}

// GC deletes what interrupted runs left: kind clusters named rehearse-*,
// docker containers labelled dev.rehearse.run, temp dirs rehearse-* and,
// with a kubeconfig or context, namespaces labelled dev.rehearse.run. It
// must not run while a rehearsal runs: it would delete that run's cluster.
func GC(ctx context.Context, o GCOptions) (*GCReport, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if err := UseDockerShim(""); err != nil {
		return nil, err
	}
	rep := &GCReport{}
	var errs []error
	if err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		o.Logger.Warn("docker does not answer: no cluster or container to look for", "err", err)
	} else {
		errs = append(errs, gcClusters(ctx, o, rep), gcContainers(ctx, o, rep))
	}
	errs = append(errs, gcTempDirs(o, rep))
	if o.Kubeconfig != "" || o.Context != "" {
		errs = append(errs, gcNamespaces(ctx, o, rep))
	}
	return rep, errors.Join(errs...)
}

func gcClusters(ctx context.Context, o GCOptions, rep *GCReport) error {
	p := cluster.NewProvider(cluster.ProviderWithLogger(kindLogger{o.Logger}), cluster.ProviderWithDocker())
	names, err := p.List()
	if err != nil {
		return fmt.Errorf("list kind clusters: %w", err)
	}
	// kind edits the kubeconfig it is given when deleting: give it a
	// throwaway one so the user's is never touched.
	scratch, err := os.MkdirTemp("", "gc-kubeconfig-")
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	defer os.RemoveAll(scratch)
	var errs []error
	for _, n := range names {
		if !strings.HasPrefix(n, ClusterPrefix) || ctx.Err() != nil {
			continue
		}
		rep.Clusters = append(rep.Clusters, n)
		if o.DryRun {
			continue
		}
		if err := p.Delete(n, filepath.Join(scratch, "kubeconfig")); err != nil {
			errs = append(errs, fmt.Errorf("delete kind cluster %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

func gcContainers(ctx context.Context, o GCOptions, rep *GCReport) error {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--filter", "label="+kube.RunLabel, "--format", "{{.ID}} {{.Names}}").Output()
	if err != nil {
		return fmt.Errorf("list containers labelled %s: %w", kube.RunLabel, err)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, name, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		ids = append(ids, id)
		rep.Containers = append(rep.Containers, name)
	}
	if o.DryRun || len(ids) == 0 {
		return nil
	}
	if b, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f", "-v"}, ids...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker rm %s: %w: %s", strings.Join(ids, " "), err, bytes.TrimSpace(b))
	}
	return nil
}

func gcTempDirs(o GCOptions, rep *GCReport) error {
	matches, err := filepath.Glob(filepath.Join(o.TempDir, "rehearse-*"))
	if err != nil {
		return fmt.Errorf("list temp dirs: %w", err)
	}
	var errs []error
	for _, m := range matches {
		fi, err := os.Lstat(m)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < o.OlderThan {
			continue
		}
		rep.TempDirs = append(rep.TempDirs, m)
		if o.DryRun {
			continue
		}
		if err := os.RemoveAll(m); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

func gcNamespaces(ctx context.Context, o GCOptions, rep *GCReport) error {
	cl, err := kube.Connect(o.Kubeconfig, o.Context, "default", "")
	if err != nil {
		return err
	}
	list, err := cl.Clientset.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kube.RunLabel})
	if err != nil {
		return fmt.Errorf("list namespaces labelled %s: %w", kube.RunLabel, err)
	}
	var errs []error
	for _, ns := range list.Items {
		rep.Namespaces = append(rep.Namespaces, ns.Name)
		if o.DryRun {
			continue
		}
		if err := kube.DeleteNamespace(ctx, cl.Clientset, ns.Name, ns.Labels[kube.RunLabel]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
