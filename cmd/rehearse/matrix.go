package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/rehearsal"
	"github.com/spf13/cobra"
)

func newMatrixCmd() *cobra.Command {
	o := rehearsal.MatrixOptions{}
	cmd := &cobra.Command{
		Use:   "matrix --migrations DIR --from N --to M",
		Short: "Judge every migration of N+1 on production-like data: the per-migration safety matrix",
		Long: `matrix starts a throwaway PostgreSQL, builds release N's schema, seeds N-era
data, applies each migration of N+1 (seeding N+1-era data after each) and,
for every migration, runs the down on data and on the pristine schema,
compares schemas and data fingerprints, and probes release N's SQL.

N and M are migration versions, release names from DIR/releases.yaml, or,
with --git, git refs.

Exit codes: 0 nothing blocking, 1 a blocking finding, 2 the harness failed.`,
		Example: `  rehearse matrix --migrations migrations --from 1.0 --to 1.2 --old-queries fixtures/queries/release-1.0.sql
  rehearse matrix --git --migrations db/migrations --from v1.4.0 --to HEAD`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkCounts(cmd, "rows", "parallel"); err != nil {
				return exitError{code: exitHarness, err: err}
			}
			o.Logger = slog.Default()
			o.Progress = cmd.ErrOrStderr()
			out, err := rehearsal.RunMatrix(cmd.Context(), o)
			if err != nil {
				return exitError{code: exitHarness, err: err}
			}
			printSummary(cmd, out)
			if out.Report.Blocking {
				return exitError{code: exitFinding}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Migrations, "migrations", "migrations", "migration folder (a path inside the repository with --git)")
	f.BoolVar(&o.Git, "git", false, "--from and --to are git refs; the set is read with git show")
	f.StringVar(&o.RepoDir, "repo", ".", "git repository, with --git")
	f.StringVar(&o.From, "from", "", "release N: last migration version, release name or (with --git) ref")
	f.StringVar(&o.To, "to", "", "release N+1: last migration version, release name or ref (default: the newest)")
	f.StringVar(&o.Layout, "layout", "", strings.Join(migrate.LayoutNames(), " | ")+" (default: detected)")
	f.StringVar(&o.Bookkeeping, "bookkeeping", "", strings.Join(migrate.BookkeepingNames, " | ")+" (default: the layout's tool)")
	f.BoolVar(&o.ReleasePerMigration, "release-per-migration", false, "treat each migration as its own release (default: releases.yaml's releases, or the whole --from..--to window as one release)")
	f.StringVar(&o.OldQueries, "old-queries", "", "SQL release N runs, one probe per statement (';' + newline)")
	f.StringVar(&o.Out, "out", "", "report folder (default reports/<run-id>)")
	f.Int64Var(&o.Seed, "seed", 1, "data generator seed (same seed, same data)")
	f.IntVar(&o.Rows, "rows", 200, "rows per table of N-era data")
	f.StringVar(&o.Profile, "profile", "", "data profile YAML (per-table rows, column pins)")
	f.IntVar(&o.Parallel, "parallel", 0, "cells run at once (default: number of cores)")
	f.BoolVar(&o.Keep, "keep", false, "leave the databases running and print the DSN")
	f.StringVar(&o.PolicyFile, "policy", "", "policy YAML (default: block on broken and on any down defect)")
	f.StringVar(&o.PGBin, "pg-bin", "", "folder with initdb and postgres (default: searched)")
	f.StringVar(&o.PGUser, "pg-user", "", "OS user that runs PostgreSQL when rehearse runs as root (default nobody)")
	f.StringVar(&o.Roles, "roles", "", "production's roles: the output of pg_dumpall --roles-only, or a YAML roles: list; created before release N's schema (only those the server lacks; dropped at the end)")
	f.StringVar(&o.MigrateAs, "migrate-as", "", "role every up, down, boot and probe runs as, release N's migrations included (default: the harness's superuser)")
	f.StringVar(&o.DataFrom, "data-from", "", "N-era data from production: a pg_dump file or folder (custom, directory, tar, plain) or a DSN that is only read; masked by the profile's mask: rules")
	f.BoolVar(&o.AllowDrift, "allow-drift", false, "with --data-from: go on when the source's schema differs from release N's (the report names the checks this makes unreliable)")
	f.Float64Var(&o.Sample, "sample", 0, "with --data-from: keep this fraction of rows (0.1), plus every row they reference; deterministic for --seed")
	f.StringVar(&o.SearchPath, "search-path", "", "search_path of every connection that applies migrations, seeds or probes, as the app's connection string sets it (e.g. app,public; default: the server's)")
	f.StringVar(&o.SetupSQL, "setup-sql", "", "SQL file run as the superuser on release N's empty database before its migrations: what production's database got outside them (e.g. CREATE EXTENSION pg_trgm)")
	f.StringVar(&o.DSN, "dsn", "", "use this existing server instead of starting one (the harness only creates and drops its own rehearse_* databases)")
	return cmd
}

// countVerdicts says how many of got have each verdict, in order's order:
// "6 safe, 1 revertible".
func countVerdicts[V ~string](order, got []V) string {
	counts := map[V]int{}
	for _, v := range got {
		counts[v]++
	}
	var parts []string
	for _, v := range order {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	return strings.Join(parts, ", ")
}

func printSummary(cmd *cobra.Command, out *rehearsal.Outcome) {
	w := cmd.OutOrStdout()
	r := out.Report
	verdicts := make([]matrix.Verdict, len(r.Results))
	for i, m := range r.Results {
		verdicts[i] = m.Verdict
	}
	fmt.Fprintf(w, "%d migrations %s -> %s: %s (%.1fs)\n", len(r.Results), r.From, r.To, countVerdicts(matrix.Verdicts, verdicts), r.Seconds)
	for _, m := range r.Results {
		fmt.Fprintf(w, "  %-40s %-16s %s\n", m.Version+"_"+m.Name, m.Class, m.Verdict)
	}
	for _, f := range r.Findings {
		if f.Action == "block" {
			fmt.Fprintf(w, "BLOCKING %s %s: %s\n", f.Migration, f.Check+f.Verdict, f.Reason)
		}
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(out.OutDir, "matrix.html"))
	if out.KeptDSN != "" {
		printKept(w, out.KeptDSN, out.KeptPassFile)
		fmt.Fprintf(w, "  databases: %s\n", strings.Join(out.Databases, " "))
		if out.StopHint != "" {
			fmt.Fprintf(w, "  stop it with: %s\n", out.StopHint)
		}
	}
}

// printKept shows where a kept server is, never its password: that is in
// passFile (pgpass format), which psql reads through PGPASSFILE.
func printKept(w io.Writer, dsn, passFile string) {
	dsn = pgadmin.Redact(dsn)
	fmt.Fprintf(w, "kept: %s\n", dsn)
	if passFile != "" {
		fmt.Fprintf(w, "  password in %s (mode 0600); connect with: PGPASSFILE=%s psql '%s'\n", passFile, passFile, dsn)
	}
}
