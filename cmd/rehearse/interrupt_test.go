package main

import (
	"bufio"
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

// TestInterruptCleansUp sends SIGINT to a real `rehearse matrix` in the
// middle of its run and checks that it exits 2 and leaves no PostgreSQL
// process and no temp dir behind.
func TestInterruptCleansUp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rehearse")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	tmp := serverTempDir(t)
	outParent := t.TempDir()
	cmd := exec.Command(bin, "matrix", "--migrations", "../../migrations", "--from", "1.0", "--to", "1.2",
		"--rows", "2000", "--out", filepath.Join(outParent, "out"))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	// Interrupt once the first cell finished: databases, clones and the
	// server all exist then.
	sc := bufio.NewScanner(stderr)
	var seen []string
	deadline := time.AfterFunc(5*time.Minute, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.HasPrefix(sc.Text(), "[1/") {
			break
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	go func() {
		for sc.Scan() {
			seen = append(seen, sc.Text())
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "output:\n%s", strings.Join(seen, "\n"))
	assert.Equal(t, 2, exit.ExitCode())

	left, err := filepath.Glob(filepath.Join(tmp, "rehearse-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "temp dirs left behind")
	ps, _ := exec.Command("pgrep", "-f", "postgres -D "+tmp).Output()
	assert.Empty(t, strings.TrimSpace(string(ps)), "postgres processes left behind")
	outLeft, err := os.ReadDir(outParent)
	require.NoError(t, err)
	assert.Empty(t, outLeft, "an interrupted run writes no report and leaves no --out")
	assert.Contains(t, strings.Join(seen, "\n"), "everything this run created was removed")
}
