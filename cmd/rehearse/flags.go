package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// checkCounts rejects counts that make no sense (zero or negative rows per
// table or cells at once) before anything starts. A flag left out keeps its
// default; --parallel's default (0) means one cell per core.
func checkCounts(cmd *cobra.Command, names ...string) error {
	for _, name := range names {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		n, err := cmd.Flags().GetInt(name)
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
		if n <= 0 {
			return fmt.Errorf("--%s %d: want a positive number, or leave the flag out for the default", name, n)
		}
	}
	return nil
}
