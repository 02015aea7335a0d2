package kube

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The fake clientset is used here only: the guard is pure API logic, and
// the e2e test in harness/env/kind runs the rest against a real cluster.
func TestPrepareNamespaceGuard(t *testing.T) {
	labelled := func(name, run string) *corev1.Namespace {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if run != "" {
			ns.Labels = map[string]string{RunLabel: run}
		}
		return ns
	}
	tests := []struct {
		name        string
		existing    *corev1.Namespace
		owned       bool
		wantCreated bool
		wantErr     string
	}{
		{name: "absent: created and labelled", wantCreated: true},
		{name: "exists, not ours: refused", existing: labelled("team-a", ""), wantErr: "--namespace-owned"},
		{name: "exists, another run's: refused with gc hint", existing: labelled("team-a", "run-old"), wantErr: "rehearse gc"},
		{name: "exists, owned: used, not created", existing: labelled("team-a", ""), owned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset()
			if tt.existing != nil {
				_, err := cs.CoreV1().Namespaces().Create(context.Background(), tt.existing, metav1.CreateOptions{})
				require.NoError(t, err)
			}
			created, err := PrepareNamespace(context.Background(), cs, "team-a", "run-1", tt.owned)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), "team-a")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantCreated, created)
			ns, err := cs.CoreV1().Namespaces().Get(context.Background(), "team-a", metav1.GetOptions{})
			require.NoError(t, err)
			if tt.wantCreated {
				assert.Equal(t, "run-1", ns.Labels[RunLabel])
			} else {
				assert.NotEqual(t, "run-1", ns.Labels[RunLabel], "an owned namespace is not relabelled")
			}
		})
	}
}

func TestDeleteNamespaceOnlyOwnRun(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mine", Labels: map[string]string{RunLabel: "run-1"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Labels: map[string]string{RunLabel: "run-2"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}},
	)
	require.NoError(t, DeleteNamespace(ctx, cs, "mine", "run-1"))
	_, err := cs.CoreV1().Namespaces().Get(ctx, "mine", metav1.GetOptions{})
	assert.Error(t, err, "deleted")
	for _, name := range []string{"theirs", "prod"} {
		err := DeleteNamespace(ctx, cs, name, "run-1")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "refused")
		_, err = cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		assert.NoError(t, err, "%s still exists", name)
	}
	assert.NoError(t, DeleteNamespace(ctx, cs, "gone", "run-1"), "an absent namespace is no error")
}

const kubeconfigTemplate = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "SERVER"}
- name: other
  cluster: {server: "https://other.example:6443"}
contexts:
- name: c
  context: {cluster: c, user: u}
- name: other
  context: {cluster: other, user: u}
current-context: c
users:
- name: u
  user: {token: t}
`

func writeKubeconfig(t *testing.T, path, server string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	b := strings.Replace(kubeconfigTemplate, "SERVER", server, 1)
	require.NoError(t, os.WriteFile(path, []byte(b), 0o600))
}

// The run's kubeconfig is the only one read: neither KUBECONFIG nor
// ~/.kube/config leaks in, for the harness's client nor for Helm's.
func TestKubeconfigIsolation(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	writeKubeconfig(t, filepath.Join(home, ".kube", "config"), "https://home.example:6443")
	writeKubeconfig(t, filepath.Join(dir, "env-kubeconfig"), "https://env.example:6443")
	run := filepath.Join(dir, "run", "kubeconfig")
	writeKubeconfig(t, run, "https://run.example:6443")
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "env-kubeconfig"))

	tests := []struct {
		name, kubeconfig, context, want string
	}{
		{name: "run file", kubeconfig: run, want: "https://run.example:6443"},
		{name: "run file, other context", kubeconfig: run, context: "other", want: "https://other.example:6443"},
		{name: "no file: kubectl's rules (KUBECONFIG first)", want: "https://env.example:6443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := filepath.Join(dir, "cache")
			cl, err := Connect(tt.kubeconfig, tt.context, "ns", cache)
			require.NoError(t, err)
			assert.Equal(t, tt.want, cl.Config.Host)
			hc, err := cl.Getter.ToRESTConfig()
			require.NoError(t, err)
			assert.Equal(t, tt.want, hc.Host, "Helm sees the same cluster")
			ns, _, err := cl.Getter.ToRawKubeConfigLoader().Namespace()
			require.NoError(t, err)
			assert.Equal(t, "ns", ns)
		})
	}
	_, err := Connect(filepath.Join(dir, "missing"), "", "ns", "")
	require.Error(t, err, "a missing file is an error, not a fallback to ~/.kube/config")
	assert.Contains(t, err.Error(), "missing")
	b, err := os.ReadFile(filepath.Join(home, ".kube", "config"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "home.example", "~/.kube/config untouched")
}
