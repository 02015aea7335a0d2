// Command rehearse rehearses database-migration rollbacks. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/outdir"
)

func main() {
	// Ctrl-C and SIGTERM cancel the context; every command then cleans up
	// what it created before exiting. A second one does not wait for that:
	// the local servers are killed and their temp dirs removed at once.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		fmt.Fprintln(os.Stderr, "rehearse: interrupted; cleaning up (interrupt again to force)")
		<-sigs
		// Hold exiting until the forced cleanup is done: main's own exit
		// would otherwise cut it short (a Dir half closed, --out left).
		exiting.Lock()
		local.ForceCleanup()
		outdir.ForceCleanup()
		fmt.Fprintln(os.Stderr, "rehearse: forced exit: the local PostgreSQL was killed and its temp dir removed, no report written; "+
			"rehearse_* databases on a --dsn server and docker/kind leftovers may remain (rehearse gc removes the latter)")
		os.Exit(exitHarness)
	}()
	code := run(ctx, os.Args[1:])
	exiting.Lock()
	os.Exit(code)
}

// exiting is held by whichever exit path runs first: the normal one or the
// forced cleanup of a second interrupt.
var exiting sync.Mutex

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
