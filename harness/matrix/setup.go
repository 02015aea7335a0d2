package matrix

import (
	"context"
	"fmt"
)

// setupDatabase runs Config.SetupSQL on a database made from scratch
// (release N's P0; every other state is a clone of it), as the harness's
// superuser and before any migration: what production's database got
// outside the migrations, e.g. CREATE EXTENSION run by a DBA.
func (r *runner) setupDatabase(ctx context.Context, db string) error {
	if r.cfg.SetupSQL == "" {
		return nil
	}
	conn, err := r.connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// No arguments: the simple protocol runs every statement of the file.
	if _, err := conn.Exec(ctx, r.cfg.SetupSQL); err != nil {
		return fmt.Errorf("setup SQL %s on %s: %w; fix the file (it runs as the superuser on release N's empty database)", r.cfg.SetupFile, db, err)
	}
	return nil
}
