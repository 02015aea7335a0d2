package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/outdir"
)

// buildRehearse builds the real binary, for tests that need a second
// process or signals.
func buildRehearse(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rehearse")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// serverTempDir is a TMPDIR for a rehearse child: PostgreSQL runs as nobody
// when tests run as root, so every folder above its data dir must be
// traversable (t.TempDir's parent is 0700).
func serverTempDir(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "rehearse-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(tmp, 0o755))
	t.Cleanup(func() { os.RemoveAll(tmp) })
	return tmp
}

// startUntil starts cmd and returns once a line of its stderr starts with
// prefix; the rest of stderr is collected into the returned func's result.
// Each later line is passed to onLine, if given.
func startUntil(t *testing.T, cmd *exec.Cmd, prefix string, onLine ...func(string)) func() string {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	kill := time.AfterFunc(5*time.Minute, func() { cmd.Process.Kill() })
	t.Cleanup(func() { kill.Stop() })
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.HasPrefix(sc.Text(), prefix) {
			break
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sc.Scan() {
			seen = append(seen, sc.Text())
			for _, f := range onLine {
				f(sc.Text())
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	return func() string { <-done; return strings.Join(seen, "\n") }
}

// TestTwoRunsOneOut: a second run on the --out of a running one refuses
// (exit 2, naming the first run's pid) and the first run's report, written
// when it ends, is its own and agrees with its exit code.
func TestTwoRunsOneOut(t *testing.T) {
	bin := buildRehearse(t)
	tmp := serverTempDir(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")

	first := exec.Command(bin, "matrix", "--migrations", "../../migrations", "--from", "1.0", "--to", "1.1",
		"--rows", "1000", "--out", out)
	first.Env = append(os.Environ(), "TMPDIR="+tmp)
	stderr := startUntil(t, first, "[1/")

	text, code := runRoot(t, "matrix", "--migrations", "../../migrations", "--from", "1.1", "--to", "1.2", "--rows", "10", "--out", out)
	assert.Equal(t, 2, code, text)
	assert.Contains(t, text, fmt.Sprintf("in use by another rehearse run (pid %d)", first.Process.Pid))

	err := first.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, stderr())
	assert.Equal(t, 1, exit.ExitCode(), "1.0 -> 1.1 has blocking findings:\n%s", stderr())
	b, err := os.ReadFile(filepath.Join(out, "matrix.json"))
	require.NoError(t, err)
	var rep matrix.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Equal(t, "000003", rep.From, "release 1.0 is migration 000003: the first run's report")
	assert.True(t, rep.Blocking, "the report on disk agrees with exit code 1")
	assert.NoFileExists(t, filepath.Join(out, outdir.LockName))
	left, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Len(t, left, 1, "no staging dir beside --out")
}
