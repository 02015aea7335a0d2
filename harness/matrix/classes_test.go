package matrix_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/migrate"
)

// TestBookkeepingNeverRewritten: golang-migrate TRUNCATEs schema_migrations
// at every up (a new relfilenode), which is the tool's doing, not the
// migration's: it must not appear in a migration's rewrites.
func TestBookkeepingNeverRewritten(t *testing.T) {
	set, err := migrate.LoadDir(filepath.Join("testdata", "cases", "reloptions_forgot_reset", "migrations"), migrate.Options{})
	require.NoError(t, err)
	require.Equal(t, migrate.Layout("golang-migrate"), set.Layout)
	rep := runMatrix(t, set, "000001", "000002", "", "")
	require.Len(t, rep.Results, 1)
	res := rep.Results[0]
	assert.Empty(t, res.Rewrites, "describe:\n%s", describe(res))
	assert.Equal(t, "storage", res.Class)
	assert.Contains(t, res.Checks.SchemaRestored.Error, "storage options {} -> {autovacuum_vacuum_scale_factor=0.01}")
}
