// Package workflowlint checks the repository's GitHub workflows and its
// composite action offline, so a broken workflow fails the tests here
// instead of on GitHub: actionlint over every workflow, a pinning rule
// (third-party actions by full commit SHA), and for action.yml the
// metadata rules actionlint does not apply to action files, plus the
// composite's steps linted by actionlint as if they were a job.
package workflowlint

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// Problem is one finding, located in its file.
type Problem struct {
	File    string
	Line    int
	Column  int
	Kind    string
	Message string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
	return fmt.Sprintf("%s: %s [%s]", loc, p.Message, p.Kind)
}

// Options say which external checkers actionlint may run.
type Options struct {
	// Shellcheck and Pyflakes are executables; empty disables that check.
	Shellcheck string
	Pyflakes   string
}

// DetectOptions enables shellcheck and pyflakes when they are installed,
// and says on log which are not, since their absence weakens the lint.
func DetectOptions(log io.Writer) Options {
	var o Options
	if p, err := exec.LookPath("shellcheck"); err == nil {
		o.Shellcheck = p
	} else {
		fmt.Fprintln(log, "workflowlint: shellcheck not installed: run: scripts are NOT checked (apt-get install shellcheck)")
	}
	if p, err := exec.LookPath("pyflakes"); err == nil {
		o.Pyflakes = p
	} else {
		fmt.Fprintln(log, "workflowlint: pyflakes not installed: python scripts are not checked (there are none today)")
	}
	return o
}

// WorkflowFiles lists root/.github/workflows/*.yml and *.yaml.
func WorkflowFiles(root string) ([]string, error) {
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, ".github", "workflows", pat))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	return files, nil
}

func newLinter(root string, o Options) (*actionlint.Linter, *actionlint.Project, error) {
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		Shellcheck: o.Shellcheck,
		Pyflakes:   o.Pyflakes,
		WorkingDir: root,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create actionlint linter: %w", err)
	}
	proj, err := actionlint.NewProject(root)
	if err != nil {
		return nil, nil, fmt.Errorf("load actionlint project at %s: %w", root, err)
	}
	return l, proj, nil
}

func fromActionlint(errs []*actionlint.Error) []Problem {
	out := make([]Problem, 0, len(errs))
	for _, e := range errs {
		out = append(out, Problem{File: e.Filepath, Line: e.Line, Column: e.Column, Kind: e.Kind, Message: e.Message})
	}
	return out
}

// LintWorkflow lints one workflow's text (path names it in problems):
// actionlint, then the pinning rule.
func LintWorkflow(root, path string, src []byte, o Options) ([]Problem, error) {
	l, proj, err := newLinter(root, o)
	if err != nil {
		return nil, err
	}
	errs, err := l.Lint(path, src, proj)
	if err != nil {
		return nil, fmt.Errorf("actionlint %s: %w", path, err)
	}
	return append(fromActionlint(errs), CheckPinned(path, src)...), nil
}

// LintWorkflows lints every workflow under root.
func LintWorkflows(root string, o Options) ([]Problem, error) {
	files, err := WorkflowFiles(root)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no workflow files in %s", filepath.Join(root, ".github", "workflows"))
	}
	var out []Problem
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read workflow: %w", err)
		}
		ps, err := LintWorkflow(root, f, src, o)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

var shaRef = regexp.MustCompile(`^[0-9a-f]{40}$`)

// CheckPinned finds `uses:` of remote actions or reusable workflows not
// pinned by a full commit SHA: a tag can be moved to other code.
func CheckPinned(path string, src []byte) []Problem {
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil {
		return nil // actionlint reports the syntax error
	}
	var out []Problem
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "uses" && v.Kind == yaml.ScalarNode {
					if p, ok := unpinned(path, v); ok {
						out = append(out, p)
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return out
}

func unpinned(path string, v *yaml.Node) (Problem, bool) {
	spec := v.Value
	if strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "docker://") {
		return Problem{}, false
	}
	_, ref, ok := strings.Cut(spec, "@")
	if ok && shaRef.MatchString(ref) {
		return Problem{}, false
	}
	return Problem{
		File: path, Line: v.Line, Column: v.Column, Kind: "pinned",
		Message: fmt.Sprintf("%q is not pinned by a full commit SHA: use owner/repo@<40-hex sha> # vX.Y.Z", spec),
	}, true
}

// CheckAction checks root/action.yml: metadata rules for a composite
// action, the pinning rule, and its steps linted by actionlint as a job
// of a synthetic workflow (which catches expression, context and shell
// errors actionlint skips in action files).
func CheckAction(root string, o Options) ([]Problem, error) {
	path := filepath.Join(root, "action.yml")
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read action metadata: %w", err)
	}
	return CheckActionText(root, path, src, o)
}

// CheckActionText is CheckAction on text.
func CheckActionText(root, path string, src []byte, o Options) ([]Problem, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return []Problem{{File: path, Kind: "syntax", Message: err.Error()}}, nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return []Problem{{File: path, Line: 1, Kind: "action", Message: "action metadata must be a mapping"}}, nil
	}
	m := doc.Content[0]
	var out []Problem
	bad := func(n *yaml.Node, format string, a ...any) {
		line, col := 0, 0
		if n != nil {
			line, col = n.Line, n.Column
		}
		out = append(out, Problem{File: path, Line: line, Column: col, Kind: "action", Message: fmt.Sprintf(format, a...)})
	}

	for _, key := range []string{"name", "description"} {
		if v := get(m, key); v == nil || v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
			bad(m, "missing required key %q", key)
		}
	}
	inputs := get(m, "inputs")
	var inputNames []string
	if inputs != nil {
		eachPair(inputs, func(k, v *yaml.Node) {
			inputNames = append(inputNames, k.Value)
			if get(v, "description") == nil {
				bad(k, "input %q has no description", k.Value)
			}
		})
	}
	if outputs := get(m, "outputs"); outputs != nil {
		eachPair(outputs, func(k, v *yaml.Node) {
			if get(v, "value") == nil {
				bad(k, "output %q of a composite action needs a value", k.Value)
			}
		})
	}
	runs := get(m, "runs")
	if runs == nil {
		bad(m, "missing required key \"runs\"")
		return out, nil
	}
	if using := get(runs, "using"); using == nil || using.Value != "composite" {
		bad(runs, "runs.using must be \"composite\"")
	}
	steps := get(runs, "steps")
	if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
		bad(runs, "runs.steps must be a non-empty list")
		return out, nil
	}
	for i, s := range steps.Content {
		run, uses := get(s, "run"), get(s, "uses")
		switch {
		case run == nil && uses == nil:
			bad(s, "step %d has neither run nor uses", i+1)
		case run != nil && uses != nil:
			bad(s, "step %d has both run and uses", i+1)
		case run != nil && get(s, "shell") == nil:
			bad(s, "step %d runs a script without shell: composite steps must say shell: bash", i+1)
		}
	}
	out = append(out, CheckPinned(path, src)...)

	synth, err := syntheticWorkflow(inputNames, steps)
	if err != nil {
		return nil, err
	}
	ps, err := LintWorkflow(root, path+" (steps as a job)", synth, Options{Shellcheck: o.Shellcheck, Pyflakes: o.Pyflakes})
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Kind == "pinned" {
			continue // already reported against the real lines
		}
		p.Message += fmt.Sprintf(" (synthetic workflow line %d: %s)", p.Line, lineOf(synth, p.Line))
		p.File, p.Line, p.Column = path, 0, 0
		out = append(out, p)
	}
	return out, nil
}

// syntheticWorkflow wraps composite steps in a reusable workflow whose
// inputs are the action's, so inputs.* and github.action_path type-check.
func syntheticWorkflow(inputs []string, steps *yaml.Node) ([]byte, error) {
	stepsYAML, err := yaml.Marshal(steps)
	if err != nil {
		return nil, fmt.Errorf("render action steps: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("name: action-steps\non:\n  workflow_call:\n")
	if len(inputs) > 0 {
		b.WriteString("    inputs:\n")
		for _, in := range slices.Sorted(slices.Values(inputs)) {
			fmt.Fprintf(&b, "      %s:\n        type: string\n        required: false\n", in)
		}
	}
	b.WriteString("jobs:\n  action:\n    runs-on: ubuntu-latest\n    steps:\n")
	for _, l := range strings.Split(strings.TrimRight(string(stepsYAML), "\n"), "\n") {
		b.WriteString("      " + l + "\n")
	}
	return b.Bytes(), nil
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func eachPair(m *yaml.Node, fn func(k, v *yaml.Node)) {
	if m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		fn(m.Content[i], m.Content[i+1])
	}
}

func lineOf(src []byte, n int) string {
	lines := strings.Split(string(src), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimSpace(lines[n-1])
}
