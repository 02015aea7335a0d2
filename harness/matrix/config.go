package matrix

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/roles"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// Config is one matrix run: the migrations from release N (From) to N+1
// (To) of Set, judged on databases the harness creates on AdminDSN's server.
type Config struct {
	// AdminDSN points at a server the harness owns; every database it makes
	// there is named Prefix + "_...", and dropped at the end unless Keep.
	AdminDSN string
	Prefix   string
	Set      *migrate.Set
	// From and To are versions of Set: N = migrations <= From, N+1 adds the
	// ones in (From, To].
	From, To    string
	Bookkeeping migrate.Bookkeeping
	// Releases groups the window's migrations into releases (releases.yaml:
	// each release's name and last version). ReleaseGrouping says which
	// grouping applies: "releases.yaml" (default when Releases is set),
	// "window" (default otherwise: the window is one release) or
	// "per-migration" (each migration is its own release).
	Releases        []ReleaseBound
	ReleaseGrouping string
	Seeder          seed.Seeder
	// Probes are release N's SQL (old-code probes); none means the oldCode
	// check is skipped and says so.
	Probes []Probe
	// ServerProbe, when set, starts release N's server on a copy of every
	// state and counts its start-up and smoke requests as old-code probes.
	ServerProbe *ServerProbe
	// Roles are production's roles, created on the server before release
	// N's schema is built (those it lacks) and dropped at the end (those the
	// run made) unless Keep.
	Roles []roles.Role
	// MigrateAs is the role every up, down, boot and probe runs as, release
	// N's base migrations included ("" = the harness's superuser).
	MigrateAs string
	// SetupSQL runs on release N's empty database before its migrations,
	// as the superuser (CREATE EXTENSION and other setup production's
	// database got outside the migrations); SetupFile names it in errors.
	SetupSQL, SetupFile string
	// Parallel is how many cells run at once (default: number of cores).
	Parallel int
	// Keep leaves the databases in place (the CLI prints their DSNs).
	Keep bool
	// Disposable says the server is thrown away after the run (the local
	// backend), so databases are not dropped one by one: DROP DATABASE
	// costs a checkpoint each (a sixth of a 30-migration run, measured).
	Disposable bool
	// Rows is the seeder's rows per table and DataDir the server's data
	// directory when it is on this machine: before seeding, the disk the
	// data will need is compared with DataDir's free space (see checkDisk).
	// Rows 0 skips the check; DataDir "" skips it with a note.
	Rows    int
	DataDir string
	// CellTimeout bounds each database operation of a cell (default 10m).
	CellTimeout time.Duration
	Logger      *slog.Logger
	// Progress receives one line per finished cell (nil: discard).
	Progress io.Writer
}

func (c *Config) defaults() error {
	if c.Set == nil || len(c.Set.Migrations) == 0 {
		return fmt.Errorf("no migrations to judge")
	}
	if c.AdminDSN == "" {
		return fmt.Errorf("no database server (AdminDSN)")
	}
	if c.Seeder == nil {
		return fmt.Errorf("no seeder")
	}
	if c.Bookkeeping == nil {
		bk, err := migrate.BookkeepingFor("none")
		if err != nil {
			return err
		}
		c.Bookkeeping = bk
	}
	if c.Prefix == "" {
		c.Prefix = "rehearse_" + time.Now().UTC().Format("20060102150405")
	}
	if c.Parallel <= 0 {
		c.Parallel = runtime.NumCPU()
	}
	if c.CellTimeout <= 0 {
		c.CellTimeout = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return nil
}

// ServerProbe runs release N's server against a database. Run returns one
// outcome per name, in order.
type ServerProbe struct {
	Names []string
	Run   func(ctx context.Context, dsn string) []ProbeOutcome
}
