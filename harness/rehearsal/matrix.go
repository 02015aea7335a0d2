// Package rehearsal wires the parts of a matrix run together for the CLI:
// environment, migration set, data, probes, engine, policy and reports.
package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/datasource"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/outdir"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/report"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// InputError is bad input from the user (exit code 2, like any harness
// failure, but the message says what to fix).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// MatrixOptions is everything `rehearse matrix` takes.
type MatrixOptions struct {
	Migrations  string // folder (or path inside the repo with Git)
	Git         bool   // From and To are git refs
	RepoDir     string // with Git; default "."
	From, To    string
	Layout      string
	Bookkeeping string // "" = the layout's own tool
	// ReleasePerMigration makes each migration its own release; otherwise
	// releases.yaml groups them, or the whole window is one release.
	ReleasePerMigration bool
	OldQueries          string
	Out                 string
	Seed                int64
	Rows                int
	Profile             string
	Parallel            int
	Keep                bool
	PolicyFile          string
	PGBin               string
	PGUser              string
	// DSN, when set, is an existing server the user points the harness at
	// (it creates and drops its own databases there).
	DSN      string
	Logger   *slog.Logger
	Progress io.Writer
	// ServerProbe, when set, runs release N's server on every state of the
	// matrix (rehearse run on the local backend sets it).
	ServerProbe *matrix.ServerProbe
	// Probes are more old-code probes, run after the OldQueries file's
	// (rehearse run: release N's captured statements).
	Probes []matrix.Probe
	// Now is the clock for waiver expiry (tests).
	Now func() time.Time
	// Roles is production's roles file (--roles); MigrateAs is the role
	// migrations and probes run as (--migrate-as).
	Roles     string
	MigrateAs string
	// DataFrom is a pg_dump file/folder or a read-only DSN whose rows
	// become release N's N-era data (--data-from); AllowDrift goes on when
	// its schema differs from release N's; Sample keeps that fraction of
	// its rows (with every row they reference).
	DataFrom   string
	AllowDrift bool
	Sample     float64
	// SearchPath is the search_path every connection that applies
	// migrations, seeds or probes uses (--search-path), as the app's own
	// connection string sets it; "" = the server's default.
	SearchPath string
	// SetupSQL is a file run on release N's empty database before its
	// migrations (--setup-sql), e.g. CREATE EXTENSION pg_trgm.
	SetupSQL string

	// stage, set by Run (which holds Out), is where the reports go; commit
	// moves them into Out. Empty: RunMatrix holds Out itself.
	stage  string
	commit func() error
}

// Outcome is what a matrix run produced.
type Outcome struct {
	Report  *matrix.Report
	OutDir  string
	KeptDSN string // with Keep: where the databases still are, never with a password
	// KeptPassFile is, with Keep on a local server, the pgpass file (0600)
	// holding the password that KeptDSN leaves out.
	KeptPassFile string
	Databases    []string
	StopHint     string // with Keep: how to stop the kept local server
}

// RunMatrix runs the whole matrix and writes the reports.
func RunMatrix(ctx context.Context, o MatrixOptions) (*Outcome, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Every input is checked before anything starts (exit 2 in
	// milliseconds, not after the base build).
	in, err := checkInputs(ctx, o)
	if err != nil {
		return nil, err
	}
	grouping, releases := matrix.GroupingPerMigration, []matrix.ReleaseBound(nil)
	if !o.ReleasePerMigration {
		grouping = matrix.GroupingWindow
		if !o.Git {
			if releases, err = loadReleases(o.Migrations); err != nil {
				return nil, &InputError{err}
			}
			if len(releases) > 0 {
				grouping = matrix.GroupingReleasesFile
			}
		}
	}
	id := newRunID(o.Now())
	runID := "run-" + id
	if o.Out == "" {
		o.Out = filepath.Join("reports", runID)
	}
	stage := o.stage
	if stage == "" {
		dir, err := outdir.Open(o.Out)
		if err != nil {
			return nil, &InputError{err}
		}
		defer dir.Close()
		stage = dir.Stage
		o.commit = dir.Commit
	}
	seedOpts := seed.Options{Seed: o.Seed, Rows: o.Rows, Logger: o.Logger, Profile: in.profile, Progress: o.Progress}
	// The window's casts and WHEREs, and release N's backfills, shape the
	// data (seed.HintsFrom, WithBackfills).
	if base, window, err := in.set.Range(in.from, in.to); err == nil {
		seedOpts.Hints = seed.HintsFrom(window).WithBackfills(base)
	}
	var seeder seed.Seeder = seed.New(seedOpts)
	var real *datasource.Seeder
	if in.data != nil {
		if real, err = in.data.seeder(o, seeder); err != nil {
			return nil, &InputError{err}
		}
		seeder = real
		// The live progress lines print the same errors as the reports.
		o.Progress = datasource.RedactingWriter(o.Progress)
	}
	// Captured statements (rehearse run) come after the file's probes.
	probes := append(in.probes, o.Probes...)

	adminDSN := o.DSN
	var server *local.Server
	if adminDSN == "" {
		fmt.Fprintln(o.Progress, "starting a local PostgreSQL ...")
		server, err = local.Start(ctx, local.Options{BinDir: o.PGBin, RunAs: o.PGUser, Logger: o.Logger, Detach: o.Keep})
		if err != nil {
			return nil, fmt.Errorf("start local PostgreSQL: %w", err)
		}
		if !o.Keep {
			defer server.Stop(context.Background())
		}
		adminDSN = server.DSN("postgres")
		fmt.Fprintf(o.Progress, "PostgreSQL %s on 127.0.0.1:%d\n", server.Version, server.Port)
	}
	if in.searchPath != "" {
		if adminDSN, err = pgadmin.WithSearchPath(adminDSN, in.searchPath); err != nil {
			return nil, &InputError{fmt.Errorf("--search-path: %w", err)}
		}
	}
	cfg := matrix.Config{
		AdminDSN:        adminDSN,
		Prefix:          pgadmin.Name("rehearse", id),
		Set:             in.set,
		From:            in.from,
		To:              in.to,
		Bookkeeping:     in.bk,
		Releases:        releases,
		ReleaseGrouping: grouping,
		Seeder:          seeder,
		Probes:          probes,
		ServerProbe:     o.ServerProbe,
		Roles:           in.roles,
		MigrateAs:       o.MigrateAs,
		SetupSQL:        in.setupSQL,
		SetupFile:       o.SetupSQL,
		Parallel:        o.Parallel,
		Keep:            o.Keep,
		Disposable:      server != nil,
		Logger:          o.Logger,
		Progress:        o.Progress,
	}
	if in.data == nil {
		// Generated data: its disk need is estimated before seeding.
		cfg.Rows = o.Rows
		if server != nil {
			cfg.DataDir = server.Dir
		}
	}
	release, err := holdPrefix(ctx, adminDSN, cfg.Prefix)
	if err != nil {
		if server != nil && o.Keep {
			server.Stop(context.Background())
		}
		return nil, err
	}
	rep, err := matrix.Run(ctx, cfg)
	release()
	if err != nil {
		if server != nil && o.Keep {
			server.Stop(context.Background())
		}
		var drift *datasource.DriftError
		if errors.As(err, &drift) {
			return nil, &InputError{drift}
		}
		return nil, err
	}
	if real != nil {
		rep.Notes = append(rep.Notes, real.Notes()...)
		rep.DataSource = dataSourceReport(real.Summary())
		// Real rows must not reach a report through an error detail.
		datasource.Redact(rep)
	}
	rep.RunID = runID
	rep.Seed, rep.Rows = o.Seed, o.Rows
	rep.Notes = append(rep.Notes, ignoredNote(in.set)...)
	rep.Notes = append(rep.Notes, unparsedNote(in.set, in.from, in.to)...)
	if in.setupSQL != "" {
		rep.Notes = append(rep.Notes, "release N's empty database got "+o.SetupSQL+" (--setup-sql) before its migrations")
	}
	if in.searchPath != "" {
		rep.Notes = append(rep.Notes, "every connection ran with search_path="+in.searchPath+" (--search-path), as the app's own connection sets it")
	}
	if server != nil {
		rep.PostgreSQL = server.Version
	}
	in.policy.Apply(rep, o.Now())
	if err := report.WriteAll(stage, rep); err != nil {
		return nil, err
	}
	if o.commit != nil {
		if err := o.commit(); err != nil {
			return nil, err
		}
	}
	out := &Outcome{Report: rep, OutDir: o.Out}
	if o.Keep {
		out.KeptDSN = pgadmin.Redact(adminDSN)
		out.Databases = rep.KeptDatabases
		if server != nil {
			out.KeptPassFile = server.PassFile
			out.StopHint = fmt.Sprintf("kill %d && rm -rf %s", server.PID(), server.Dir)
		}
	}
	return out, nil
}

// loadSet reads the migration set (folder or git refs) and resolves From and
// To, which may be release names from the folder's releases.yaml.
func loadSet(ctx context.Context, o MatrixOptions) (*migrate.Set, string, string, error) {
	opts := migrate.Options{Layout: migrate.Layout(o.Layout)}
	if o.Git {
		repo := o.RepoDir
		if repo == "" {
			repo = "."
		}
		fromSet, err := migrate.LoadGit(ctx, repo, o.From, o.Migrations, opts)
		if err != nil {
			return nil, "", "", err
		}
		toSet, err := migrate.LoadGit(ctx, repo, o.To, o.Migrations, opts)
		if err != nil {
			return nil, "", "", err
		}
		from := "0"
		if n := len(fromSet.Migrations); n > 0 {
			from = fromSet.Migrations[n-1].Version
		}
		to := "0"
		if n := len(toSet.Migrations); n > 0 {
			to = toSet.Migrations[n-1].Version
		}
		return toSet, from, to, nil
	}
	if _, err := os.Stat(o.Migrations); err != nil {
		return nil, "", "", fmt.Errorf("--migrations %s: %w", o.Migrations, err)
	}
	set, err := migrate.LoadDir(o.Migrations, opts)
	if err != nil {
		return nil, "", "", err
	}
	from, err := resolveRelease(o.Migrations, o.From)
	if err != nil {
		return nil, "", "", err
	}
	to, err := resolveRelease(o.Migrations, o.To)
	if err != nil {
		return nil, "", "", err
	}
	if from == "" {
		return nil, "", "", errors.New("--from is required: the last migration version (or release name) of release N")
	}
	// Refuse a window holding files the harness cannot run (goose Go
	// migrations, fizz) before anything starts.
	if _, _, err := set.Range(from, to); err != nil {
		return nil, "", "", err
	}
	if to == "" && len(set.Migrations) > 0 {
		to = set.Migrations[len(set.Migrations)-1].Version
	}
	return set, from, to, nil
}

// ignoredNote lists, once for the run, the folder's files the migration
// tool ignores too, except rehearse's own releases.yaml.
func ignoredNote(set *migrate.Set) []string {
	s := *set
	s.Ignored = slices.DeleteFunc(slices.Clone(set.Ignored), func(ig string) bool { return strings.HasPrefix(ig, ReleasesFile+": ") })
	if n := s.IgnoredNote(); n != "" {
		return []string{n}
	}
	return nil
}

// unparsedNote lists the files that do not parse but that the window
// never runs, so a reader learns of them although the run went on.
func unparsedNote(set *migrate.Set, from, to string) []string {
	if n := set.UnparsedNote(from, to); n != "" {
		return []string{n}
	}
	return nil
}

// dataInputs is --data-from, checked with the other inputs: the source
// recognised, the profile's mask: and sample: rules compiled.
type dataInputs struct {
	src    *datasource.Source
	masks  *datasource.Masks
	shares map[string]datasource.TableSample
	skip   []string
}

// checkDataFrom reads --data-from and its flags; nil when there is no source.
func checkDataFrom(o MatrixOptions, profile *seed.Profile, bk migrate.Bookkeeping) (*dataInputs, error) {
	if o.DataFrom == "" {
		if o.Sample != 0 || o.AllowDrift {
			return nil, errors.New("--sample and --allow-drift go with --data-from")
		}
		return nil, nil
	}
	if o.Sample < 0 || o.Sample > 1 {
		return nil, fmt.Errorf("--sample %v: want a fraction between 0 and 1 (0.1 keeps about a tenth of the rows)", o.Sample)
	}
	d := &dataInputs{}
	var err error
	if d.src, err = datasource.Open(o.DataFrom); err != nil {
		return nil, err
	}
	if profile != nil {
		// The seed salts the replacements: equal inputs give equal outputs
		// within a run (joins hold), and nothing is a fixed public mapping.
		if d.masks, err = datasource.CompileMasks(profile.File, profile.Mask, fmt.Sprint("rehearse:", o.Seed)); err != nil {
			return nil, err
		}
		if d.shares, err = datasource.SampleShares(profile.File, profile.Sample); err != nil {
			return nil, err
		}
	}
	if t := bk.Table(); t != "" {
		if !strings.Contains(t, ".") {
			t = "public." + t
		}
		d.skip = append(d.skip, t)
	}
	return d, nil
}

// dataSourceReport is matrix.json's dataSource: what was loaded from the
// source, per table.
func dataSourceReport(s *datasource.Summary) *matrix.DataSource {
	if s == nil {
		return nil
	}
	ds := &matrix.DataSource{
		Kind: string(s.Kind), Source: s.Source, Drift: "none", DriftObjects: s.Drift,
		Sample: s.Sample, SampleTables: s.SampleTables, MaskedColumns: s.MaskedColumns, UnmaskedPersonal: s.Personal,
		Tables: []matrix.DataSourceTable{},
	}
	if s.Sample >= 1 {
		ds.Sample = 0
	}
	if len(s.Drift) > 0 {
		ds.Drift = "allowed"
	}
	for _, t := range s.Tables {
		ds.Tables = append(ds.Tables, matrix.DataSourceTable{Table: t.Table, SourceRows: t.SourceRows, Rows: t.Rows, Masked: t.Masked, Skipped: t.Skipped})
		ds.SourceRows += t.SourceRows
		ds.Rows += t.Rows
	}
	return ds
}

// seeder is the seeder of --data-from: N-era rows from the source, N+1-era
// rows from next (generated).
func (d *dataInputs) seeder(o MatrixOptions, next seed.Seeder) (*datasource.Seeder, error) {
	return datasource.New(datasource.Options{
		Source: d.src, AllowDrift: o.AllowDrift, Sample: o.Sample, SampleTables: d.shares, Seed: o.Seed,
		Masks: d.masks, Skip: d.skip, Next: next, PGBin: o.PGBin, Logger: o.Logger,
	})
}
