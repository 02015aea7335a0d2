package seed

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// updateBatch is how many existing rows one UPDATE sets: a batch's ctids,
// values and statement are in memory at a time, not the whole table's.
// (A variable for the test that compares batch sizes.)
var updateBatch = 1 << 15

// errStopRows ends updateInBatches early, keeping what was done.
var errStopRows = errors.New("no more rows to update")

// updateInBatches runs the UPDATEs of a table's existing rows in one
// transaction: it reads the ctids sel selects (in its order) through a
// cursor and hands them to update a batch at a time. The cursor sees the
// table as it was when declared, so a row an earlier batch moved is not
// read again, and each ctid it returns is still its row's. quiet: user
// triggers off where the role may (see updateNewColumns). update returns
// errStopRows when it wants no more rows.
func (r *run) updateInBatches(ctx context.Context, sel string, selArgs []any, quiet bool, update func(tx pgx.Tx, tids []string) error) error {
	tx, err := r.ctl.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	if quiet {
		if _, err := tx.Exec(ctx, "SAVEPOINT seed_quiet"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			// Not allowed: the triggers stay on.
			if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT seed_quiet"); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
	}
	// DECLARE takes no bind parameters: the simple protocol quotes them in.
	args := append([]any{pgx.QueryExecModeSimpleProtocol}, selArgs...)
	if _, err := tx.Exec(ctx, "DECLARE seed_rows NO SCROLL CURSOR FOR "+sel, args...); err != nil {
		return fmt.Errorf("read rows: %w", err)
	}
	fetch := fmt.Sprintf("FETCH %d FROM seed_rows", updateBatch)
	for {
		rows, err := tx.Query(ctx, fetch)
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
		tids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
		if len(tids) == 0 {
			break
		}
		if err := update(tx, tids); errors.Is(err, errStopRows) {
			break
		} else if err != nil {
			return err
		}
		if len(tids) < updateBatch {
			break
		}
	}
	if _, err := tx.Exec(ctx, "CLOSE seed_rows"); err != nil {
		return fmt.Errorf("close cursor: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// updateByCtid sets cols of the rows at tids, in one UPDATE, to vals: one
// slice per column in tids' order ([]string, or []*string with nil for
// NULL). It returns how many rows it set.
func updateByCtid(ctx context.Context, tx pgx.Tx, table string, cols []*colPlan, tids []string, vals []any) (int64, error) {
	set := make([]string, len(cols))
	names := []string{"tid"}
	unnest := []string{"$1::tid[]"}
	for j, cp := range cols {
		n := fmt.Sprintf("c%d", j)
		names = append(names, n)
		set[j] = fmt.Sprintf("%s = v.%s::%s", pgx.Identifier{cp.col.Name}.Sanitize(), n, cp.col.Type)
		unnest = append(unnest, fmt.Sprintf("$%d::text[]", j+2))
	}
	q := fmt.Sprintf("UPDATE %s t SET %s FROM unnest(%s) AS v(%s) WHERE t.ctid = v.tid",
		table, strings.Join(set, ", "), strings.Join(unnest, ", "), strings.Join(names, ", "))
	tag, err := tx.Exec(ctx, q, append([]any{tids}, vals...)...)
	if err != nil {
		return 0, errors.New(describe(err))
	}
	return tag.RowsAffected(), nil
}
