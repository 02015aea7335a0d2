package matrix_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// peakRSSBytes is the process's peak resident set so far (ru_maxrss, in KiB
// on Linux). Seeding, fingerprints and reports all run in this process; the
// server's memory is PostgreSQL's own and is not counted.
func peakRSSBytes() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// dirBytes sums the sizes of the regular files under dir. Files the server
// removes during the walk are skipped, not errors.
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// diskSampler polls a directory's size (the server's data directory: its
// databases and WAL) and keeps the peak, for a figure the run's own
// bookkeeping cannot give (clones come and go between samples of a report).
type diskSampler struct {
	dir    string
	start  int64
	mu     sync.Mutex
	peak   int64
	cancel context.CancelFunc
	done   chan struct{}
}

func startDiskSampler(dir string, every time.Duration) *diskSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &diskSampler{dir: dir, cancel: cancel, done: make(chan struct{})}
	s.start = dirBytes(dir)
	s.peak = s.start
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.observe(dirBytes(dir))
			}
		}
	}()
	return s
}

func (s *diskSampler) observe(n int64) {
	s.mu.Lock()
	if n > s.peak {
		s.peak = n
	}
	s.mu.Unlock()
}

// stop ends the polling and returns the size at the start and the peak.
func (s *diskSampler) stop() (start, peak int64) {
	s.cancel()
	<-s.done
	s.observe(dirBytes(s.dir))
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start, s.peak
}

// mib renders bytes as MiB for the bench's summary line.
func mib(n int64) float64 { return float64(n) / (1 << 20) }
