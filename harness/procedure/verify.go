package procedure

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// VerifyDump reads the whole custom-format dump at path with pg_restore, as
// a restore would, before anything relies on it: a failed, empty or cut
// dump fails here instead of after the database was dropped. `--list` reads
// only the table of contents, so the data is read too (--file=/dev/null).
func VerifyDump(ctx context.Context, pgRestore, path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("backup %s is missing: %w; take a new backup before going on", path, err)
	}
	if fi.Size() == 0 {
		return "", fmt.Errorf("backup %s is empty (0 bytes); take a new backup before going on", path)
	}
	if pgRestore == "" {
		return fmt.Sprintf("%s: %d bytes; not verified (no pg_restore on this machine)", path, fi.Size()), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	list, err := pgRestoreRun(ctx, pgRestore, "--list", path)
	if err != nil {
		return "", fmt.Errorf("backup %s is unreadable: %w; take a new backup before going on", path, err)
	}
	tables := strings.Count(list, " TABLE DATA ")
	if _, err := pgRestoreRun(ctx, pgRestore, "--file=/dev/null", path); err != nil {
		return "", fmt.Errorf("backup %s is incomplete (%d tables listed, but reading their data fails): %w; take a new backup before going on", path, tables, err)
	}
	return fmt.Sprintf("%s: %d bytes, %d tables of data, read through by pg_restore", path, fi.Size(), tables), nil
}

func pgRestoreRun(ctx context.Context, bin string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pg_restore %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
