package kind

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env"
)

func TestClusterName(t *testing.T) {
	tests := []struct{ runID, want string }{
		{"run-20260101-120000", "rehearse-run-20260101-120000"},
		{"Run_ID.With Stuff", "rehearse-run-id-with-stuff"},
		{"e2e123456789012345678901234567890", "rehearse-e2e12345678901234567"},
		{"---", "rehearse-run"},
	}
	for _, tt := range tests {
		t.Run(tt.runID, func(t *testing.T) {
			got := ClusterName(tt.runID)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), 29, "node names (<cluster>-control-plane) stay short")
		})
	}
}

func TestUseDockerShim(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", "/usr/bin:/bin")
	t.Setenv(DockerShimEnv, "")
	require.NoError(t, UseDockerShim(""))
	assert.Equal(t, "/usr/bin:/bin", os.Getenv("PATH"), "nothing set, nothing changed")

	err := UseDockerShim(dir)
	require.Error(t, err, "a folder without a docker script is refused")
	assert.Contains(t, err.Error(), DockerShimEnv)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\nexec /usr/bin/docker \"$@\"\n"), 0o755))
	t.Setenv(DockerShimEnv, dir)
	require.NoError(t, UseDockerShim(""))
	require.NoError(t, UseDockerShim(""), "idempotent")
	assert.Equal(t, dir+":/usr/bin:/bin", os.Getenv("PATH"))
}

func TestNewRefusesMissingNodeImage(t *testing.T) {
	_, err := New(context.Background(), Options{Options: env.Options{RunID: "t"}, NodeImage: "rehearse-test/no-such-node:v0"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rehearse-test/no-such-node:v0")
	assert.Contains(t, err.Error(), "kind would try to pull it")
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "rehearse-t-*"))
	assert.Empty(t, left, "no temp dir before the image check passes")
}

func TestGCTempDirs(t *testing.T) {
	tmp := t.TempDir()
	for _, d := range []string{"rehearse-old-1", "rehearse-new-2", "other-3"} {
		require.NoError(t, os.Mkdir(filepath.Join(tmp, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "rehearse-file"), nil, 0o644))
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(tmp, "rehearse-old-1"), old, old))

	rep := &GCReport{}
	require.NoError(t, gcTempDirs(GCOptions{TempDir: tmp, OlderThan: time.Hour, DryRun: true}, rep))
	assert.Equal(t, []string{filepath.Join(tmp, "rehearse-old-1")}, rep.TempDirs)
	assert.DirExists(t, filepath.Join(tmp, "rehearse-old-1"), "dry run deletes nothing")

	rep = &GCReport{}
	require.NoError(t, gcTempDirs(GCOptions{TempDir: tmp}, rep))
	assert.Len(t, rep.TempDirs, 2)
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, "other-3 rehearse-file", strings.Join(names, " "), "only rehearse-* directories go")
}

func TestReuseClusterName(t *testing.T) {
	tests := []struct {
		name, want, err string
	}{
		{name: "nightly", want: "rehearse-nightly"},
		{name: "rehearse-nightly", want: "rehearse-nightly"},
		{name: " Nightly-2 ", want: "rehearse-nightly-2"},
		{name: "night_ly", err: `--reuse-cluster "night_ly": want letters, digits and dashes`},
		{name: "nightly-", err: "starting and ending with a letter or digit"},
		{name: strings.Repeat("x", 40), err: "at most 40 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReuseClusterName(tt.name)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.True(t, strings.HasPrefix(got, ClusterPrefix), "rehearse gc deletes clusters named %s*", ClusterPrefix)
		})
	}
}

func TestCreateClusterOnlyWhenMissing(t *testing.T) {
	tests := []struct {
		existing []string
		want     bool
	}{
		{nil, true},
		{[]string{"kind", "rehearse-nightlyx"}, true},
		{[]string{"kind", "rehearse-nightly"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, createCluster(tt.existing, "rehearse-nightly"), "%v", tt.existing)
	}
}

func TestContainerdRef(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres:15", "docker.io/library/postgres:15"},
		{"postgres", "docker.io/library/postgres:latest"},
		{"kind-offline/postgres:15", "docker.io/kind-offline/postgres:15"},
		{"registry.example.com:5000/team/app:1.0", "registry.example.com:5000/team/app:1.0"},
		{"localhost/app", "localhost/app:latest"},
		{"ghcr.io/org/app@sha256:abc", "ghcr.io/org/app@sha256:abc"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, containerdRef(tc.in))
		})
	}
}
