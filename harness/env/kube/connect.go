package kube

import (
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a connection to one cluster, from one kubeconfig file and
// context, for the harness's own calls (client-go) and Helm's (Getter).
type Cluster struct {
	// Kubeconfig is the file read, "" for kubectl's default rules
	// (KUBECONFIG, then ~/.kube/config).
	Kubeconfig string
	Context    string
	Config     *rest.Config
	Clientset  kubernetes.Interface
	// Getter hands the same file and context to Helm.
	Getter genericclioptions.RESTClientGetter
}

// Connect reads kubeconfig (only that file when it is set: KUBECONFIG and
// ~/.kube/config are then ignored) and context ("" = the file's current
// context). cacheDir receives the discovery cache (default: kubectl's,
// under ~/.kube/cache); namespace is Helm's namespace.
func Connect(kubeconfig, context, namespace, cacheDir string) (*Cluster, error) {
	if kubeconfig != "" {
		if _, err := os.Stat(kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s (context %q): %w", describe(kubeconfig), context, err)
	}
	tune(cfg)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	flags := genericclioptions.NewConfigFlags(true)
	flags.KubeConfig = &kubeconfig
	flags.Context = &context
	flags.Namespace = &namespace
	if cacheDir != "" {
		flags.CacheDir = &cacheDir
	}
	flags.WrapConfigFn = func(c *rest.Config) *rest.Config { tune(c); return c }
	return &Cluster{Kubeconfig: kubeconfig, Context: context, Config: cfg, Clientset: cs, Getter: flags}, nil
}

// tune raises client-go's default client-side rate limit (5 qps), which
// otherwise paces Helm's waits and the harness's polling.
func tune(c *rest.Config) {
	c.QPS, c.Burst = 50, 100
}

func describe(kubeconfig string) string {
	if kubeconfig == "" {
		return "(KUBECONFIG or ~/.kube/config)"
	}
	return kubeconfig
}
