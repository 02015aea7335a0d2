// Package outdir holds a run's report folder (--out): one run at a time
// (a lock file naming its pid), reports staged in a temp dir beside it and
// renamed into place only when they are complete, and nothing left behind
// by a run that wrote no report. A report on disk is therefore always
// whole and always the report of the run whose exit code you saw.
package outdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// LockName is the lock file a run keeps in its --out while it runs.
const LockName = ".rehearse.lock"

// Dir is a report folder held by this run. Write reports into Stage, then
// Commit; Close always.
type Dir struct {
	Path    string
	Stage   string
	lock    string
	created bool
	locked  bool

	mu     sync.Mutex // Close runs from the run and from ForceCleanup
	closed bool
}

// Open creates path if needed, takes its lock and makes the staging dir.
// A lock held by another live process is an error naming its pid; a lock
// whose process is gone (a killed run) is taken over.
func Open(path string) (*Dir, error) {
	path = filepath.Clean(path)
	d := &Dir{Path: path, lock: filepath.Join(path, LockName)}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		d.created = true
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("--out %s: cannot create the report folder: %w", path, err)
	}
	if err := d.takeLock(); err != nil {
		d.removeIfCreated()
		return nil, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+".rehearse-*")
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("--out %s: cannot write beside it (reports are staged in its parent folder): %w", path, err)
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		os.Remove(stage)
		d.Close()
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	d.Stage = stage
	open.Store(d, struct{}{})
	return d, nil
}

// open holds the dirs of this process not yet closed, for ForceCleanup.
var open sync.Map

// ForceCleanup closes every open Dir without committing: the second Ctrl-C.
func ForceCleanup() {
	open.Range(func(k, _ any) bool {
		k.(*Dir).Close()
		return true
	})
}

func (d *Dir) takeLock() error {
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(d.lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_, werr := fmt.Fprintf(f, "%d\n", os.Getpid())
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(d.lock)
				return fmt.Errorf("--out %s: write lock file %s: %w", d.Path, d.lock, werr)
			}
			d.locked = true
			return nil
		}
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--out %s: cannot write there: %w", d.Path, err)
		}
		pid, perr := readPID(d.lock)
		if perr == nil && alive(pid) {
			return &BusyError{Path: d.Path, Lock: d.lock, PID: pid}
		}
		if attempt > 0 {
			return fmt.Errorf("--out %s: could not take over the stale lock %s: another run took it meanwhile; retry, or choose another --out", d.Path, d.lock)
		}
		// The run that held it is gone (killed before it could clean up)
		// or never wrote its pid: take it over.
		if err := os.Remove(d.lock); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--out %s: remove stale lock %s: %w", d.Path, d.lock, err)
		}
	}
}

// BusyError says another live run holds the folder.
type BusyError struct {
	Path, Lock string
	PID        int
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("--out %s is in use by another rehearse run (pid %d): wait for it to finish or choose another --out (if no such run is going, remove %s)", e.Path, e.PID, e.Lock)
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// alive reports whether process pid exists (EPERM: it exists, someone
// else's).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Commit renames every staged file into Path, one atomic rename each: a
// reader sees either the previous report file or the new one, never a
// partial one.
func (d *Dir) Commit() error {
	entries, err := os.ReadDir(d.Stage)
	if err != nil {
		return fmt.Errorf("--out %s: read staged reports: %w", d.Path, err)
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(d.Stage, e.Name()), filepath.Join(d.Path, e.Name())); err != nil {
			return fmt.Errorf("--out %s: move %s into place: %w", d.Path, e.Name(), err)
		}
	}
	return nil
}

// Close removes the staging dir and the lock, and Path itself when this run
// created it and put nothing in it. Safe to call more than once.
func (d *Dir) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	// Leave the registry only once done: a ForceCleanup racing this Close
	// then waits on mu instead of exiting with --out half removed.
	defer open.Delete(d)
	var errs []error
	if d.Stage != "" {
		errs = append(errs, os.RemoveAll(d.Stage))
	}
	if d.locked {
		errs = append(errs, os.Remove(d.lock))
	}
	d.removeIfCreated()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("--out %s: clean up: %w", d.Path, err)
	}
	return nil
}

// removeIfCreated removes Path when this run created it and it is empty
// (os.Remove refuses a folder that is not).
func (d *Dir) removeIfCreated() {
	if d.created {
		_ = os.Remove(d.Path)
	}
}
