package kube

import (
	"bytes"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// renderSample renders the repository's sample chart as release "app",
// every template in one stream, as Helm hands it to a post-renderer.
func renderSample(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	ch, err := loader.Load(filepath.Join(filepath.Dir(file), "..", "..", "..", "charts", "rehearse-sample"))
	require.NoError(t, err)
	vals, err := chartutil.ToRenderValues(ch, map[string]any{}, chartutil.ReleaseOptions{Name: "app", Namespace: "ns", IsUpgrade: true}, chartutil.DefaultCapabilities)
	require.NoError(t, err)
	files, err := engine.Render(ch, vals)
	require.NoError(t, err)
	var b bytes.Buffer
	for name, body := range files {
		if filepath.Ext(name) == ".yaml" {
			b.WriteString("---\n# Source: " + name + "\n" + body + "\n")
		}
	}
	return b.String()
}

// The atomic-timeout post-renderer makes the server Deployment's pods
// unready and leaves every other manifest alone; a chart whose server it
// cannot find is an error that says which labels it looks for.
func TestUnreadyServerPostRenderer(t *testing.T) {
	sample := renderSample(t)
	cases := []struct {
		name, in, component string
		deployments         int // Deployments in the output
		err                 string
	}{
		{name: "the sample chart", in: sample, component: "server", deployments: 1},
		{name: "another component name", in: sample, component: "api", err: "no Deployment labelled app.kubernetes.io/instance=app,app.kubernetes.io/component=api"},
		{name: "no manifests", in: "---\n# Source: empty\n", component: "server", err: "no Deployment labelled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := unreadyServer{instance: "app", component: tc.component}.Run(bytes.NewBufferString(tc.in))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			docs := splitManifests(out.String())
			assert.Len(t, docs, len(splitManifests(tc.in)), "every manifest kept")
			n := 0
			for _, doc := range docs {
				var d appsv1.Deployment
				require.NoError(t, yaml.Unmarshal([]byte(doc), &d))
				if d.Kind != "Deployment" {
					continue
				}
				n++
				assert.Contains(t, d.Spec.Template.Annotations, unreadyAnnotation)
				require.NotEmpty(t, d.Spec.Template.Spec.Containers)
				for _, c := range d.Spec.Template.Spec.Containers {
					require.NotNil(t, c.ReadinessProbe, c.Name)
					require.NotNil(t, c.ReadinessProbe.TCPSocket, "the probe connects where nothing listens")
					assert.Equal(t, 1, c.ReadinessProbe.TCPSocket.Port.IntValue())
					assert.NotNil(t, c.LivenessProbe, "the liveness probe is the chart's")
				}
			}
			assert.Equal(t, tc.deployments, n)
			assert.Contains(t, out.String(), "kind: StatefulSet", "PostgreSQL's StatefulSet is still there")
		})
	}
}
