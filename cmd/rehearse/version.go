package main

import (
	"fmt"
	"runtime"

	"github.com/rehearse-dev/rehearse/harness/version"
	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the rehearse version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "rehearse %s %s/%s %s\n", version.Version, runtime.GOOS, runtime.GOARCH, runtime.Version())
		},
	}
}
