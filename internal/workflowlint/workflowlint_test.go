package workflowlint

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	return root
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func report(t *testing.T, ps []Problem) {
	t.Helper()
	for _, p := range ps {
		t.Errorf("%s", p)
	}
}

func TestWorkflowsLint(t *testing.T) {
	root := repoRoot(t)
	opts := DetectOptions(testLog{t})

	t.Run("repository workflows", func(t *testing.T) {
		files, err := WorkflowFiles(root)
		require.NoError(t, err)
		var names []string
		for _, f := range files {
			names = append(names, filepath.Base(f))
		}
		assert.Subset(t, names, []string{"ci.yml", "nightly-rehearsal.yml", "release-gate.yml"})
		ps, err := LintWorkflows(root, opts)
		require.NoError(t, err)
		report(t, ps)
	})

	t.Run("action.yml", func(t *testing.T) {
		ps, err := CheckAction(root, opts)
		require.NoError(t, err)
		report(t, ps)
	})

	t.Run("a broken workflow fails", func(t *testing.T) {
		broken := `name: broken
on:
  push:
    branchs: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.titel }}"
      - run: echo ${{ matrix.os }
`
		ps, err := LintWorkflow(root, "broken.yml", []byte(broken), opts)
		require.NoError(t, err)
		kinds := map[string]bool{}
		for _, p := range ps {
			t.Log(p)
			kinds[p.Kind] = true
		}
		assert.True(t, kinds["syntax-check"], "unknown key branchs")
		assert.True(t, kinds["expression"], "unclosed or unknown expression")
		assert.True(t, kinds["pinned"], "actions/checkout@v4 is a tag")
	})

	t.Run("a broken shell script fails when shellcheck is installed", func(t *testing.T) {
		if opts.Shellcheck == "" {
			t.Skip("SKIPPED LOUDLY: shellcheck is not installed, so run: scripts are not linted; install it (apt-get install shellcheck)")
		}
		src := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          if [ $x = 1 ] then echo hi; fi\n"
		ps, err := LintWorkflow(root, "sh.yml", []byte(src), opts)
		require.NoError(t, err)
		require.NotEmpty(t, ps)
		assert.Equal(t, "shellcheck", ps[0].Kind)
	})

	t.Run("a broken action fails", func(t *testing.T) {
		action := `name: x
inputs:
  from:
    required: true
outputs:
  path:
    description: no value
runs:
  using: composite
  steps:
    - run: echo "${{ inputs.form }}"
    - uses: actions/setup-go@v5
    - name: nothing
`
		ps, err := CheckActionText(root, "action.yml", []byte(action), opts)
		require.NoError(t, err)
		var msgs []string
		for _, p := range ps {
			msgs = append(msgs, p.String())
		}
		all := strings.Join(msgs, "\n")
		t.Log(all)
		for _, want := range []string{
			`missing required key "description"`,
			`input "from" has no description`,
			`output "path" of a composite action needs a value`,
			`step 1 runs a script without shell`,
			`step 3 has neither run nor uses`,
			`"actions/setup-go@v5" is not pinned`,
			`property "form" is not defined`, // from actionlint over the steps
		} {
			assert.Contains(t, all, want)
		}
	})
}

func TestCheckPinnedAllowsLocalAndSHA(t *testing.T) {
	src := []byte("jobs:\n  a:\n    steps:\n      - uses: ./\n      - uses: owner/repo@0123456789abcdef0123456789abcdef01234567\n      - uses: docker://alpine:3\n      - uses: owner/repo/.github/workflows/x.yml@main\n")
	ps := CheckPinned("w.yml", src)
	require.Len(t, ps, 1)
	assert.Equal(t, 7, ps[0].Line)
}

func TestWorkflowFilesMissing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".github", "workflows"), 0o755))
	_, err := LintWorkflows(dir, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no workflow files")
}

// TestDocsSnippetsLint keeps the workflow snippets users copy from
// docs/ci.md valid. Our own action is referenced by its major tag there,
// as users will; everything else must be pinned.
func TestDocsSnippetsLint(t *testing.T) {
	root := repoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "docs", "ci.md"))
	require.NoError(t, err)
	snippets := yamlBlocks(string(src))
	opts := DetectOptions(testLog{t})
	var workflows int
	for i, s := range snippets {
		if !strings.Contains(s, "\njobs:") {
			continue
		}
		workflows++
		ps, err := LintWorkflow(root, fmt.Sprintf("docs/ci.md snippet %d", i+1), []byte(s), opts)
		require.NoError(t, err)
		for _, p := range ps {
			if p.Kind == "pinned" && strings.Contains(p.Message, `"rehearse-dev/rehearse@v1"`) {
				continue
			}
			t.Errorf("%s", p)
		}
	}
	assert.GreaterOrEqual(t, workflows, 2, "release gate and nightly snippets")
}

// yamlBlocks returns the bodies of ```yaml fenced blocks.
func yamlBlocks(md string) []string {
	var out []string
	for _, part := range strings.Split(md, "```yaml\n")[1:] {
		if body, _, ok := strings.Cut(part, "\n```"); ok {
			out = append(out, body+"\n")
		}
	}
	return out
}
