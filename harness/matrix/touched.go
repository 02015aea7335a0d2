package matrix

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// FingerprintCounts says, for each data measurement of a migration, how
// many tables were fingerprinted and how many fingerprints were reused from
// the state before because nothing can have changed those tables since
// (measured: see fingerprint.Mark).
type FingerprintCounts struct {
	// AfterUp: the up on the data chain, for the class (did it change data).
	AfterUp TableCounts `json:"afterUp"`
	// State: state k after its N+1-era writes, what its cells compare with.
	State TableCounts `json:"state"`
	// AfterDown: the down on data, for nEraKept and nextEraLoss.
	AfterDown TableCounts `json:"afterDown"`
}

// TableCounts counts the tables of one measurement.
type TableCounts struct {
	Fingerprinted int `json:"fingerprinted"`
	Reused        int `json:"reused"`
	// Tables names the tables fingerprinted and why, e.g.
	// "public.audit: 12 rows written".
	Tables []string `json:"tables,omitempty"`
}

func tableCounts(take, reuse []string, why map[string]string) TableCounts {
	c := TableCounts{Fingerprinted: len(take), Reused: len(reuse)}
	for _, name := range take {
		c.Tables = append(c.Tables, name+": "+why[name])
	}
	return c
}

// touched measures which of tables (names in snap, the catalog of the
// database conn is on) can have changed since state since was measured;
// all of them when since is nil. written is what the write counters say
// was written since (nil: unknown; see fingerprint.ReadWrites).
func (r *runner) touched(ctx context.Context, conn *pgx.Conn, since *dataState, snap *schema.Snapshot, tables []string, written *fingerprint.Written) (take, reuse []string, why map[string]string, err error) {
	defer r.timed("touched", time.Now())
	var mark *fingerprint.Mark
	var before *schema.Snapshot
	if since != nil {
		mark, before = since.mark, since.snap
	}
	why, err = mark.Touched(ctx, conn, before, snap, tables, written)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("measure what changed since the state before: %w", err)
	}
	take, reuse = fingerprint.Split(tables, why)
	return take, reuse, why, nil
}

// stepsSince fingerprints tables by step (see fingerprint.TakeSteps) on
// the database conn is on, reusing since's fingerprints of the tables
// nothing can have changed since.
func (r *runner) stepsSince(ctx context.Context, conn *pgx.Conn, since *dataState, snap *schema.Snapshot, tables []string, written *fingerprint.Written) (map[string]fingerprint.Set, TableCounts, error) {
	take, reuse, why, err := r.touched(ctx, conn, since, snap, tables, written)
	if err != nil {
		return nil, TableCounts{}, err
	}
	bySteps := map[string]fingerprint.Set{"": {}}
	if len(reuse) > 0 {
		bySteps = fingerprint.Reuse(since.bySteps, reuse)
	}
	if len(take) > 0 {
		t0 := time.Now()
		got, err := fingerprint.TakeSteps(ctx, conn, snap, take...)
		r.timed("fingerprint", t0)
		if err != nil {
			return nil, TableCounts{}, err
		}
		fingerprint.AddSteps(bySteps, got)
	}
	return bySteps, tableCounts(take, reuse, why), nil
}

// mark records what state st's fingerprints depend on, before they are
// taken (see fingerprint.Mark).
func (r *runner) mark(ctx context.Context, conn *pgx.Conn, snap *schema.Snapshot, tables []string) (*fingerprint.Mark, error) {
	defer r.timed("touched", time.Now())
	return fingerprint.NewMark(ctx, conn, snap, tables)
}

// writes reads the write counters on conn's database (see
// fingerprint.ReadWrites).
func (r *runner) writes(ctx context.Context, conn *pgx.Conn) (*fingerprint.Writes, error) {
	defer r.timed("touched", time.Now())
	return fingerprint.ReadWrites(ctx, conn)
}
