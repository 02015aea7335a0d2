package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rehearse-dev/rehearse/harness/capture"
)

// newCaptureCmd is `rehearse capture`: release N's statements from
// pg_stat_statements, as a probes file for --old-queries.
func newCaptureCmd() *cobra.Command {
	var dsn, out string
	cmd := &cobra.Command{
		Use:   "capture --dsn DSN [--out FILE]",
		Short: "Write the SQL a running release executes (pg_stat_statements) as an --old-queries file",
		Long: `capture reads pg_stat_statements of the database --dsn names (release N in
production or staging) and writes its normalized statements, constants
replaced by $1, $2, ..., with their call and row counts as comments. Only
statements of that database are kept: no utility statements (SET, DDL,
COPY), no catalog-only queries, none of the harness's own.

What leaves the database: statement texts and counts, no table data and
no parameter values. The role needs only pg_read_all_stats (read-only);
the server needs pg_stat_statements in shared_preload_libraries and
CREATE EXTENSION pg_stat_statements in the database. See docs/capture.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dsn == "" {
				return fmt.Errorf("--dsn is required: the database release N uses, e.g. postgres://reader@db:5432/app")
			}
			var buf bytes.Buffer
			n, sk, err := capture.FromDSN(cmd.Context(), dsn, &buf)
			if err != nil {
				return fmt.Errorf("capture: %w", err)
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("capture: write --out %s: %w", out, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d statements to %s (left out: %d utility, %d catalog-only, %d harness, %d unparsable, %d hidden)\n",
				n, out, sk.Utility, sk.CatalogOnly, sk.Harness, sk.Unparsable, sk.Hidden)
			if n == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "note: no application statements recorded yet: let release N serve traffic (or run its tests) first")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dsn, "dsn", "", "connection string of release N's database (a role with pg_read_all_stats)")
	f.StringVarP(&out, "out", "o", "", "probes file to write (default: standard output)")
	return cmd
}
