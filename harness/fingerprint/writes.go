package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// Writes is one read of PostgreSQL's per-table write counters (rows
// inserted, updated and deleted, committed or not) on one database. Two
// reads bracket an interval: Since says how many rows each table had
// written in it, which Touched uses instead of scanning every table.
//
// The counters are exact only once every backend that wrote has flushed
// them. A backend flushes when it exits, before it leaves pg_stat_activity
// (PostgreSQL 15: the stats shutdown hook runs before the one that clears
// its pg_stat_activity entry), and, after pg_stat_force_next_flush, before
// it answers. So a read is trusted when no other session is on the
// database, and the reading session flushes its own first: it may be the
// one that wrote.
type Writes struct {
	db uint32
	// started identifies the counters' life: the server's start, the
	// last reset of the fixed-numbered counters (crash recovery discards
	// every counter and resets those) and the database's last reset
	// (pg_stat_reset, a table's reset), in epoch seconds (no DateStyle).
	started string
	// quiet: no other session was on the database, so none held writes
	// the counters did not show yet.
	quiet bool
	n     map[uint32]int64
	// eraRel is era.RowsTable's OID (0: none).
	eraRel uint32
}

// Written is how many rows each table (by OID; a partitioned table: its
// leaves) had written between two reads of the counters.
type Written struct {
	n map[uint32]int64
	// eraKeys: era.RowsTable was written (or appeared).
	eraKeys bool
}

// countersLife is Writes.started, for the database d.
const countersLife = `concat_ws('/', extract(epoch FROM pg_postmaster_start_time()), extract(epoch FROM pg_stat_get_bgwriter_stat_reset_time()),
	coalesce(extract(epoch FROM pg_stat_get_db_stat_reset_time(d.oid))::text, '-'))`

// writesQuery reads the counters of every table, view-free so that a
// fresh backend plans it fast.
const writesQuery = `WITH w AS (
	SELECT c.oid, CASE WHEN c.relkind = 'p' THEN (
		SELECT coalesce(sum(pg_stat_get_tuples_inserted(l.relid) + pg_stat_get_tuples_updated(l.relid) + pg_stat_get_tuples_deleted(l.relid)), 0)::bigint
		FROM pg_partition_tree(c.oid) l WHERE l.isleaf)
	ELSE pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid) + pg_stat_get_tuples_deleted(c.oid) END AS n
	FROM pg_class c WHERE c.oid >= 16384 AND c.relkind IN ('r', 'm', 'p'))
SELECT d.oid, ` + countersLife + `, current_setting('track_counts')::bool,
	NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.datid = d.oid AND a.pid <> pg_backend_pid()
		AND a.backend_type NOT IN ('autovacuum worker', 'parallel worker')),
	ARRAY(SELECT oid FROM w ORDER BY oid), ARRAY(SELECT n FROM w ORDER BY oid),
	coalesce(to_regclass($1)::oid, 0)
FROM pg_database d WHERE d.datname = current_database()`

// quietWait bounds how long ReadWrites waits for sessions that are ending
// (a client's close does not wait for its backend to exit).
const quietWait = time.Second

// ReadWrites reads the write counters of the database q is on, once no
// other session is on it (waiting up to quietWait; after that the read says
// it was not quiet). q must not be in a transaction (its own counters are
// flushed only outside one). It returns nil, and no error, where the
// counters cannot be trusted: before PostgreSQL 15 (no forced flush) or
// with track_counts off.
func ReadWrites(ctx context.Context, q schema.Querier) (*Writes, error) {
	if _, err := q.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		var pgErr *pgconn.PgError
		// undefined_function: before 15; insufficient_privilege: a role
		// the function is revoked from.
		if errors.As(err, &pgErr) && (pgErr.Code == "42883" || pgErr.Code == "42501") {
			return nil, nil
		}
		return nil, fmt.Errorf("read write counters: flush this session's: %w", err)
	}
	w := &Writes{n: map[uint32]int64{}}
	var on bool
	var oids []uint32
	var ns []int64
	deadline := time.Now().Add(quietWait)
	for {
		if err := q.QueryRow(ctx, writesQuery, era.RowsTable).Scan(&w.db, &w.started, &on, &w.quiet, &oids, &ns, &w.eraRel); err != nil {
			return nil, fmt.Errorf("read write counters: %w", err)
		}
		if w.quiet || !on || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read write counters: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	if !on {
		return nil, nil
	}
	for i, oid := range oids {
		w.n[oid] = ns[i]
	}
	return w, nil
}

// NewDatabaseWrites is ReadWrites for a database just created from a
// template, on which nothing ran yet: its counters are all zero (PostgreSQL
// keeps them per database, and a clone starts without), so only what
// identifies the database and the server's start is read.
func NewDatabaseWrites(ctx context.Context, q schema.Querier) (*Writes, error) {
	w := &Writes{n: map[uint32]int64{}, quiet: true}
	var on bool
	if err := q.QueryRow(ctx, `SELECT d.oid, `+countersLife+`, current_setting('track_counts')::bool,
	coalesce(to_regclass($1)::oid, 0) FROM pg_database d WHERE d.datname = current_database()`, era.RowsTable).Scan(&w.db, &w.started, &on, &w.eraRel); err != nil {
		return nil, fmt.Errorf("read write counters: %w", err)
	}
	if !on {
		return nil, nil
	}
	return w, nil
}

// Since returns what was written between base and w, two reads on the
// same database; nil when that cannot be told from the counters: a read
// missing, another session on the database at w (its writes may not be
// counted yet), another database, or a server restart, crash or counter
// reset in between.
// Writes before base that were counted only after it count as written
// since: that costs a fingerprint, never a missed change.
func (w *Writes) Since(base *Writes) *Written {
	if w == nil || base == nil || !w.quiet || w.db != base.db || w.started != base.started {
		return nil
	}
	d := &Written{n: make(map[uint32]int64, len(w.n))}
	for oid, n := range w.n {
		d.n[oid] = n - base.n[oid]
	}
	d.eraKeys = w.eraRel != base.eraRel || (w.eraRel != 0 && d.n[w.eraRel] != 0)
	return d
}
