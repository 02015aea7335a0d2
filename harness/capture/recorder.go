package capture

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Recorder collects what an application runs on a server the harness owns,
// step by step: Take reads the statements run since the last Take or Reset
// and resets the counters, so each statement names the steps that ran it
// and the harness's own work between steps (seeding) is never recorded.
type Recorder struct {
	// AdminDSN is a database of the server where the extension is created
	// (the harness's admin database: the app's schema stays untouched).
	AdminDSN string
	// Database is the application's database.
	Database string
	// Problem says why nothing (more) is recorded: the server cannot load
	// pg_stat_statements, the backend cannot pass it settings, a read
	// failed. Reports show it; it never fails the run.
	Problem string

	byText map[string]int
	stmts  []Statement
	steps  []StepCount
}

// StepCount is how many distinct statements one step ran.
type StepCount struct {
	Step       string `json:"step"`
	Statements int    `json:"statements"`
	// New are those no earlier step ran.
	New int `json:"new"`
}

// Enable creates the extension in the admin database and clears it. It
// fails with ErrNotAvailable when the server was not started with
// pg_stat_statements in shared_preload_libraries.
func (r *Recorder) Enable(ctx context.Context) error {
	return r.with(ctx, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
			return explain(err)
		}
		return Reset(ctx, conn)
	})
}

// Reset forgets what ran since the last Take (the harness's own work).
func (r *Recorder) Reset(ctx context.Context) error {
	return r.with(ctx, func(conn *pgx.Conn) error { return Reset(ctx, conn) })
}

// Take records the statements run since the last Take or Reset as step's.
func (r *Recorder) Take(ctx context.Context, step string) error {
	return r.with(ctx, func(conn *pgx.Conn) error {
		got, _, err := Read(ctx, conn, r.Database)
		if err != nil {
			return err
		}
		if r.byText == nil {
			r.byText = map[string]int{}
		}
		sc := StepCount{Step: step, Statements: len(got)}
		for _, s := range got {
			if i, ok := r.byText[s.Query]; ok {
				r.stmts[i].Calls += s.Calls
				r.stmts[i].Rows += s.Rows
				r.stmts[i].Steps = append(r.stmts[i].Steps, step)
				continue
			}
			sc.New++
			s.Steps = []string{step}
			r.byText[s.Query] = len(r.stmts)
			r.stmts = append(r.stmts, s)
		}
		r.steps = append(r.steps, sc)
		return Reset(ctx, conn)
	})
}

// Statements are the recorded statements, in the order first seen.
func (r *Recorder) Statements() []Statement { return r.stmts }

// Steps says what each Take found.
func (r *Recorder) Steps() []StepCount { return r.steps }

func (r *Recorder) with(ctx context.Context, f func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, r.AdminDSN)
	if err != nil {
		return fmt.Errorf("connect to record statements: %w", err)
	}
	defer conn.Close(context.Background())
	return f(conn)
}
