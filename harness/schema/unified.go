package schema

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// unifiedDiff renders before -> after as a unified diff with two lines of
// context: a function body differs in a line or two, and showing both
// bodies whole hides which.
func unifiedDiff(before, after string) string {
	out, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(before), B: difflib.SplitLines(after),
		FromFile: "before", ToFile: "after", Context: 2,
	})
	if err != nil || out == "" {
		return "- " + before + "\n+ " + after
	}
	return strings.TrimRight(out, "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
