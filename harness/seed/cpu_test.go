package seed

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// clockTicks is USER_HZ, the unit of /proc/*/stat times (100 on Linux).
const clockTicks = 100

// serverCPU returns the CPU seconds the shared test server has used so far:
// the postmaster, its live children (backends, background writers) and the
// children it has reaped (ended connections). Zero where /proc is missing.
func serverCPU(b *testing.B) float64 {
	raw, err := os.ReadFile(filepath.Join(pgtest.Server(b).Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	total := procTicks(pid, true)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if procParent(child) == pid {
			total += procTicks(child, false)
		}
	}
	return float64(total) / clockTicks
}

// procStat returns the fields of /proc/pid/stat after the command name.
func procStat(pid int) []string {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(raw)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

func procParent(pid int) int {
	f := procStat(pid)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// procTicks is utime+stime (fields 14, 15 of stat), plus cutime+cstime
// (16, 17) with reaped; f starts at field 3.
func procTicks(pid int, reaped bool) int64 {
	f := procStat(pid)
	if len(f) < 15 {
		return 0
	}
	last := 12
	if reaped {
		last = 14
	}
	var t int64
	for i := 11; i <= last; i++ {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		t += n
	}
	return t
}

// clientCPU returns this process's CPU seconds so far.
func clientCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSSMB is this process's peak resident set, in MiB.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}
