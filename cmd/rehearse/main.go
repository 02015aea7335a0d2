// Command rehearse rehearses database-migration rollbacks. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	// Ctrl-C and SIGTERM cancel the context; every command then cleans up
	// what it created before exiting.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run executes the CLI and returns the exit code: 0 nothing blocking,
// 1 a blocking finding (or a worse diff), 2 the harness failed.
func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) && ee.err == nil {
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "rehearse:", err)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "rehearse: interrupted; everything this run created was removed")
	}
	return exitCodeOf(err)
}

type globalFlags struct {
	verbose bool
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "rehearse",
		Short:         "Rehearse database-migration rollbacks before a release ships",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			level := slog.LevelWarn
			if g.verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "debug logs on stderr")
	root.AddCommand(newMatrixCmd(), newRunCmd(), newCaptureCmd(), newDiffCmd(), newGateCmd(), newGCCmd(), newProceduresCmd(), newVersionCmd())
	return root
}
