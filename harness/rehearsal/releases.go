package rehearsal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// ReleasesFile maps release names to the last migration version of each
// release, so `--from 1.0` can stand for a version.
const ReleasesFile = "releases.yaml"

type releasesDoc struct {
	Releases []struct {
		Name string `yaml:"name"`
		Last string `yaml:"last"`
	} `yaml:"releases"`
}

// resolveRelease returns v itself unless the folder's releases.yaml names a
// release v, in which case it returns that release's last version.
func resolveRelease(dir, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	path := filepath.Join(dir, ReleasesFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return v, nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return releaseVersion(path, b, v)
}

// releaseVersion is resolveRelease on the bytes of releases file path.
func releaseVersion(path string, b []byte, v string) (string, error) {
	var doc releasesDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	var names []string
	for _, r := range doc.Releases {
		if r.Name == v {
			return r.Last, nil
		}
		names = append(names, r.Name)
	}
	if strings.Contains(v, ".") && !strings.ContainsAny(v, "_/") {
		return "", fmt.Errorf("%q is not a release in %s (releases: %s) nor a migration version", v, path, strings.Join(names, ", "))
	}
	return v, nil
}

// loadReleases reads the folder's releases.yaml; nil when there is none.
func loadReleases(dir string) ([]matrix.ReleaseBound, error) {
	path := filepath.Join(dir, ReleasesFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var doc releasesDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []matrix.ReleaseBound
	for i, r := range doc.Releases {
		if r.Name == "" || r.Last == "" {
			return nil, fmt.Errorf("%s: release %d needs both `name` and `last` (the release's last migration version)", path, i+1)
		}
		out = append(out, matrix.ReleaseBound{Name: r.Name, Last: r.Last})
	}
	return out, nil
}
