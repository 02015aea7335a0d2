package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rehearse-dev/rehearse/harness/env/kind"
)

// newGCCmd is `rehearse gc`: delete what interrupted runs left behind.
func newGCCmd() *cobra.Command {
	var o kind.GCOptions
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete kind clusters, containers, temp dirs (and namespaces) left by interrupted runs",
		Long: `gc deletes what rehearsals interrupted before their own cleanup left behind:
kind clusters named rehearse-*, docker containers labelled dev.rehearse.run,
temp dirs rehearse-* in the temp folder and, with --kubeconfig or --context,
namespaces labelled dev.rehearse.run in that cluster.
Do not run it while a rehearsal runs on this machine: it would delete that run's cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := kind.GC(cmd.Context(), o)
			verb := "deleted"
			if o.DryRun {
				verb = "would delete"
			}
			w := cmd.OutOrStdout()
			if rep != nil {
				for _, l := range []struct {
					what  string
					items []string
				}{{"kind clusters", rep.Clusters}, {"containers", rep.Containers}, {"temp dirs", rep.TempDirs}, {"namespaces", rep.Namespaces}} {
					if len(l.items) > 0 {
						fmt.Fprintf(w, "%s %d %s: %s\n", verb, len(l.items), l.what, strings.Join(l.items, " "))
					}
				}
				if len(rep.Clusters)+len(rep.Containers)+len(rep.TempDirs)+len(rep.Namespaces) == 0 {
					fmt.Fprintln(w, "nothing to clean up")
				}
			}
			if err != nil {
				return fmt.Errorf("gc: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.DryRun, "dry-run", false, "list what would be deleted, delete nothing")
	f.DurationVar(&o.OlderThan, "older-than", 0, "spare temp dirs modified more recently than this (e.g. 1h)")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "also delete namespaces labelled dev.rehearse.run in this cluster")
	f.StringVar(&o.Context, "context", "", "kubeconfig context for the namespaces (implies looking for them)")
	return cmd
}
