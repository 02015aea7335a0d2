package matrix_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// expectation is what an up file's "-- expect:" line promises.
type expectation struct {
	class   string
	verdict string
	checks  map[string]string
}

// readExpectation parses "-- expect: class=add-column verdict=safe downOnData=fail".
func readExpectation(t *testing.T, path string) (expectation, bool) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "-- expect:") {
			continue
		}
		e := expectation{checks: map[string]string{}}
		for _, kv := range strings.Fields(strings.TrimPrefix(line, "-- expect:")) {
			k, v, ok := strings.Cut(kv, "=")
			require.True(t, ok, "%s: bad expect item %q", path, kv)
			switch k {
			case "class":
				e.class = v
			case "verdict":
				e.verdict = v
			default:
				e.checks[k] = v
			}
		}
		return e, true
	}
	return expectation{}, false
}

func runMatrix(t *testing.T, set *migrate.Set, from, to, probesFile, bookkeeping string) *matrix.Report {
	t.Helper()
	var probes []matrix.Probe
	if probesFile != "" {
		var err error
		probes, err = matrix.LoadProbes(probesFile)
		require.NoError(t, err)
	}
	if bookkeeping == "" {
		bookkeeping = string(set.Layout)
	}
	bk, err := migrate.BookkeepingFor(bookkeeping)
	require.NoError(t, err)
	// As the CLI does: the window's casts and WHEREs shape the data.
	_, window, err := set.Range(from, to)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var progress io.Writer = io.Discard
	if testing.Verbose() {
		progress = os.Stderr
	}
	rep, err := matrix.Run(ctx, matrix.Config{
		AdminDSN:    pgtest.AdminDSN(t),
		Prefix:      "m_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(t.Name())),
		Set:         set,
		From:        from,
		To:          to,
		Bookkeeping: bk,
		Seeder:      seed.New(seed.Options{Seed: 1, Rows: 60, Hints: seed.HintsFrom(window)}),
		Probes:      probes,
		Parallel:    2,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Progress:    progress,
	})
	require.NoError(t, err)
	return rep
}

func assertExpectations(t *testing.T, dir string, rep *matrix.Report) {
	t.Helper()
	require.NotEmpty(t, rep.Results)
	for _, res := range rep.Results {
		res := res
		t.Run(res.Version+"_"+res.Name, func(t *testing.T) {
			e, ok := readExpectation(t, res.UpFile)
			require.True(t, ok, "%s has no '-- expect:' line", res.UpFile)
			ctx := describe(res)
			if e.class != "" {
				assert.Equal(t, e.class, res.Class, "class\n%s", ctx)
			}
			if e.verdict != "" {
				assert.Equal(t, e.verdict, string(res.Verdict), "verdict\n%s", ctx)
			}
			for name, want := range e.checks {
				c := res.Checks.Get(name)
				require.NotNil(t, c, "%s: unknown check %q in expect line", res.UpFile, name)
				assert.Equal(t, want, string(c.Status), "check %s\n%s", name, ctx)
			}
		})
	}
}

func describe(res matrix.MigrationResult) string {
	var b strings.Builder
	b.WriteString(res.Version + "_" + res.Name + " class=" + res.Class + " verdict=" + string(res.Verdict) + "\n")
	b.WriteString("  changes: " + strings.Join(res.Changes, "; ") + "\n")
	for _, nc := range res.Checks.List() {
		b.WriteString("  " + nc.Name + ": " + string(nc.Check.Status))
		if nc.Check.Error != "" {
			b.WriteString(" — " + nc.Check.Error)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestSampleMigrations: every sample migration gets the verdict, class and
// checks its comment promises, for both release pairs of the sample.
func TestSampleMigrations(t *testing.T) {
	dir := filepath.Join("..", "..", "migrations")
	set, err := migrate.LoadDir(dir, migrate.Options{})
	require.NoError(t, err)
	releases := readReleases(t, dir)
	tests := []struct{ from, to, probes string }{
		{"1.0", "1.1", "../../fixtures/queries/release-1.0.sql"},
		{"1.1", "1.2", "../../fixtures/queries/release-1.1.sql"},
	}
	for _, tc := range tests {
		t.Run(tc.from+"-to-"+tc.to, func(t *testing.T) {
			rep := runMatrix(t, set, releases[tc.from], releases[tc.to], tc.probes, "")
			assertExpectations(t, dir, rep)
			for _, s := range rep.Seeding {
				assert.Empty(t, s.Error, "table %s (%s era) not seeded", s.Table, s.Era)
			}
		})
	}
}

// TestCases runs the focused fixtures in testdata/cases: each folder holds a
// migration set in migrations/ whose first migrations (those without an
// expect line) are release N, and optionally old-queries.sql (release N's
// SQL) and bookkeeping (the bookkeeping to use).
func TestCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/cases/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			set, err := migrate.LoadDir(filepath.Join(dir, "migrations"), migrate.Options{})
			require.NoError(t, err)
			from := ""
			for _, m := range set.Migrations {
				if _, ok := readExpectation(t, m.Up.File); ok {
					break
				}
				from = m.Version
			}
			require.NotEmpty(t, from, "%s: the first migration must be release N (no expect line)", dir)
			probes := filepath.Join(dir, "old-queries.sql")
			if _, err := os.Stat(probes); err != nil {
				probes = ""
			}
			bk := ""
			if b, err := os.ReadFile(filepath.Join(dir, "bookkeeping")); err == nil {
				bk = strings.TrimSpace(string(b))
			}
			rep := runMatrix(t, set, from, set.Migrations[len(set.Migrations)-1].Version, probes, bk)
			assertExpectations(t, dir, rep)
		})
	}
}

func readReleases(t *testing.T, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "releases.yaml"))
	require.NoError(t, err)
	var doc struct {
		Releases []struct{ Name, Last string }
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	out := map[string]string{}
	for _, r := range doc.Releases {
		out[r.Name] = r.Last
	}
	require.NotEmpty(t, out, "no releases in releases.yaml")
	return out
}
