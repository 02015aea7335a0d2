package local

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

var versionLine = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// ServerMajor is the major version of the postgres binary in binDir
// (`postgres --version`), e.g. 15.
func ServerMajor(ctx context.Context, binDir string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "postgres"), "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("%s --version: %w", filepath.Join(binDir, "postgres"), err)
	}
	m := versionLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s --version: no version in %q", filepath.Join(binDir, "postgres"), out)
	}
	return strconv.Atoi(string(m[1]))
}
