package outdir

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

// livePID returns the pid of a process that runs until the test ends.
func livePID(t *testing.T) int {
	cmd := exec.Command("sleep", "300")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

func TestOpenCommitClose(t *testing.T) {
	tests := []struct {
		name     string
		existing map[string]string // files in --out before the run; nil: no --out
		lock     func(t *testing.T) string
		commit   bool
		busy     bool
		want     map[string]string // files in --out after Close; nil: no --out
	}{
		{name: "new folder, no report", want: nil},
		{name: "new folder, report", commit: true, want: map[string]string{"matrix.json": "new"}},
		{name: "existing folder keeps its files when no report", existing: map[string]string{"matrix.json": "old", "notes.txt": "mine"},
			want: map[string]string{"matrix.json": "old", "notes.txt": "mine"}},
		{name: "existing folder, report replaces", existing: map[string]string{"matrix.json": "old", "notes.txt": "mine"}, commit: true,
			want: map[string]string{"matrix.json": "new", "notes.txt": "mine"}},
		{name: "stale lock of a dead run is taken over", existing: map[string]string{}, commit: true,
			lock: func(t *testing.T) string { return strconv.Itoa(deadPID(t)) }, want: map[string]string{"matrix.json": "new"}},
		{name: "unreadable lock is taken over", existing: map[string]string{}, commit: true,
			lock: func(t *testing.T) string { return "garbage" }, want: map[string]string{"matrix.json": "new"}},
		{name: "live lock refuses", existing: map[string]string{"matrix.json": "old"}, busy: true,
			lock: func(t *testing.T) string { return strconv.Itoa(livePID(t)) }, want: map[string]string{"matrix.json": "old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			path := filepath.Join(parent, "out")
			var lockPID string
			if tt.existing != nil {
				require.NoError(t, os.Mkdir(path, 0o755))
				for n, body := range tt.existing {
					require.NoError(t, os.WriteFile(filepath.Join(path, n), []byte(body), 0o644))
				}
				if tt.lock != nil {
					lockPID = tt.lock(t)
					require.NoError(t, os.WriteFile(filepath.Join(path, LockName), []byte(lockPID+"\n"), 0o644))
				}
			}
			d, err := Open(path)
			if tt.busy {
				var busy *BusyError
				require.ErrorAs(t, err, &busy)
				assert.Contains(t, err.Error(), "pid "+lockPID)
				assert.Contains(t, err.Error(), path)
				tt.want[LockName] = lockPID + "\n" // the other run's lock stays
			} else {
				require.NoError(t, err)
				lock, err := os.ReadFile(filepath.Join(path, LockName))
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("%d\n", os.Getpid()), string(lock))
				require.NoError(t, os.WriteFile(filepath.Join(d.Stage, "matrix.json"), []byte("new"), 0o644))
				if tt.commit {
					require.NoError(t, d.Commit())
				}
				require.NoError(t, d.Close())
				require.NoError(t, d.Close(), "second Close is a no-op")
			}

			left, err := os.ReadDir(parent)
			require.NoError(t, err)
			if tt.want == nil {
				assert.Empty(t, left, "nothing may be left beside --out")
				return
			}
			require.Len(t, left, 1, "only --out, no staging dir")
			got := map[string]string{}
			entries, err := os.ReadDir(path)
			require.NoError(t, err)
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(path, e.Name()))
				require.NoError(t, err)
				got[e.Name()] = string(b)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestOpenUnwritable(t *testing.T) {
	_, err := Open("/proc/rehearse-out")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--out /proc/rehearse-out")
}
