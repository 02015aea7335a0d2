package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// `rehearse procedures --show` prints the built-ins as scenario YAML that
// loads back; -f validates a scenario's procedures with file:line.
func TestProceduresCommand(t *testing.T) {
	text, code := runRoot(t, "procedures", "--show")
	require.Equal(t, 0, code, text)
	var doc struct {
		Procedures []struct {
			Name  string           `yaml:"name"`
			Steps []map[string]any `yaml:"steps"`
		} `yaml:"procedures"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(text), &doc), text)
	require.Len(t, doc.Procedures, 3)
	assert.Equal(t, "schema-revert", doc.Procedures[1].Name)
	assert.Equal(t, "down", doc.Procedures[1].Steps[3]["kind"])

	text, code = runRoot(t, "procedures", "-f", filepath.Join("..", "..", "scenarios", "sample-1.0-to-1.1-runbook.yaml"))
	require.Equal(t, 0, code, text)
	for _, name := range []string{"revert-with-fixup", "delete-bookkeeping-rows", "hasty-restore"} {
		assert.Contains(t, text, name)
	}

	b, err := os.ReadFile(filepath.Join("..", "..", "scenarios", "sample-1.0-to-1.1-runbook.yaml"))
	require.NoError(t, err)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	body := strings.Replace(string(b), "{kind: wait-ready}", "{kind: wait-for-it}", 1)
	// Moved out of scenarios/: its relative paths made absolute.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	body = strings.ReplaceAll(body, "../", root+"/")
	body = strings.ReplaceAll(body, "file: runbook/", "file: "+root+"/scenarios/runbook/")
	require.NoError(t, os.WriteFile(bad, []byte(body), 0o644))
	text, code = runRoot(t, "procedures", "-f", bad)
	assert.Equal(t, exitHarness, code)
	line := 1 + strings.Count(body[:strings.Index(body, "wait-for-it")], "\n")
	assert.Contains(t, text, filepath.Base(bad)+":"+strconv.Itoa(line)+": spec.procedures[3].steps[8].kind: unknown step kind \"wait-for-it\"", text)
}
