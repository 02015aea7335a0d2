package matrix

import (
	"fmt"

	"github.com/rehearse-dev/rehearse/harness/migrate"
)

// Release groupings, as the report names them.
const (
	GroupingReleasesFile = "releases.yaml"
	GroupingWindow       = "window"
	GroupingPerMigration = "per-migration"
)

// ReleaseBound is one release of releases.yaml: its name and last version.
type ReleaseBound struct {
	Name string
	Last string
}

// Releases says how the window's migrations were grouped into releases: a
// release ships all its migrations in one deploy, so N+1-era rows are
// written at a release's end, and "old data" for a migration is every row
// that existed before its release shipped.
type Releases struct {
	// Grouping is where the groups come from: "releases.yaml", "window"
	// (no releases.yaml: the whole --from..--to window is one release) or
	// "per-migration" (--release-per-migration).
	Grouping string         `json:"grouping"`
	Groups   []ReleaseGroup `json:"groups"`
}

// ReleaseGroup is one release of the window.
type ReleaseGroup struct {
	Name       string   `json:"name"`
	Migrations []string `json:"migrations"`
}

// groupReleases assigns each migration of next to a release, in order; it
// returns the groups and, per migration (0-based), its group's index.
func groupReleases(cfg Config, next []*migrate.Migration) (*Releases, []int, error) {
	grouping := cfg.ReleaseGrouping
	if grouping == "" {
		grouping = GroupingWindow
		if len(cfg.Releases) > 0 {
			grouping = GroupingReleasesFile
		}
	}
	rel := &Releases{Grouping: grouping}
	of := make([]int, len(next))
	name := func(m *migrate.Migration) string { return m.Version + "_" + m.Name }
	switch grouping {
	case GroupingPerMigration:
		for i, m := range next {
			rel.Groups = append(rel.Groups, ReleaseGroup{Name: name(m), Migrations: []string{name(m)}})
			of[i] = i
		}
	case GroupingWindow:
		g := ReleaseGroup{Name: cfg.To}
		for i, m := range next {
			g.Migrations = append(g.Migrations, name(m))
			of[i] = 0
		}
		rel.Groups = []ReleaseGroup{g}
	case GroupingReleasesFile:
		pos := map[string]int{}
		for i, m := range cfg.Set.Migrations {
			pos[m.Version] = i
		}
		var cur *ReleaseGroup
		b := 0
		for i, m := range next {
			p := pos[m.Version]
			// Skip the releases that end before this migration.
			for b < len(cfg.Releases) {
				last, ok := pos[cfg.Releases[b].Last]
				if !ok {
					return nil, nil, fmt.Errorf("releases.yaml: release %q ends at version %s, which is not a migration of %s: fix its `last`", cfg.Releases[b].Name, cfg.Releases[b].Last, cfg.Set.Source)
				}
				if last >= p {
					break
				}
				b++
			}
			gname := "after the last release of releases.yaml"
			if b < len(cfg.Releases) {
				gname = cfg.Releases[b].Name
			}
			if cur == nil || cur.Name != gname {
				rel.Groups = append(rel.Groups, ReleaseGroup{Name: gname})
				cur = &rel.Groups[len(rel.Groups)-1]
			}
			cur.Migrations = append(cur.Migrations, name(m))
			of[i] = len(rel.Groups) - 1
		}
	default:
		return nil, nil, fmt.Errorf("unknown release grouping %q (want %s, %s or %s)", grouping, GroupingReleasesFile, GroupingWindow, GroupingPerMigration)
	}
	return rel, of, nil
}

// releaseOf returns the index of migration k's (1-based) release.
func (r *runner) releaseOf(k int) int { return r.releaseIdx[k-1] }

// releaseSteps is the set of era steps (as recorded by the seeder) of
// migration k's release: their rows are the release's "new data".
func (r *runner) releaseSteps(k int) map[string]bool {
	out := map[string]bool{}
	for _, n := range r.releases.Groups[r.releaseOf(k)].Migrations {
		out[n] = true
	}
	return out
}

// releaseEnd returns the last migration (1-based) of migration k's release.
func (r *runner) releaseEnd(k int) int {
	end := k
	for end < len(r.next) && r.releaseIdx[end] == r.releaseIdx[k-1] {
		end++
	}
	return end
}

// releaseName names migration k's release, for messages.
func (r *runner) releaseName(k int) string { return r.releases.Groups[r.releaseOf(k)].Name }
