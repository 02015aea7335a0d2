package docker_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/env/docker"
	"github.com/rehearse-dev/rehearse/harness/env/local"
)

// TestDefaultPostgresImage: the official image of the local binaries'
// major, unless REHEARSE_POSTGRES_IMAGE names another (CI's offline image).
func TestDefaultPostgresImage(t *testing.T) {
	ctx := context.Background()
	dir, err := local.FindBinDir(os.Getenv("REHEARSE_PG_BIN"))
	require.NoError(t, err)
	major, err := local.ServerMajor(ctx, dir)
	require.NoError(t, err)

	t.Setenv(docker.PostgresImageEnv, "")
	assert.Equal(t, "postgres:"+strconv.Itoa(major), docker.DefaultPostgresImage(ctx, dir))
	t.Setenv(docker.PostgresImageEnv, "registry.example/pg:15-offline")
	assert.Equal(t, "registry.example/pg:15-offline", docker.DefaultPostgresImage(ctx, dir))
}
