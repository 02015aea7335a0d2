package policy

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// APIVersion and Kind identify a policy file.
const (
	APIVersion = "rehearse.dev/v1"
	Kind       = "Policy"
)

// Load reads a policy file. It starts from Default and overrides what the
// file names; every error names the file and line.
func Load(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return Parse(path, b)
}

// Parse is Load on bytes; name is used in error messages.
func Parse(name string, b []byte) (*Policy, error) {
	l := loader{name: name, p: Default()}
	l.p.Source = name
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		// yaml.v3 says "yaml: line N: ..."; put the file first like every other error.
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty policy file: start with \"apiVersion: %s\" and \"kind: %s\"", name, APIVersion, Kind)
	}
	if err := l.root(doc.Content[0]); err != nil {
		return nil, err
	}
	return l.p, nil
}

type loader struct {
	name string
	p    *Policy
}

func (l *loader) errorf(n *yaml.Node, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", l.name, n.Line, fmt.Sprintf(format, a...))
}

// pairs walks a mapping node, refusing duplicates and keys outside valid.
func (l *loader) pairs(n *yaml.Node, what string, valid []string, fn func(k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return l.errorf(n, "%s must be a mapping, got %s", what, kindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if valid != nil && !slices.Contains(valid, k.Value) {
			return l.errorf(k, "unknown key %q in %s (valid: %s)", k.Value, what, strings.Join(valid, ", "))
		}
		if seen[k.Value] {
			return l.errorf(k, "duplicate key %q in %s", k.Value, what)
		}
		seen[k.Value] = true
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) root(n *yaml.Node) error {
	var api, kind *yaml.Node
	err := l.pairs(n, "the policy", []string{"apiVersion", "kind", "verdicts", "checks", "waivers"}, func(k, v *yaml.Node) error {
		switch k.Value {
		case "apiVersion":
			api = v
		case "kind":
			kind = v
		case "verdicts":
			return l.verdicts(v)
		case "checks":
			return l.checks(v)
		case "waivers":
			return l.waivers(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if api == nil || kind == nil {
		return l.errorf(n, "missing apiVersion or kind: the file must start with \"apiVersion: %s\" and \"kind: %s\"", APIVersion, Kind)
	}
	if api.Value != APIVersion {
		return l.errorf(api, "apiVersion %q is not supported (want %s)", api.Value, APIVersion)
	}
	if kind.Value != Kind {
		return l.errorf(kind, "kind %q is not a policy (want %s)", kind.Value, Kind)
	}
	return nil
}

func (l *loader) action(n *yaml.Node, key string) (Action, error) {
	if n.Kind != yaml.ScalarNode || !slices.Contains(Actions, Action(n.Value)) {
		return "", l.errorf(n, "%s: unknown action %q (valid: block, warn, ignore)", key, n.Value)
	}
	return Action(n.Value), nil
}

func (l *loader) verdict(n *yaml.Node) (matrix.Verdict, error) {
	if !slices.Contains(matrix.Verdicts, matrix.Verdict(n.Value)) {
		return "", l.errorf(n, "unknown verdict %q (valid: %s)", n.Value, verdictList())
	}
	return matrix.Verdict(n.Value), nil
}

func (l *loader) check(n *yaml.Node) (string, error) {
	if !slices.Contains(matrix.CheckNames, n.Value) && !slices.Contains(matrix.BaselineCheckNames, n.Value) {
		return "", l.errorf(n, "unknown check %q (valid: %s)", n.Value, strings.Join(append(slices.Clone(matrix.CheckNames), matrix.BaselineCheckNames...), ", "))
	}
	return n.Value, nil
}

func (l *loader) verdicts(n *yaml.Node) error {
	return l.pairs(n, "verdicts", nil, func(k, v *yaml.Node) error {
		verdict, err := l.verdict(k)
		if err != nil {
			return err
		}
		a, err := l.action(v, "verdicts."+k.Value)
		if err != nil {
			return err
		}
		l.p.Verdicts[verdict] = a
		return nil
	})
}

func (l *loader) checks(n *yaml.Node) error {
	return l.pairs(n, "checks", nil, func(k, v *yaml.Node) error {
		name, err := l.check(k)
		if err != nil {
			return err
		}
		a, err := l.action(v, "checks."+k.Value)
		if err != nil {
			return err
		}
		l.p.Checks[name] = a
		return nil
	})
}

func (l *loader) waivers(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return l.errorf(n, "waivers must be a list, got %s", kindName(n))
	}
	for _, item := range n.Content {
		w := Waiver{Line: item.Line}
		var hasExpires bool
		err := l.pairs(item, "a waiver", []string{"migration", "check", "verdict", "reason", "expires"}, func(k, v *yaml.Node) error {
			if v.Kind != yaml.ScalarNode {
				return l.errorf(v, "waiver %s must be a single value, got %s", k.Value, kindName(v))
			}
			var err error
			switch k.Value {
			case "migration":
				w.Migration = strings.TrimSpace(v.Value)
			case "check":
				w.Check, err = l.check(v)
			case "verdict":
				w.Verdict, err = l.verdict(v)
			case "reason":
				w.Reason = strings.TrimSpace(v.Value)
			case "expires":
				hasExpires = true
				w.Expires, err = time.Parse(time.DateOnly, v.Value)
				if err != nil {
					err = l.errorf(v, "waiver expires %q is not a date: write YYYY-MM-DD", v.Value)
				}
			}
			return err
		})
		if err != nil {
			return err
		}
		switch {
		case w.Migration == "":
			err = errors.New("waiver has no migration: name its version (\"000007\") or version_name")
		case w.Reason == "":
			err = fmt.Errorf("waiver for %s has no reason: say why the finding is acceptable", w.Migration)
		case !hasExpires:
			err = fmt.Errorf("waiver for %s has no expires date: add \"expires: YYYY-MM-DD\"", w.Migration)
		case w.Check != "" && w.Verdict != "":
			err = fmt.Errorf("waiver for %s names both check and verdict: keep one (or neither to waive the whole migration)", w.Migration)
		}
		if err != nil {
			return l.errorf(item, "%s", err)
		}
		l.p.Waivers = append(l.p.Waivers, w)
	}
	return nil
}

func verdictList() string {
	s := make([]string, len(matrix.Verdicts))
	for i, v := range matrix.Verdicts {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Value == "" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}
