package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterruptCleansUp sends SIGINT to a real `rehearse matrix` at several
// moments and checks that it exits 2 and leaves no process (postgres,
// initdb, its `postgres --single` children), no temp dir and no --out
// behind, saying so truthfully; an interrupt during initdb shows none of
// initdb's output; a second SIGINT forces a fast exit that still cleans up.
func TestInterruptCleansUp(t *testing.T) {
	bin := buildRehearse(t)
	tests := []struct {
		name    string
		after   string        // interrupt once stderr has a line starting so
		delay   time.Duration // ... and this long after it
		signals int
		want    string // in stderr
	}{
		// Databases, clones and the server all exist then.
		{name: "after the first cell", after: "[1/", signals: 1, want: "everything this run created was removed"},
		{name: "during initdb", after: "starting a local PostgreSQL", delay: 300 * time.Millisecond, signals: 1, want: "everything this run created was removed"},
		{name: "twice", after: "[1/", signals: 2, want: "forced exit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := serverTempDir(t)
			outParent := t.TempDir()
			cmd := exec.Command(bin, "matrix", "--migrations", "../../migrations", "--from", "1.0", "--to", "1.2",
				"--rows", "2000", "--out", filepath.Join(outParent, "out"))
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			// The second interrupt goes once the first was seen (two
			// pending SIGINTs would merge into one) and cleanup has begun.
			var sent time.Time
			again := func(line string) {
				if tt.signals == 2 && strings.Contains(line, "interrupt again to force") {
					sent = time.Now()
					cmd.Process.Signal(syscall.SIGINT)
				}
			}
			stderr := startUntil(t, cmd, tt.after, again)
			time.Sleep(tt.delay)
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			if tt.signals == 1 {
				sent = time.Now()
			}
			err := cmd.Wait()
			text := stderr()
			exitAfter := time.Since(sent)
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "output:\n%s", text)
			assert.Equal(t, 2, exit.ExitCode(), text)
			if tt.signals == 2 && !strings.Contains(text, tt.want) {
				// On a loaded machine the first cleanup can end before the
				// second signal lands: then the normal exit must be complete.
				assert.Contains(t, text, "everything this run created was removed")
			} else {
				assert.Contains(t, text, tt.want)
			}
			if tt.signals == 2 {
				assert.Less(t, exitAfter, 3*time.Second, "a second interrupt exits at once")
			}
			if tt.name == "during initdb" {
				assert.NotContains(t, text, "FATAL", "initdb's output after an interrupt is noise")
				assert.LessOrEqual(t, len(strings.Split(text, "\n")), 6, text)
			}

			left, err := filepath.Glob(filepath.Join(tmp, "rehearse-*"))
			require.NoError(t, err)
			assert.Empty(t, left, "temp dirs left behind")
			assert.Empty(t, processesIn(tmp), "processes left behind")
			outLeft, err := os.ReadDir(outParent)
			require.NoError(t, err)
			assert.Empty(t, outLeft, "an interrupted run writes no report and leaves no --out")
		})
	}
}

// processesIn lists the processes whose working directory or command line
// is under dir: the server (data dir), initdb and its `postgres --single`
// children (which run in the data dir but do not name it).
func processesIn(dir string) []string {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var found []string
	for _, p := range procs {
		cwd, _ := os.Readlink(filepath.Join(p, "cwd"))
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		if strings.HasPrefix(cwd, dir) || strings.Contains(string(cmdline), dir) {
			found = append(found, filepath.Base(p)+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return found
}
