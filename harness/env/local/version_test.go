package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerMajor reads the major version from the real server binary, and
// says which binary failed when there is none.
func TestServerMajor(t *testing.T) {
	dir, err := FindBinDir(os.Getenv("REHEARSE_PG_BIN"))
	require.NoError(t, err, "PostgreSQL server binaries are part of what rehearse needs")
	major, err := ServerMajor(context.Background(), dir)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, major, 12)
	if n := majorOf(dir); n > 0 {
		assert.Equal(t, n, major, "the folder name /usr/lib/postgresql/N/bin agrees")
	}

	_, err = ServerMajor(context.Background(), t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join("postgres")+" --version")
}
