package datasource_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rehearse-dev/rehearse/harness/datasource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenRejectsWhatIsNotADump(t *testing.T) {
	dir := t.TempDir()
	notDump := filepath.Join(dir, "notes.bin")
	require.NoError(t, os.WriteFile(notDump, []byte{0, 1, 2, 3}, 0o644))
	emptyDir := filepath.Join(dir, "folder")
	require.NoError(t, os.Mkdir(emptyDir, 0o755))
	for _, tc := range []struct{ spec, want string }{
		{filepath.Join(dir, "missing.dump"), "want a pg_dump file or folder, or a postgres:// DSN"},
		{notDump, "not a pg_dump output"},
		{emptyDir, "without toc.dat is not a pg_dump directory dump"},
	} {
		_, err := datasource.Open(tc.spec)
		assert.ErrorContains(t, err, tc.want, tc.spec)
	}
	s, err := datasource.Open("postgres://app:hunter2@db.internal/prod")
	require.NoError(t, err)
	assert.Equal(t, "dsn postgres://app:***@db.internal/prod", s.String())
}
