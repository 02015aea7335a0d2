// Package corpus runs the regression corpus's bookkeeping: which public
// migration folders are rehearsed on which windows (projects.yaml), what a
// human found true or false in their reports (expected.yaml), and how a fresh
// run's matrix.json files compare with that list. The SQL of the projects
// stays outside the repository; only these lists and the comparison live here.
package corpus

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Project is one public repository's migration folder at one commit.
type Project struct {
	Name   string `yaml:"name"`
	Repo   string `yaml:"repo"`
	Commit string `yaml:"commit"`
	Path   string `yaml:"path"`
	// Merge are more folders of the same repository at the same commit
	// whose files join Path's, as a project that merges migration sets at
	// run time does (keto: its own and oryx's networkx migrations).
	Merge       []string `yaml:"merge"`
	Layout      string   `yaml:"layout"`
	Bookkeeping string   `yaml:"bookkeeping"`
	Flags       []string `yaml:"flags"`
	Windows     []Window `yaml:"windows"`
	Note        string   `yaml:"note"`
}

// Window is one --from/--to pair rehearsed on a project.
type Window struct {
	Name  string   `yaml:"name"`
	From  string   `yaml:"from"`
	To    string   `yaml:"to"`
	Flags []string `yaml:"flags"`
}

// Projects is the content of projects.yaml.
type Projects struct {
	Seed     int       `yaml:"seed"`
	Rows     int       `yaml:"rows"`
	Projects []Project `yaml:"projects"`
}

var (
	repoRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)
	nameRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// LoadProjects reads and checks projects.yaml.
func LoadProjects(path string) (*Projects, error) {
	var p Projects
	if err := decodeStrict(path, &p); err != nil {
		return nil, err
	}
	if p.Seed == 0 {
		p.Seed = 1
	}
	if p.Rows <= 0 {
		p.Rows = 50
	}
	seen := map[string]bool{}
	for i, pr := range p.Projects {
		where := fmt.Sprintf("%s: projects[%d] (%s)", path, i, pr.Name)
		switch {
		case !nameRe.MatchString(pr.Name):
			return nil, fmt.Errorf("%s: name must be lower-case letters, digits, '-' or '_'", where)
		case seen[pr.Name]:
			return nil, fmt.Errorf("%s: name used twice; give each project its own name", where)
		case !repoRe.MatchString(pr.Repo):
			return nil, fmt.Errorf("%s: repo %q is not owner/name", where, pr.Repo)
		case !commitRe.MatchString(pr.Commit):
			return nil, fmt.Errorf("%s: commit %q is not a full 40-hex commit; record the exact commit", where, pr.Commit)
		case pr.Path == "" || strings.HasPrefix(pr.Path, "/") || strings.Contains(pr.Path, ".."):
			return nil, fmt.Errorf("%s: path %q must be a folder inside the repository", where, pr.Path)
		case slices.ContainsFunc(append([]string{pr.Path}, pr.Merge...), badPath):
			return nil, fmt.Errorf("%s: path and merge must be folders inside the repository (no leading /, no .., no comma)", where)
		case len(pr.Windows) == 0:
			return nil, fmt.Errorf("%s: no windows; add at least one {name, from, to}", where)
		}
		seen[pr.Name] = true
		wseen := map[string]bool{}
		for j, w := range pr.Windows {
			if !nameRe.MatchString(w.Name) || wseen[w.Name] || w.From == "" || w.To == "" {
				return nil, fmt.Errorf("%s: windows[%d]: needs a unique lower-case name and both from and to", where, j)
			}
			wseen[w.Name] = true
		}
	}
	return &p, nil
}

func badPath(p string) bool {
	return p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "..") || strings.Contains(p, ",")
}

// Paths are the folders extracted into the project's work folder: Path,
// then Merge.
func (pr Project) Paths() []string { return append([]string{pr.Path}, pr.Merge...) }

// Args is the rehearse matrix command line of one window (without the
// --migrations and --out folders, which the runner owns).
func (p *Projects) Args(pr Project, w Window) []string {
	args := []string{"--from", w.From, "--to", w.To, "--seed", fmt.Sprint(p.Seed), "--rows", fmt.Sprint(p.Rows)}
	if pr.Layout != "" {
		args = append(args, "--layout", pr.Layout)
	}
	if pr.Bookkeeping != "" {
		args = append(args, "--bookkeeping", pr.Bookkeeping)
	}
	args = append(args, pr.Flags...)
	return append(args, w.Flags...)
}

// Finding is one check's hand-checked truth for one migration.
type Finding struct {
	Check string `yaml:"check"`
	// Truth: true when the defect is real (the down really fails on
	// realistic data, really loses data, the schema really differs), false
	// when the report is an alarm caused by the harness or its data.
	Truth *bool `yaml:"truth"`
	// Before is what the recorded baseline run did: found or missed.
	Before string `yaml:"before"`
	// FoundSince names the stop since which the harness reports a true
	// finding the baseline missed (e.g. "stop 24"): losing it again is a
	// regression, like losing one the baseline found. Without it, a fix
	// that hid a finding gained after the baseline would count as a miss.
	FoundSince string `yaml:"found_since"`
	Why        string `yaml:"why"`
}

// Migration is the hand-checked expectation for one migration of a window.
type Migration struct {
	Migration string    `yaml:"migration"`
	Verdict   string    `yaml:"verdict"`
	Why       string    `yaml:"why"`
	Findings  []Finding `yaml:"findings"`
}

// ExpectedWindow is one project window's hand-checked list.
type ExpectedWindow struct {
	Project    string      `yaml:"project"`
	Window     string      `yaml:"window"`
	Commit     string      `yaml:"commit"`
	From       string      `yaml:"from"`
	To         string      `yaml:"to"`
	Note       string      `yaml:"note,omitempty"`
	Migrations []Migration `yaml:"migrations"`
}

// Expected is the content of expected.yaml.
type Expected struct {
	Windows []ExpectedWindow `yaml:"windows"`
}

var verdicts = map[string]bool{
	"safe": true, "revertible": true, "lossy-revert": true, "restore-only": true, "broken": true, "not-reached": true,
}

// LoadExpected reads and checks expected.yaml.
func LoadExpected(path string) (*Expected, error) {
	var e Expected
	if err := decodeStrict(path, &e); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, w := range e.Windows {
		key := w.Project + "-" + w.Window
		where := fmt.Sprintf("%s: windows[%d] (%s)", path, i, key)
		if seen[key] {
			return nil, fmt.Errorf("%s: listed twice; merge the two entries", where)
		}
		seen[key] = true
		for j, m := range w.Migrations {
			mw := fmt.Sprintf("%s: migrations[%d] (%s)", where, j, m.Migration)
			if !verdicts[m.Verdict] {
				return nil, fmt.Errorf("%s: verdict %q is not one of safe, revertible, lossy-revert, restore-only, broken, not-reached", mw, m.Verdict)
			}
			for k, f := range m.Findings {
				fw := fmt.Sprintf("%s: findings[%d] (%s)", mw, k, f.Check)
				switch {
				case f.Check == "":
					return nil, fmt.Errorf("%s: check is empty; name the check (up, downOnData, nEraKept, ...)", fw)
				case f.Truth == nil:
					return nil, fmt.Errorf("%s: truth is not set; read the SQL and write true (real defect) or false (false alarm)", fw)
				case f.Before != "found" && f.Before != "missed":
					return nil, fmt.Errorf("%s: before must be found or missed (what the baseline run did)", fw)
				case f.FoundSince != "" && (!*f.Truth || f.Before != "missed"):
					return nil, fmt.Errorf("%s: found_since is for a true finding the baseline missed; remove it", fw)
				case strings.TrimSpace(f.Why) == "":
					return nil, fmt.Errorf("%s: why is empty; say in one line why it is true or false", fw)
				}
			}
		}
	}
	return &e, nil
}

func decodeStrict(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
