package datasource

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/rehearse-dev/rehearse/harness/env/local"
)

// ClientBinDir finds a folder holding pg_restore and psql: explicit (the
// --pg-bin folder), the server binaries' folder, PATH, then the newest
// /usr/lib/postgresql/*/bin (Debian puts the client tools there only).
func ClientBinDir(explicit string) (string, error) {
	var cand []string
	if explicit != "" {
		cand = append(cand, explicit)
	}
	if d, err := local.FindBinDir(explicit); err == nil {
		cand = append(cand, d)
	}
	if p, err := exec.LookPath("pg_restore"); err == nil {
		cand = append(cand, filepath.Dir(p))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(globbed)))
	cand = append(cand, globbed...)
	for _, d := range cand {
		if isFile(filepath.Join(d, "pg_restore")) && isFile(filepath.Join(d, "psql")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no pg_restore and psql found (looked in %v); install the PostgreSQL client or pass --pg-bin", cand)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
