package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/scenario"
)

func TestBundledScenariosLoad(t *testing.T) {
	tests := []struct {
		file     string
		from, to string
	}{
		{"sample-1.0-to-1.1.yaml", "000003", "000011"},
		{"sample-1.1-to-1.2.yaml", "000011", "000018"},
		{"sample-1.0-to-1.2.yaml", "000003", "000018"},
		{"sample-1.0-to-1.1-hook.yaml", "000003", "000011"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := scenario.Load(filepath.Join("..", "..", "scenarios", tt.file))
			require.NoError(t, err)
			assert.Equal(t, tt.from, s.Spec.Releases.From.Version)
			assert.Equal(t, tt.to, s.Spec.Releases.To.Version)
			assert.Equal(t, "local", s.Spec.Backend)
			assert.Subset(t, s.ProcedureNames(), scenario.Procedures, "the built-ins, and declared procedures")
			assert.Equal(t, 20*time.Second, s.Spec.Checks.ReadyTimeout.Duration)
			assert.DirExists(t, s.Abs(s.Spec.Migrations.Path))
			for _, backend := range []string{"local", "docker", "kind"} {
				assert.NoError(t, s.ForBackend(backend), backend)
			}
		})
	}
}

const valid = `apiVersion: rehearse.dev/v1
kind: Scenario
metadata:
  name: t
spec:
  migrations:
    path: migrations
  releases:
    from:
      name: "1.0"
      version: "000001"
      server: {binary: /bin/true}
    to:
      name: "1.1"
      version: "000002"
      server: {binary: /bin/true}
`

// write puts a scenario and an empty migrations folder in a temp dir.
func write(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "migrations"), 0o755))
	path := filepath.Join(dir, "s.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func TestDefaults(t *testing.T) {
	s, err := scenario.Load(write(t, valid))
	require.NoError(t, err)
	assert.Equal(t, "local", s.Spec.Backend)
	assert.Equal(t, 60*time.Second, s.Spec.Checks.ReadyTimeout.Duration)
	assert.Equal(t, 5*time.Second, s.Spec.Checks.Grace.Duration)
	assert.Equal(t, map[string]string{"full-restore": "recovered"}, s.Spec.Policy.Procedures)
	assert.Equal(t, 8080, s.Spec.Releases.From.Server.Port)
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []string // each must appear in the error
		backend string   // checked with ForBackend after a successful Load
	}{
		{name: "unknown field", body: strings.Replace(valid, "  name: t", "  name: t\n  nmae: x", 1),
			want: []string{"s.yaml:5: metadata.nmae: unknown field: use one of name, labels"}},
		{name: "typo deep in releases", body: strings.Replace(valid, "server: {binary: /bin/true}\n    to:", "server: {binray: /bin/true}\n    to:", 1),
			want: []string{"s.yaml:12: spec.releases.from.server.binray: unknown field"}},
		{name: "wrong apiVersion", body: strings.Replace(valid, "rehearse.dev/v1", "rehearse.dev/v2", 1),
			want: []string{`s.yaml:1: apiVersion: is "rehearse.dev/v2": this rehearse reads "rehearse.dev/v1"`}},
		{name: "wrong kind", body: strings.Replace(valid, "kind: Scenario", "kind: Deployment", 1),
			want: []string{`s.yaml:2: kind: is "Deployment"`}},
		{name: "bad name", body: strings.Replace(valid, "name: t\n", "name: Bad_Name\n", 1),
			want: []string{"s.yaml:4: metadata.name:"}},
		{name: "missing migrations path", body: strings.Replace(valid, "    path: migrations\n", "    layout: goose\n", 1),
			want: []string{"s.yaml:6: spec.migrations.path: missing"}},
		{name: "migrations folder missing", body: strings.Replace(valid, "path: migrations", "path: nowhere", 1),
			want: []string{"s.yaml:7: spec.migrations.path: nowhere is not a folder"}},
		{name: "bad layout", body: strings.Replace(valid, "path: migrations", "path: migrations\n    layout: liquibase", 1),
			want: []string{`s.yaml:8: spec.migrations.layout: unknown layout "liquibase"`}},
		{name: "bad version", body: strings.Replace(valid, `version: "000001"`, `version: "v1.0"`, 1),
			want: []string{`s.yaml:11: spec.releases.from.version: "v1.0" is not a migration version`}},
		{name: "version not resolvable", body: strings.Replace(valid, `      version: "000001"`+"\n", "", 1),
			want: []string{"spec.releases.from.version: missing", "releases.yaml"}},
		{name: "same release twice", body: strings.Replace(valid, `name: "1.1"`, `name: "1.0"`, 1),
			want: []string{"spec.releases.to.name: is \"1.0\" like releases.from"}},
		{name: "unknown procedure", body: valid + "  procedures: [standard, rollback-all]\n",
			want: []string{`s.yaml:17: spec.procedures[1]: unknown procedure "rollback-all"`}},
		{name: "duplicate procedure", body: valid + "  procedures: [standard, standard]\n",
			want: []string{`spec.procedures[1]: "standard" is listed twice`}},
		{name: "bad duration", body: valid + "  checks: {readyTimeout: soon}\n",
			want: []string{`s.yaml:17: "soon" is not a duration`}},
		{name: "wrong type", body: valid + "  data: {rows: many}\n",
			want: []string{"s.yaml:17: cannot unmarshal !!str `many` into int"}},
		{name: "data source missing", body: valid + "  data: {from: prod.dump}\n",
			want: []string{"s.yaml:17: spec.data.from: prod.dump does not exist"}},
		{name: "sample out of range", body: valid + "  data: {from: \"postgres://ro@db/app\", sample: 2}\n",
			want: []string{"spec.data.sample: 2: want a fraction between 0 and 1"}},
		{name: "sample without source", body: valid + "  data: {sample: 0.1}\n",
			want: []string{"spec.data: sample and allowDrift go with from"}},
		{name: "smoke placeholder without save", body: valid + "  smoke:\n    - {method: GET, path: \"/x/${agent.id}\"}\n",
			want: []string{`s.yaml:18: spec.smoke[0]: ${agent.id}: no earlier request saves "agent"`}},
		{name: "smoke bad method", body: valid + "  smoke:\n    - {method: FETCH, path: x}\n",
			want: []string{`spec.smoke[0].method: "FETCH"`, `spec.smoke[0].path: "x"`}},
		{name: "policy verdict", body: valid + "  policy:\n    procedures: {standard: fine}\n",
			want: []string{`s.yaml:18: spec.policy.procedures.standard: "fine"`}},
		{name: "not yaml", body: "apiVersion: [\n",
			want: []string{"s.yaml:"}},
		{name: "empty file", body: "",
			want: []string{"s.yaml: the file is empty"}},
		{name: "docker needs an image", body: valid, backend: "docker",
			want: []string{"s.yaml:12: spec.releases.from.server.image: the docker backend runs the server as a container", "s.yaml:16: spec.releases.to.server.image"}},
		{name: "unknown backend", body: valid, backend: "nomad",
			want: []string{`spec.backend: unknown backend "nomad"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, tt.body)
			s, err := scenario.Load(path)
			if tt.backend != "" {
				require.NoError(t, err)
				err = s.ForBackend(tt.backend)
			}
			require.Error(t, err)
			msg := strings.ReplaceAll(err.Error(), path, "s.yaml")
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := scenario.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope.yaml")
}
