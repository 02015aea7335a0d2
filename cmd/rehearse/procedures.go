package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/scenario"
)

func newProceduresCmd() *cobra.Command {
	var show bool
	var file string
	cmd := &cobra.Command{
		Use:   "procedures",
		Short: "List the rollback procedures (the built-ins, or a scenario's); --show prints them as scenario YAML",
		Long: `List the rollback procedures a run rehearses: the built-ins, or with -f those of a scenario
(built-ins and declared ones, validated). --show prints them in the form spec.procedures takes, so
you can copy one into a scenario, rename it and change its steps (see docs/procedures.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs := procedure.Builtins()
			if file != "" {
				s, err := scenario.Load(file)
				if err != nil {
					return err
				}
				specs = s.ProcedureSpecs()
			}
			w := cmd.OutOrStdout()
			if show {
				text, err := procedure.YAML(specs)
				if err != nil {
					return err
				}
				fmt.Fprint(w, text)
				return nil
			}
			for _, s := range specs {
				p := s.Procedure()
				fmt.Fprintf(w, "%-24s %s\n", p.Name, p.Description)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&show, "show", false, "print the procedures as scenario YAML (spec.procedures)")
	cmd.Flags().StringVarP(&file, "file", "f", "", "a scenario file: its procedures instead of the built-ins")
	return cmd
}
