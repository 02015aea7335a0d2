// Package oneline shortens multi-line messages (errors, logs, diffs) to
// what fits a progress line or a report cell.
package oneline

import "strings"

// First is s up to its first newline.
func First(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Shorten folds s's whitespace (newlines included) to single spaces and
// cuts it to n bytes, ending in "...".
func Shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
