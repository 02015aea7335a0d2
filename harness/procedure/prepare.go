package procedure

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// UpgradeError is an upgrade that failed on N-era data: there is no
// post-upgrade state to rehearse rollbacks from, and that is a finding.
type UpgradeError struct {
	Release string
	Err     error
}

func (e *UpgradeError) Error() string {
	return fmt.Sprintf("the upgrade to release %s fails on release N's data: %v", e.Release, e.Err)
}

func (e *UpgradeError) Unwrap() error { return e.Err }

// StartState is the saved state every procedure starts from.
const StartState = "post-upgrade"

// PreUpgradeState is release N with its data, just before the upgrade
// (saved when Context.SavePreUpgrade; the chaos faults start there).
const PreUpgradeState = "pre-upgrade"

// Prepare builds the state every procedure starts from, as production
// would have it: release N installed, N-era data, a backup, the upgrade to
// N+1, N+1-era data; then saves it as StartState and fills pc.Baseline and
// pc.PreUpgradeBackup. It returns notes for the report (e.g. N+1's server
// not healthy after the upgrade).
func Prepare(ctx context.Context, pc *Context, seeder seed.Seeder) ([]string, error) {
	if pc.Baseline == nil {
		pc.Baseline = &Baseline{}
	}
	e := pc.Env
	bkTable := ""
	if pc.Bookkeeping != nil {
		bkTable = pc.Bookkeeping.Table()
	}
	timed := func(what string, f func() error) error {
		t0 := time.Now()
		err := f()
		status := StatusOK
		if err != nil {
			status = StatusFail
		}
		if pc.Progress != nil {
			fmt.Fprintf(pc.Progress, "%s ... %s (%.1fs)\n", what, status, time.Since(t0).Seconds())
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}

	capturing := startCapture(ctx, pc)
	if err := timed("install release "+pc.From.Name, func() error { return e.Install(ctx, pc.From) }); err != nil {
		return nil, err
	}
	dsn, err := e.DSN(ctx)
	if err != nil {
		return nil, err
	}
	if capturing {
		capturing = takeCapture(ctx, pc, dsn, "boot")
	}
	var notes []string
	var nSnap *schema.Snapshot
	// N-era data is seeded without N+1's schema as its future: shaped to
	// break N+1's new constraints, it would make the upgrade itself fail,
	// which the matrix's "up on data" check reports per migration; the
	// procedures need an upgrade that went through.
	err = timed("seed "+pc.From.Name+"-era data", func() error {
		if nSnap, err = snapshotWithout(ctx, dsn, bkTable); err != nil {
			return err
		}
		if _, err := seeder.Base(ctx, dsn, nSnap, nil); err != nil {
			return err
		}
		return ensureEra(ctx, dsn)
	})
	if err != nil {
		return nil, err
	}
	if capturing {
		// Rows N's smoke requests write are N-era data: taken into the
		// baseline below.
		err = timed("record release "+pc.From.Name+"'s statements (smoke requests)", func() error {
			notes = append(notes, captureSmoke(ctx, pc, dsn)...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := pc.Baseline.TakeNEra(ctx, dsn, bkTable); err != nil {
		return nil, fmt.Errorf("fingerprint %s-era data: %w", pc.From.Name, err)
	}
	pc.PreUpgradeBackup = filepath.Join(pc.WorkDir, "pre-upgrade.dump")
	if err := timed("back up before the upgrade", func() error { return e.Backup(ctx, pc.PreUpgradeBackup) }); err != nil {
		return nil, err
	}
	if pc.SavePreUpgrade {
		if err := timed("save the pre-upgrade state", func() error { return e.SaveState(ctx, PreUpgradeState) }); err != nil {
			return nil, err
		}
	}
	if err := timed("upgrade to release "+pc.To.Name, func() error { return e.Upgrade(ctx, pc.To) }); err != nil {
		return nil, &UpgradeError{Release: pc.To.Name, Err: err}
	}
	h, err := e.ServerHealth(ctx, pc.Checks.Health)
	if err != nil {
		return nil, err
	}
	if !h.Ready {
		note := fmt.Sprintf("release %s's server is not healthy after the upgrade (%s); the procedures are rehearsed anyway", pc.To.Name, h.Detail)
		notes = append(notes, note)
		if pc.Progress != nil {
			fmt.Fprintln(pc.Progress, "note: "+note)
		}
	}
	err = timed("seed "+pc.To.Name+"-era data", func() error {
		after, err := snapshotWithout(ctx, dsn, bkTable)
		if err != nil {
			return err
		}
		if _, err := seeder.Next(ctx, dsn, "upgrade to "+pc.To.Name, nSnap, after); err != nil {
			return err
		}
		return pc.Baseline.TakeUpgraded(ctx, dsn)
	})
	if err != nil {
		return nil, err
	}
	if pc.Progress != nil {
		fmt.Fprintf(pc.Progress, "post-upgrade state: %d N+1-era rows in %d tables\n", pc.Baseline.Rows(), len(pc.Baseline.NextEra))
	}
	return notes, timed("save the post-upgrade state", func() error { return e.SaveState(ctx, StartState) })
}

// snapshotWithout takes the schema of dsn without the bookkeeping table,
// so the seeder never writes into it.
func snapshotWithout(ctx context.Context, dsn, bkTable string) (*schema.Snapshot, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	snap, err := schema.Take(ctx, conn, schema.Options{})
	if err != nil {
		return nil, err
	}
	if bkTable != "" {
		delete(snap.Tables, "public."+bkTable)
	}
	return snap, nil
}

func ensureEra(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	return era.Ensure(ctx, conn)
}
