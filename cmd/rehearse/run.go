package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/rehearsal"
)

func newRunCmd() *cobra.Command {
	o := rehearsal.RunOptions{}
	var faultSeed int64
	cmd := &cobra.Command{
		Use:   "run -f scenarios/NAME.yaml",
		Short: "Rehearse a release end to end: install N, upgrade, run every rollback procedure, compute the matrix",
		Long: `run reads a scenario file, brings up its environment (local processes or
docker containers), installs release N, seeds N-era data, backs up, upgrades
to N+1 and seeds N+1-era data. Each rollback procedure (standard,
schema-revert, full-restore) then runs on its own copy of that state, and
release N's server is checked: ready and staying ready, smoke requests,
schema errors in its logs, N-era data intact, N+1-era writes lost. Finally
the per-migration matrix is computed on the same PostgreSQL.

Reports go to --out: matrix.{md,html,json}, junit.xml, procedures.{md,json}.
Everything the run created is removed at the end, also on Ctrl-C.

With faults (the scenario's faults: section, or --faults), each fault is
injected at its points after the procedures ran, on a fresh copy of the
state it needs: what it left, and whether re-running the procedure from
there recovers, go to matrix.json's "chaos" array, the reports and JUnit.

Exit codes: 0 nothing blocking, 1 a blocking finding (matrix policy, or a
procedure worse than spec.policy.procedures allows), 2 the harness failed.`,
		Example: `  rehearse run -f scenarios/sample-1.0-to-1.1.yaml
  rehearse run -f scenarios/sample-1.1-to-1.2.yaml --backend docker --out reports/docker
  rehearse run -f scenarios/sample-1.0-to-1.1-chaos.yaml
  rehearse run -f scenarios/sample-1.0-to-1.1.yaml --no-matrix --faults kill-migration --at up:000004:1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Scenario == "" {
				return exitError{code: exitHarness, err: fmt.Errorf("-f SCENARIO is required, e.g. -f scenarios/sample-1.0-to-1.1.yaml")}
			}
			if err := checkCounts(cmd, "parallel", "procedure-lanes"); err != nil {
				return exitError{code: exitHarness, err: err}
			}
			if cmd.Flags().Changed("seed") {
				o.Chaos.Seed = &faultSeed
			}
			o.Logger = slog.Default()
			o.Progress = cmd.ErrOrStderr()
			out, err := rehearsal.Run(cmd.Context(), o)
			if err != nil {
				return exitError{code: exitHarness, err: err}
			}
			printRunSummary(cmd, out)
			if out.Blocking {
				return exitError{code: exitFinding}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Scenario, "filename", "f", "", "scenario file (apiVersion rehearse.dev/v1, kind Scenario)")
	f.StringVar(&o.Backend, "backend", "", "local | docker | kind | kube (default: the scenario's spec.backend)")
	f.StringVar(&o.Out, "out", "", "report folder (default reports/<run-id>)")
	f.BoolVar(&o.Keep, "keep", false, "leave the database server running and print its DSN")
	f.BoolVar(&o.NoMatrix, "no-matrix", false, "rehearse the procedures only")
	f.IntVar(&o.Parallel, "parallel", 0, "matrix cells run at once (default: number of cores)")
	f.IntVar(&o.ProcedureLanes, "procedure-lanes", 0, fmt.Sprintf("kind and kube: lanes the procedures are dealt over, each a namespace of its own, rehearsed at once (default: one per core, 2 to %d; 1 = one after another)", rehearsal.DefaultProcedureLanes))
	f.StringVar(&o.Roles, "roles", "", "production's roles for the matrix (overrides spec.roles): pg_dumpall --roles-only output or a YAML roles: list")
	f.StringVar(&o.DataFrom, "data-from", "", "N-era data of the matrix from production: a pg_dump file or folder or a read-only DSN (overrides spec.data.from)")
	f.BoolVar(&o.AllowDrift, "allow-drift", false, "with a data source: go on when its schema differs from release N's (overrides spec.data.allowDrift)")
	f.StringVar(&o.MigrateAs, "migrate-as", "", "role the matrix's ups, downs, boots and probes run as (overrides spec.migrateAs)")
	f.StringVar(&o.SearchPath, "search-path", "", "search_path of the matrix's connections (overrides spec.searchPath), e.g. app,public")
	f.StringVar(&o.PGBin, "pg-bin", "", "local backend: folder with initdb and postgres (default: searched)")
	f.StringVar(&o.PGUser, "pg-user", "", "local backend: OS user that runs PostgreSQL when rehearse runs as root (default nobody)")
	f.StringVar(&o.NodeImage, "node-image", "", "kind: node image (default $REHEARSE_KIND_NODE_IMAGE, else kind's own)")
	f.StringVar(&o.PostgresImage, "postgres-image", "", "docker and kind: PostgreSQL image (default spec.postgres.image, else $REHEARSE_POSTGRES_IMAGE, else postgres:<major of the local server binaries>)")
	f.StringVar(&o.ReuseCluster, "reuse-cluster", "", "kind: run in this cluster (rehearse-NAME; created when missing) and keep it for the next run, each run in its own namespace; rehearse gc deletes it")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kube: kubeconfig file of an existing cluster (only this file is read)")
	f.StringVar(&o.KubeContext, "context", "", "kube: context in --kubeconfig")
	f.StringVar(&o.Namespace, "namespace", "", "kube: namespace to create and label (default rehearse-<run id>)")
	f.BoolVar(&o.NamespaceOwned, "namespace-owned", false, "kube: use --namespace although rehearse did not create it")
	f.StringSliceVar(&o.Chaos.Faults, "faults", nil, "inject these faults (comma-separated; all = every one; FAULT@POINT = at that point only): "+strings.Join(chaos.Faults, ", ")+"; replaces the scenario's faults:")
	f.StringArrayVar(&o.Chaos.At, "at", nil, "inject the faults only at this point (repeatable): up:VERSION:K, down:VERSION:K, restore, backup:PROCEDURE, rollback:PROCEDURE, upgrade")
	f.BoolVar(&o.Chaos.Exhaustive, "exhaustive", false, "inject migration faults at every statement boundary of every N+1 migration")
	f.Int64Var(&faultSeed, "seed", 0, "seed that picks the fault points (default: the scenario's faults.seed, else spec.data.seed)")
	return cmd
}

func printRunSummary(cmd *cobra.Command, out *rehearsal.RunOutcome) {
	w := cmd.OutOrStdout()
	r := out.Report
	fmt.Fprintf(w, "rehearsal %s: release %s -> %s on %s (%.1fs)\n", r.Scenario, r.From, r.To, r.Backend, r.Seconds)
	width := 14
	for _, p := range r.Procedures {
		width = max(width, len(p.Name))
	}
	for _, p := range r.Procedures {
		why := ""
		if len(p.Reasons) > 0 {
			why = ": " + p.Reasons[0]
		}
		fmt.Fprintf(w, "  %-*s %-10s %d N+1-era rows lost%s\n", width, p.Name, p.Verdict, p.WritesLost, why)
	}
	if len(r.Chaos) > 0 {
		verdicts := make([]string, len(r.Chaos))
		for i, c := range r.Chaos {
			verdicts[i] = c.Verdict
		}
		fmt.Fprintf(w, "  chaos: %d faults: %s\n", len(r.Chaos), countVerdicts(chaos.Verdicts, verdicts))
		for _, c := range r.Chaos {
			if c.Failed() || c.Verdict == chaos.VerdictError {
				fmt.Fprintf(w, "    %s at %s: %s: %s\n      replay: %s\n", c.Fault, c.Point, c.Verdict, c.Recovery, c.Replay)
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "BLOCKING %s: %s\n", f.Migration, f.Reason)
	}
	if r.Matrix != nil {
		printSummary(cmd, &rehearsal.Outcome{Report: r.Matrix, OutDir: out.OutDir})
	}
	fmt.Fprintf(w, "procedures: %s\n", filepath.Join(out.OutDir, "procedures.md"))
	if out.KeptDSN != "" {
		printKept(w, out.KeptDSN, out.KeptPassFile)
	}
}
