package matrix

import (
	"fmt"
	"syscall"

	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// diskFactor covers indexes, TOAST and page fill on top of the heap
// estimate (measured: the benchmark's states are about twice their heap).
const diskFactor = 2

// checkDisk compares the disk the seeded data will need with the free space
// of the server's data directory, before seeding, so a run that cannot fit
// fails in a second instead of hours later with a full disk. Copies of the
// data live at once: the state being built, the one before it and one clone
// per parallel cell (every state when --keep keeps them).
func (r *runner) checkDisk(snap *schema.Snapshot) error {
	if r.cfg.Rows <= 0 {
		return nil
	}
	if r.cfg.DataDir == "" {
		r.notes = append(r.notes, "disk estimate skipped: the server's data directory is not on this machine (--dsn)")
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(r.cfg.DataDir, &st); err != nil {
		return fmt.Errorf("free disk of %s: %w", r.cfg.DataDir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	one := seed.EstimateBytes(snap, r.cfg.Rows) * diskFactor
	copies := int64(len(r.next) + 1)
	if !r.cfg.Keep && copies > int64(2+r.cfg.Parallel) {
		copies = int64(2 + r.cfg.Parallel)
	}
	need := one * copies
	r.cfg.Logger.Info("disk estimate", "need_bytes", need, "free_bytes", free, "copies", copies)
	if need > free {
		return fmt.Errorf("not enough disk for the seeded data: about %s needed (%d rows a table, %s a copy of the data, %d copies at once) but %s free in %s; pass a smaller --rows or free disk",
			human(need), r.cfg.Rows, human(one), copies, human(free), r.cfg.DataDir)
	}
	return nil
}

func human(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
